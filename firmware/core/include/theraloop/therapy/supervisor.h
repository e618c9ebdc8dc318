/*
 * therapy/supervisor.h - the independent safety supervisor. Every policy request passes
 * through it and only its output reaches the stimulator; it never trusts the policy or the
 * model.
 *
 * Priority (the first that applies decides the output):
 *   1. lockout       no valid configuration, or a run-time safety check failed -> off now
 *   2. therapy off   (stop / never started) -> off now
 *   3. paused        emergency pause -> off now (effective in the command call itself)
 *   4. link fault    the stimulator link is not trustworthy -> off now
 *   5. fallback      sensor fault (saturation, flatline, dropout, artifact) or model fault
 *                    (load, inference, deadline overrun), from the step the fault is seen
 *                    until it has been clear for its hold time: fallback_mode off -> off
 *                    now; suspend -> suspend_amplitude_ua at the program pulse width and
 *                    rate, reached at the slew limit
 *   6. policy        the request, clamped to the hard limits (amplitude_max, pulse width
 *                    and rate ranges, charge per phase and charge density), reached at the
 *                    slew limit
 *
 * Slew: the amplitude moves at most slew_max_ua_per_s. Whole microamps only: a remainder
 * below 1 uA is carried while a ramp goes on (never banked while idle), so over any
 * interval without an instant transition |a(t1) - a(t0)| <= ceil(slew x (t1 - t0) / 1000 ms),
 * and one step never moves more than slew x 1 s (TL_SUP_SLEW_DT_MAX_MS) after a stall. A
 * clock that goes backwards counts as no time passing.
 * Instant transitions (never an increase): to 0 for 1-4 and for fallback "off"; down to a
 * newly configured lower amplitude_max. Pulse width and rate changes are not slewed (both
 * stay inside their limits, and every amplitude x pulse width inside the limits is safe by
 * validation); the delivered output is re-checked against every limit at every step.
 */
#ifndef THERALOOP_THERAPY_SUPERVISOR_H
#define THERALOOP_THERAPY_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>

#include "theraloop/therapy/config.h"
#include "theraloop/therapy/event_log.h"
#include "theraloop/therapy/policy.h"
#include "theraloop/therapy/units.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fault bits presented to the supervisor at each step (one bitmask). */
#define TL_TFAULT_SATURATION (1u << 0)      /* sensor: ADC at its rails */
#define TL_TFAULT_FLATLINE (1u << 1)        /* sensor: no variation */
#define TL_TFAULT_DROPOUT (1u << 2)         /* sensor: samples missing (gaps, link down) */
#define TL_TFAULT_ARTIFACT (1u << 3)        /* sensor: artifact class from the model/features */
#define TL_TFAULT_MODEL_LOAD (1u << 8)      /* model: not loaded / contract mismatch */
#define TL_TFAULT_MODEL_INFERENCE (1u << 9) /* model: inference error */
#define TL_TFAULT_MODEL_DEADLINE (1u << 10) /* model: step overran its deadline */
#define TL_TFAULT_LINK_TIMEOUT (1u << 16)   /* stimulator: no acknowledgment in time */
#define TL_TFAULT_LINK_NACK (1u << 17)      /* stimulator: command rejected */
#define TL_TFAULT_LINK_DEVICE (1u << 18)    /* stimulator: reports a hardware fault */
/* Bits 0-7 and 24-31 are sensor-class (unknown ones fail safe into the fallback),
 * 8-15 model-class, 16-23 link-class. */
#define TL_TFAULT_SENSOR_MASK 0xFF0000FFu
#define TL_TFAULT_MODEL_MASK 0x0000FF00u
#define TL_TFAULT_LINK_MASK 0x00FF0000u

/* One step moves the amplitude by at most slew x this much time, however long ago the
 * previous step was (a stalled loop must not catch up in one jump). */
#define TL_SUP_SLEW_DT_MAX_MS 1000u

/* Clamp bits: which limit cut the request this step. */
#define TL_CLAMP_AMPLITUDE (1u << 0)
#define TL_CLAMP_PW_MIN (1u << 1)
#define TL_CLAMP_PW_MAX (1u << 2)
#define TL_CLAMP_RATE_MIN (1u << 3)
#define TL_CLAMP_RATE_MAX (1u << 4)
#define TL_CLAMP_CHARGE (1u << 5)
#define TL_CLAMP_SLEW (1u << 6)

typedef enum {
    TL_THERAPY_OFF = 0,
    TL_THERAPY_RUNNING = 1,
    TL_THERAPY_PAUSED = 2,
} tl_therapy_state_t;

typedef enum {
    TL_SUP_MODE_IDLE = 0,      /* off or paused */
    TL_SUP_MODE_POLICY = 1,    /* delivering the policy's request */
    TL_SUP_MODE_FALLBACK = 2,  /* sensor/model fault fallback */
    TL_SUP_MODE_LINK_SAFE = 3, /* stimulator link fault: off */
    TL_SUP_MODE_LOCKOUT = 4,   /* no valid configuration / safety check failed: off */
} tl_sup_mode_t;

typedef enum {
    TL_CMD_START = 1,  /* off -> running (the caller resets the policy) */
    TL_CMD_STOP = 2,   /* any -> off, stimulation off at once */
    TL_CMD_PAUSE = 3,  /* emergency pause: running -> paused, stimulation off at once */
    TL_CMD_RESUME = 4, /* paused -> running; the amplitude ramps up at the slew limit */
} tl_therapy_cmd_t;

typedef enum {
    TL_SUP_CMD_OK = 0,
    TL_SUP_CMD_ERR_STATE = 1,   /* not allowed in this state (resume when not paused, ...) */
    TL_SUP_CMD_ERR_LOCKOUT = 2, /* start/resume refused: no valid configuration */
    TL_SUP_CMD_ERR_ARG = 3,     /* unknown command */
} tl_sup_cmd_result_t;

typedef struct {
    tl_stim_params_t stim; /* what the stimulator must deliver now */
    uint32_t detail;       /* reason detail (see tl_therapy_reason_t) */
    uint32_t clamps;       /* TL_CLAMP_* active this step */
    uint32_t faults;       /* fault bits presented this step */
    uint16_t target_ua;    /* amplitude the output is heading to */
    uint8_t therapy_state; /* tl_therapy_state_t */
    uint8_t mode;          /* tl_sup_mode_t */
    uint8_t reason;        /* tl_therapy_reason_t of the current target */
    uint8_t changed;       /* stim differs from the previous output */
    uint8_t reserved[2];
} tl_supervisor_output_t;

typedef struct {
    uint32_t steps;
    uint32_t fallback_entries;
    uint32_t link_safe_entries;
    uint32_t clamp_steps; /* steps with a clamp other than slew */
    uint32_t lockouts;
} tl_supervisor_stats_t;

typedef struct {
    /* limits (from the last valid configuration) */
    uint32_t amp_max;
    uint32_t pw_min;
    uint32_t pw_max;
    uint32_t rate_min;
    uint32_t rate_max;
    uint32_t slew;
    uint32_t area_um2;
    uint32_t density_max;
    uint32_t charge_max_pc;
    uint32_t fallback_mode;
    uint32_t hold_ms[3]; /* sensor, model, link */
    tl_stim_params_t suspend;
    uint16_t ipg_us;
    uint8_t waveform;
    uint8_t configured;
    /* state */
    uint8_t therapy_state;
    uint8_t mode;
    uint8_t lockout;
    uint8_t started;
    uint32_t last_ms;
    uint32_t slew_from_ms; /* slew credit accrues from here (last step or instant transition) */
    uint32_t amp;
    uint32_t credit_na; /* slew remainder carried between steps, < 1000 (nA x s / s) */
    uint32_t faults;    /* bits presented at the last step */
    uint32_t cat_active;  /* bit i: category i holding the fallback */
    uint32_t clear_ms[3]; /* time category i has been clear while active */
    uint32_t fault_cause; /* bits that caused the current fallback / link safe state */
    tl_stim_params_t out;
    tl_stim_params_t logged_target;
    uint8_t logged_reason;
    uint8_t logged_mode;
    uint8_t have_logged;
    uint8_t policy_state;
    uint8_t last_cmd; /* last accepted start/resume */
    uint8_t reserved[3];
    uint32_t logged_detail;
    tl_event_log_t *log;
    tl_supervisor_stats_t stats;
} tl_supervisor_t;

const char *tl_therapy_state_name(uint32_t state);
const char *tl_sup_mode_name(uint32_t mode);
const char *tl_therapy_cmd_name(uint32_t cmd);

/* Start in TL_THERAPY_OFF with no configuration (lockout until configured). `log` may be
 * NULL; otherwise every change is recorded there. */
void tl_supervisor_init(tl_supervisor_t *s, tl_event_log_t *log);

/* Take the limits of a configuration. Refused (returns the validation error, nothing
 * changes, a CONFIG event records the refusal) unless it validates. While running, an
 * output above a lowered amplitude_max drops to it at once. */
tl_therapy_cfg_err_t tl_supervisor_configure(tl_supervisor_t *s, const tl_therapy_config_t *cfg,
                                             uint32_t now_ms);

/* Operator command. Stop and pause take effect inside this call: `out` (may be NULL)
 * receives the new output (stimulation off) to send to the stimulator right away. */
tl_sup_cmd_result_t tl_supervisor_command(tl_supervisor_t *s, uint32_t cmd, uint32_t now_ms,
                                          tl_supervisor_output_t *out);

/* One control step: `req` is the policy's output for this step (NULL = no request,
 * treated as "off"), `faults` the TL_TFAULT_* bits seen this step. */
void tl_supervisor_step(tl_supervisor_t *s, uint32_t now_ms, uint32_t faults,
                        const tl_policy_output_t *req, tl_supervisor_output_t *out);

/* The last output (what the stimulator should be delivering). */
void tl_supervisor_output(const tl_supervisor_t *s, tl_supervisor_output_t *out);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_THERAPY_SUPERVISOR_H */
