/*
 * loop/loop_config.h - the control loop's own configuration: sensing (AFE rate and
 * channels), the feature / raw-window pipeline, the model and how its output is read,
 * timing budgets and sensor-fault detection. One plain struct of 32-bit fields driven by a
 * field table (name, range, default, unit, help), exactly like the therapy configuration
 * (therapy/config.h), so that `theraloop config get/set` handles both the same way.
 *
 * The feature stage uses the built-in band filters for the AFE rate (features.h,
 * tl_features_default_config: theta, alpha, beta, gamma); this configuration chooses how
 * many of them, their fractional bits, line length and area, hop, window and raw window.
 * Validation builds the resulting tl_features_config_t and checks it with the feature
 * stage's own validator, then the loop-level rules (see tl_loop_config_validate).
 */
#ifndef THERALOOP_LOOP_LOOP_CONFIG_H
#define THERALOOP_LOOP_LOOP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "theraloop/features.h"
#include "theraloop/therapy/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TL_LOOP_BANDS_MAX 4u /* built-in bands: theta, alpha, beta, gamma */

typedef struct {
    /* sensing */
    uint32_t afe_rate_hz;  /* 250, 500 or 1000 */
    uint32_t afe_channels; /* 1..4 */
    /* pipeline */
    uint32_t hop_samples;  /* one control step per hop */
    uint32_t window_hops;  /* feature averaging window */
    uint32_t bands;        /* built-in bands used: the first 0..4 */
    uint32_t band_frac_bits[TL_LOOP_BANDS_MAX];
    uint32_t line_length;  /* 0/1 */
    uint32_t ll_frac_bits;
    uint32_t area;         /* 0/1 */
    uint32_t area_frac_bits;
    uint32_t raw_len;      /* raw-window samples per channel, 0..512 */
    /* model */
    uint32_t model;        /* tl_model_source: 0 none, 1 ram, 2.. factory models */
    uint32_t pipeline;     /* tl_pipeline_kind_t: what the model takes */
    uint32_t raw_channel;  /* channel of the raw window given to a raw-window model */
    uint32_t infer_every;  /* run the model every N hops (the score is held between) */
    uint32_t score_class;  /* output class whose value is the score */
    int32_t artifact_class; /* output class that marks an artifact (-1: none) */
    /* timing */
    uint32_t step_budget_us;      /* a control step longer than this is an overrun (0: the hop) */
    uint32_t inference_budget_us; /* inference longer than this misses its deadline (0: step budget) */
    uint32_t debug_overrun;       /* 1: treat every step as an overrun (tests) */
    /* sensor faults */
    uint32_t dropout_ms;    /* no AFE data for this long (SysTick): dropout (0: off) */
    uint32_t flatline_ms;   /* a channel unchanged for this long: flatline (0: off) */
    /* stimulator link */
    uint32_t stim_latch_ms; /* link fault for this long: hardware safe state (0: never) */
} tl_loop_config_t;

typedef enum {
    TL_LOOP_CFG_OK = 0,
    TL_LOOP_CFG_ERR_ARG = 1,           /* NULL pointer */
    TL_LOOP_CFG_ERR_UNKNOWN_FIELD = 2, /* no field of that name */
    TL_LOOP_CFG_ERR_RANGE = 3,         /* a field outside its own range */
    TL_LOOP_CFG_ERR_FEATURES = 4,      /* the feature stage refuses the result (why: reason) */
    TL_LOOP_CFG_ERR_RAW = 5,           /* raw-window model without a raw window / channel */
    TL_LOOP_CFG_ERR_MODEL = 6,         /* no such model source */
    TL_LOOP_CFG_ERR_CLASSES = 7,       /* artifact_class equals score_class */
    TL_LOOP_CFG_ERR_CHOICE = 8,        /* unknown choice name */
    TL_LOOP_CFG_ERR_COUNT = 9,
} tl_loop_cfg_err_t;

#define TL_LOOP_WHY_MAX 128u

typedef struct {
    tl_loop_cfg_err_t err;
    int32_t field; /* index of the field blamed, -1 for none */
    char why[TL_LOOP_WHY_MAX];
} tl_loop_check_t;

/* Field groups (numbered after the therapy groups in tl_cfg_group_t). */
typedef enum {
    TL_LOOP_GROUP_SENSING = 16,
    TL_LOOP_GROUP_PIPELINE = 17,
    TL_LOOP_GROUP_MODEL = 18,
    TL_LOOP_GROUP_TIMING = 19,
    TL_LOOP_GROUP_FAULTS = 20,
} tl_loop_cfg_group_t;

const char *tl_loop_cfg_err_name(uint32_t err);
const char *tl_loop_cfg_group_name(uint32_t group);

/* Defaults: 1000 Hz, 1 channel, the built-in pipeline (hop 20 ms, window 25 hops, 4
 * bands, line length, area, 4 fractional bits, raw window 200 ms), no model. */
void tl_loop_config_defaults(tl_loop_config_t *cfg);

/* Check a configuration; fills `feat` (may be NULL) with the feature configuration it
 * gives. `check` may be NULL. */
tl_loop_cfg_err_t tl_loop_config_validate(const tl_loop_config_t *cfg, tl_features_config_t *feat,
                                          tl_loop_check_t *check);

/* Derived values of a valid configuration. */
uint32_t tl_loop_config_hop_ms(const tl_loop_config_t *cfg);     /* hop duration */
uint32_t tl_loop_config_model_input_len(const tl_loop_config_t *cfg); /* what the model gets */

/* Field table (tl_cfg_field_t as in therapy/config.h; `group` is a tl_loop_cfg_group_t). */
size_t tl_loop_config_field_count(void);
const tl_cfg_field_t *tl_loop_config_field(size_t index);
int32_t tl_loop_config_find(const char *name, size_t name_len);
bool tl_loop_config_get(const tl_loop_config_t *cfg, size_t index, int64_t *value);
/* Range check of one field only (no cross-field validation), for batch updates. The
 * `model` field's range is the model sources of this build. */
tl_loop_cfg_err_t tl_loop_config_put(tl_loop_config_t *cfg, size_t index, int64_t value,
                                     tl_loop_check_t *check);
/* Value of a choice name for an enumerated field (`pipeline`, `model`). */
tl_loop_cfg_err_t tl_loop_config_choice_value(size_t index, const char *choice,
                                              size_t choice_len, int64_t *value);
/* Name of value `value` of an enumerated field, or NULL (not an enumeration / unknown). */
const char *tl_loop_config_choice_name(size_t index, int64_t value);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_LOOP_LOOP_CONFIG_H */
