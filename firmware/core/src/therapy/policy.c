/*
 * policy.c - the policy selected by the configuration, and names for states and events.
 */
#include "therapy_internal.h"

const char *tl_policy_kind_name(uint32_t kind)
{
    switch (kind) {
    case TL_POLICY_OPEN_LOOP:
        return "open_loop";
    case TL_POLICY_ADAPTIVE:
        return "adaptive";
    case TL_POLICY_RESPONSIVE:
        return "responsive";
    default:
        return "none";
    }
}

const char *tl_policy_state_name(uint32_t state)
{
    static const char *const k_names[] = {
        "none",         "open_loop",   "startup",    "low",     "mid",     "high",
        "idle",         "burst",       "refractory", "episode", "limited",
    };
    return state < sizeof k_names / sizeof k_names[0] ? k_names[state] : "unknown";
}

const char *tl_policy_event_name(uint32_t event)
{
    static const char *const k_names[] = {
        "none",      "start",       "startup_done",  "zone_up",       "zone_down",
        "burst_start", "burst_end", "episode_end",   "limit_episode", "limit_day",
    };
    return event < sizeof k_names / sizeof k_names[0] ? k_names[event] : "unknown";
}

tl_therapy_cfg_err_t tl_policy_init(tl_policy_t *p, const tl_therapy_config_t *cfg)
{
    if (p == NULL) {
        return TL_THERAPY_CFG_ERR_ARG;
    }
    memset(p, 0, sizeof *p);
    p->kind = TL_POLICY_COUNT;
    tl_therapy_cfg_err_t err = tl_therapy_config_validate(cfg, NULL);
    if (err != TL_THERAPY_CFG_OK) {
        return err;
    }
    p->kind = cfg->policy;
    switch (p->kind) {
    case TL_POLICY_OPEN_LOOP:
        tl_open_loop_init(&p->u.open_loop, cfg);
        break;
    case TL_POLICY_ADAPTIVE:
        tl_adaptive_init(&p->u.adaptive, cfg);
        break;
    default:
        tl_responsive_init(&p->u.responsive, cfg);
        break;
    }
    return TL_THERAPY_CFG_OK;
}

void tl_policy_reset(tl_policy_t *p)
{
    switch (p->kind) {
    case TL_POLICY_OPEN_LOOP:
        tl_open_loop_reset(&p->u.open_loop);
        break;
    case TL_POLICY_ADAPTIVE:
        tl_adaptive_reset(&p->u.adaptive);
        break;
    case TL_POLICY_RESPONSIVE:
        tl_responsive_reset(&p->u.responsive);
        break;
    default:
        break;
    }
}

void tl_policy_step(tl_policy_t *p, const tl_policy_input_t *in, tl_policy_output_t *out)
{
    switch (p->kind) {
    case TL_POLICY_OPEN_LOOP:
        tl_open_loop_step(&p->u.open_loop, in, out);
        break;
    case TL_POLICY_ADAPTIVE:
        tl_adaptive_step(&p->u.adaptive, in, out);
        break;
    case TL_POLICY_RESPONSIVE:
        tl_responsive_step(&p->u.responsive, in, out);
        break;
    default:
        memset(out, 0, sizeof *out);
        out->state = TL_PSTATE_NONE;
        break;
    }
}
