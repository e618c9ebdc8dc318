/*
 * sil_loop.h - software-in-the-loop entry points of the control loop (libtheraloop_sil.so,
 * driven from Python by host_tools/theraloop/loop/sil.py): capture the stimulator byte
 * stream and a record of every control step, and feed sample arrays through the real AFE
 * link parser, so that a SIL run takes exactly the device's path, sample for sample.
 */
#ifndef THERALOOP_SIL_LOOP_H
#define THERALOOP_SIL_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "theraloop/loop/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One control step as captured (fixed layout for ctypes). */
typedef struct {
    tl_telemetry_record_t rec;
    uint32_t stage_cycles[TL_STAGE_COUNT];
    uint32_t clamps;
    uint16_t stim_seq;        /* seq of the STIM_SET frame the step sent */
    uint8_t silence;
    uint8_t inferred;
    uint8_t policy_event;
    uint8_t reserved[3];
} tl_sil_step_t;

/* Caller-owned buffers the loop's output goes to; the caller drains them. */
typedef struct {
    uint8_t *stim;           /* stimulator bytes */
    size_t stim_cap;
    size_t stim_len;
    tl_sil_step_t *steps;
    size_t steps_cap;
    size_t steps_len;
    uint32_t overflow;       /* bytes or steps that did not fit (lost) */
    uint32_t reserved;
} tl_sil_capture_t;

/* tl_loop_init with its output and step records going to `cap`. */
void tl_sil_loop_init(tl_loop_t *l, tl_sil_capture_t *cap);

/* Encode `frames` interleaved frames (frames x channels int16) as AFE frames of
 * `block` samples per channel (the last one shorter), sequence numbers from *seq
 * (advanced), flags on every frame, and feed them to the loop. Returns the bytes fed,
 * 0 on a bad argument (block 0 or > 255, channels x block > TL_AFE_MAX_SAMPLES). */
size_t tl_sil_feed_samples(tl_loop_t *l, const int16_t *samples, size_t frames, uint8_t channels,
                           uint16_t rate_hz, uint8_t block, uint16_t *seq, uint8_t flags);

/* Stand-in for the SMP "nn" group's upload + load: copy a .tflite into the SIL library's
 * RAM slot, load it and report it as the RAM model (tl_model_source_ram_update), as the
 * device does after `nn load`. len 0 removes it. Returns the engine's status. */
#define TL_SIL_RAM_SLOT_BYTES (256u * 1024u)
#define TL_SIL_RAM_ARENA_BYTES (256u * 1024u)
tl_nn_status_t tl_sil_ram_model_load(const uint8_t *data, size_t len);

/* The loop's model binding: tl_model_err_t (0 = bound, running), *detail its detail. */
uint32_t tl_sil_model_state(const tl_loop_t *l, uint32_t *detail);

/* Sizes for the ctypes mirrors. */
size_t tl_sil_sizeof(uint32_t what);
#define TL_SIL_SIZEOF_STEP 0u
#define TL_SIL_SIZEOF_CAPTURE 1u
#define TL_SIL_SIZEOF_LOOP 2u
#define TL_SIL_SIZEOF_SETTING 3u
#define TL_SIL_SIZEOF_SET_RESULT 4u
#define TL_SIL_SIZEOF_LOOP_CONFIG 5u
#define TL_SIL_SIZEOF_STAGE 6u
#define TL_SIL_SIZEOF_COUNTERS 7u

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_SIL_LOOP_H */
