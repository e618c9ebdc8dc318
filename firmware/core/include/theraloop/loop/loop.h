/*
 * loop/loop.h - the closed-loop control step: AFE sample blocks -> features (or the raw
 * window) -> model -> policy -> safety supervisor -> stimulator frame. docs/control-loop.md.
 *
 *   static tl_loop_t loop;
 *   tl_loop_init(&loop, stim_write, NULL);          // defaults, therapy off
 *   on AFE bytes (USART2):  tl_loop_afe_input(&loop, bytes, n);   // runs the steps
 *   on stimulator bytes:    tl_loop_stim_input(&loop, bytes, n);  // STATUS frames
 *   main loop:              tl_loop_poll(&loop);                  // silence -> dropout
 *   management:             tl_loop_configure / tl_loop_therapy_configure / tl_loop_command
 *
 * Time base. A control step runs at every hop boundary of the AFE samples, and the loop's
 * clock is the sample clock: frames received / sample rate (in ms). Identical input gives
 * identical output on the device and in the host build (SIL), sample for sample. Samples
 * lost in gaps are not counted (the clock never runs ahead of real time, so the slew limit
 * holds in real time too). The only wall-clock input is the dropout timeout: when no AFE
 * block arrived for `dropout_ms` of uptime (SysTick) while therapy is on or paused, the
 * loop runs "silence steps" every hop of uptime, each advancing the clock by one hop, with
 * the dropout fault set.
 *
 * Faults presented to the supervisor at each step (TL_TFAULT_*):
 *   SATURATION  a block of the hop carried the AFE's saturated flag
 *   LEAD_OFF    (TL_LOOP_FAULT_LEAD_OFF, sensor class) a block carried the lead-off flag
 *   FLATLINE    a channel did not change for `flatline_ms` of samples
 *   DROPOUT     blocks lost (gap, sequence restart) until the feature window has refilled
 *               after the gap; silence steps
 *   ARTIFACT    the model's largest output is its artifact class
 *   MODEL_LOAD  the policy needs a score and there is no usable model (none, refused)
 *   MODEL_INFERENCE  the engine failed an inference
 *   MODEL_DEADLINE   the inference took longer than its budget (this step), or the
 *               previous step overran the step budget
 *   LINK_*      from the stimulator link monitor (acknowledgments, STATUS frames)
 *
 * Every stage is timed in cycles (tl_platform_cycles): features (the hop's samples through
 * the feature stage), inference (quantise + invoke + score), policy, supervisor (including
 * event log, telemetry and the stimulator frame), and the whole step.
 *
 * Not reentrant: call everything from one context (the main loop).
 */
#ifndef THERALOOP_LOOP_LOOP_H
#define THERALOOP_LOOP_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "theraloop/afe_link.h"
#include "theraloop/features.h"
#include "theraloop/loop/loop_config.h"
#include "theraloop/loop/model_source.h"
#include "theraloop/loop/model_step.h"
#include "theraloop/therapy/stim_link.h"
#include "theraloop/therapy/therapy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sensor-class fault bit of the loop (bits 0-7 are sensor faults, see supervisor.h). */
#define TL_LOOP_FAULT_LEAD_OFF (1u << 4)

#ifndef TL_LOOP_EVENTS
#define TL_LOOP_EVENTS TL_EVENT_LOG_DEFAULT_CAPACITY
#endif
#ifndef TL_LOOP_TELEMETRY
#define TL_LOOP_TELEMETRY TL_TELEMETRY_DEFAULT_CAPACITY
#endif

typedef enum {
    TL_STAGE_FEATURES = 0,
    TL_STAGE_INFERENCE = 1,
    TL_STAGE_POLICY = 2,
    TL_STAGE_SUPERVISOR = 3,
    TL_STAGE_STEP = 4,
    TL_STAGE_COUNT = 5,
} tl_loop_stage_t;

/* Cycle statistics of one stage (data steps only; inference: steps that ran the model). */
typedef struct {
    uint64_t sum;
    uint32_t count;
    uint32_t min;
    uint32_t max;
    uint32_t last;
} tl_stage_stats_t;

typedef struct {
    uint32_t steps;           /* control steps (data + silence) */
    uint32_t silence_steps;   /* steps run by the dropout timeout */
    uint32_t inferences;
    uint32_t inference_errors;
    uint32_t deadline_misses; /* inferences over their budget */
    uint32_t overruns;        /* steps over the step budget */
    uint32_t gaps;            /* feature resets after lost blocks / restarts / silence */
    uint32_t stim_frames;     /* STIM_SET frames sent */
    uint32_t commands;        /* accepted operator commands */
    uint32_t stim_latches;    /* hardware safe state latched by a lasting link fault */
} tl_loop_counters_t;

typedef void (*tl_loop_out_fn)(void *ctx, const uint8_t *data, size_t len);

/* Called after every control step (SIL capture, tests); may be NULL. */
typedef struct {
    const tl_telemetry_record_t *rec; /* the step's telemetry record (seq filled in) */
    const tl_supervisor_output_t *out;
    uint32_t stage_cycles[TL_STAGE_COUNT];
    uint8_t silence;                  /* a silence step */
    uint8_t inferred;                 /* the model ran this step */
    uint8_t policy_event;             /* tl_policy_event_t */
    uint8_t reserved;
} tl_loop_step_info_t;
typedef void (*tl_loop_step_fn)(void *ctx, const tl_loop_step_info_t *info);

/* Treat the members as private; public so that the loop can be static. */
typedef struct {
    tl_loop_config_t cfg;
    tl_features_config_t feat_cfg;
    tl_afe_rx_t afe;
    tl_features_t feat;
    /* model */
    tl_model_step_t ms;
    tl_model_active_t active;
    tl_nn_status_t last_invoke;
    /* therapy */
    tl_therapy_t th;
    tl_event_log_t log;
    tl_telemetry_t tele;
    tl_event_t events[TL_LOOP_EVENTS];
    tl_telemetry_record_t records[TL_LOOP_TELEMETRY];
    tl_supervisor_output_t last_out;
    /* stimulator link */
    tl_stim_parser_t stim_rx;
    tl_stim_monitor_t mon;
    uint16_t stim_seq;
    uint8_t stim_latched;
    uint8_t link_faulty;
    uint32_t link_fault_since; /* uptime ms */
    /* clock and sensing state */
    uint64_t frames;          /* sample clock: frames received + silence frames */
    uint32_t ms_per_frame;    /* 1000 / rate */
    uint32_t hop_ms;
    uint32_t flat_limit;      /* frames unchanged that make a flatline (0: off) */
    uint32_t flat_run[TL_FEAT_MAX_CHANNELS];
    int16_t flat_last[TL_FEAT_MAX_CHANNELS];
    uint8_t flat_have;
    uint8_t need_reset;       /* reset the features before the next samples */
    uint8_t refilling;        /* after a gap: dropout until the window is full again */
    uint8_t have_data;        /* a block was ever received */
    uint32_t pending_faults;  /* AFE flags seen during the current hop */
    uint32_t next_faults;     /* faults for the next step (step overrun) */
    uint32_t last_data_ms;    /* uptime of the last block */
    uint32_t last_silence_ms; /* uptime of the last silence step */
    /* model output held between inferences */
    int32_t score;
    uint8_t score_valid;
    uint8_t model_class;
    uint8_t artifact;
    uint8_t infer_failed;
    uint8_t infer_due;        /* run the model at the next step with a full window */
    uint8_t reserved[3];
    uint32_t hops_since_infer;
    /* timing */
    uint32_t feat_cycles;     /* features stage of the current hop so far */
    uint32_t budget_cycles;
    uint32_t infer_budget_cycles;
    tl_stage_stats_t stages[TL_STAGE_COUNT];
    tl_loop_counters_t counters;
    /* scratch */
    int32_t vec[TL_FEAT_MAX_FEATURES];
    int16_t raw[TL_FEAT_MAX_RAW];
    /* io */
    tl_loop_out_fn out_fn;
    void *out_ctx;
    tl_loop_step_fn step_fn;
    void *step_ctx;
} tl_loop_t;

/* Defaults (tl_loop_config_defaults with the first factory model's preset when there is
 * one; the therapy defaults applied), therapy off. Sends one STIM_SET (off). */
void tl_loop_init(tl_loop_t *l, tl_loop_out_fn out, void *out_ctx);

void tl_loop_set_step_hook(tl_loop_t *l, tl_loop_step_fn fn, void *ctx);

/* Apply a loop configuration (validated; refused = nothing changes). Restarts the
 * sensing pipeline when anything but the model-reading, timing and fault fields changed,
 * and re-binds the model. */
tl_loop_cfg_err_t tl_loop_configure(tl_loop_t *l, const tl_loop_config_t *cfg,
                                    tl_loop_check_t *check);
/* Selecting a factory model selects its pipeline: when cfg->model names a factory model
 * other than current->model, *cfg becomes that model's preset (timing and fault fields
 * are kept). Management applies this before the other fields of a request. */
void tl_loop_config_with_preset(const tl_loop_config_t *current, tl_loop_config_t *cfg);
const tl_loop_config_t *tl_loop_config(const tl_loop_t *l);

/* Apply a therapy configuration (refused = nothing changes); a lower limit that cuts the
 * output sends the new output to the stimulator at once. */
tl_therapy_cfg_err_t tl_loop_therapy_configure(tl_loop_t *l, const tl_therapy_config_t *cfg,
                                               tl_therapy_check_t *check);
const tl_therapy_config_t *tl_loop_therapy_config(const tl_loop_t *l);

/* Operator command (TL_CMD_*): takes effect at once; an accepted command sends the new
 * output to the stimulator inside the call (pause and stop: stimulation off). */
tl_sup_cmd_result_t tl_loop_command(tl_loop_t *l, uint32_t cmd);

void tl_loop_afe_input(tl_loop_t *l, const uint8_t *data, size_t len);
void tl_loop_stim_input(tl_loop_t *l, const uint8_t *data, size_t len);
/* Wall-clock duties: silence steps (dropout) and the link-fault latch. Cheap. */
void tl_loop_poll(tl_loop_t *l);

/* The loop's clock (sample clock, ms; wraps like uptime). */
uint32_t tl_loop_now_ms(const tl_loop_t *l);

/* Read access for status, stream and log. */
const tl_therapy_t *tl_loop_therapy(const tl_loop_t *l);
const tl_event_log_t *tl_loop_event_log(const tl_loop_t *l);
const tl_telemetry_t *tl_loop_telemetry(const tl_loop_t *l);
const tl_afe_stats_t *tl_loop_afe_stats(const tl_loop_t *l);
const tl_stim_monitor_t *tl_loop_stim_monitor(const tl_loop_t *l);
const tl_stim_parser_stats_t *tl_loop_stim_parser_stats(const tl_loop_t *l);
const tl_loop_counters_t *tl_loop_counters(const tl_loop_t *l);
const tl_stage_stats_t *tl_loop_stage(const tl_loop_t *l, uint32_t stage);
const tl_model_step_t *tl_loop_model_step(const tl_loop_t *l);
const tl_model_active_t *tl_loop_model_active(const tl_loop_t *l);
/* Faults presented at the last step. */
uint32_t tl_loop_faults(const tl_loop_t *l);
/* Restart the timing statistics (e.g. before a benchmark). */
void tl_loop_reset_timing(tl_loop_t *l);
const char *tl_loop_stage_name(uint32_t stage);

/* sizeof(tl_loop_t), for bindings that allocate loops (ctypes). */
size_t tl_loop_size(void);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_LOOP_LOOP_H */
