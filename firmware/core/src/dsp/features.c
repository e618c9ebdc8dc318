/*
 * features.c - per-hop band power, line length, area and raw window (see features.h).
 *
 * Arithmetic bounds (why nothing can overflow):
 *   - band filter output |y| <= 2^30 (Q19.12, clamped by the cascade); rounded to Q6 it is
 *     at most 2^24 + 1, its square below 2^48 + 2^26 (Q12 counts^2); a window holds at most
 *     TL_FEAT_MAX_WINDOW_SAMPLES = 2^12 samples, so every power sum is below 2^61.
 *   - |x[n] - x[n-1]| <= 65535 and |x| <= 32768: window sums below 2^28 (uint32).
 *   - outputs: value * 2^frac (frac <= 12) in uint64, then divided and saturated to int32.
 */
#include <string.h>

#include "dsp_defaults.h"
#include "theraloop/features.h"

#define POWER_FRAC 12u     /* power sums: Q12 counts^2 (squares of Q6 samples) */
#define POWER_SHIFT 6      /* Q19.12 filter output -> Q6 before squaring */
#define NO_BAND 0xFFu

/* Q19.12 -> Q6 rounding uses >> on negative int64 (arithmetic on GCC and Clang). */
_Static_assert((INT64_C(-5) >> 1) == INT64_C(-3), "arithmetic right shift required");

const char *tl_features_err_str(tl_feat_err_t err)
{
    switch (err) {
    case TL_FEAT_OK:
        return "ok";
    case TL_FEAT_ERR_NULL:
        return "missing configuration";
    case TL_FEAT_ERR_RATE:
        return "sample rate outside 10 Hz..10 kHz";
    case TL_FEAT_ERR_CHANNELS:
        return "channels not 1..4";
    case TL_FEAT_ERR_BANDS:
        return "too many bands";
    case TL_FEAT_ERR_BAND_EDGES:
        return "band edges not 0 < low < high";
    case TL_FEAT_ERR_NYQUIST:
        return "band above Nyquist";
    case TL_FEAT_ERR_SECTIONS:
        return "band filter section count not 1..4";
    case TL_FEAT_ERR_UNSTABLE:
        return "band filter unstable";
    case TL_FEAT_ERR_HOP:
        return "hop not 1..1024 samples";
    case TL_FEAT_ERR_WINDOW:
        return "averaging window not 1..64 hops and at most 4096 samples";
    case TL_FEAT_ERR_RAW_LEN:
        return "raw window longer than 512 samples";
    case TL_FEAT_ERR_FRAC_BITS:
        return "fractional bits above 12";
    case TL_FEAT_ERR_NOTHING:
        return "no feature enabled";
    case TL_FEAT_ERR_INDEX:
        return "no such feature";
    default:
        return "unknown error";
    }
}

tl_feat_err_t tl_features_config_validate(const tl_features_config_t *cfg, uint8_t *bad_band)
{
    if (bad_band != NULL) {
        *bad_band = NO_BAND;
    }
    if (cfg == NULL) {
        return TL_FEAT_ERR_NULL;
    }
    if (cfg->rate_centihz < TL_FEAT_MIN_RATE_CENTIHZ ||
        cfg->rate_centihz > TL_FEAT_MAX_RATE_CENTIHZ) {
        return TL_FEAT_ERR_RATE;
    }
    if (cfg->channels < 1u || cfg->channels > TL_FEAT_MAX_CHANNELS) {
        return TL_FEAT_ERR_CHANNELS;
    }
    if (cfg->n_bands > TL_FEAT_MAX_BANDS) {
        return TL_FEAT_ERR_BANDS;
    }
    if (cfg->hop < 1u || cfg->hop > TL_FEAT_MAX_HOP) {
        return TL_FEAT_ERR_HOP;
    }
    if (cfg->window_hops < 1u || cfg->window_hops > TL_FEAT_MAX_WINDOW_HOPS ||
        (uint32_t)cfg->hop * cfg->window_hops > TL_FEAT_MAX_WINDOW_SAMPLES) {
        return TL_FEAT_ERR_WINDOW;
    }
    if (cfg->raw_len > TL_FEAT_MAX_RAW) {
        return TL_FEAT_ERR_RAW_LEN;
    }
    if ((cfg->line_length && cfg->ll_frac_bits > TL_FEAT_MAX_FRAC_BITS) ||
        (cfg->area && cfg->area_frac_bits > TL_FEAT_MAX_FRAC_BITS)) {
        return TL_FEAT_ERR_FRAC_BITS;
    }
    if (cfg->n_bands == 0u && !cfg->line_length && !cfg->area && cfg->raw_len == 0u) {
        return TL_FEAT_ERR_NOTHING;
    }
    uint32_t nyquist = cfg->rate_centihz / 2u; /* exact enough: high must be below it */
    for (uint8_t b = 0; b < cfg->n_bands; b++) {
        const tl_feat_band_t *band = &cfg->bands[b];
        tl_feat_err_t err = TL_FEAT_OK;
        if (band->low_centihz == 0u || band->low_centihz >= band->high_centihz) {
            err = TL_FEAT_ERR_BAND_EDGES;
        } else if (band->high_centihz >= nyquist) {
            err = TL_FEAT_ERR_NYQUIST;
        } else if (band->n_sections < 1u || band->n_sections > TL_FEAT_MAX_SECTIONS) {
            err = TL_FEAT_ERR_SECTIONS;
        } else if (band->frac_bits > TL_FEAT_MAX_FRAC_BITS) {
            err = TL_FEAT_ERR_FRAC_BITS;
        } else {
            for (uint8_t k = 0; k < band->n_sections; k++) {
                if (tl_biquad_check(&band->sos[k]) != TL_DSP_OK) {
                    err = TL_FEAT_ERR_UNSTABLE;
                    break;
                }
            }
        }
        if (err != TL_FEAT_OK) {
            if (bad_band != NULL) {
                *bad_band = b;
            }
            return err;
        }
    }
    return TL_FEAT_OK;
}

static size_t per_channel(const tl_features_config_t *cfg)
{
    return (size_t)cfg->n_bands + (cfg->line_length ? 1u : 0u) + (cfg->area ? 1u : 0u);
}

size_t tl_features_count_for(const tl_features_config_t *cfg)
{
    if (cfg == NULL || tl_features_config_validate(cfg, NULL) != TL_FEAT_OK) {
        return 0;
    }
    return (size_t)cfg->channels * per_channel(cfg);
}

tl_feat_err_t tl_features_describe(const tl_features_config_t *cfg, size_t index,
                                   tl_feature_desc_t *out)
{
    if (out == NULL) {
        return TL_FEAT_ERR_NULL;
    }
    tl_feat_err_t err = tl_features_config_validate(cfg, NULL);
    if (err != TL_FEAT_OK) {
        return err;
    }
    size_t per = per_channel(cfg);
    if (index >= (size_t)cfg->channels * per) {
        return TL_FEAT_ERR_INDEX;
    }
    memset(out, 0, sizeof(*out));
    out->channel = (uint8_t)(index / per);
    size_t j = index % per;
    if (j < cfg->n_bands) {
        out->kind = (uint8_t)TL_FEAT_KIND_BAND_POWER;
        out->band = (uint8_t)j;
        out->frac_bits = cfg->bands[j].frac_bits;
        out->low_centihz = cfg->bands[j].low_centihz;
        out->high_centihz = cfg->bands[j].high_centihz;
    } else if (j == cfg->n_bands && cfg->line_length) {
        out->kind = (uint8_t)TL_FEAT_KIND_LINE_LENGTH;
        out->frac_bits = cfg->ll_frac_bits;
    } else {
        out->kind = (uint8_t)TL_FEAT_KIND_AREA;
        out->frac_bits = cfg->area_frac_bits;
    }
    return TL_FEAT_OK;
}

tl_feat_err_t tl_features_default_config(tl_features_config_t *cfg, uint16_t sample_rate_hz,
                                         uint8_t channels)
{
    if (cfg == NULL) {
        return TL_FEAT_ERR_NULL;
    }
    memset(cfg, 0, sizeof(*cfg));
    const tl_feat_band_t *bands;
    switch (sample_rate_hz) {
    case 250u:
        bands = tl_feat_default_bands_250;
        break;
    case 500u:
        bands = tl_feat_default_bands_500;
        break;
    case 1000u:
        bands = tl_feat_default_bands_1000;
        break;
    default:
        return TL_FEAT_ERR_RATE;
    }
    cfg->rate_centihz = (uint32_t)sample_rate_hz * 100u;
    cfg->channels = channels;
    cfg->hop = (uint16_t)(sample_rate_hz / 50u);          /* 20 ms: 5, 10, 20 samples */
    cfg->window_hops = 25u;                              /* 500 ms */
    cfg->raw_len = (uint16_t)(cfg->hop * 10u);           /* 200 ms */
    cfg->n_bands = (uint8_t)TL_FEAT_DEFAULT_BANDS;
    memcpy(cfg->bands, bands, TL_FEAT_DEFAULT_BANDS * sizeof(bands[0]));
    cfg->line_length = true;
    cfg->area = true;
    cfg->ll_frac_bits = 4u;
    cfg->area_frac_bits = 4u;
    return tl_features_config_validate(cfg, NULL);
}

void tl_features_reset(tl_features_t *f)
{
    if (f == NULL) {
        return;
    }
    for (size_t c = 0; c < TL_FEAT_MAX_CHANNELS; c++) {
        for (size_t b = 0; b < TL_FEAT_MAX_BANDS; b++) {
            tl_biquad_reset(&f->filt[c][b]);
        }
    }
    memset(f->pow_acc, 0, sizeof(f->pow_acc));
    memset(f->pow_sum, 0, sizeof(f->pow_sum));
    memset(f->pow_ring, 0, sizeof(f->pow_ring));
    memset(f->ll_acc, 0, sizeof(f->ll_acc));
    memset(f->ll_sum, 0, sizeof(f->ll_sum));
    memset(f->ll_ring, 0, sizeof(f->ll_ring));
    memset(f->area_acc, 0, sizeof(f->area_acc));
    memset(f->area_sum, 0, sizeof(f->area_sum));
    memset(f->area_ring, 0, sizeof(f->area_ring));
    memset(f->out, 0, sizeof(f->out));
    memset(f->prev, 0, sizeof(f->prev));
    memset(f->raw, 0, sizeof(f->raw));
    f->hops = 0;
    f->hop_pos = 0;
    f->slot = 0;
    f->filled = 0;
    f->raw_pos = 0;
    f->raw_count = 0;
    f->n_out = 0;
    f->have_prev = false;
}

tl_feat_err_t tl_features_init(tl_features_t *f, const tl_features_config_t *cfg)
{
    if (f == NULL) {
        return TL_FEAT_ERR_NULL;
    }
    memset(f, 0, sizeof(*f));
    tl_feat_err_t err = tl_features_config_validate(cfg, NULL);
    if (err != TL_FEAT_OK) {
        return err;
    }
    f->cfg = *cfg;
    for (uint8_t c = 0; c < cfg->channels; c++) {
        for (uint8_t b = 0; b < cfg->n_bands; b++) {
            /* Already validated: cannot fail. */
            (void)tl_biquad_init(&f->filt[c][b], cfg->bands[b].sos, cfg->bands[b].n_sections);
        }
    }
    f->configured = true;
    tl_features_reset(f);
    return TL_FEAT_OK;
}

static int32_t sat_i32(uint64_t v)
{
    return v > (uint64_t)INT32_MAX ? INT32_MAX : (int32_t)v;
}

/* round(sum * 2^frac / (n * 2^sum_frac)), half up; frac <= sum_frac. */
static int32_t scaled_mean(uint64_t sum, uint32_t n, unsigned sum_frac, unsigned frac)
{
    uint64_t den = (uint64_t)n << (sum_frac - frac);
    return sat_i32((sum + den / 2u) / den);
}

static void finish_hop(tl_features_t *f)
{
    const tl_features_config_t *cfg = &f->cfg;
    bool full = f->filled == cfg->window_hops;
    uint16_t s = f->slot;
    for (uint8_t c = 0; c < cfg->channels; c++) {
        for (uint8_t b = 0; b < cfg->n_bands; b++) {
            if (full) {
                f->pow_sum[c][b] -= f->pow_ring[s][c][b];
            }
            f->pow_ring[s][c][b] = f->pow_acc[c][b];
            f->pow_sum[c][b] += f->pow_acc[c][b];
            f->pow_acc[c][b] = 0;
        }
        if (full) {
            f->ll_sum[c] -= f->ll_ring[s][c];
            f->area_sum[c] -= f->area_ring[s][c];
        }
        f->ll_ring[s][c] = f->ll_acc[c];
        f->ll_sum[c] += f->ll_acc[c];
        f->ll_acc[c] = 0;
        f->area_ring[s][c] = f->area_acc[c];
        f->area_sum[c] += f->area_acc[c];
        f->area_acc[c] = 0;
    }
    f->slot = (uint16_t)((s + 1u) % cfg->window_hops);
    if (!full) {
        f->filled++;
    }
    if (f->hops < UINT32_MAX) {
        f->hops++;
    }

    uint32_t n = (uint32_t)f->filled * cfg->hop; /* samples per channel in the window */
    size_t k = 0;
    for (uint8_t c = 0; c < cfg->channels; c++) {
        for (uint8_t b = 0; b < cfg->n_bands; b++) {
            f->out[k++] = scaled_mean(f->pow_sum[c][b], n, POWER_FRAC, cfg->bands[b].frac_bits);
        }
        if (cfg->line_length) {
            f->out[k++] = scaled_mean((uint64_t)f->ll_sum[c] << cfg->ll_frac_bits, n,
                                      cfg->ll_frac_bits, cfg->ll_frac_bits);
        }
        if (cfg->area) {
            f->out[k++] = scaled_mean((uint64_t)f->area_sum[c] << cfg->area_frac_bits, n,
                                      cfg->area_frac_bits, cfg->area_frac_bits);
        }
    }
    f->n_out = (uint8_t)k;
}

/* One frame: every channel's sample through its filters and accumulators. */
static void push_frame(tl_features_t *f, const int16_t *frame)
{
    const tl_features_config_t *cfg = &f->cfg;
    for (uint8_t c = 0; c < cfg->channels; c++) {
        int16_t x = frame[c];
        int32_t xq = tl_dsp_from_int16(x);
        for (uint8_t b = 0; b < cfg->n_bands; b++) {
            int32_t y = tl_biquad_step(&f->filt[c][b], xq);
            /* Q19.12 -> Q6, rounded half up; |y6| <= 2^24 + 1. */
            int64_t y6 = ((int64_t)y + (INT64_C(1) << (POWER_SHIFT - 1))) >> POWER_SHIFT;
            f->pow_acc[c][b] += (uint64_t)(y6 * y6);
        }
        int32_t prev = f->have_prev ? f->prev[c] : x;
        int32_t d = (int32_t)x - prev;
        f->ll_acc[c] += (uint32_t)(d < 0 ? -d : d);
        f->area_acc[c] += (uint32_t)(x < 0 ? -(int32_t)x : (int32_t)x);
        f->prev[c] = x;
        if (cfg->raw_len > 0u) {
            f->raw[c][f->raw_pos] = x;
        }
    }
    f->have_prev = true;
    if (cfg->raw_len > 0u) {
        f->raw_pos = (uint16_t)((f->raw_pos + 1u) % cfg->raw_len);
        if (f->raw_count < cfg->raw_len) {
            f->raw_count++;
        }
    }
}

size_t tl_features_push(tl_features_t *f, const int16_t *samples, size_t frames,
                        bool *hop_done)
{
    if (hop_done != NULL) {
        *hop_done = false;
    }
    if (f == NULL || !f->configured || samples == NULL) {
        return 0;
    }
    size_t ch = f->cfg.channels;
    for (size_t i = 0; i < frames; i++) {
        push_frame(f, samples + i * ch);
        f->hop_pos++;
        if (f->hop_pos >= f->cfg.hop) {
            f->hop_pos = 0;
            finish_hop(f);
            if (hop_done != NULL) {
                *hop_done = true;
            }
            return i + 1u;
        }
    }
    return frames;
}

size_t tl_features_read(const tl_features_t *f, int32_t *out, size_t cap)
{
    if (f == NULL || out == NULL || !f->configured || f->hops == 0u || cap < f->n_out) {
        return 0;
    }
    memcpy(out, f->out, (size_t)f->n_out * sizeof(out[0]));
    return f->n_out;
}

size_t tl_features_count(const tl_features_t *f)
{
    if (f == NULL || !f->configured) {
        return 0;
    }
    return (size_t)f->cfg.channels * per_channel(&f->cfg);
}

uint32_t tl_features_hops(const tl_features_t *f)
{
    return (f == NULL) ? 0u : f->hops;
}

bool tl_features_window_full(const tl_features_t *f)
{
    return f != NULL && f->configured && f->filled == f->cfg.window_hops;
}

size_t tl_features_raw_window(const tl_features_t *f, uint8_t channel, int16_t *out,
                              size_t cap)
{
    if (f == NULL || out == NULL || !f->configured || channel >= f->cfg.channels ||
        f->cfg.raw_len == 0u || cap < f->cfg.raw_len) {
        return 0;
    }
    uint16_t len = f->cfg.raw_len;
    uint16_t n = f->raw_count;
    /* Oldest of the n held samples: raw_pos - n (mod len). */
    uint16_t start = (uint16_t)((f->raw_pos + len - n) % len);
    for (uint16_t i = 0; i < n; i++) {
        out[i] = f->raw[channel][(start + i) % len];
    }
    return n;
}

size_t tl_features_config_size(void)
{
    return sizeof(tl_features_config_t);
}

size_t tl_features_state_size(void)
{
    return sizeof(tl_features_t);
}
