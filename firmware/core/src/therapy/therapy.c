/*
 * therapy.c - policy -> supervisor -> event log / telemetry, once per control step.
 */
#include "therapy_internal.h"
#include "theraloop/therapy/stim_link.h"
#include "theraloop/therapy/therapy.h"

void tl_therapy_init(tl_therapy_t *t, tl_event_log_t *log, tl_telemetry_t *telemetry)
{
    memset(t, 0, sizeof *t);
    t->log = log;
    t->telemetry = telemetry;
    tl_therapy_config_defaults(&t->cfg);
    t->policy.kind = TL_POLICY_COUNT;
    tl_supervisor_init(&t->sup, log);
}

tl_therapy_cfg_err_t tl_therapy_configure(tl_therapy_t *t, const tl_therapy_config_t *cfg,
                                          uint32_t now_ms, tl_therapy_check_t *check)
{
    tl_therapy_cfg_err_t err = tl_therapy_config_validate(cfg, check);
    if (err != TL_THERAPY_CFG_OK) {
        /* Recorded (and refused) by the supervisor too. */
        (void)tl_supervisor_configure(&t->sup, cfg, now_ms);
        return err;
    }
    err = tl_supervisor_configure(&t->sup, cfg, now_ms);
    if (err != TL_THERAPY_CFG_OK) {
        return err;
    }
    /* A responsive policy's daily count survives reconfiguration: changing a burst
     * parameter must not hand out a fresh daily allowance. */
    bool keep_day = t->policy.kind == TL_POLICY_RESPONSIVE && cfg->policy == TL_POLICY_RESPONSIVE;
    tl_responsive_t old;
    memset(&old, 0, sizeof old);
    if (keep_day) {
        old = t->policy.u.responsive;
    }
    t->cfg = *cfg;
    t->configured = 1;
    err = tl_policy_init(&t->policy, &t->cfg);
    if (err == TL_THERAPY_CFG_OK && keep_day) {
        tl_responsive_t *r = &t->policy.u.responsive;
        memcpy(r->day_counts, old.day_counts, sizeof r->day_counts);
        r->day_total = old.day_total;
        r->bucket = old.bucket;
        r->bucket_ms = old.bucket_ms;
    }
    return err;
}

tl_sup_cmd_result_t tl_therapy_command(tl_therapy_t *t, uint32_t cmd, uint32_t now_ms,
                                       tl_supervisor_output_t *out)
{
    tl_sup_cmd_result_t res = tl_supervisor_command(&t->sup, cmd, now_ms, out);
    if (res == TL_SUP_CMD_OK && (cmd == TL_CMD_START || cmd == TL_CMD_RESUME)) {
        tl_policy_reset(&t->policy);
    }
    return res;
}

void tl_therapy_set_model_hash(tl_therapy_t *t, const uint8_t *hash)
{
    if (t->log != NULL) {
        tl_event_log_set_model_hash(t->log, hash);
    }
}

void tl_therapy_step(tl_therapy_t *t, const tl_therapy_input_t *in, tl_supervisor_output_t *out)
{
    tl_supervisor_output_t local;
    if (out == NULL) {
        out = &local;
    }
    const tl_policy_output_t *req = NULL;
    if (t->sup.therapy_state == TL_THERAPY_RUNNING) {
        tl_policy_input_t pin;
        memset(&pin, 0, sizeof pin);
        pin.now_ms = in->now_ms;
        pin.score = in->score;
        pin.score_valid = in->score_valid;
        tl_policy_step(&t->policy, &pin, &t->last_request);
        req = &t->last_request;
    } else {
        memset(&t->last_request, 0, sizeof t->last_request);
    }
    tl_supervisor_step(&t->sup, in->now_ms, in->faults, req, out);

    if (t->telemetry != NULL) {
        tl_telemetry_record_t rec;
        memset(&rec, 0, sizeof rec);
        rec.time_ms = in->now_ms;
        rec.step = t->step;
        uint32_t nf = in->n_features > TL_TELEMETRY_FEATURES ? TL_TELEMETRY_FEATURES
                                                             : in->n_features;
        for (uint32_t i = 0; i < nf; i++) {
            rec.features[i] = in->features[i];
        }
        rec.n_features = (uint8_t)nf;
        rec.score = in->score;
        rec.score_valid = in->score_valid;
        rec.model_class = in->model_class;
        rec.faults = in->faults;
        rec.amplitude_ua = out->stim.amplitude_ua;
        rec.target_ua = out->target_ua;
        rec.pulse_width_us = out->stim.pulse_width_us;
        rec.rate_dhz = out->stim.rate_dhz;
        rec.enabled = out->stim.enabled;
        rec.policy_state = t->last_request.state;
        rec.therapy_state = out->therapy_state;
        rec.mode = out->mode;
        rec.reason = out->reason;
        (void)tl_telemetry_push(t->telemetry, &rec);
    }
    t->step++;
}

size_t tl_therapy_run(tl_therapy_t *t, const tl_therapy_batch_in_t *in,
                      tl_therapy_batch_out_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t result = 0;
        if (in[i].command != 0u) {
            result = (uint8_t)tl_therapy_command(t, in[i].command, in[i].now_ms, NULL);
        }
        tl_therapy_input_t step;
        memset(&step, 0, sizeof step);
        step.now_ms = in[i].now_ms;
        step.score = in[i].score;
        step.score_valid = in[i].score_valid;
        step.faults = in[i].faults;
        tl_supervisor_output_t so;
        tl_therapy_step(t, &step, &so);
        tl_therapy_batch_out_t *o = &out[i];
        memset(o, 0, sizeof *o);
        o->amplitude_ua = so.stim.amplitude_ua;
        o->pulse_width_us = so.stim.pulse_width_us;
        o->rate_dhz = so.stim.rate_dhz;
        o->target_ua = so.target_ua;
        o->enabled = so.stim.enabled;
        o->therapy_state = so.therapy_state;
        o->mode = so.mode;
        o->reason = so.reason;
        o->policy_state = t->last_request.state;
        o->policy_event = t->last_request.event;
        o->command_result = result;
        o->clamps = so.clamps;
    }
    return n;
}

size_t tl_therapy_sizeof(uint32_t what)
{
    switch (what) {
    case TL_SIZEOF_THERAPY:
        return sizeof(tl_therapy_t);
    case TL_SIZEOF_CONFIG:
        return sizeof(tl_therapy_config_t);
    case TL_SIZEOF_EVENT:
        return sizeof(tl_event_t);
    case TL_SIZEOF_TELEMETRY_RECORD:
        return sizeof(tl_telemetry_record_t);
    case TL_SIZEOF_EVENT_LOG:
        return sizeof(tl_event_log_t);
    case TL_SIZEOF_TELEMETRY:
        return sizeof(tl_telemetry_t);
    case TL_SIZEOF_CHECK:
        return sizeof(tl_therapy_check_t);
    case TL_SIZEOF_SUP_OUTPUT:
        return sizeof(tl_supervisor_output_t);
    case TL_SIZEOF_POLICY:
        return sizeof(tl_policy_t);
    case TL_SIZEOF_STIM_PARSER:
        return sizeof(tl_stim_parser_t);
    case TL_SIZEOF_STIM_MONITOR:
        return sizeof(tl_stim_monitor_t);
    case TL_SIZEOF_BATCH_IN:
        return sizeof(tl_therapy_batch_in_t);
    case TL_SIZEOF_BATCH_OUT:
        return sizeof(tl_therapy_batch_out_t);
    case TL_SIZEOF_STIM_PARAMS:
        return sizeof(tl_stim_params_t);
    case TL_SIZEOF_FIELD:
        return sizeof(tl_cfg_field_t);
    case TL_SIZEOF_STIM_FRAME:
        return sizeof(tl_stim_frame_t);
    case TL_SIZEOF_STIM_STATUS:
        return sizeof(tl_stim_status_frame_t);
    default:
        return 0;
    }
}
