/*
 * therapy_internal.h - helpers shared by the therapy modules (not a public interface).
 */
#ifndef THERALOOP_THERAPY_INTERNAL_H
#define THERALOOP_THERAPY_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "theraloop/therapy/config.h"
#include "theraloop/therapy/policy.h"

static inline uint32_t tl_sat_add_u32(uint32_t a, uint32_t b)
{
    return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

static inline uint32_t tl_sat_sub_u32(uint32_t a, uint32_t b)
{
    return a > b ? a - b : 0u;
}

/* Time since `last` on the uint32 millisecond clock. A clock that went backwards (a
 * difference of 2^31 or more) counts as no time at all, never as ~49 days. */
static inline uint32_t tl_elapsed_ms(uint32_t now, uint32_t last)
{
    uint32_t dt = now - last;
    return dt > (uint32_t)INT32_MAX ? 0u : dt;
}

static inline uint16_t tl_u16(uint32_t v)
{
    return v > UINT16_MAX ? UINT16_MAX : (uint16_t)v;
}

static inline tl_stim_program_t tl_program_from(const tl_therapy_config_t *cfg, uint32_t pw,
                                                uint32_t rate)
{
    tl_stim_program_t p;
    memset(&p, 0, sizeof p);
    p.pulse_width_us = tl_u16(pw);
    p.rate_dhz = tl_u16(rate);
    p.interphase_gap_us = tl_u16(cfg->interphase_gap_us);
    p.waveform = (uint8_t)cfg->waveform;
    return p;
}

static inline void tl_fill_stim(tl_stim_params_t *s, const tl_stim_program_t *prog,
                                uint32_t amplitude_ua)
{
    memset(s, 0, sizeof *s);
    s->amplitude_ua = tl_u16(amplitude_ua);
    s->pulse_width_us = prog->pulse_width_us;
    s->rate_dhz = prog->rate_dhz;
    s->interphase_gap_us = prog->interphase_gap_us;
    s->waveform = prog->waveform;
    s->enabled = amplitude_ua > 0u ? 1u : 0u;
}

#endif /* THERALOOP_THERAPY_INTERNAL_H */
