/*
 * dsp.h - fixed-point IIR filtering: cascades of second-order sections (biquads).
 *
 * Integer arithmetic only, so the host build and the Cortex-M4 produce bit-identical
 * outputs. Coefficients are designed on the host (host_tools/theraloop/dsp/design.py:
 * scipy.signal.butter(..., output="sos"), gains redistributed between sections, then
 * quantised) and stored in Q2.29:
 *
 *   H_k(z) = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2),  value = int / 2^29
 *
 * Structure: direct form I, sections in cascade sharing their delay lines (the output
 * delays of section k are the input delays of section k+1). Signals between sections are
 * int32 in Q19.12 (TL_DSP_SIGNAL_FRAC fractional bits, i.e. 1/4096 ADC count), clamped to
 * +/-TL_DSP_SIGNAL_LIMIT (2^30, i.e. +/-262144 counts: 8x the int16 range, headroom for the
 * gain of intermediate sections). Each output is the int64 sum of five 32x32-bit products
 * (SMLAL on the M4), rounded half up ((acc + 2^28) >> 29), then clamped.
 *
 * Error feedback: the rounding residue of each output (acc minus the rounded value, in
 * [-2^28, 2^28)) is kept for two samples and added back with the integer weights
 * -round(a1), -round(a2) (computed at init). Rounding noise is then shaped by
 * (1 + round(a1) z^-1 + round(a2) z^-2) / A(z) instead of 1 / A(z): for the narrow
 * low-frequency bands whose poles sit next to z = 1 (theta at 1000 Hz: |p| = 0.9934) this
 * removes the large low-frequency gain of the rounding error (measured worst-case error vs
 * exact arithmetic: 0.25 counts without, 0.0006 counts with; tests/unit/test_features.c).
 *
 * With the coefficient bounds enforced by tl_biquad_check (|a2| < 1, |a1| < 1 + a2, hence
 * |a1| < 2; b any int32) the accumulator stays below 3.75 * 2^61 + 2^31 < 2^63: no overflow
 * is possible for any input, and saturation replaces wrap-around when a signal exceeds the
 * clamp.
 */
#ifndef THERALOOP_DSP_H
#define THERALOOP_DSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TL_DSP_COEF_FRAC 29                    /* coefficients: Q2.29 */
#define TL_DSP_SIGNAL_FRAC 12                  /* signals between sections: Q19.12 */
#define TL_DSP_SIGNAL_LIMIT (INT32_C(1) << 30) /* clamp of every section output */
#ifndef TL_DSP_MAX_SECTIONS
#define TL_DSP_MAX_SECTIONS 4 /* up to 8th-order filters */
#endif

/* One section, as designed (scipy sign convention: a0 = 1, denominator 1 + a1 z^-1 + ..). */
typedef struct {
    int32_t b0, b1, b2, a1, a2;
} tl_biquad_coefs_t;

typedef enum {
    TL_DSP_OK = 0,
    TL_DSP_ERR_NULL = 1,
    TL_DSP_ERR_SECTIONS = 2, /* n_sections not 1..TL_DSP_MAX_SECTIONS */
    TL_DSP_ERR_UNSTABLE = 3, /* a pole on or outside the unit circle: |a2| >= 1 or
                                |a1| >= 1 + a2 (exact test on the quantised values) */
} tl_dsp_err_t;

/* A cascade ready to run: coefficients (feedback ones negated for multiply-accumulate)
 * and its delay lines. z[2k], z[2k+1] = signal k at n-1, n-2 (signal 0 is the input,
 * signal n_sections the output). */
typedef struct {
    struct {
        int32_t b0, b1, b2, na1, na2;
        int8_t ef1, ef2; /* error-feedback weights: -round(a1), -round(a2) */
    } c[TL_DSP_MAX_SECTIONS];
    int32_t z[2 * (TL_DSP_MAX_SECTIONS + 1)];
    int32_t e[2 * TL_DSP_MAX_SECTIONS]; /* rounding residues of section k at n-1, n-2 */
    uint8_t n_sections;
} tl_biquad_cascade_t;

/* Exact stability and range check of one quantised section. */
tl_dsp_err_t tl_biquad_check(const tl_biquad_coefs_t *c);

/* Check the sections, then load them into `bq` with zeroed delay lines. On error `bq` is
 * left as a pass-through of zero sections (its output is its input). */
tl_dsp_err_t tl_biquad_init(tl_biquad_cascade_t *bq, const tl_biquad_coefs_t *sections,
                            size_t n_sections);

/* Zero the delay lines. */
void tl_biquad_reset(tl_biquad_cascade_t *bq);

/* Filter one sample. x is Q19.12 (an int16 ADC sample times 4096, see tl_dsp_from_int16);
 * returns the output in Q19.12, within +/-TL_DSP_SIGNAL_LIMIT. */
int32_t tl_biquad_step(tl_biquad_cascade_t *bq, int32_t x);

/* An int16 sample in Q19.12. */
static inline int32_t tl_dsp_from_int16(int16_t x)
{
    return (int32_t)x * (INT32_C(1) << TL_DSP_SIGNAL_FRAC);
}

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_DSP_H */
