/*
 * features.h - fixed-point signal features for the control loop, per channel and per hop,
 * from int16 samples. Integer arithmetic only: the host build (SIL, training pipeline) and
 * the device compute bit-identical feature vectors. Definitions, scales and measured
 * agreement with the float reference: docs/sensing.md.
 *
 * Samples arrive interleaved (frames of `channels` samples). Every `hop` frames a hop
 * completes and a new feature vector is computed over the averaging window, which is the
 * last `window_hops` hops (window = hop x window_hops samples per channel; during warm-up,
 * the hops seen so far). Per channel, in this order:
 *
 *   band power b (one per configured band): x -> biquad cascade (dsp.h) -> y;
 *       value = round(mean over the window of y^2 * 2^frac_bits)   [ADC counts^2]
 *       (y is rounded to 1/64 count before squaring; window sums are exact 64-bit integers)
 *   line length (if enabled): round(mean of |x[n] - x[n-1]| * 2^ll_frac_bits) [counts]
 *       (x[-1] = x[0] for the first sample after init/reset)
 *   area (if enabled): round(mean of |x[n]| * 2^area_frac_bits) [counts]
 *
 * Values are int32, saturated at INT32_MAX (never negative). Rounding is half up.
 * A raw-window path keeps the last raw_len input samples of each channel (an int16 ring)
 * for models that take samples directly.
 *
 * Usage (one control step per hop):
 *   tl_features_init(&f, &cfg);
 *   while samples: n = tl_features_push(&f, s, frames, &hop); s += n * channels; ...
 *       if (hop) { tl_features_read(&f, vec, cap); tl_features_raw_window(&f, ch, ...); }
 */
#ifndef THERALOOP_FEATURES_H
#define THERALOOP_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "theraloop/dsp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Capacity limits (static storage is sized by them; the Python binding checks the
 * resulting struct sizes). */
#define TL_FEAT_MAX_CHANNELS 4u
#define TL_FEAT_MAX_BANDS 6u
#define TL_FEAT_MAX_SECTIONS TL_DSP_MAX_SECTIONS
#define TL_FEAT_MAX_HOP 1024u            /* samples per hop */
#define TL_FEAT_MAX_WINDOW_HOPS 64u      /* hops in the averaging window */
#define TL_FEAT_MAX_WINDOW_SAMPLES 4096u /* hop x window_hops */
#define TL_FEAT_MAX_RAW 512u             /* raw-window samples per channel */
#define TL_FEAT_MAX_FRAC_BITS 12u
#define TL_FEAT_PER_CHANNEL (TL_FEAT_MAX_BANDS + 2u)
#define TL_FEAT_MAX_FEATURES (TL_FEAT_MAX_CHANNELS * TL_FEAT_PER_CHANNEL)
/* Sample rates are in 0.01 Hz (centihertz) so that recordings such as 173.61 Hz EEG can
 * be processed by the host build; the AFE delivers 250/500/1000 Hz. */
#define TL_FEAT_MIN_RATE_CENTIHZ 1000u    /* 10 Hz */
#define TL_FEAT_MAX_RATE_CENTIHZ 1000000u /* 10 kHz */

typedef enum {
    TL_FEAT_OK = 0,
    TL_FEAT_ERR_NULL = 1,
    TL_FEAT_ERR_RATE = 2,        /* sample rate outside 10 Hz .. 10 kHz */
    TL_FEAT_ERR_CHANNELS = 3,    /* channels not 1..TL_FEAT_MAX_CHANNELS */
    TL_FEAT_ERR_BANDS = 4,       /* more than TL_FEAT_MAX_BANDS bands */
    TL_FEAT_ERR_BAND_EDGES = 5,  /* band edges: 0 < low < high required */
    TL_FEAT_ERR_NYQUIST = 6,     /* band high edge at or above half the sample rate */
    TL_FEAT_ERR_SECTIONS = 7,    /* band with 0 or more than TL_FEAT_MAX_SECTIONS sections */
    TL_FEAT_ERR_UNSTABLE = 8,    /* band filter section with a pole on/outside the circle */
    TL_FEAT_ERR_HOP = 9,         /* hop not 1..TL_FEAT_MAX_HOP */
    TL_FEAT_ERR_WINDOW = 10,     /* window_hops 0, > TL_FEAT_MAX_WINDOW_HOPS, or window
                                    longer than TL_FEAT_MAX_WINDOW_SAMPLES */
    TL_FEAT_ERR_RAW_LEN = 11,    /* raw_len > TL_FEAT_MAX_RAW */
    TL_FEAT_ERR_FRAC_BITS = 12,  /* a frac_bits above TL_FEAT_MAX_FRAC_BITS */
    TL_FEAT_ERR_NOTHING = 13,    /* no band, no line length, no area and no raw window */
    TL_FEAT_ERR_INDEX = 14,      /* tl_features_describe: no feature with that index */
} tl_feat_err_t;

/* One band: its nominal edges (for validation and for describing the feature to a model
 * contract) and the quantised filter designed for the configured sample rate. */
typedef struct {
    uint32_t low_centihz;
    uint32_t high_centihz;
    tl_biquad_coefs_t sos[TL_FEAT_MAX_SECTIONS];
    uint8_t n_sections;
    uint8_t frac_bits; /* output = mean(y^2) * 2^frac_bits */
} tl_feat_band_t;

typedef struct {
    uint32_t rate_centihz;  /* e.g. 100000 for 1000 Hz */
    uint16_t hop;           /* samples per channel per hop */
    uint16_t window_hops;   /* averaging window, in hops */
    uint16_t raw_len;       /* raw-window samples per channel (0: no raw window) */
    uint8_t channels;
    uint8_t n_bands;
    bool line_length;
    bool area;
    uint8_t ll_frac_bits;
    uint8_t area_frac_bits;
    tl_feat_band_t bands[TL_FEAT_MAX_BANDS];
} tl_features_config_t;

typedef enum {
    TL_FEAT_KIND_BAND_POWER = 1,
    TL_FEAT_KIND_LINE_LENGTH = 2,
    TL_FEAT_KIND_AREA = 3,
} tl_feat_kind_t;

/* What element i of the feature vector is: real value = value / 2^frac_bits, in ADC
 * counts^2 (band power) or counts (line length, area). */
typedef struct {
    uint32_t low_centihz;  /* band edges (band power only, else 0) */
    uint32_t high_centihz;
    uint8_t kind;          /* tl_feat_kind_t */
    uint8_t channel;
    uint8_t band;          /* band index (band power only, else 0) */
    uint8_t frac_bits;
} tl_feature_desc_t;

/* Treat the members as private; public only so that the state can be static. */
typedef struct {
    tl_features_config_t cfg;
    tl_biquad_cascade_t filt[TL_FEAT_MAX_CHANNELS][TL_FEAT_MAX_BANDS];
    uint64_t pow_acc[TL_FEAT_MAX_CHANNELS][TL_FEAT_MAX_BANDS]; /* current hop, Q12 */
    uint64_t pow_sum[TL_FEAT_MAX_CHANNELS][TL_FEAT_MAX_BANDS]; /* window, Q12 */
    uint64_t pow_ring[TL_FEAT_MAX_WINDOW_HOPS][TL_FEAT_MAX_CHANNELS][TL_FEAT_MAX_BANDS];
    uint32_t ll_acc[TL_FEAT_MAX_CHANNELS];
    uint32_t ll_sum[TL_FEAT_MAX_CHANNELS];
    uint32_t ll_ring[TL_FEAT_MAX_WINDOW_HOPS][TL_FEAT_MAX_CHANNELS];
    uint32_t area_acc[TL_FEAT_MAX_CHANNELS];
    uint32_t area_sum[TL_FEAT_MAX_CHANNELS];
    uint32_t area_ring[TL_FEAT_MAX_WINDOW_HOPS][TL_FEAT_MAX_CHANNELS];
    int32_t out[TL_FEAT_MAX_FEATURES];
    int16_t prev[TL_FEAT_MAX_CHANNELS];
    int16_t raw[TL_FEAT_MAX_CHANNELS][TL_FEAT_MAX_RAW];
    uint32_t hops;       /* hops completed since init/reset (saturates) */
    uint16_t hop_pos;    /* frames into the current hop */
    uint16_t slot;       /* ring slot the current hop will occupy */
    uint16_t filled;     /* hops in the window (<= window_hops) */
    uint16_t raw_pos;    /* next raw slot */
    uint16_t raw_count;  /* raw samples held (<= raw_len) */
    uint8_t n_out;
    bool have_prev;
    bool configured;
} tl_features_t;

/* Check a configuration. If bad_band is not NULL it receives the index of the offending
 * band for band errors (else 0xFF). */
tl_feat_err_t tl_features_config_validate(const tl_features_config_t *cfg, uint8_t *bad_band);

/* Short lower-case reason, e.g. "band above Nyquist", for management replies. */
const char *tl_features_err_str(tl_feat_err_t err);

/* Number of features a configuration produces: channels x (bands + ll + area). */
size_t tl_features_count_for(const tl_features_config_t *cfg);

/* Describe feature `index` of a configuration's vector. */
tl_feat_err_t tl_features_describe(const tl_features_config_t *cfg, size_t index,
                                   tl_feature_desc_t *out);

/* The built-in configuration: 4 bands (theta 4-8, alpha 8-12, beta 13-30, gamma 30-90 Hz,
 * 4th-order Butterworth, generated by theraloop.dsp.design into default_bands.c), hop
 * 20 ms, window 500 ms (25 hops), line length and area on, raw window of hop x 10 samples,
 * frac_bits 4 everywhere. sample_rate_hz: 250, 500 or 1000. */
tl_feat_err_t tl_features_default_config(tl_features_config_t *cfg, uint16_t sample_rate_hz,
                                         uint8_t channels);

/* Validate and load a configuration; zeroes all state. On error the object is left
 * unconfigured (push consumes nothing, read returns 0). */
tl_feat_err_t tl_features_init(tl_features_t *f, const tl_features_config_t *cfg);

/* Restart from silence: filters, windows, raw window and hop phase (config kept). */
void tl_features_reset(tl_features_t *f);

/* Push up to `frames` interleaved frames (frames x channels int16). Stops right after the
 * frame that completes a hop (*hop_done = true: a new vector is ready) or at the end of the
 * input. Returns the number of frames consumed. */
size_t tl_features_push(tl_features_t *f, const int16_t *samples, size_t frames,
                        bool *hop_done);

/* Copy the latest feature vector into out; returns the number of values (0 before the
 * first hop, if unconfigured, or if cap is smaller than the vector). */
size_t tl_features_read(const tl_features_t *f, int32_t *out, size_t cap);

/* Features per vector of the loaded configuration (0 if unconfigured). */
size_t tl_features_count(const tl_features_t *f);

/* Hops completed since init/reset (saturates at UINT32_MAX). */
uint32_t tl_features_hops(const tl_features_t *f);

/* True once the averaging window has been filled since init/reset. */
bool tl_features_window_full(const tl_features_t *f);

/* Copy channel `channel`'s raw window (oldest sample first) into out. Returns the number
 * of samples copied: raw_len once the window is full, fewer during warm-up, 0 for a bad
 * channel or when cap < raw_len. */
size_t tl_features_raw_window(const tl_features_t *f, uint8_t channel, int16_t *out,
                              size_t cap);

/* sizeof the public structs, so that bindings (ctypes) can check their mirrors. */
size_t tl_features_config_size(void);
size_t tl_features_state_size(void);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_FEATURES_H */
