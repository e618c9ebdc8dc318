/*
 * sil_loop.c - software-in-the-loop entry points of the control loop (see sil_loop.h).
 */
#include "sil_loop.h"

#include <stdalign.h>
#include <string.h>

#include "theraloop/afe_link.h"
#include "theraloop/loop/settings.h"
#include "theraloop/sha256.h"

static void stim_sink(void *ctx, const uint8_t *data, size_t len)
{
    tl_sil_capture_t *cap = (tl_sil_capture_t *)ctx;
    size_t room = cap->stim_cap - cap->stim_len;
    size_t n = len < room ? len : room;
    memcpy(cap->stim + cap->stim_len, data, n);
    cap->stim_len += n;
    cap->overflow += (uint32_t)(len - n);
}

static void step_sink(void *ctx, const tl_loop_step_info_t *info)
{
    tl_sil_capture_t *cap = (tl_sil_capture_t *)ctx;
    if (cap->steps_len >= cap->steps_cap) {
        cap->overflow++;
        return;
    }
    tl_sil_step_t *s = &cap->steps[cap->steps_len++];
    memset(s, 0, sizeof *s);
    s->rec = *info->rec;
    memcpy(s->stage_cycles, info->stage_cycles, sizeof s->stage_cycles);
    s->clamps = info->out->clamps;
    s->silence = info->silence;
    s->inferred = info->inferred;
    s->policy_event = info->policy_event;
}

/* The step hook runs before the step's frame is counted; stamp the seq from the loop. */
static void step_and_seq(void *ctx, const tl_loop_step_info_t *info);

void tl_sil_loop_init(tl_loop_t *l, tl_sil_capture_t *cap)
{
    tl_loop_init(l, stim_sink, cap);
    tl_loop_set_step_hook(l, step_and_seq, l);
}

static void step_and_seq(void *ctx, const tl_loop_step_info_t *info)
{
    tl_loop_t *l = (tl_loop_t *)ctx;
    tl_sil_capture_t *cap = (tl_sil_capture_t *)l->out_ctx;
    step_sink(cap, info);
    if (cap->steps_len > 0u && cap->steps_len <= cap->steps_cap) {
        cap->steps[cap->steps_len - 1u].stim_seq = (uint16_t)(l->stim_seq - 1u);
    }
}

size_t tl_sil_feed_samples(tl_loop_t *l, const int16_t *samples, size_t frames, uint8_t channels,
                           uint16_t rate_hz, uint8_t block, uint16_t *seq, uint8_t flags)
{
    if (block == 0u || channels == 0u || (size_t)channels * block > TL_AFE_MAX_SAMPLES) {
        return 0;
    }
    uint8_t buf[TL_AFE_MAX_FRAME];
    size_t fed = 0;
    while (frames > 0u) {
        uint8_t n = frames < block ? (uint8_t)frames : block;
        size_t len = tl_afe_encode(buf, sizeof buf, *seq, flags, rate_hz, channels, n, samples);
        if (len == 0u) {
            return 0;
        }
        tl_loop_afe_input(l, buf, len);
        (*seq)++;
        fed += len;
        samples += (size_t)n * channels;
        frames -= n;
    }
    return fed;
}

static alignas(16) uint8_t g_ram_slot[TL_SIL_RAM_SLOT_BYTES];
static alignas(16) uint8_t g_ram_arena[TL_SIL_RAM_ARENA_BYTES];
static tl_nn_model_t g_ram_model;
static uint8_t g_ram_sha[TL_SHA256_SIZE];

tl_nn_status_t tl_sil_ram_model_load(const uint8_t *data, size_t len)
{
    tl_model_source_ram_update(NULL, NULL);
    memset(&g_ram_model, 0, sizeof g_ram_model);
    if (len == 0u) {
        return TL_NN_OK;
    }
    if (data == NULL || len > sizeof g_ram_slot) {
        return TL_NN_ERR_ARG;
    }
    memcpy(g_ram_slot, data, len);
    tl_sha256(g_ram_slot, len, g_ram_sha);
    tl_nn_status_t st = tl_nn_load(&g_ram_model, g_ram_slot, len, g_ram_arena, sizeof g_ram_arena);
    if (st == TL_NN_OK) {
        tl_model_source_ram_update(&g_ram_model, g_ram_sha);
    }
    return st;
}

uint32_t tl_sil_model_state(const tl_loop_t *l, uint32_t *detail)
{
    const tl_model_step_t *ms = tl_loop_model_step(l);
    *detail = ms->detail;
    return ms->bound ? (uint32_t)TL_MODEL_OK : (uint32_t)ms->err;
}

size_t tl_sil_sizeof(uint32_t what)
{
    switch (what) {
    case TL_SIL_SIZEOF_STEP:
        return sizeof(tl_sil_step_t);
    case TL_SIL_SIZEOF_CAPTURE:
        return sizeof(tl_sil_capture_t);
    case TL_SIL_SIZEOF_LOOP:
        return sizeof(tl_loop_t);
    case TL_SIL_SIZEOF_SETTING:
        return sizeof(tl_setting_t);
    case TL_SIL_SIZEOF_SET_RESULT:
        return sizeof(tl_set_result_t);
    case TL_SIL_SIZEOF_LOOP_CONFIG:
        return sizeof(tl_loop_config_t);
    case TL_SIL_SIZEOF_STAGE:
        return sizeof(tl_stage_stats_t);
    case TL_SIL_SIZEOF_COUNTERS:
        return sizeof(tl_loop_counters_t);
    default:
        return 0;
    }
}
