/*
 * policy_open_loop.c - constant stimulation (also what the suspend fallback delivers).
 */
#include "therapy_internal.h"

void tl_open_loop_init(tl_open_loop_t *p, const tl_therapy_config_t *cfg)
{
    memset(p, 0, sizeof *p);
    p->prog = tl_program_from(cfg, cfg->pulse_width_us, cfg->rate_dhz);
    p->amplitude_ua = tl_u16(cfg->open_loop_amplitude_ua);
    p->pending_event = TL_PEVENT_START;
}

void tl_open_loop_reset(tl_open_loop_t *p)
{
    p->pending_event = TL_PEVENT_START;
}

void tl_open_loop_step(tl_open_loop_t *p, const tl_policy_input_t *in, tl_policy_output_t *out)
{
    (void)in;
    memset(out, 0, sizeof *out);
    tl_fill_stim(&out->stim, &p->prog, p->amplitude_ua);
    out->target_ua = p->amplitude_ua;
    out->state = TL_PSTATE_OPEN_LOOP;
    out->event = p->pending_event;
    p->pending_event = TL_PEVENT_NONE;
}
