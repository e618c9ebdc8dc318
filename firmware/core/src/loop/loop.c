/*
 * loop.c - the control loop (see loop/loop.h and docs/control-loop.md).
 */
#include "theraloop/loop/loop.h"

#include <string.h>

#include "theraloop/platform.h"

/* ---- helpers ------------------------------------------------------------------------- */

static void stage_add(tl_stage_stats_t *s, uint32_t cycles)
{
    if (s->count == 0u || cycles < s->min) {
        s->min = cycles;
    }
    if (cycles > s->max) {
        s->max = cycles;
    }
    s->sum += cycles;
    if (s->count != UINT32_MAX) {
        s->count++;
    }
    s->last = cycles;
}

/* Cycles from c0 to c1. A counter read that went backwards (an emulator's timer catching
 * up, a race at a tick) counts as no time, never as a 2^32-cycle overrun. */
static uint32_t elapsed(uint32_t c0, uint32_t c1)
{
    uint32_t d = c1 - c0;
    return d > (uint32_t)INT32_MAX ? 0u : d;
}

static uint32_t us_to_cycles(uint32_t us)
{
    uint64_t c = (uint64_t)us * (uint64_t)tl_platform_cycles_hz() / 1000000u;
    return c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
}

uint32_t tl_loop_now_ms(const tl_loop_t *l)
{
    return (uint32_t)(l->frames * (uint64_t)l->ms_per_frame);
}

static void send_stim(tl_loop_t *l, const tl_stim_params_t *p)
{
    uint8_t buf[TL_STIM_SET_FRAME_LEN];
    size_t n = tl_stim_encode_set(p, l->stim_seq, buf, sizeof buf);
    if (p->enabled != 0u) {
        tl_platform_stim_enable(true); /* output stage on before the "on" command */
    }
    if (n > 0u && l->out_fn != NULL) {
        l->out_fn(l->out_ctx, buf, n);
    }
    if (p->enabled == 0u) {
        tl_platform_stim_enable(false); /* and off after the "off" command */
    }
    tl_stim_monitor_sent(&l->mon, l->stim_seq, tl_loop_now_ms(l));
    l->stim_seq++;
    l->counters.stim_frames++;
}

static bool policy_needs_score(const tl_loop_t *l)
{
    return l->th.cfg.policy != TL_POLICY_OPEN_LOOP;
}

/* ---- model binding --------------------------------------------------------------------- */

static void bind_model(tl_loop_t *l)
{
    tl_model_source_acquire(l->cfg.model, &l->active);
    tl_model_contract_t c;
    memset(&c, 0, sizeof c);
    c.input_len = tl_loop_config_model_input_len(&l->cfg);
    c.kind = (uint8_t)l->cfg.pipeline;
    c.score_class = (uint8_t)l->cfg.score_class;
    c.artifact_class = l->cfg.artifact_class < 0 ? (uint8_t)TL_MODEL_NO_CLASS
                                                 : (uint8_t)l->cfg.artifact_class;
    if (l->active.model == NULL && l->cfg.model >= TL_MODEL_SRC_FACTORY &&
        l->active.load_status != TL_NN_OK) {
        tl_model_step_unbind(&l->ms);
        l->ms.err = (uint8_t)TL_MODEL_ERR_LOAD;
        l->ms.detail = (uint32_t)l->active.load_status;
        l->ms.kind = c.kind;
    } else {
        (void)tl_model_step_bind(&l->ms, l->active.model, &c);
    }
    static const uint8_t zeros[TL_MODEL_HASH_LEN] = {0};
    tl_therapy_set_model_hash(&l->th, l->ms.bound ? l->active.sha256 : zeros);
    l->infer_failed = 0;
}

/* ---- configuration ---------------------------------------------------------------------- */

static bool sensing_changed(const tl_loop_config_t *a, const tl_loop_config_t *b)
{
    return a->afe_rate_hz != b->afe_rate_hz || a->afe_channels != b->afe_channels;
}

static bool pipeline_changed(const tl_loop_config_t *a, const tl_loop_config_t *b)
{
    return sensing_changed(a, b) || a->hop_samples != b->hop_samples ||
           a->window_hops != b->window_hops || a->bands != b->bands ||
           memcmp(a->band_frac_bits, b->band_frac_bits, sizeof a->band_frac_bits) != 0 ||
           a->line_length != b->line_length || a->ll_frac_bits != b->ll_frac_bits ||
           a->area != b->area || a->area_frac_bits != b->area_frac_bits ||
           a->raw_len != b->raw_len;
}

static void on_block(void *ctx, const tl_afe_block_t *b);

/* Apply a validated configuration; `first`: nothing was configured before. */
static void apply(tl_loop_t *l, const tl_loop_config_t *cfg, const tl_features_config_t *feat,
                  bool first)
{
    bool sensing = first || sensing_changed(&l->cfg, cfg);
    bool pipeline = first || pipeline_changed(&l->cfg, cfg);
    l->cfg = *cfg;
    if (sensing) {
        tl_afe_config_t ac = {(uint16_t)cfg->afe_rate_hz, (uint8_t)cfg->afe_channels};
        (void)tl_afe_rx_init(&l->afe, &ac, on_block, l);
        l->have_data = 0; /* its first block is a fresh start, not a gap */
    }
    if (pipeline) {
        l->feat_cfg = *feat;
        (void)tl_features_init(&l->feat, &l->feat_cfg);
        l->need_reset = 0;
        l->refilling = 0;
        l->flat_have = 0;
        memset(l->flat_run, 0, sizeof l->flat_run);
        l->pending_faults = 0;
        l->feat_cycles = 0;
        l->score_valid = 0;
        l->artifact = 0;
    }
    l->ms_per_frame = 1000u / cfg->afe_rate_hz;
    l->hop_ms = tl_loop_config_hop_ms(cfg);
    l->flat_limit = cfg->flatline_ms == 0u
                        ? 0u
                        : (cfg->flatline_ms + l->ms_per_frame - 1u) / l->ms_per_frame;
    uint32_t step_us = cfg->step_budget_us != 0u ? cfg->step_budget_us : l->hop_ms * 1000u;
    l->budget_cycles = us_to_cycles(step_us);
    l->infer_budget_cycles =
        cfg->inference_budget_us != 0u ? us_to_cycles(cfg->inference_budget_us) : l->budget_cycles;
    bind_model(l);
    /* A new pipeline or model restarts the score. */
    l->score_valid = 0;
    l->artifact = 0;
    l->infer_due = 1;
    l->last_data_ms = tl_platform_uptime_ms(); /* the dropout timeout counts from here */
}

void tl_loop_config_with_preset(const tl_loop_config_t *current, tl_loop_config_t *cfg)
{
    if (cfg->model == current->model || cfg->model < TL_MODEL_SRC_FACTORY) {
        return;
    }
    const tl_factory_model_t *f = tl_factory_get(cfg->model - TL_MODEL_SRC_FACTORY);
    if (f == NULL) {
        return;
    }
    /* The preset's pipeline; the timing and fault settings stay the operator's. */
    tl_loop_config_t out = f->preset;
    out.model = cfg->model;
    out.step_budget_us = cfg->step_budget_us;
    out.inference_budget_us = cfg->inference_budget_us;
    out.debug_overrun = cfg->debug_overrun;
    out.dropout_ms = cfg->dropout_ms;
    out.flatline_ms = cfg->flatline_ms;
    out.stim_latch_ms = cfg->stim_latch_ms;
    *cfg = out;
}

tl_loop_cfg_err_t tl_loop_configure(tl_loop_t *l, const tl_loop_config_t *cfg,
                                    tl_loop_check_t *check)
{
    if (l == NULL || cfg == NULL) {
        return TL_LOOP_CFG_ERR_ARG;
    }
    tl_features_config_t feat;
    tl_loop_cfg_err_t err = tl_loop_config_validate(cfg, &feat, check);
    if (err != TL_LOOP_CFG_OK) {
        return err;
    }
    apply(l, cfg, &feat, false);
    return TL_LOOP_CFG_OK;
}

const tl_loop_config_t *tl_loop_config(const tl_loop_t *l)
{
    return &l->cfg;
}

tl_therapy_cfg_err_t tl_loop_therapy_configure(tl_loop_t *l, const tl_therapy_config_t *cfg,
                                               tl_therapy_check_t *check)
{
    tl_supervisor_output_t before;
    tl_supervisor_output(&l->th.sup, &before);
    tl_therapy_cfg_err_t err = tl_therapy_configure(&l->th, cfg, tl_loop_now_ms(l), check);
    if (err != TL_THERAPY_CFG_OK) {
        return err;
    }
    l->mon.timeout_ms = cfg->stim_ack_timeout_ms;
    tl_supervisor_output_t after;
    tl_supervisor_output(&l->th.sup, &after);
    if (memcmp(&before.stim, &after.stim, sizeof before.stim) != 0) {
        l->last_out = after;
        send_stim(l, &after.stim);
    }
    return TL_THERAPY_CFG_OK;
}

const tl_therapy_config_t *tl_loop_therapy_config(const tl_loop_t *l)
{
    return &l->th.cfg;
}

void tl_loop_init(tl_loop_t *l, tl_loop_out_fn out, void *out_ctx)
{
    memset(l, 0, sizeof *l);
    l->out_fn = out;
    l->out_ctx = out_ctx;
    (void)tl_event_log_init(&l->log, l->events, TL_LOOP_EVENTS);
    (void)tl_telemetry_init(&l->tele, l->records, TL_LOOP_TELEMETRY);
    tl_therapy_init(&l->th, &l->log, &l->tele);
    tl_therapy_config_t tc;
    tl_therapy_config_defaults(&tc);
    (void)tl_therapy_configure(&l->th, &tc, 0, NULL);
    tl_stim_parser_init(&l->stim_rx);
    tl_stim_monitor_init(&l->mon, tc.stim_ack_timeout_ms);

    tl_loop_config_t cfg;
    tl_loop_config_defaults(&cfg);
    tl_loop_config_t base = cfg;
    if (tl_factory_count() > 0u) {
        cfg.model = TL_MODEL_SRC_FACTORY;
        base.model = TL_MODEL_SRC_NONE;
        tl_loop_config_with_preset(&base, &cfg);
    }
    tl_features_config_t feat;
    if (tl_loop_config_validate(&cfg, &feat, NULL) != TL_LOOP_CFG_OK) {
        tl_loop_config_defaults(&cfg); /* a broken preset must not stop the device */
        (void)tl_loop_config_validate(&cfg, &feat, NULL);
    }
    apply(l, &cfg, &feat, true);
    tl_supervisor_output(&l->th.sup, &l->last_out);
    send_stim(l, &l->last_out.stim); /* the stimulator learns the state at once: off */
}

void tl_loop_set_step_hook(tl_loop_t *l, tl_loop_step_fn fn, void *ctx)
{
    l->step_fn = fn;
    l->step_ctx = ctx;
}

/* ---- the control step -------------------------------------------------------------------- */

/* Run the model if it is due; updates the held score. Returns the inference cycles (0 if
 * it did not run) and sets *deadline when it overran its budget. */
static uint32_t infer(tl_loop_t *l, bool window_full, bool *ran, bool *deadline)
{
    *ran = false;
    *deadline = false;
    if (!window_full) {
        l->score_valid = 0; /* warm-up: nothing to judge yet */
        l->artifact = 0;
        l->infer_due = 1;   /* run at the first step with a full window */
        return 0;
    }
    if (!l->infer_due && ++l->hops_since_infer < l->cfg.infer_every) {
        return 0; /* the score of the last inference is held */
    }
    l->infer_due = 0;
    l->hops_since_infer = 0;
    uint32_t c0 = tl_platform_cycles();
    if (l->active.generation != tl_model_source_generation()) {
        bind_model(l); /* the model behind our handle changed (RAM upload, factory swap) */
    }
    if (!l->ms.bound) {
        l->score_valid = 0;
        l->artifact = 0;
        return 0;
    }
    tl_model_result_t r;
    bool ok;
    if (l->cfg.pipeline == TL_PIPE_RAW) {
        size_t n = tl_features_raw_window(&l->feat, (uint8_t)l->cfg.raw_channel, l->raw,
                                          TL_FEAT_MAX_RAW);
        ok = n == l->cfg.raw_len && tl_model_step_run_raw(&l->ms, l->raw, &r);
    } else {
        ok = tl_model_step_run_features(&l->ms, l->vec, &r);
    }
    uint32_t cycles = elapsed(c0, tl_platform_cycles());
    *ran = true;
    l->counters.inferences++;
    l->last_invoke = (tl_nn_status_t)r.status;
    if (!ok || !r.ok) {
        l->counters.inference_errors++;
        l->infer_failed = 1;
        l->score_valid = 0;
        l->artifact = 0;
        return cycles;
    }
    l->infer_failed = 0;
    l->score = r.score;
    l->model_class = r.model_class;
    l->artifact = r.artifact;
    l->score_valid = r.artifact ? 0u : 1u;
    if (cycles > l->infer_budget_cycles) {
        l->counters.deadline_misses++;
        *deadline = true;
        l->score_valid = 0; /* a late answer is not used */
    }
    return cycles;
}

static void run_step(tl_loop_t *l, bool silence)
{
    uint32_t cyc[TL_STAGE_COUNT] = {0};
    uint32_t now = tl_loop_now_ms(l);
    uint32_t faults = l->next_faults;
    l->next_faults = 0;
    bool ran = false;
    bool deadline = false;
    size_t n_vec = 0;

    if (silence) {
        faults |= TL_TFAULT_DROPOUT;
        l->score_valid = 0;
        l->artifact = 0;
    } else {
        uint32_t c0 = tl_platform_cycles();
        faults |= l->pending_faults;
        if (l->flat_limit != 0u) {
            for (uint32_t c = 0; c < l->cfg.afe_channels; c++) {
                if (l->flat_run[c] >= l->flat_limit) {
                    faults |= TL_TFAULT_FLATLINE;
                }
            }
        }
        bool full = tl_features_window_full(&l->feat) &&
                    (l->cfg.raw_len == 0u ||
                     tl_features_hops(&l->feat) * l->cfg.hop_samples >= l->cfg.raw_len);
        if (l->refilling && full) {
            l->refilling = 0;
        }
        if (l->refilling) {
            faults |= TL_TFAULT_DROPOUT;
        }
        n_vec = tl_features_read(&l->feat, l->vec, TL_FEAT_MAX_FEATURES);
        uint32_t d = elapsed(c0, tl_platform_cycles());
        cyc[TL_STAGE_FEATURES] = d > UINT32_MAX - l->feat_cycles ? UINT32_MAX : l->feat_cycles + d;
        l->feat_cycles = 0;
        cyc[TL_STAGE_INFERENCE] = infer(l, full && !l->refilling, &ran, &deadline);
    }
    if (deadline) {
        faults |= TL_TFAULT_MODEL_DEADLINE;
    }
    if (policy_needs_score(l) && !l->ms.bound) {
        faults |= TL_TFAULT_MODEL_LOAD;
    }
    if (l->infer_failed) {
        faults |= TL_TFAULT_MODEL_INFERENCE;
    }
    if (l->artifact) {
        faults |= TL_TFAULT_ARTIFACT;
    }
    faults |= tl_stim_monitor_faults(&l->mon, now);

    /* policy -> supervisor: tl_therapy_step() split in two so each half is timed. */
    tl_therapy_t *t = &l->th;
    uint32_t c1 = tl_platform_cycles();
    const tl_policy_output_t *req = NULL;
    if (t->sup.therapy_state == TL_THERAPY_RUNNING) {
        tl_policy_input_t pin;
        memset(&pin, 0, sizeof pin);
        pin.now_ms = now;
        pin.score = l->score;
        pin.score_valid = l->score_valid;
        tl_policy_step(&t->policy, &pin, &t->last_request);
        req = &t->last_request;
    } else {
        memset(&t->last_request, 0, sizeof t->last_request);
    }
    uint32_t c2 = tl_platform_cycles();
    tl_supervisor_output_t out;
    tl_supervisor_step(&t->sup, now, faults, req, &out);
    tl_telemetry_record_t rec;
    memset(&rec, 0, sizeof rec);
    rec.time_ms = now;
    rec.step = t->step;
    uint32_t nf = n_vec > TL_TELEMETRY_FEATURES ? TL_TELEMETRY_FEATURES : (uint32_t)n_vec;
    for (uint32_t i = 0; i < nf; i++) {
        rec.features[i] = l->vec[i];
    }
    rec.n_features = (uint8_t)nf;
    rec.score = l->score;
    rec.score_valid = l->score_valid;
    rec.model_class = l->model_class;
    rec.faults = faults;
    rec.amplitude_ua = out.stim.amplitude_ua;
    rec.target_ua = out.target_ua;
    rec.pulse_width_us = out.stim.pulse_width_us;
    rec.rate_dhz = out.stim.rate_dhz;
    rec.enabled = out.stim.enabled;
    rec.policy_state = t->last_request.state;
    rec.therapy_state = out.therapy_state;
    rec.mode = out.mode;
    rec.reason = out.reason;
    rec.seq = tl_telemetry_push(&l->tele, &rec);
    t->step++;
    send_stim(l, &out.stim);
    l->last_out = out;
    uint32_t c3 = tl_platform_cycles();
    cyc[TL_STAGE_POLICY] = elapsed(c1, c2);
    cyc[TL_STAGE_SUPERVISOR] = elapsed(c2, c3);
    uint64_t total = (uint64_t)cyc[TL_STAGE_FEATURES] + cyc[TL_STAGE_INFERENCE] +
                     cyc[TL_STAGE_POLICY] + cyc[TL_STAGE_SUPERVISOR];
    cyc[TL_STAGE_STEP] = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;

    l->counters.steps++;
    if (silence) {
        l->counters.silence_steps++;
    } else {
        stage_add(&l->stages[TL_STAGE_FEATURES], cyc[TL_STAGE_FEATURES]);
        if (ran) {
            stage_add(&l->stages[TL_STAGE_INFERENCE], cyc[TL_STAGE_INFERENCE]);
        }
        stage_add(&l->stages[TL_STAGE_POLICY], cyc[TL_STAGE_POLICY]);
        stage_add(&l->stages[TL_STAGE_SUPERVISOR], cyc[TL_STAGE_SUPERVISOR]);
        stage_add(&l->stages[TL_STAGE_STEP], cyc[TL_STAGE_STEP]);
        if (cyc[TL_STAGE_STEP] > l->budget_cycles || l->cfg.debug_overrun != 0u) {
            l->counters.overruns++;
            l->next_faults |= TL_TFAULT_MODEL_DEADLINE; /* the fallback starts next step */
        }
    }
    if (l->step_fn != NULL) {
        tl_loop_step_info_t info;
        memset(&info, 0, sizeof info);
        info.rec = &rec;
        info.out = &out;
        memcpy(info.stage_cycles, cyc, sizeof cyc);
        info.silence = silence ? 1u : 0u;
        info.inferred = ran ? 1u : 0u;
        info.policy_event = t->last_request.event;
        l->step_fn(l->step_ctx, &info);
    }
}

/* ---- sensing ------------------------------------------------------------------------------- */

static void track_flatline(tl_loop_t *l, const int16_t *s, size_t frames)
{
    uint32_t ch = l->cfg.afe_channels;
    size_t i = 0;
    if (!l->flat_have && frames > 0u) {
        for (uint32_t c = 0; c < ch; c++) {
            l->flat_last[c] = s[c];
            l->flat_run[c] = 0;
        }
        l->flat_have = 1;
        i = 1;
    }
    for (; i < frames; i++) {
        const int16_t *f = s + i * ch;
        for (uint32_t c = 0; c < ch; c++) {
            if (f[c] == l->flat_last[c]) {
                if (l->flat_run[c] != UINT32_MAX) {
                    l->flat_run[c]++;
                }
            } else {
                l->flat_run[c] = 0;
                l->flat_last[c] = f[c];
            }
        }
    }
}

static void restart_features(tl_loop_t *l)
{
    tl_features_reset(&l->feat);
    l->flat_have = 0;
    memset(l->flat_run, 0, sizeof l->flat_run);
    l->infer_due = 1;
    l->score_valid = 0;
    l->artifact = 0;
    l->feat_cycles = 0;
    l->counters.gaps++;
}

static void on_block(void *ctx, const tl_afe_block_t *b)
{
    tl_loop_t *l = (tl_loop_t *)ctx;
    l->last_data_ms = tl_platform_uptime_ms();
    bool gap = b->missing_before > 0u || (b->discontinuity && l->have_data);
    l->have_data = 1;
    if (gap) {
        l->need_reset = 1;
    }
    if (l->need_reset) {
        l->need_reset = 0;
        l->refilling = 1;
        restart_features(l);
    }
    uint32_t flags = 0;
    if ((b->flags & TL_AFE_FLAG_SATURATED) != 0u) {
        flags |= TL_TFAULT_SATURATION;
    }
    if ((b->flags & TL_AFE_FLAG_LEAD_OFF) != 0u) {
        flags |= TL_LOOP_FAULT_LEAD_OFF;
    }
    l->pending_faults |= flags;
    const int16_t *s = b->samples;
    size_t frames = b->samples_per_channel;
    size_t ch = b->channels;
    while (frames > 0u) {
        uint32_t c0 = tl_platform_cycles();
        bool hop = false;
        size_t n = tl_features_push(&l->feat, s, frames, &hop);
        if (l->flat_limit != 0u) {
            track_flatline(l, s, n);
        }
        uint32_t d = elapsed(c0, tl_platform_cycles());
        l->feat_cycles = d > UINT32_MAX - l->feat_cycles ? UINT32_MAX : l->feat_cycles + d;
        if (n == 0u) {
            break; /* unconfigured feature stage: cannot happen with a valid config */
        }
        l->frames += n;
        s += n * ch;
        frames -= n;
        if (hop) {
            run_step(l, false);
            /* The next hop still holds samples of this block if any are left. */
            l->pending_faults = frames > 0u ? flags : 0u;
        }
    }
}

void tl_loop_afe_input(tl_loop_t *l, const uint8_t *data, size_t len)
{
    tl_afe_rx_feed(&l->afe, data, len);
}

void tl_loop_stim_input(tl_loop_t *l, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        tl_stim_frame_t f;
        if (!tl_stim_parser_feed(&l->stim_rx, data[i], &f)) {
            continue;
        }
        tl_stim_status_frame_t st;
        if (tl_stim_decode_status(&f, &st)) {
            tl_stim_monitor_status(&l->mon, &st, tl_loop_now_ms(l));
        }
    }
}

void tl_loop_poll(tl_loop_t *l)
{
    uint32_t now = tl_platform_uptime_ms();
    if (l->cfg.dropout_ms != 0u && l->th.sup.therapy_state != TL_THERAPY_OFF &&
        now - l->last_data_ms >= l->cfg.dropout_ms && now - l->last_silence_ms >= l->hop_ms) {
        l->last_silence_ms = now;
        l->need_reset = 1;
        l->refilling = 1;
        l->frames += l->cfg.hop_samples; /* the clock goes on: one hop per silence step */
        run_step(l, true);
    }
    /* A stimulator link that stays faulty: latch the hardware safe state. */
    bool faulty = l->last_out.mode == TL_SUP_MODE_LINK_SAFE;
    if (faulty && !l->link_faulty) {
        l->link_fault_since = now;
    }
    l->link_faulty = faulty ? 1u : 0u;
    if (faulty && !l->stim_latched && l->cfg.stim_latch_ms != 0u &&
        now - l->link_fault_since >= l->cfg.stim_latch_ms) {
        l->stim_latched = 1;
        l->counters.stim_latches++;
        tl_platform_stim_safe();
    }
}

tl_sup_cmd_result_t tl_loop_command(tl_loop_t *l, uint32_t cmd)
{
    tl_supervisor_output_t out;
    tl_sup_cmd_result_t res = tl_therapy_command(&l->th, cmd, tl_loop_now_ms(l), &out);
    if (res != TL_SUP_CMD_OK) {
        return res;
    }
    l->counters.commands++;
    l->last_out = out;
    send_stim(l, &out.stim);
    if (cmd == TL_CMD_START || cmd == TL_CMD_RESUME) {
        /* The AFE gets a whole dropout timeout from here before silence counts. */
        l->last_data_ms = tl_platform_uptime_ms();
    }
    return res;
}

/* ---- read access ---------------------------------------------------------------------------- */

const tl_therapy_t *tl_loop_therapy(const tl_loop_t *l)
{
    return &l->th;
}

const tl_event_log_t *tl_loop_event_log(const tl_loop_t *l)
{
    return &l->log;
}

const tl_telemetry_t *tl_loop_telemetry(const tl_loop_t *l)
{
    return &l->tele;
}

const tl_afe_stats_t *tl_loop_afe_stats(const tl_loop_t *l)
{
    return tl_afe_rx_stats(&l->afe);
}

const tl_stim_monitor_t *tl_loop_stim_monitor(const tl_loop_t *l)
{
    return &l->mon;
}

const tl_stim_parser_stats_t *tl_loop_stim_parser_stats(const tl_loop_t *l)
{
    return &l->stim_rx.stats;
}

const tl_loop_counters_t *tl_loop_counters(const tl_loop_t *l)
{
    return &l->counters;
}

const tl_stage_stats_t *tl_loop_stage(const tl_loop_t *l, uint32_t stage)
{
    return stage < TL_STAGE_COUNT ? &l->stages[stage] : NULL;
}

const tl_model_step_t *tl_loop_model_step(const tl_loop_t *l)
{
    return &l->ms;
}

const tl_model_active_t *tl_loop_model_active(const tl_loop_t *l)
{
    return &l->active;
}

uint32_t tl_loop_faults(const tl_loop_t *l)
{
    return l->last_out.faults;
}

void tl_loop_reset_timing(tl_loop_t *l)
{
    memset(l->stages, 0, sizeof l->stages);
}

const char *tl_loop_stage_name(uint32_t stage)
{
    static const char *const names[TL_STAGE_COUNT] = {"features", "inference", "policy",
                                                      "supervisor", "step"};
    return stage < TL_STAGE_COUNT ? names[stage] : "unknown";
}

size_t tl_loop_size(void)
{
    return sizeof(tl_loop_t);
}
