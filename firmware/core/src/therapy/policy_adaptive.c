/*
 * policy_adaptive.c - adaptive stimulation on a biomarker score: single or dual threshold,
 * onset/termination durations, blanking, startup delay, ramps given as durations.
 * Semantics: see therapy/policy.h and docs/therapy.md.
 */
#include "therapy_internal.h"

void tl_adaptive_init(tl_adaptive_t *p, const tl_therapy_config_t *cfg)
{
    memset(p, 0, sizeof *p);
    p->prog = tl_program_from(cfg, cfg->pulse_width_us, cfg->rate_dhz);
    p->mode = cfg->adaptive_mode;
    p->threshold_lower = cfg->adaptive_threshold_lower;
    p->threshold_upper = cfg->adaptive_threshold_upper;
    p->amp_lower = cfg->adaptive_amplitude_lower_ua;
    p->amp_upper = cfg->adaptive_amplitude_upper_ua;
    p->onset_ms = cfg->adaptive_onset_ms;
    p->termination_ms = cfg->adaptive_termination_ms;
    p->blanking_ms = cfg->adaptive_blanking_ms;
    p->startup_ms = cfg->adaptive_startup_ms;
    p->ramp_up_ms = cfg->adaptive_ramp_up_ms;
    p->ramp_down_ms = cfg->adaptive_ramp_down_ms;
    tl_adaptive_reset(p);
}

static uint8_t initial_zone(const tl_adaptive_t *p)
{
    return p->mode == TL_ADAPTIVE_DUAL ? TL_PSTATE_ADAPTIVE_MID : TL_PSTATE_ADAPTIVE_LOW;
}

void tl_adaptive_reset(tl_adaptive_t *p)
{
    p->started = 0;
    p->last_ms = 0;
    p->startup_left = p->startup_ms;
    p->blank_left = 0;
    p->zone = initial_zone(p);
    p->candidate = p->zone;
    p->cand_ms = 0;
    p->amp = p->amp_lower;
    p->target = p->amp_lower;
    p->ramp_acc = 0;
    p->ramp_dir = 0;
    p->pending_event = TL_PEVENT_START;
}

static uint8_t zone_of(const tl_adaptive_t *p, int32_t score)
{
    if (score >= p->threshold_upper) {
        return TL_PSTATE_ADAPTIVE_HIGH;
    }
    if (p->mode == TL_ADAPTIVE_DUAL && score >= p->threshold_lower) {
        return TL_PSTATE_ADAPTIVE_MID;
    }
    return TL_PSTATE_ADAPTIVE_LOW;
}

/* Move the amplitude towards the target over `dt` ms at the configured ramp rate. */
static void ramp(tl_adaptive_t *p, uint32_t dt)
{
    if (p->amp == p->target) {
        p->ramp_acc = 0;
        p->ramp_dir = 0;
        return;
    }
    int8_t dir = p->target > p->amp ? 1 : -1;
    if (dir != p->ramp_dir) {
        p->ramp_acc = 0;
        p->ramp_dir = dir;
    }
    uint32_t span = p->amp_upper - p->amp_lower;
    uint32_t duration = dir > 0 ? p->ramp_up_ms : p->ramp_down_ms;
    uint32_t gap = dir > 0 ? p->target - p->amp : p->amp - p->target;
    uint32_t move;
    if (duration == 0u || span == 0u) {
        move = gap;
    } else {
        /* span x dt / duration uA, with the remainder carried to the next step. */
        uint64_t acc = p->ramp_acc + (uint64_t)span * dt;
        uint64_t whole = acc / duration;
        p->ramp_acc = acc % duration;
        move = whole > gap ? gap : (uint32_t)whole;
    }
    p->amp = dir > 0 ? p->amp + move : p->amp - move;
    if (p->amp == p->target) {
        p->ramp_acc = 0;
        p->ramp_dir = 0;
    }
}

static uint32_t target_of(const tl_adaptive_t *p, uint8_t zone)
{
    switch (zone) {
    case TL_PSTATE_ADAPTIVE_HIGH:
        return p->amp_upper;
    case TL_PSTATE_ADAPTIVE_LOW:
        return p->amp_lower;
    default:
        return p->amp; /* MID: hold what has been reached */
    }
}

void tl_adaptive_step(tl_adaptive_t *p, const tl_policy_input_t *in, tl_policy_output_t *out)
{
    uint32_t dt = p->started ? tl_elapsed_ms(in->now_ms, p->last_ms) : 0u;
    p->started = 1;
    p->last_ms = in->now_ms;
    uint8_t event = p->pending_event;
    p->pending_event = TL_PEVENT_NONE;

    /* The ramp covers the interval that just ended, towards the target set before it. */
    ramp(p, dt);

    bool evaluate = true;
    if (p->startup_left > 0u) {
        p->startup_left = tl_sat_sub_u32(p->startup_left, dt);
        if (p->startup_left > 0u) {
            evaluate = false;
        } else if (event == TL_PEVENT_NONE) {
            event = TL_PEVENT_STARTUP_DONE;
        }
    } else if (p->blank_left > 0u) {
        p->blank_left = tl_sat_sub_u32(p->blank_left, dt);
        evaluate = p->blank_left == 0u;
    }

    if (!evaluate || !in->score_valid) {
        /* Ignored or missing score: the persistence of any pending change is broken. */
        p->candidate = p->zone;
        p->cand_ms = 0;
    } else {
        uint8_t raw = zone_of(p, in->score);
        if (raw == p->zone) {
            p->candidate = p->zone;
            p->cand_ms = 0;
        } else {
            if (raw == p->candidate) {
                p->cand_ms = tl_sat_add_u32(p->cand_ms, dt);
            } else {
                p->candidate = raw;
                p->cand_ms = 0;
            }
            uint32_t need = raw > p->zone ? p->onset_ms : p->termination_ms;
            if (p->cand_ms >= need) {
                event = raw > p->zone ? TL_PEVENT_ZONE_UP : TL_PEVENT_ZONE_DOWN;
                p->zone = raw;
                p->candidate = raw;
                p->cand_ms = 0;
                p->target = target_of(p, raw);
                p->blank_left = p->blanking_ms;
            }
        }
    }

    memset(out, 0, sizeof *out);
    tl_fill_stim(&out->stim, &p->prog, p->amp);
    out->target_ua = tl_u16(p->target);
    out->state = p->startup_left > 0u ? TL_PSTATE_ADAPTIVE_STARTUP : p->zone;
    out->event = event;
}
