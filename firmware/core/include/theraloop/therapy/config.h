/*
 * therapy/config.h - the therapy configuration: hard limits, the selected policy and its
 * parameters, the fallback, and fault hysteresis. One plain struct of 32-bit fields.
 *
 * A table of field descriptors ({name, offset, type, min, max, default, unit, choices})
 * drives everything: defaults, per-field range checks, get/set by name (the SMP
 * `config get/set` maps CBOR keys to these names), and the table in docs/therapy.md.
 *
 * Validation (tl_therapy_config_validate) refuses anything unsafe and says why, naming the
 * field: every reachable amplitude x pulse width must stay within the charge-per-phase and
 * charge-density ceilings (<= 30 uC/cm2/phase absolute) and Shannon k_max; min <= max;
 * every programmed setting must lie inside the hard limits; ramps may not be faster than
 * the slew limit; a burst must reach its amplitude within the first half of its duration;
 * a biphasic pulse must fit in one period. Only the selected policy's block is checked
 * against the limits (the others are range-checked); switching `policy` re-validates.
 */
#ifndef THERALOOP_THERAPY_CONFIG_H
#define THERALOOP_THERAPY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "theraloop/therapy/units.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TL_POLICY_OPEN_LOOP = 0,
    TL_POLICY_ADAPTIVE = 1,
    TL_POLICY_RESPONSIVE = 2,
    TL_POLICY_COUNT = 3,
} tl_policy_kind_t;

typedef enum {
    TL_FALLBACK_OFF = 0,     /* stimulation off at once */
    TL_FALLBACK_SUSPEND = 1, /* ramp (slew-limited) to suspend_amplitude_ua, open loop */
    TL_FALLBACK_COUNT = 2,
} tl_fallback_mode_t;

typedef enum {
    TL_ADAPTIVE_SINGLE = 0, /* score >= threshold_upper -> upper amplitude, else lower */
    TL_ADAPTIVE_DUAL = 1,   /* >= upper -> ramp up; < lower -> ramp down; between -> hold */
    TL_ADAPTIVE_MODE_COUNT = 2,
} tl_adaptive_mode_t;

typedef struct {
    /* Hard limits (enforced by the supervisor at every step). */
    uint32_t amplitude_min_ua;
    uint32_t amplitude_max_ua;
    uint32_t pulse_width_min_us;
    uint32_t pulse_width_max_us;
    uint32_t rate_min_dhz;
    uint32_t rate_max_dhz;
    uint32_t slew_max_ua_per_s;
    uint32_t electrode_area_um2;
    uint32_t charge_density_max_cuc_cm2;
    uint32_t charge_max_nc;
    int32_t shannon_k_max_milli;
    /* Stimulation program shared by open loop, adaptive and the suspend fallback. */
    uint32_t waveform;
    uint32_t interphase_gap_us;
    uint32_t pulse_width_us;
    uint32_t rate_dhz;
    uint32_t policy;
    uint32_t open_loop_amplitude_ua;
    /* Fallback and fault hysteresis. */
    uint32_t fallback_mode;
    uint32_t suspend_amplitude_ua;
    uint32_t sensor_fault_hold_ms;
    uint32_t model_fault_hold_ms;
    uint32_t link_fault_hold_ms;
    uint32_t stim_ack_timeout_ms;
    /* Adaptive policy. */
    uint32_t adaptive_mode;
    int32_t adaptive_threshold_lower;
    int32_t adaptive_threshold_upper;
    uint32_t adaptive_amplitude_lower_ua;
    uint32_t adaptive_amplitude_upper_ua;
    uint32_t adaptive_onset_ms;
    uint32_t adaptive_termination_ms;
    uint32_t adaptive_blanking_ms;
    uint32_t adaptive_startup_ms;
    uint32_t adaptive_ramp_up_ms;
    uint32_t adaptive_ramp_down_ms;
    /* Responsive policy. */
    int32_t responsive_threshold;
    uint32_t responsive_onset_ms;
    uint32_t burst_amplitude_ua;
    uint32_t burst_pulse_width_us;
    uint32_t burst_rate_dhz;
    uint32_t burst_duration_ms;
    uint32_t responsive_max_bursts_per_episode;
    uint32_t responsive_refractory_ms;
    uint32_t responsive_episode_end_ms;
    uint32_t responsive_max_bursts_per_day;
} tl_therapy_config_t;

typedef enum {
    TL_THERAPY_CFG_OK = 0,
    TL_THERAPY_CFG_ERR_ARG = 1,            /* NULL pointer or invalid argument */
    TL_THERAPY_CFG_ERR_UNKNOWN_FIELD = 2,  /* no field of that name */
    TL_THERAPY_CFG_ERR_RANGE = 3,          /* a field outside its own range */
    TL_THERAPY_CFG_ERR_ORDER = 4,          /* a minimum above its maximum */
    TL_THERAPY_CFG_ERR_CHARGE = 5,         /* worst-case charge per phase above charge_max_nc */
    TL_THERAPY_CFG_ERR_CHARGE_DENSITY = 6, /* worst-case density above the ceiling */
    TL_THERAPY_CFG_ERR_SHANNON = 7,        /* worst-case Shannon k above shannon_k_max */
    TL_THERAPY_CFG_ERR_OUTSIDE_LIMITS = 8, /* a programmed setting outside the hard limits */
    TL_THERAPY_CFG_ERR_RAMP = 9,           /* adaptive ramp faster than the slew limit */
    TL_THERAPY_CFG_ERR_BURST_SLEW = 10,    /* slew too slow for the burst to reach amplitude */
    TL_THERAPY_CFG_ERR_TIMING = 11,        /* biphasic pulse does not fit in one period */
    TL_THERAPY_CFG_ERR_THRESHOLDS = 12,    /* adaptive threshold_lower above threshold_upper */
    TL_THERAPY_CFG_ERR_CHOICE = 13,        /* unknown choice name */
} tl_therapy_cfg_err_t;

#define TL_THERAPY_WHY_MAX 128u

/* Outcome of a validation: the error, the field it names (-1 for none), a short reason
 * ("amplitude_max_ua above the charge-density limit: 31.20 uC/cm2/phase > 30.00"), and
 * the worst case the hard limits allow (filled whenever the limits themselves are sane). */
typedef struct {
    tl_therapy_cfg_err_t err;
    int32_t field;
    char why[TL_THERAPY_WHY_MAX];
    uint32_t worst_charge_pc;
    uint32_t worst_density_cuc;
    int32_t worst_shannon_k_milli;
} tl_therapy_check_t;

typedef enum {
    TL_CFG_TYPE_U32 = 0,
    TL_CFG_TYPE_I32 = 1,
} tl_cfg_type_t;

typedef struct {
    const char *name;
    uint16_t offset; /* byte offset in tl_therapy_config_t */
    uint8_t type;    /* tl_cfg_type_t */
    uint8_t group;   /* tl_cfg_group_t */
    int64_t min;
    int64_t max;
    int64_t def;
    const char *unit;    /* "uA", "us", "0.1 Hz", "ms", ... ("" for none) */
    const char *choices; /* "open_loop|adaptive|responsive" for enumerations, else NULL */
    const char *help;    /* one line */
} tl_cfg_field_t;

typedef enum {
    TL_CFG_GROUP_LIMITS = 0,
    TL_CFG_GROUP_PROGRAM = 1,
    TL_CFG_GROUP_FALLBACK = 2,
    TL_CFG_GROUP_ADAPTIVE = 3,
    TL_CFG_GROUP_RESPONSIVE = 4,
} tl_cfg_group_t;

/* Stable lower-case name of an error ("charge_density", ...) and of a group. */
const char *tl_therapy_cfg_err_name(tl_therapy_cfg_err_t err);
const char *tl_cfg_group_name(uint32_t group);

/* The safe defaults (open loop 1.0 mA, 60 us, 130 Hz on a 6 mm2 contact; see docs). */
void tl_therapy_config_defaults(tl_therapy_config_t *cfg);

/* Check a whole configuration. `check` may be NULL. */
tl_therapy_cfg_err_t tl_therapy_config_validate(const tl_therapy_config_t *cfg,
                                                tl_therapy_check_t *check);

/* Field table. */
size_t tl_therapy_config_field_count(void);
const tl_cfg_field_t *tl_therapy_config_field(size_t index); /* NULL when out of range */
int32_t tl_therapy_config_find(const char *name, size_t name_len); /* index or -1 */

/* Read a field (by index) as int64. Returns false for a bad index. */
bool tl_therapy_config_get(const tl_therapy_config_t *cfg, size_t index, int64_t *value);

/* Write one field after checking only its own range (no cross-field validation): for
 * batch updates on a copy, followed by tl_therapy_config_validate. */
tl_therapy_cfg_err_t tl_therapy_config_put(tl_therapy_config_t *cfg, size_t index, int64_t value,
                                           tl_therapy_check_t *check);

/* Atomic single-field update: range check, then the whole configuration with the new value
 * is validated; *cfg changes only when everything passes. */
tl_therapy_cfg_err_t tl_therapy_config_set(tl_therapy_config_t *cfg, const char *name,
                                           size_t name_len, int64_t value,
                                           tl_therapy_check_t *check);

/* Value of a choice name for an enumerated field ("adaptive" for `policy`). */
tl_therapy_cfg_err_t tl_therapy_config_choice_value(size_t index, const char *choice,
                                                    size_t choice_len, int64_t *value);

/* Name of the choice `value` of an enumerated field; writes at most `cap` bytes including
 * the terminator into `out`. Returns the name length, or 0 when not an enumeration. */
size_t tl_therapy_config_choice_name(size_t index, int64_t value, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_THERAPY_CONFIG_H */
