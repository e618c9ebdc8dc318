/*
 * supervisor.c - the independent safety supervisor: hard limits, charge re-checks, slew,
 * fault fallback with hysteresis, link-safe state, emergency pause, lockout.
 * Rules and priority: see therapy/supervisor.h and docs/therapy.md.
 */
#include "therapy_internal.h"
#include "theraloop/therapy/supervisor.h"

#define CAT_SENSOR 0u
#define CAT_MODEL 1u
#define CAT_LINK 2u
#define CAT_COUNT 3u

static const uint32_t k_cat_mask[CAT_COUNT] = {TL_TFAULT_SENSOR_MASK, TL_TFAULT_MODEL_MASK,
                                               TL_TFAULT_LINK_MASK};

const char *tl_therapy_state_name(uint32_t state)
{
    static const char *const k_names[] = {"off", "running", "paused"};
    return state < sizeof k_names / sizeof k_names[0] ? k_names[state] : "unknown";
}

const char *tl_sup_mode_name(uint32_t mode)
{
    static const char *const k_names[] = {"idle", "policy", "fallback", "link_safe", "lockout"};
    return mode < sizeof k_names / sizeof k_names[0] ? k_names[mode] : "unknown";
}

const char *tl_therapy_cmd_name(uint32_t cmd)
{
    static const char *const k_names[] = {"none", "start", "stop", "pause", "resume"};
    return cmd < sizeof k_names / sizeof k_names[0] ? k_names[cmd] : "unknown";
}

static void log_event(tl_supervisor_t *s, uint32_t now, uint8_t type, uint8_t reason,
                      uint32_t detail, uint32_t aux, const tl_stim_params_t *before,
                      const tl_stim_params_t *after)
{
    if (s->log == NULL) {
        return;
    }
    tl_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.time_ms = now;
    ev.type = type;
    ev.reason = reason;
    ev.therapy_state = s->therapy_state;
    ev.policy_state = s->policy_state;
    ev.detail = detail;
    ev.aux = aux;
    ev.before = before != NULL ? *before : s->out;
    ev.after = after != NULL ? *after : s->out;
    (void)tl_event_log_append(s->log, &ev);
}

void tl_supervisor_init(tl_supervisor_t *s, tl_event_log_t *log)
{
    memset(s, 0, sizeof *s);
    s->log = log;
    s->therapy_state = TL_THERAPY_OFF;
    s->mode = TL_SUP_MODE_LOCKOUT;
    s->logged_mode = TL_SUP_MODE_IDLE;
}

/* Off, as a normalised event target. */
static tl_stim_params_t stim_off(void)
{
    tl_stim_params_t off;
    memset(&off, 0, sizeof off);
    return off;
}

static bool output_safe(const tl_supervisor_t *s, const tl_stim_params_t *o)
{
    if (o->amplitude_ua == 0u) {
        return o->enabled == 0u;
    }
    return o->enabled == 1u && s->configured && !s->lockout && o->amplitude_ua <= s->amp_max &&
           o->pulse_width_us >= s->pw_min && o->pulse_width_us <= s->pw_max &&
           o->rate_dhz >= s->rate_min && o->rate_dhz <= s->rate_max &&
           tl_stim_charge_pc(o->amplitude_ua, o->pulse_width_us) <= s->charge_max_pc &&
           tl_stim_density_within(o->amplitude_ua, o->pulse_width_us, s->area_um2,
                                  s->density_max) &&
           2u * (uint32_t)o->pulse_width_us + o->interphase_gap_us <=
               tl_stim_period_us(o->rate_dhz);
}

/* Immediate stimulation off (the instant safety transition). */
static void force_off(tl_supervisor_t *s)
{
    s->amp = 0;
    s->credit_na = 0;
    s->out.amplitude_ua = 0;
    s->out.enabled = 0;
}

static void fill_output(const tl_supervisor_t *s, tl_supervisor_output_t *out, uint8_t reason,
                        uint32_t detail, uint32_t clamps, uint16_t target, uint8_t changed)
{
    memset(out, 0, sizeof *out);
    out->stim = s->out;
    out->therapy_state = s->therapy_state;
    out->mode = s->mode;
    out->reason = reason;
    out->detail = detail;
    out->clamps = clamps;
    out->faults = s->faults;
    out->target_ua = target;
    out->changed = changed;
}

void tl_supervisor_output(const tl_supervisor_t *s, tl_supervisor_output_t *out)
{
    fill_output(s, out, s->logged_reason, s->logged_detail, 0u, s->logged_target.amplitude_ua, 0u);
}

tl_therapy_cfg_err_t tl_supervisor_configure(tl_supervisor_t *s, const tl_therapy_config_t *cfg,
                                             uint32_t now_ms)
{
    tl_therapy_check_t check;
    tl_therapy_cfg_err_t err = tl_therapy_config_validate(cfg, &check);
    if (err != TL_THERAPY_CFG_OK) {
        log_event(s, now_ms, TL_EVENT_CONFIG_REFUSED, TL_REASON_NONE, (uint32_t)check.field,
                  (uint32_t)err, NULL, NULL);
        return err;
    }
    s->amp_max = cfg->amplitude_max_ua;
    s->pw_min = cfg->pulse_width_min_us;
    s->pw_max = cfg->pulse_width_max_us;
    s->rate_min = cfg->rate_min_dhz;
    s->rate_max = cfg->rate_max_dhz;
    s->slew = cfg->slew_max_ua_per_s;
    s->area_um2 = cfg->electrode_area_um2;
    s->density_max = cfg->charge_density_max_cuc_cm2;
    s->charge_max_pc = cfg->charge_max_nc * 1000u;
    s->fallback_mode = cfg->fallback_mode;
    s->hold_ms[CAT_SENSOR] = cfg->sensor_fault_hold_ms;
    s->hold_ms[CAT_MODEL] = cfg->model_fault_hold_ms;
    s->hold_ms[CAT_LINK] = cfg->link_fault_hold_ms;
    s->ipg_us = tl_u16(cfg->interphase_gap_us);
    s->waveform = (uint8_t)cfg->waveform;
    tl_stim_program_t prog = tl_program_from(cfg, cfg->pulse_width_us, cfg->rate_dhz);
    tl_fill_stim(&s->suspend, &prog,
                 cfg->fallback_mode == TL_FALLBACK_SUSPEND ? cfg->suspend_amplitude_ua : 0u);
    s->configured = 1;
    s->lockout = 0;
    if (s->mode == TL_SUP_MODE_LOCKOUT) {
        s->mode = TL_SUP_MODE_IDLE; /* the next step decides what runs */
    }
    log_event(s, now_ms, TL_EVENT_CONFIG, TL_REASON_CONFIG, cfg->policy,
              (uint32_t)check.worst_shannon_k_milli, NULL, NULL);

    /* The output must satisfy the new limits now: lowering is an instant transition. */
    tl_stim_params_t before = s->out;
    if (s->amp > s->amp_max) {
        s->amp = s->amp_max;
        s->credit_na = 0;
        s->slew_from_ms = now_ms;
    }
    s->out.amplitude_ua = tl_u16(s->amp);
    s->out.enabled = s->amp > 0u ? 1u : 0u;
    if (s->out.enabled) {
        if (s->out.pulse_width_us < s->pw_min) {
            s->out.pulse_width_us = tl_u16(s->pw_min);
        }
        if (s->out.pulse_width_us > s->pw_max) {
            s->out.pulse_width_us = tl_u16(s->pw_max);
        }
        if (s->out.rate_dhz < s->rate_min) {
            s->out.rate_dhz = tl_u16(s->rate_min);
        }
        if (s->out.rate_dhz > s->rate_max) {
            s->out.rate_dhz = tl_u16(s->rate_max);
        }
        s->out.interphase_gap_us = s->ipg_us;
        s->out.waveform = s->waveform;
        if (!output_safe(s, &s->out)) {
            force_off(s); /* cannot happen with a validated configuration */
        }
    }
    if (memcmp(&before, &s->out, sizeof before) != 0) {
        log_event(s, now_ms, TL_EVENT_THERAPY, TL_REASON_CONFIG, cfg->policy, 0u, &before, &s->out);
    }
    return TL_THERAPY_CFG_OK;
}

tl_sup_cmd_result_t tl_supervisor_command(tl_supervisor_t *s, uint32_t cmd, uint32_t now_ms,
                                          tl_supervisor_output_t *out)
{
    tl_sup_cmd_result_t res = TL_SUP_CMD_OK;
    bool off_now = false;
    switch (cmd) {
    case TL_CMD_START:
        if (!s->configured || s->lockout) {
            res = TL_SUP_CMD_ERR_LOCKOUT;
        } else if (s->therapy_state != TL_THERAPY_OFF) {
            res = TL_SUP_CMD_ERR_STATE;
        } else {
            s->therapy_state = TL_THERAPY_RUNNING;
            s->last_cmd = TL_CMD_START;
        }
        break;
    case TL_CMD_STOP:
        s->therapy_state = TL_THERAPY_OFF;
        off_now = true;
        break;
    case TL_CMD_PAUSE:
        if (s->therapy_state != TL_THERAPY_RUNNING) {
            res = TL_SUP_CMD_ERR_STATE;
        } else {
            s->therapy_state = TL_THERAPY_PAUSED;
            off_now = true;
        }
        break;
    case TL_CMD_RESUME:
        if (s->therapy_state != TL_THERAPY_PAUSED) {
            res = TL_SUP_CMD_ERR_STATE;
        } else if (!s->configured || s->lockout) {
            res = TL_SUP_CMD_ERR_LOCKOUT;
        } else {
            s->therapy_state = TL_THERAPY_RUNNING;
            s->last_cmd = TL_CMD_RESUME;
        }
        break;
    default:
        res = TL_SUP_CMD_ERR_ARG;
        break;
    }
    log_event(s, now_ms, TL_EVENT_COMMAND, TL_REASON_COMMAND, cmd, (uint32_t)res, NULL, NULL);
    uint8_t changed = 0;
    if (off_now) {
        tl_stim_params_t before = s->out;
        force_off(s);
        s->slew_from_ms = now_ms; /* a later rise counts from this transition */
        s->mode = TL_SUP_MODE_IDLE;
        tl_stim_params_t off = stim_off();
        changed = memcmp(&before, &s->out, sizeof before) != 0 ? 1u : 0u;
        if (memcmp(&s->logged_target, &off, sizeof off) != 0 || s->logged_mode != s->mode) {
            log_event(s, now_ms, TL_EVENT_THERAPY, TL_REASON_COMMAND, cmd, 0u, &before, &off);
        }
        s->logged_target = off;
        s->logged_mode = s->mode;
        s->logged_reason = TL_REASON_COMMAND;
        s->logged_detail = cmd;
    }
    if (out != NULL) {
        uint16_t target = off_now ? 0u : s->logged_target.amplitude_ua;
        fill_output(s, out, off_now ? (uint8_t)TL_REASON_COMMAND : s->logged_reason,
                    off_now ? cmd : s->logged_detail, 0u, target, changed);
    }
    return res;
}

/* Update the fault categories (`previous`: the bits of the last step); returns the bitmask
 * of active categories. */
static uint32_t update_faults(tl_supervisor_t *s, uint32_t faults, uint32_t previous, uint32_t dt)
{
    for (uint32_t i = 0; i < CAT_COUNT; i++) {
        uint32_t bits = faults & k_cat_mask[i];
        uint32_t flag = 1u << i;
        if (bits != 0u) {
            if ((s->cat_active & flag) == 0u) {
                if (i == CAT_LINK) {
                    s->stats.link_safe_entries++;
                } else if ((s->cat_active & ((1u << CAT_SENSOR) | (1u << CAT_MODEL))) == 0u) {
                    s->stats.fallback_entries++;
                }
            }
            s->cat_active |= flag;
            s->clear_ms[i] = 0;
            s->fault_cause |= bits;
        } else if ((s->cat_active & flag) != 0u) {
            /* Clear time counts from the first step without the fault. */
            s->clear_ms[i] = (previous & k_cat_mask[i]) != 0u ? 0u
                                                              : tl_sat_add_u32(s->clear_ms[i], dt);
            if (s->clear_ms[i] >= s->hold_ms[i]) {
                s->cat_active &= ~flag;
                s->fault_cause &= ~k_cat_mask[i];
            }
        }
    }
    return s->cat_active;
}

typedef struct {
    uint32_t amp;     /* amplitude to reach */
    uint32_t final;   /* where the source is heading (event target) */
    uint16_t pw;
    uint16_t rate;
    uint32_t clamps;
} target_t;

/* Clamp a requested setting to the hard limits. */
static target_t clamp_request(const tl_supervisor_t *s, const tl_stim_params_t *req,
                              uint32_t final_ua)
{
    target_t t;
    memset(&t, 0, sizeof t);
    t.pw = s->out.pulse_width_us;
    t.rate = s->out.rate_dhz;
    if (req == NULL) {
        return t;
    }
    t.amp = req->enabled != 0u ? req->amplitude_ua : 0u;
    t.final = final_ua;
    if (t.amp == 0u && t.final == 0u) {
        return t; /* off: pulse shape irrelevant, keep the current one while ramping down */
    }
    if (t.amp > s->amp_max) {
        t.amp = s->amp_max;
        t.clamps |= TL_CLAMP_AMPLITUDE;
    }
    if (t.final > s->amp_max) {
        t.final = s->amp_max;
        t.clamps |= TL_CLAMP_AMPLITUDE;
    }
    uint32_t pw = req->pulse_width_us;
    uint32_t rate = req->rate_dhz;
    if (pw < s->pw_min) {
        pw = s->pw_min;
        t.clamps |= TL_CLAMP_PW_MIN;
    } else if (pw > s->pw_max) {
        pw = s->pw_max;
        t.clamps |= TL_CLAMP_PW_MAX;
    }
    if (rate < s->rate_min) {
        rate = s->rate_min;
        t.clamps |= TL_CLAMP_RATE_MIN;
    } else if (rate > s->rate_max) {
        rate = s->rate_max;
        t.clamps |= TL_CLAMP_RATE_MAX;
    }
    t.pw = tl_u16(pw);
    t.rate = tl_u16(rate);
    /* Charge per phase and density at this pulse width (re-checked at run time). */
    uint32_t by_charge = s->charge_max_pc / pw;
    uint64_t density_num = (uint64_t)s->density_max * s->area_um2;
    uint32_t by_density = (uint32_t)(density_num / ((uint64_t)pw * 10000u));
    uint32_t cap = by_charge < by_density ? by_charge : by_density;
    if (t.amp > cap) {
        t.amp = cap;
        t.clamps |= TL_CLAMP_CHARGE;
    }
    if (t.final > cap) {
        t.final = cap;
        t.clamps |= TL_CLAMP_CHARGE;
    }
    return t;
}

void tl_supervisor_step(tl_supervisor_t *s, uint32_t now_ms, uint32_t faults,
                        const tl_policy_output_t *req, tl_supervisor_output_t *out)
{
    uint32_t dt = s->started ? tl_elapsed_ms(now_ms, s->last_ms) : 0u;
    uint32_t slew_dt = s->started ? tl_elapsed_ms(now_ms, s->slew_from_ms) : 0u;
    if (slew_dt > TL_SUP_SLEW_DT_MAX_MS) {
        /* After a stall, one step may not make up for the lost time in one jump. */
        slew_dt = TL_SUP_SLEW_DT_MAX_MS;
    }
    s->started = 1;
    s->last_ms = now_ms;
    s->slew_from_ms = now_ms;
    s->stats.steps++;
    s->policy_state = req != NULL ? req->state : (uint8_t)TL_PSTATE_NONE;

    uint32_t previous = s->faults;
    if (faults != previous) {
        log_event(s, now_ms, TL_EVENT_FAULT, TL_REASON_FAULT, faults, previous, NULL, NULL);
        s->faults = faults;
    }
    uint32_t active = update_faults(s, faults, previous, dt);

    uint8_t mode;
    uint8_t reason;
    uint32_t detail = 0;
    bool instant_off = false;
    target_t t;
    memset(&t, 0, sizeof t);
    t.pw = s->out.pulse_width_us;
    t.rate = s->out.rate_dhz;

    if (!s->configured || s->lockout) {
        mode = TL_SUP_MODE_LOCKOUT;
        reason = TL_REASON_LOCKOUT;
        instant_off = true;
    } else if (s->therapy_state == TL_THERAPY_OFF) {
        mode = TL_SUP_MODE_IDLE;
        reason = TL_REASON_COMMAND;
        detail = TL_CMD_STOP;
        instant_off = true;
    } else if (s->therapy_state == TL_THERAPY_PAUSED) {
        mode = TL_SUP_MODE_IDLE;
        reason = TL_REASON_COMMAND;
        detail = TL_CMD_PAUSE;
        instant_off = true;
    } else if ((active & (1u << CAT_LINK)) != 0u) {
        mode = TL_SUP_MODE_LINK_SAFE;
        reason = TL_REASON_LINK;
        detail = s->fault_cause & TL_TFAULT_LINK_MASK;
        instant_off = true;
    } else if (active != 0u) {
        mode = TL_SUP_MODE_FALLBACK;
        reason = TL_REASON_FAULT;
        detail = s->fault_cause & (TL_TFAULT_SENSOR_MASK | TL_TFAULT_MODEL_MASK);
        if (s->fallback_mode == TL_FALLBACK_OFF) {
            instant_off = true;
        } else {
            t = clamp_request(s, &s->suspend, s->suspend.amplitude_ua);
        }
    } else {
        mode = TL_SUP_MODE_POLICY;
        t = clamp_request(s, req != NULL ? &req->stim : NULL, req != NULL ? req->target_ua : 0u);
        detail = req != NULL ? req->event : 0u;
        if ((t.clamps & ~TL_CLAMP_SLEW) != 0u) {
            reason = TL_REASON_CLAMP;
            detail = t.clamps;
            s->stats.clamp_steps++;
        } else if (s->logged_mode == TL_SUP_MODE_FALLBACK ||
                   s->logged_mode == TL_SUP_MODE_LINK_SAFE) {
            reason = TL_REASON_RECOVERED;
        } else {
            reason = TL_REASON_POLICY;
        }
    }

    tl_stim_params_t before = s->out;
    if (instant_off) {
        force_off(s);
        t.amp = 0;
        t.final = 0;
    } else if (s->amp == t.amp) {
        s->credit_na = 0;
    } else {
        /* uA/s x ms = nA: whole microamps move, the remainder (< 1 uA) is carried. */
        uint64_t credit = (uint64_t)s->credit_na + (uint64_t)s->slew * slew_dt;
        uint64_t whole = credit / 1000u;
        uint32_t gap = s->amp > t.amp ? s->amp - t.amp : t.amp - s->amp;
        if (whole >= gap) {
            s->amp = t.amp;
            s->credit_na = 0;
        } else {
            s->amp = s->amp > t.amp ? s->amp - (uint32_t)whole : s->amp + (uint32_t)whole;
            s->credit_na = (uint32_t)(credit - whole * 1000u);
            t.clamps |= TL_CLAMP_SLEW;
        }
    }
    s->mode = mode;
    s->out.amplitude_ua = tl_u16(s->amp);
    s->out.enabled = s->amp > 0u ? 1u : 0u;
    if (t.amp > 0u) {
        s->out.pulse_width_us = t.pw;
        s->out.rate_dhz = t.rate;
    }
    s->out.interphase_gap_us = s->ipg_us;
    s->out.waveform = s->waveform;

    if (!output_safe(s, &s->out)) {
        /* Unreachable with a validated configuration; defence in depth. */
        s->lockout = 1;
        s->stats.lockouts++;
        force_off(s);
        s->mode = mode = TL_SUP_MODE_LOCKOUT;
        reason = TL_REASON_LOCKOUT;
        detail = 0;
        t.amp = 0;
        t.final = 0;
    }

    /* Log a therapy change when the target or the source of the output changes. */
    tl_stim_params_t target = stim_off();
    if (t.final > 0u || t.amp > 0u) {
        target.amplitude_ua = tl_u16(t.final > 0u ? t.final : t.amp);
        target.enabled = 1;
        target.pulse_width_us = t.pw;
        target.rate_dhz = t.rate;
        target.interphase_gap_us = s->ipg_us;
        target.waveform = s->waveform;
    }
    bool idle_like_old =
        s->logged_mode == TL_SUP_MODE_IDLE || s->logged_mode == TL_SUP_MODE_LOCKOUT;
    bool idle_like_new = mode == TL_SUP_MODE_IDLE || mode == TL_SUP_MODE_LOCKOUT;
    bool target_changed = memcmp(&target, &s->logged_target, sizeof target) != 0;
    bool mode_changed =
        mode != s->logged_mode && !(idle_like_old && idle_like_new && !target.enabled);
    /* Leaving idle into the policy: the change is the start/resume command's doing. */
    if (mode == TL_SUP_MODE_POLICY && reason == TL_REASON_POLICY &&
        s->logged_mode == TL_SUP_MODE_IDLE && (mode_changed || !s->have_logged)) {
        reason = TL_REASON_COMMAND;
        detail = s->last_cmd;
    }
    if (target_changed || mode_changed) {
        log_event(s, now_ms, TL_EVENT_THERAPY, reason, detail, t.clamps, &before, &target);
        s->logged_target = target;
        s->logged_mode = mode;
        s->logged_reason = reason;
        s->logged_detail = detail;
        s->have_logged = 1;
    } else if (req != NULL && req->event != TL_PEVENT_NONE) {
        log_event(s, now_ms, TL_EVENT_POLICY, TL_REASON_POLICY, req->event, req->state, &before,
                  &target);
    }
    if (out != NULL) {
        fill_output(s, out, reason, detail, t.clamps, tl_u16(t.amp),
                    memcmp(&before, &s->out, sizeof before) != 0 ? 1u : 0u);
    }
}
