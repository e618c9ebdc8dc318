/*
 * biquad.c - direct-form-I biquad cascade in fixed point (formats and bounds in dsp.h).
 */
#include <string.h>

#include "theraloop/dsp.h"

/* The rounding shift below relies on >> of a negative int64 being arithmetic, which C11
 * leaves implementation-defined; GCC and Clang (every target we build for) define it so. */
_Static_assert((INT64_C(-5) >> 1) == INT64_C(-3), "arithmetic right shift required");

#define Q_ONE (INT32_C(1) << TL_DSP_COEF_FRAC) /* 1.0 in Q2.29 */
#define ROUND_HALF (INT64_C(1) << (TL_DSP_COEF_FRAC - 1))

tl_dsp_err_t tl_biquad_check(const tl_biquad_coefs_t *c)
{
    if (c == NULL) {
        return TL_DSP_ERR_NULL;
    }
    /* Stability triangle of 1 + a1 z^-1 + a2 z^-2: |a2| < 1 and |a1| < 1 + a2. Computed
     * in int64 so that no value of the int32 fields can overflow the test. */
    int64_t a1 = c->a1;
    int64_t a2 = c->a2;
    int64_t abs_a1 = a1 < 0 ? -a1 : a1;
    if (a2 >= Q_ONE || a2 <= -(int64_t)Q_ONE || abs_a1 >= (int64_t)Q_ONE + a2) {
        return TL_DSP_ERR_UNSTABLE;
    }
    return TL_DSP_OK;
}

void tl_biquad_reset(tl_biquad_cascade_t *bq)
{
    if (bq != NULL) {
        memset(bq->z, 0, sizeof(bq->z));
        memset(bq->e, 0, sizeof(bq->e));
    }
}

tl_dsp_err_t tl_biquad_init(tl_biquad_cascade_t *bq, const tl_biquad_coefs_t *sections,
                            size_t n_sections)
{
    if (bq == NULL) {
        return TL_DSP_ERR_NULL;
    }
    memset(bq, 0, sizeof(*bq));
    if (sections == NULL) {
        return TL_DSP_ERR_NULL;
    }
    if (n_sections < 1u || n_sections > TL_DSP_MAX_SECTIONS) {
        return TL_DSP_ERR_SECTIONS;
    }
    for (size_t k = 0; k < n_sections; k++) {
        tl_dsp_err_t err = tl_biquad_check(&sections[k]);
        if (err != TL_DSP_OK) {
            return err;
        }
    }
    for (size_t k = 0; k < n_sections; k++) {
        bq->c[k].b0 = sections[k].b0;
        bq->c[k].b1 = sections[k].b1;
        bq->c[k].b2 = sections[k].b2;
        /* |a1| < 2^30 and |a2| < 2^29 after the check: negation cannot overflow. */
        bq->c[k].na1 = -sections[k].a1;
        bq->c[k].na2 = -sections[k].a2;
        /* Error-feedback weights: -round(a1), -round(a2) (|.| <= 2 and <= 1). */
        bq->c[k].ef1 = (int8_t)(-((sections[k].a1 + Q_ONE / 2) >> TL_DSP_COEF_FRAC));
        bq->c[k].ef2 = (int8_t)(-((sections[k].a2 + Q_ONE / 2) >> TL_DSP_COEF_FRAC));
    }
    bq->n_sections = (uint8_t)n_sections;
    return TL_DSP_OK;
}

static int32_t clamp_signal(int64_t v)
{
    if (v > TL_DSP_SIGNAL_LIMIT) {
        return TL_DSP_SIGNAL_LIMIT;
    }
    if (v < -TL_DSP_SIGNAL_LIMIT) {
        return -TL_DSP_SIGNAL_LIMIT;
    }
    return (int32_t)v;
}

int32_t tl_biquad_step(tl_biquad_cascade_t *bq, int32_t x)
{
    int32_t w = clamp_signal(x);
    int32_t *z = bq->z;
    int32_t *e = bq->e;
    for (uint8_t k = 0; k < bq->n_sections; k++) {
        /* |w|, |z| <= 2^30; |b| <= 2^31, |na1| < 2^30, |na2| < 2^29; |e| <= 2^28 with
         * weights |ef1| <= 2, |ef2| <= 1: the sum stays below
         * 3 * 2^61 + 2^60 + 2^59 + 2^30 + 2^28 < 2^63. */
        int64_t acc = ROUND_HALF;
        acc += (int64_t)bq->c[k].b0 * w;
        acc += (int64_t)bq->c[k].b1 * z[0];
        acc += (int64_t)bq->c[k].b2 * z[1];
        acc += (int64_t)bq->c[k].na1 * z[2];
        acc += (int64_t)bq->c[k].na2 * z[3];
        /* Error feedback: the rounding residues of the two previous outputs, weighted by
         * the integer-rounded feedback coefficients, shape the rounding noise by
         * (1 + round(a1) z^-1 + round(a2) z^-2) / A(z) instead of 1 / A(z). */
        acc += (int64_t)bq->c[k].ef1 * e[0] + (int64_t)bq->c[k].ef2 * e[1];
        int64_t q = acc >> TL_DSP_COEF_FRAC; /* round half up (ROUND_HALF added) */
        e[1] = e[0];
        /* Residue of this rounding, in [-2^28, 2^28): acc - ROUND_HALF - q * 2^29. */
        e[0] = (int32_t)(acc - ROUND_HALF - q * ((int64_t)1 << TL_DSP_COEF_FRAC));
        z[1] = z[0];
        z[0] = w;
        w = clamp_signal(q);
        z += 2;
        e += 2;
    }
    z[1] = z[0];
    z[0] = w;
    return w;
}
