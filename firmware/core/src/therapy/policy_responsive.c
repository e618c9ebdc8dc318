/*
 * policy_responsive.c - responsive stimulation: detection -> burst, bursts per episode,
 * refractory period, rolling daily limit. Semantics: see therapy/policy.h and
 * docs/therapy.md.
 */
#include "therapy_internal.h"

void tl_responsive_init(tl_responsive_t *p, const tl_therapy_config_t *cfg)
{
    memset(p, 0, sizeof *p);
    p->threshold = cfg->responsive_threshold;
    p->onset_ms = cfg->responsive_onset_ms;
    p->burst_ua = cfg->burst_amplitude_ua;
    p->burst_ms = cfg->burst_duration_ms;
    p->max_per_episode = cfg->responsive_max_bursts_per_episode;
    p->refractory_ms = cfg->responsive_refractory_ms;
    p->episode_end_ms = cfg->responsive_episode_end_ms;
    p->max_per_day = cfg->responsive_max_bursts_per_day;
    p->burst = tl_program_from(cfg, cfg->burst_pulse_width_us, cfg->burst_rate_dhz);
    tl_responsive_reset(p);
}

void tl_responsive_reset(tl_responsive_t *p)
{
    /* Ends any burst and episode; the daily buckets are kept (a stop/start must not
     * give a fresh daily allowance). */
    p->started = 0;
    p->last_ms = 0;
    p->det_ms = 0;
    p->det_active = 0;
    p->absent_ms = 0;
    p->burst_left = 0;
    p->refr_left = 0;
    p->episode_bursts = 0;
    p->in_episode = 0;
    p->state = TL_PSTATE_RESPONSIVE_IDLE;
    p->pending_event = TL_PEVENT_START;
}

uint32_t tl_responsive_day_count(const tl_responsive_t *p)
{
    return p->day_total;
}

/* Advance the hourly buckets of the rolling daily window by dt. */
static void day_advance(tl_responsive_t *p, uint32_t dt)
{
    if (dt >= TL_RESPONSIVE_DAY_BUCKETS * TL_RESPONSIVE_BUCKET_MS) {
        memset(p->day_counts, 0, sizeof p->day_counts);
        p->day_total = 0;
        p->bucket_ms = 0;
        return;
    }
    p->bucket_ms += dt; /* < 2 x 25 h in ms: no overflow */
    while (p->bucket_ms >= TL_RESPONSIVE_BUCKET_MS) {
        p->bucket_ms -= TL_RESPONSIVE_BUCKET_MS;
        p->bucket = (uint8_t)((p->bucket + 1u) % TL_RESPONSIVE_DAY_BUCKETS);
        p->day_total -= p->day_counts[p->bucket];
        p->day_counts[p->bucket] = 0;
    }
}

static void end_episode(tl_responsive_t *p, uint8_t *event)
{
    p->in_episode = 0;
    p->episode_bursts = 0;
    p->absent_ms = 0;
    if (p->state == TL_PSTATE_RESPONSIVE_EPISODE || p->state == TL_PSTATE_RESPONSIVE_LIMITED) {
        p->state = TL_PSTATE_RESPONSIVE_IDLE;
    }
    *event = TL_PEVENT_EPISODE_END;
}

void tl_responsive_step(tl_responsive_t *p, const tl_policy_input_t *in, tl_policy_output_t *out)
{
    uint32_t dt = p->started ? tl_elapsed_ms(in->now_ms, p->last_ms) : 0u;
    p->started = 1;
    p->last_ms = in->now_ms;
    uint8_t event = p->pending_event;
    p->pending_event = TL_PEVENT_NONE;
    day_advance(p, dt);

    if (p->state == TL_PSTATE_RESPONSIVE_BURST) {
        /* Sensing is blanked during the burst: the score is not looked at. */
        p->burst_left = tl_sat_sub_u32(p->burst_left, dt);
        if (p->burst_left == 0u) {
            p->state = TL_PSTATE_RESPONSIVE_REFRACTORY;
            p->refr_left = p->refractory_ms;
            p->det_active = 0;
            p->det_ms = 0;
            p->absent_ms = 0;
            event = TL_PEVENT_BURST_END;
        }
    } else {
        bool cond = in->score_valid != 0u && in->score >= p->threshold;
        if (cond) {
            p->absent_ms = 0;
            if (p->det_active) {
                p->det_ms = tl_sat_add_u32(p->det_ms, dt);
            } else {
                p->det_active = 1;
                p->det_ms = 0;
            }
        } else {
            /* Absence is timed from its first step, like a detection from its first. */
            p->absent_ms = p->det_active ? 0u : tl_sat_add_u32(p->absent_ms, dt);
            p->det_active = 0;
            p->det_ms = 0;
            if (p->in_episode && p->absent_ms >= p->episode_end_ms) {
                end_episode(p, &event);
            }
        }
        if (p->state == TL_PSTATE_RESPONSIVE_REFRACTORY) {
            p->refr_left = tl_sat_sub_u32(p->refr_left, dt);
            if (p->refr_left == 0u) {
                p->state = p->in_episode ? TL_PSTATE_RESPONSIVE_EPISODE : TL_PSTATE_RESPONSIVE_IDLE;
            }
        }
        bool detected = p->det_active && p->det_ms >= p->onset_ms;
        if (detected && p->state != TL_PSTATE_RESPONSIVE_REFRACTORY) {
            if (p->episode_bursts >= p->max_per_episode) {
                if (p->state != TL_PSTATE_RESPONSIVE_LIMITED) {
                    event = TL_PEVENT_LIMIT_EPISODE;
                }
                p->state = TL_PSTATE_RESPONSIVE_LIMITED;
            } else if (p->day_total >= p->max_per_day) {
                if (p->state != TL_PSTATE_RESPONSIVE_LIMITED) {
                    event = TL_PEVENT_LIMIT_DAY;
                }
                p->state = TL_PSTATE_RESPONSIVE_LIMITED;
                p->in_episode = 1; /* the refused detection is part of an episode */
            } else {
                p->state = TL_PSTATE_RESPONSIVE_BURST;
                p->burst_left = p->burst_ms;
                p->episode_bursts++;
                p->in_episode = 1;
                p->absent_ms = 0;
                p->day_counts[p->bucket]++;
                p->day_total++;
                event = TL_PEVENT_BURST_START;
            }
        }
    }

    memset(out, 0, sizeof *out);
    uint32_t amp = p->state == TL_PSTATE_RESPONSIVE_BURST ? p->burst_ua : 0u;
    tl_fill_stim(&out->stim, &p->burst, amp);
    out->target_ua = tl_u16(amp);
    out->state = p->state;
    out->event = event;
}
