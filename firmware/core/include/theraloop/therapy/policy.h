/*
 * therapy/policy.h - therapy policies: open loop, adaptive (Percept-style single/dual
 * threshold), responsive (RNS-style detection -> burst). Each is deterministic: its output
 * is a pure function of its parameters (copied at init), its state and the inputs.
 *
 * A policy only *requests* stimulation; the safety supervisor (supervisor.h) decides what
 * reaches the stimulator. Time is the caller's millisecond clock; each step uses the time
 * since the previous step (unsigned difference, so uptime wrap-around is harmless). The
 * first step after init/reset counts as time zero.
 *
 * Adaptive (score = the model's biomarker score, compared with the thresholds):
 *   single: zone HIGH when score >= threshold_upper, else LOW; HIGH targets the upper
 *           amplitude, LOW the lower amplitude.
 *   dual:   HIGH when score >= threshold_upper (ramp up to the upper amplitude), LOW when
 *           score < threshold_lower (ramp down to the lower amplitude), MID in between
 *           (hold the amplitude reached). This is the Percept semantics for a pathological
 *           biomarker such as beta power: more beta -> more stimulation.
 *   A move to a higher zone must persist for onset_ms, to a lower zone for termination_ms
 *   (0 = at the first step). After each zone change the score is ignored for blanking_ms.
 *   After start the score is ignored for startup_ms (amplitude = lower limit). Ramps run
 *   at (upper - lower) / ramp_up_ms and (upper - lower) / ramp_down_ms, exact in integer
 *   arithmetic (a remainder is carried), starting with the step after the zone change.
 *
 * Responsive: a detection is score >= threshold for onset_ms (the score is ignored during
 * a burst, like RNS blanks sensing). A detection starts a burst (burst amplitude, pulse
 * width and rate for burst_duration_ms) unless the episode already had max_bursts_per_episode
 * or the last 24 h had max_bursts_per_day; after a burst, refractory_ms without bursts.
 * An episode starts with its first burst and ends when no detection condition has been seen
 * for episode_end_ms. The daily limit is a rolling window of 25 one-hour buckets: a burst
 * counts against it for at least 24 h and at most 25 h (never under-counts). reset() ends
 * the episode but keeps the daily count; init() clears it.
 *
 * Open loop: constant stimulation at open_loop_amplitude_ua.
 */
#ifndef THERALOOP_THERAPY_POLICY_H
#define THERALOOP_THERAPY_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "theraloop/therapy/config.h"
#include "theraloop/therapy/units.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Policy state codes (telemetry, event log). */
typedef enum {
    TL_PSTATE_NONE = 0, /* no valid configuration */
    TL_PSTATE_OPEN_LOOP = 1,
    TL_PSTATE_ADAPTIVE_STARTUP = 2,
    TL_PSTATE_ADAPTIVE_LOW = 3,
    TL_PSTATE_ADAPTIVE_MID = 4,
    TL_PSTATE_ADAPTIVE_HIGH = 5,
    TL_PSTATE_RESPONSIVE_IDLE = 6,       /* no episode */
    TL_PSTATE_RESPONSIVE_BURST = 7,
    TL_PSTATE_RESPONSIVE_REFRACTORY = 8,
    TL_PSTATE_RESPONSIVE_EPISODE = 9,    /* in an episode, waiting for a detection */
    TL_PSTATE_RESPONSIVE_LIMITED = 10,   /* detection, but the episode or day limit is hit */
} tl_policy_state_t;

/* What changed in a step (at most one per step). */
typedef enum {
    TL_PEVENT_NONE = 0,
    TL_PEVENT_START = 1,        /* first step after init/reset */
    TL_PEVENT_STARTUP_DONE = 2, /* adaptive: startup delay over */
    TL_PEVENT_ZONE_UP = 3,      /* adaptive: moved to a higher zone */
    TL_PEVENT_ZONE_DOWN = 4,    /* adaptive: moved to a lower zone */
    TL_PEVENT_BURST_START = 5,
    TL_PEVENT_BURST_END = 6,
    TL_PEVENT_EPISODE_END = 7,
    TL_PEVENT_LIMIT_EPISODE = 8, /* detection refused: bursts per episode used up */
    TL_PEVENT_LIMIT_DAY = 9,     /* detection refused: bursts per day used up */
} tl_policy_event_t;

const char *tl_policy_state_name(uint32_t state);
const char *tl_policy_event_name(uint32_t event);
const char *tl_policy_kind_name(uint32_t kind);

typedef struct {
    uint32_t now_ms;
    int32_t score;       /* model output mapped to one score (thresholds use the same scale) */
    uint8_t score_valid; /* 0 when the model produced nothing usable this step */
    uint8_t reserved[3];
} tl_policy_input_t;

typedef struct {
    tl_stim_params_t stim; /* the request for this step */
    uint16_t target_ua;    /* where the current ramp ends (== stim.amplitude_ua when steady) */
    uint8_t state;         /* tl_policy_state_t */
    uint8_t event;         /* tl_policy_event_t */
} tl_policy_output_t;

/* The program every policy uses for pulse shape. */
typedef struct {
    uint16_t pulse_width_us;
    uint16_t rate_dhz;
    uint16_t interphase_gap_us;
    uint8_t waveform;
    uint8_t reserved;
} tl_stim_program_t;

typedef struct {
    tl_stim_program_t prog;
    uint16_t amplitude_ua;
    uint8_t pending_event;
    uint8_t reserved;
} tl_open_loop_t;

typedef struct {
    /* parameters */
    tl_stim_program_t prog;
    uint32_t mode;
    int32_t threshold_lower;
    int32_t threshold_upper;
    uint32_t amp_lower;
    uint32_t amp_upper;
    uint32_t onset_ms;
    uint32_t termination_ms;
    uint32_t blanking_ms;
    uint32_t startup_ms;
    uint32_t ramp_up_ms;
    uint32_t ramp_down_ms;
    /* state */
    uint32_t last_ms;
    uint32_t startup_left;
    uint32_t blank_left;
    uint32_t cand_ms;
    uint32_t amp;
    uint32_t target;
    uint64_t ramp_acc; /* carried remainder, in uA x ms (< ramp duration) */
    int8_t ramp_dir;
    uint8_t zone;      /* TL_PSTATE_ADAPTIVE_LOW/MID/HIGH */
    uint8_t candidate; /* zone the score points to, being timed */
    uint8_t started;
    uint8_t pending_event;
} tl_adaptive_t;

#define TL_RESPONSIVE_DAY_BUCKETS 25u
#define TL_RESPONSIVE_BUCKET_MS 3600000u

typedef struct {
    /* parameters */
    int32_t threshold;
    uint32_t onset_ms;
    uint32_t burst_ua;
    uint32_t burst_ms;
    uint32_t max_per_episode;
    uint32_t refractory_ms;
    uint32_t episode_end_ms;
    uint32_t max_per_day;
    tl_stim_program_t burst;
    /* state */
    uint32_t last_ms;
    uint32_t det_ms;      /* how long the detection condition has held */
    uint32_t absent_ms;   /* how long it has been absent (episode end) */
    uint32_t burst_left;
    uint32_t refr_left;
    uint32_t episode_bursts;
    uint32_t day_counts[TL_RESPONSIVE_DAY_BUCKETS];
    uint32_t day_total;
    uint32_t bucket_ms; /* time spent in the current bucket */
    uint8_t bucket;     /* index of the current bucket */
    uint8_t state;      /* tl_policy_state_t */
    uint8_t det_active;
    uint8_t in_episode;
    uint8_t started;
    uint8_t pending_event;
    uint8_t reserved[2];
} tl_responsive_t;

typedef struct {
    uint32_t kind; /* tl_policy_kind_t; TL_POLICY_COUNT when not configured */
    union {
        tl_open_loop_t open_loop;
        tl_adaptive_t adaptive;
        tl_responsive_t responsive;
    } u;
} tl_policy_t;

/* Individual policies (cfg must have passed tl_therapy_config_validate). */
void tl_open_loop_init(tl_open_loop_t *p, const tl_therapy_config_t *cfg);
void tl_open_loop_reset(tl_open_loop_t *p);
void tl_open_loop_step(tl_open_loop_t *p, const tl_policy_input_t *in, tl_policy_output_t *out);

void tl_adaptive_init(tl_adaptive_t *p, const tl_therapy_config_t *cfg);
void tl_adaptive_reset(tl_adaptive_t *p);
void tl_adaptive_step(tl_adaptive_t *p, const tl_policy_input_t *in, tl_policy_output_t *out);

void tl_responsive_init(tl_responsive_t *p, const tl_therapy_config_t *cfg);
void tl_responsive_reset(tl_responsive_t *p);
void tl_responsive_step(tl_responsive_t *p, const tl_policy_input_t *in,
                        tl_policy_output_t *out);
/* Bursts counted against the daily limit right now. */
uint32_t tl_responsive_day_count(const tl_responsive_t *p);

/* The policy selected by cfg->policy. Validates cfg; on error the policy is left
 * unconfigured (its step requests no stimulation) and the error is returned. */
tl_therapy_cfg_err_t tl_policy_init(tl_policy_t *p, const tl_therapy_config_t *cfg);
void tl_policy_reset(tl_policy_t *p);
void tl_policy_step(tl_policy_t *p, const tl_policy_input_t *in, tl_policy_output_t *out);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_THERAPY_POLICY_H */
