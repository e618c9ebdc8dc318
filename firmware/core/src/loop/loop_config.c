/*
 * loop_config.c - the control loop's configuration: field table, defaults, validation.
 */
#include "theraloop/loop/loop_config.h"

#include <string.h>

#include "../therapy/strbuf.h"
#include "theraloop/loop/model_source.h"
#include "theraloop/loop/model_step.h"

#define U TL_CFG_TYPE_U32
#define I TL_CFG_TYPE_I32
#define F(fld, type, grp, mn, mx, df, unit, choices, help)                                     \
    {#fld, (uint16_t)offsetof(tl_loop_config_t, fld), (uint8_t)(type), (uint8_t)(grp),        \
     (int64_t)(mn), (int64_t)(mx), (int64_t)(df), unit, choices, help}
#define FB(i)                                                                                  \
    {"band" #i "_frac_bits",                                                                   \
     (uint16_t)(offsetof(tl_loop_config_t, band_frac_bits) + (i) * sizeof(uint32_t)),          \
     (uint8_t)U, (uint8_t)PIP, 0, TL_FEAT_MAX_FRAC_BITS, 4, "bits", NULL,                      \
     "fractional bits of built-in band " #i "'s power (theta, alpha, beta, gamma)"}

#define SEN TL_LOOP_GROUP_SENSING
#define PIP TL_LOOP_GROUP_PIPELINE
#define MOD TL_LOOP_GROUP_MODEL
#define TIM TL_LOOP_GROUP_TIMING
#define FLT TL_LOOP_GROUP_FAULTS

/* Index of the `model` field (its range depends on the build's factory models) and of the
 * `pipeline` field (named choices). */
#define FIELD_MODEL 14
#define FIELD_PIPELINE 15

static const tl_cfg_field_t k_fields[] = {
    F(afe_rate_hz, U, SEN, 250, 1000, 1000, "Hz", NULL,
      "AFE sample rate: 250, 500 or 1000 (the built-in band filters follow it)"),
    F(afe_channels, U, SEN, 1, TL_FEAT_MAX_CHANNELS, 1, "", NULL,
      "AFE channels per frame"),
    F(hop_samples, U, PIP, 1, TL_FEAT_MAX_HOP, 20, "samples", NULL,
      "samples per channel per control step"),
    F(window_hops, U, PIP, 1, TL_FEAT_MAX_WINDOW_HOPS, 25, "hops", NULL,
      "feature averaging window"),
    F(bands, U, PIP, 0, TL_LOOP_BANDS_MAX, 4, "", NULL,
      "built-in band powers computed: the first N of theta, alpha, beta, gamma"),
    FB(0),
    FB(1),
    FB(2),
    FB(3),
    F(line_length, U, PIP, 0, 1, 1, "", NULL, "compute line length (1) or not (0)"),
    F(ll_frac_bits, U, PIP, 0, TL_FEAT_MAX_FRAC_BITS, 4, "bits", NULL,
      "fractional bits of line length"),
    F(area, U, PIP, 0, 1, 1, "", NULL, "compute area (1) or not (0)"),
    F(area_frac_bits, U, PIP, 0, TL_FEAT_MAX_FRAC_BITS, 4, "bits", NULL,
      "fractional bits of area"),
    F(raw_len, U, PIP, 0, TL_FEAT_MAX_RAW, 200, "samples", NULL,
      "raw-window samples kept per channel (0: none)"),
    F(model, U, MOD, 0, 1, 0, "", NULL,
      "model run by the loop: none, ram (uploaded), or a factory model's name (loads its preset)"),
    F(pipeline, U, MOD, 0, TL_PIPE_COUNT - 1, TL_PIPE_FEATURES, "", "features|raw",
      "what the model takes: the feature vector or the raw window of raw_channel"),
    F(raw_channel, U, MOD, 0, TL_FEAT_MAX_CHANNELS - 1, 0, "", NULL,
      "channel whose raw window a raw-window model takes"),
    F(infer_every, U, MOD, 1, 1000, 1, "hops", NULL,
      "run the model every N control steps (the score is held in between)"),
    F(score_class, U, MOD, 0, TL_MODEL_MAX_CLASSES - 1, 0, "", NULL,
      "output class whose value (Q15) is the policy's score"),
    F(artifact_class, I, MOD, -1, TL_MODEL_MAX_CLASSES - 1, -1, "", NULL,
      "output class that marks an artifact when it is the largest (-1: none)"),
    F(step_budget_us, U, TIM, 0, 10000000, 0, "us", NULL,
      "a control step taking longer is an overrun -> model deadline fault (0: the hop)"),
    F(inference_budget_us, U, TIM, 0, 10000000, 0, "us", NULL,
      "an inference taking longer misses its deadline (0: the step budget)"),
    F(debug_overrun, U, TIM, 0, 1, 0, "", NULL,
      "1: count every control step as an overrun (fault-path tests)"),
    F(dropout_ms, U, FLT, 0, 60000, 200, "ms", NULL,
      "no AFE data for this long (SysTick) is a dropout (0: off)"),
    F(flatline_ms, U, FLT, 0, 60000, 250, "ms", NULL,
      "a channel that does not change for this long is a flatline (0: off)"),
    F(stim_latch_ms, U, FLT, 0, 3600000, 10000, "ms", NULL,
      "a stimulator link fault lasting this long latches the hardware safe state (0: never)"),
};

#define N_FIELDS (sizeof(k_fields) / sizeof(k_fields[0]))

_Static_assert(offsetof(tl_loop_config_t, model) == FIELD_MODEL * sizeof(uint32_t) &&
                   offsetof(tl_loop_config_t, pipeline) == FIELD_PIPELINE * sizeof(uint32_t),
               "the field table follows the struct order");

static const char *const k_err_names[TL_LOOP_CFG_ERR_COUNT] = {
    "ok", "arg", "unknown_field", "range", "features", "raw", "model", "classes", "choice",
};

const char *tl_loop_cfg_err_name(uint32_t err)
{
    return err < TL_LOOP_CFG_ERR_COUNT ? k_err_names[err] : "unknown";
}

const char *tl_loop_cfg_group_name(uint32_t group)
{
    switch (group) {
    case TL_LOOP_GROUP_SENSING:
        return "sensing";
    case TL_LOOP_GROUP_PIPELINE:
        return "pipeline";
    case TL_LOOP_GROUP_MODEL:
        return "model";
    case TL_LOOP_GROUP_TIMING:
        return "timing";
    case TL_LOOP_GROUP_FAULTS:
        return "faults";
    default:
        return "unknown";
    }
}

size_t tl_loop_config_field_count(void)
{
    return N_FIELDS;
}

const tl_cfg_field_t *tl_loop_config_field(size_t index)
{
    return index < N_FIELDS ? &k_fields[index] : NULL;
}

int32_t tl_loop_config_find(const char *name, size_t name_len)
{
    if (name == NULL) {
        return -1;
    }
    for (size_t i = 0; i < N_FIELDS; i++) {
        if (strlen(k_fields[i].name) == name_len && memcmp(k_fields[i].name, name, name_len) == 0) {
            return (int32_t)i;
        }
    }
    return -1;
}

static void *field_ptr(tl_loop_config_t *cfg, size_t index)
{
    return (uint8_t *)cfg + k_fields[index].offset;
}

static const void *field_cptr(const tl_loop_config_t *cfg, size_t index)
{
    return (const uint8_t *)cfg + k_fields[index].offset;
}

bool tl_loop_config_get(const tl_loop_config_t *cfg, size_t index, int64_t *value)
{
    if (cfg == NULL || value == NULL || index >= N_FIELDS) {
        return false;
    }
    if (k_fields[index].type == I) {
        int32_t v;
        memcpy(&v, field_cptr(cfg, index), sizeof v);
        *value = v;
    } else {
        uint32_t v;
        memcpy(&v, field_cptr(cfg, index), sizeof v);
        *value = v;
    }
    return true;
}

static int64_t field_max(size_t index)
{
    if (index == FIELD_MODEL) {
        return (int64_t)tl_model_source_count() - 1;
    }
    return k_fields[index].max;
}

static tl_loop_cfg_err_t refuse(tl_loop_check_t *check, tl_loop_cfg_err_t err, int32_t field)
{
    if (check != NULL) {
        check->err = err;
        check->field = field;
    }
    return err;
}

static void begin(tl_loop_check_t *check, tl_strbuf_t *sb)
{
    static char scratch[2];
    if (check != NULL) {
        memset(check, 0, sizeof *check);
        check->field = -1;
        tl_sb_init(sb, check->why, sizeof check->why);
    } else {
        tl_sb_init(sb, scratch, sizeof scratch);
    }
}

static tl_loop_cfg_err_t range_error(tl_loop_check_t *check, tl_strbuf_t *sb, size_t index,
                                     int64_t value)
{
    const tl_cfg_field_t *f = &k_fields[index];
    tl_sb_str(sb, f->name);
    tl_sb_str(sb, " = ");
    tl_sb_i64(sb, value);
    tl_sb_str(sb, " outside ");
    tl_sb_i64(sb, f->min);
    tl_sb_str(sb, "..");
    tl_sb_i64(sb, field_max(index));
    if (f->unit[0] != '\0') {
        tl_sb_str(sb, " ");
        tl_sb_str(sb, f->unit);
    }
    return refuse(check, TL_LOOP_CFG_ERR_RANGE, (int32_t)index);
}

static bool rate_ok(int64_t v)
{
    return v == 250 || v == 500 || v == 1000;
}

tl_loop_cfg_err_t tl_loop_config_put(tl_loop_config_t *cfg, size_t index, int64_t value,
                                     tl_loop_check_t *check)
{
    tl_strbuf_t sb;
    begin(check, &sb);
    if (cfg == NULL || index >= N_FIELDS) {
        return refuse(check, cfg == NULL ? TL_LOOP_CFG_ERR_ARG : TL_LOOP_CFG_ERR_UNKNOWN_FIELD, -1);
    }
    if (value < k_fields[index].min || value > field_max(index) ||
        (index == 0u && !rate_ok(value))) {
        if (index == 0u) {
            tl_sb_str(&sb, "afe_rate_hz = ");
            tl_sb_i64(&sb, value);
            tl_sb_str(&sb, " is not 250, 500 or 1000 Hz");
            return refuse(check, TL_LOOP_CFG_ERR_RANGE, 0);
        }
        return range_error(check, &sb, index, value);
    }
    if (k_fields[index].type == I) {
        int32_t v = (int32_t)value;
        memcpy(field_ptr(cfg, index), &v, sizeof v);
    } else {
        uint32_t v = (uint32_t)value;
        memcpy(field_ptr(cfg, index), &v, sizeof v);
    }
    return TL_LOOP_CFG_OK;
}

void tl_loop_config_defaults(tl_loop_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < N_FIELDS; i++) {
        (void)tl_loop_config_put(cfg, i, k_fields[i].def, NULL);
    }
}

/* The n-th '|'-separated name of `choices`. */
static bool choice_at(const char *choices, int64_t value, const char **start, size_t *len)
{
    if (choices == NULL || value < 0) {
        return false;
    }
    const char *p = choices;
    for (int64_t i = 0; i < value; i++) {
        p = strchr(p, '|');
        if (p == NULL) {
            return false;
        }
        p++;
    }
    const char *end = strchr(p, '|');
    *start = p;
    *len = end != NULL ? (size_t)(end - p) : strlen(p);
    return true;
}

tl_loop_cfg_err_t tl_loop_config_choice_value(size_t index, const char *choice,
                                              size_t choice_len, int64_t *value)
{
    if (index >= N_FIELDS || choice == NULL || value == NULL) {
        return TL_LOOP_CFG_ERR_ARG;
    }
    if (index == FIELD_MODEL) {
        int32_t v = tl_model_source_find(choice, choice_len);
        if (v < 0) {
            return TL_LOOP_CFG_ERR_CHOICE;
        }
        *value = v;
        return TL_LOOP_CFG_OK;
    }
    for (int64_t v = 0; v <= k_fields[index].max; v++) {
        const char *s;
        size_t n;
        if (!choice_at(k_fields[index].choices, v, &s, &n)) {
            break;
        }
        if (n == choice_len && memcmp(s, choice, n) == 0) {
            *value = v;
            return TL_LOOP_CFG_OK;
        }
    }
    return TL_LOOP_CFG_ERR_CHOICE;
}

const char *tl_loop_config_choice_name(size_t index, int64_t value)
{
    if (index == FIELD_MODEL) {
        return value >= 0 && value <= UINT32_MAX ? tl_model_source_name((uint32_t)value) : NULL;
    }
    if (index == FIELD_PIPELINE) {
        return value >= 0 && value < TL_PIPE_COUNT ? tl_pipeline_name((uint32_t)value) : NULL;
    }
    return NULL;
}

static int32_t field_of_feat_err(tl_feat_err_t e)
{
    switch (e) {
    case TL_FEAT_ERR_HOP:
        return tl_loop_config_find("hop_samples", 11);
    case TL_FEAT_ERR_WINDOW:
        return tl_loop_config_find("window_hops", 11);
    case TL_FEAT_ERR_RAW_LEN:
        return tl_loop_config_find("raw_len", 7);
    case TL_FEAT_ERR_NOTHING:
    case TL_FEAT_ERR_BANDS:
        return tl_loop_config_find("bands", 5);
    case TL_FEAT_ERR_CHANNELS:
        return tl_loop_config_find("afe_channels", 12);
    case TL_FEAT_ERR_RATE:
        return 0;
    default:
        return -1;
    }
}

tl_loop_cfg_err_t tl_loop_config_validate(const tl_loop_config_t *cfg, tl_features_config_t *feat,
                                          tl_loop_check_t *check)
{
    tl_strbuf_t sb;
    begin(check, &sb);
    if (cfg == NULL) {
        return refuse(check, TL_LOOP_CFG_ERR_ARG, -1);
    }
    for (size_t i = 0; i < N_FIELDS; i++) {
        int64_t v;
        (void)tl_loop_config_get(cfg, i, &v);
        if (v < k_fields[i].min || v > field_max(i) || (i == 0u && !rate_ok(v))) {
            if (i == 0u) {
                tl_sb_str(&sb, "afe_rate_hz = ");
                tl_sb_i64(&sb, v);
                tl_sb_str(&sb, " is not 250, 500 or 1000 Hz");
                return refuse(check, TL_LOOP_CFG_ERR_RANGE, 0);
            }
            return range_error(check, &sb, i, v);
        }
    }
    tl_features_config_t local;
    tl_features_config_t *f = feat != NULL ? feat : &local;
    tl_feat_err_t fe = tl_features_default_config(f, (uint16_t)cfg->afe_rate_hz,
                                                  (uint8_t)cfg->afe_channels);
    if (fe == TL_FEAT_OK) {
        f->hop = (uint16_t)cfg->hop_samples;
        f->window_hops = (uint16_t)cfg->window_hops;
        f->raw_len = (uint16_t)cfg->raw_len;
        f->n_bands = (uint8_t)cfg->bands;
        for (uint32_t b = 0; b < TL_LOOP_BANDS_MAX && b < TL_FEAT_MAX_BANDS; b++) {
            f->bands[b].frac_bits = (uint8_t)cfg->band_frac_bits[b];
        }
        f->line_length = cfg->line_length != 0u;
        f->ll_frac_bits = (uint8_t)cfg->ll_frac_bits;
        f->area = cfg->area != 0u;
        f->area_frac_bits = (uint8_t)cfg->area_frac_bits;
        fe = tl_features_config_validate(f, NULL);
    }
    if (fe != TL_FEAT_OK) {
        tl_sb_str(&sb, "feature pipeline: ");
        tl_sb_str(&sb, tl_features_err_str(fe));
        if (fe == TL_FEAT_ERR_WINDOW) {
            tl_sb_str(&sb, " (hop_samples x window_hops = ");
            tl_sb_i64(&sb, (int64_t)cfg->hop_samples * (int64_t)cfg->window_hops);
            tl_sb_str(&sb, ", at most ");
            tl_sb_i64(&sb, TL_FEAT_MAX_WINDOW_SAMPLES);
            tl_sb_str(&sb, ")");
        }
        return refuse(check, TL_LOOP_CFG_ERR_FEATURES, field_of_feat_err(fe));
    }
    if (cfg->pipeline == TL_PIPE_RAW) {
        if (cfg->raw_len == 0u) {
            tl_sb_str(&sb, "pipeline raw needs a raw window: raw_len is 0");
            return refuse(check, TL_LOOP_CFG_ERR_RAW, tl_loop_config_find("raw_len", 7));
        }
        if (cfg->raw_channel >= cfg->afe_channels) {
            tl_sb_str(&sb, "raw_channel ");
            tl_sb_i64(&sb, cfg->raw_channel);
            tl_sb_str(&sb, " is not one of the ");
            tl_sb_i64(&sb, cfg->afe_channels);
            tl_sb_str(&sb, " AFE channels");
            return refuse(check, TL_LOOP_CFG_ERR_RAW, tl_loop_config_find("raw_channel", 11));
        }
    }
    if (cfg->artifact_class >= 0 && (uint32_t)cfg->artifact_class == cfg->score_class) {
        tl_sb_str(&sb, "artifact_class and score_class are both ");
        tl_sb_i64(&sb, cfg->score_class);
        return refuse(check, TL_LOOP_CFG_ERR_CLASSES, tl_loop_config_find("artifact_class", 14));
    }
    return TL_LOOP_CFG_OK;
}

uint32_t tl_loop_config_hop_ms(const tl_loop_config_t *cfg)
{
    uint32_t per = cfg->afe_rate_hz != 0u ? 1000u / cfg->afe_rate_hz : 0u;
    return cfg->hop_samples * per;
}

uint32_t tl_loop_config_model_input_len(const tl_loop_config_t *cfg)
{
    if (cfg->pipeline == TL_PIPE_RAW) {
        return cfg->raw_len;
    }
    uint32_t per = cfg->bands + (cfg->line_length != 0u ? 1u : 0u) + (cfg->area != 0u ? 1u : 0u);
    return per * cfg->afe_channels;
}
