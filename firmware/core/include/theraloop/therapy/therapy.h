/*
 * therapy/therapy.h - the therapy half of the control step in one object: the configured
 * policy, the safety supervisor after it, the event log and the telemetry ring. The control
 * loop calls tl_therapy_step() once per step with the model's score and the fault bits and
 * sends the returned stimulation (only the supervisor's output) to the stimulator.
 *
 *   static tl_event_t events[TL_EVENT_LOG_DEFAULT_CAPACITY];
 *   static tl_telemetry_record_t records[TL_TELEMETRY_DEFAULT_CAPACITY];
 *   static tl_event_log_t event_log;  static tl_telemetry_t tele;  static tl_therapy_t th;
 *   tl_event_log_init(&event_log, events, TL_EVENT_LOG_DEFAULT_CAPACITY);
 *   tl_telemetry_init(&tele, records, TL_TELEMETRY_DEFAULT_CAPACITY);
 *   tl_therapy_init(&th, &event_log, &tele);
 *   tl_therapy_configure(&th, &cfg, now, &check);       // refused unless it validates
 *   tl_therapy_command(&th, TL_CMD_START, now, &out);
 *   every hop: tl_therapy_step(&th, &in, &out); send out.stim over the stimulator link
 *
 * The policy runs only while therapy is running; start and resume restart it (adaptive:
 * startup delay from the lower amplitude; responsive: new episode, daily count kept).
 */
#ifndef THERALOOP_THERAPY_THERAPY_H
#define THERALOOP_THERAPY_THERAPY_H

#include <stddef.h>
#include <stdint.h>

#include "theraloop/therapy/config.h"
#include "theraloop/therapy/event_log.h"
#include "theraloop/therapy/policy.h"
#include "theraloop/therapy/supervisor.h"
#include "theraloop/therapy/telemetry.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint32_t now_ms;
    int32_t score;
    uint8_t score_valid;
    uint8_t model_class;
    uint8_t n_features; /* 0..4 valid entries in features */
    uint8_t reserved;
    int32_t features[TL_TELEMETRY_FEATURES];
    uint32_t faults; /* TL_TFAULT_* */
} tl_therapy_input_t;

typedef struct {
    tl_therapy_config_t cfg; /* the configuration in effect (validated) */
    tl_policy_t policy;
    tl_supervisor_t sup;
    tl_event_log_t *log;
    tl_telemetry_t *telemetry;
    tl_policy_output_t last_request;
    uint32_t step;
    uint8_t configured;
    uint8_t reserved[3];
} tl_therapy_t;

/* log and telemetry may be NULL. Starts off, unconfigured (the supervisor is locked out). */
void tl_therapy_init(tl_therapy_t *t, tl_event_log_t *log, tl_telemetry_t *telemetry);

/* Apply a configuration: refused (nothing changes) unless it validates. The policy is
 * rebuilt from it; if therapy is running the new policy starts at once. */
tl_therapy_cfg_err_t tl_therapy_configure(tl_therapy_t *t, const tl_therapy_config_t *cfg,
                                          uint32_t now_ms, tl_therapy_check_t *check);

/* Operator command (TL_CMD_*); stop and pause act inside the call (see supervisor.h). */
tl_sup_cmd_result_t tl_therapy_command(tl_therapy_t *t, uint32_t cmd, uint32_t now_ms,
                                       tl_supervisor_output_t *out);

/* One control step. */
void tl_therapy_step(tl_therapy_t *t, const tl_therapy_input_t *in, tl_supervisor_output_t *out);

/* The model in use, stamped into every following event (8 bytes, NULL = zeros). */
void tl_therapy_set_model_hash(tl_therapy_t *t, const uint8_t *hash);

/* ---- batch runs (software in the loop) --------------------------------------------- */

typedef struct {
    uint32_t now_ms;
    int32_t score;
    uint32_t faults;
    uint8_t score_valid;
    uint8_t command; /* TL_CMD_* applied just before this step, 0 = none */
    uint8_t reserved[2];
} tl_therapy_batch_in_t;

typedef struct {
    uint16_t amplitude_ua;
    uint16_t pulse_width_us;
    uint16_t rate_dhz;
    uint16_t target_ua;
    uint8_t enabled;
    uint8_t therapy_state;
    uint8_t mode;
    uint8_t reason;
    uint8_t policy_state;
    uint8_t policy_event;
    uint8_t command_result; /* tl_sup_cmd_result_t of this step's command */
    uint8_t reserved;
    uint32_t clamps;
} tl_therapy_batch_out_t;

/* Run n steps; returns n. */
size_t tl_therapy_run(tl_therapy_t *t, const tl_therapy_batch_in_t *in,
                      tl_therapy_batch_out_t *out, size_t n);

/* Sizes of the public structs, for bindings that allocate them (ctypes). */
size_t tl_therapy_sizeof(uint32_t what);
#define TL_SIZEOF_THERAPY 0u
#define TL_SIZEOF_CONFIG 1u
#define TL_SIZEOF_EVENT 2u
#define TL_SIZEOF_TELEMETRY_RECORD 3u
#define TL_SIZEOF_EVENT_LOG 4u
#define TL_SIZEOF_TELEMETRY 5u
#define TL_SIZEOF_CHECK 6u
#define TL_SIZEOF_SUP_OUTPUT 7u
#define TL_SIZEOF_POLICY 8u
#define TL_SIZEOF_STIM_PARSER 9u
#define TL_SIZEOF_STIM_MONITOR 10u
#define TL_SIZEOF_BATCH_IN 11u
#define TL_SIZEOF_BATCH_OUT 12u
#define TL_SIZEOF_STIM_PARAMS 13u
#define TL_SIZEOF_FIELD 14u
#define TL_SIZEOF_STIM_FRAME 15u
#define TL_SIZEOF_STIM_STATUS 16u

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_THERAPY_THERAPY_H */
