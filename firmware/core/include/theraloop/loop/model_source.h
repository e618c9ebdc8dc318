/*
 * loop/model_source.h - which model the control loop runs: one small module, so that
 * persistent A/B model slots (a later feature) only change this file.
 *
 * Sources (the loop configuration's `model` field):
 *   TL_MODEL_SRC_NONE       no model (open-loop therapy needs none)
 *   TL_MODEL_SRC_RAM        the model an operator uploaded and loaded into RAM with the
 *                           SMP "nn" group; whoever loads it reports every change with
 *                           tl_model_source_ram_update()
 *   TL_MODEL_SRC_FACTORY+k  factory model k: compiled into the image from a .tflite at
 *                           build time (CMake option TL_FACTORY_MODELS, converted by
 *                           `theraloop model convert`), run from flash with a static
 *                           arena of TL_FACTORY_ARENA_BYTES (the largest the factory
 *                           models need)
 *   tl_model_source_slot(s) "slot_a", "slot_b": the signed model image in flash slot s
 *                           (update/model_slots.h), run in place with the slot's own
 *                           arena and the CURRENT pipeline (no preset). Numbered after
 *                           the factory models so that existing numbers never move.
 *
 * Every factory model comes with a preset: the pipeline its contract describes (sample
 * rate, hop, window, features or raw window, frac bits, score and artifact classes).
 * Selecting a factory model in the configuration loads its preset.
 *
 * The loaded model handles are shared (one factory arena). tl_model_source_generation()
 * changes whenever a handle another user may hold is re-loaded or replaced, so holders
 * re-acquire before the next inference.
 */
#ifndef THERALOOP_LOOP_MODEL_SOURCE_H
#define THERALOOP_LOOP_MODEL_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "theraloop/loop/loop_config.h"
#include "theraloop/nn/engine.h"
#include "theraloop/nn/model_info.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TL_MODEL_SRC_NONE 0u
#define TL_MODEL_SRC_RAM 1u
#define TL_MODEL_SRC_FACTORY 2u /* + factory index */
#define TL_MODEL_NAME_MAX 32u

/* One factory model: the converted file and its default pipeline. */
typedef struct {
    const tl_model_info_t *info;
    tl_loop_config_t preset; /* a complete loop configuration with model = this one */
} tl_factory_model_t;

/* The factory table (generated into the build tree by cmake/factory_models.cmake). */
size_t tl_factory_count(void);
const tl_factory_model_t *tl_factory_get(size_t index); /* NULL when out of range */
/* Index of the factory model with this name, or -1. */
int32_t tl_factory_find(const char *name, size_t name_len);

/* Source value of model slot `slot` (0: slot_a, 1: slot_b). */
uint32_t tl_model_source_slot(uint32_t slot);
/* Slot index (0/1) of a source value, or -1 if it is not a slot source. */
int32_t tl_model_source_slot_index(uint32_t source);

/* Name of a source value ("none", "ram", a factory model's name, "slot_a", "slot_b");
 * NULL if unknown. */
const char *tl_model_source_name(uint32_t source);
/* Source value of a name, or -1. */
int32_t tl_model_source_find(const char *name, size_t name_len);
/* Source values that exist: 0 .. tl_model_source_count() - 1. */
uint32_t tl_model_source_count(void);

/* The RAM model changed: `model` is the loaded handle (NULL: none any more) and sha256
 * its file's digest. The handle must stay valid until the next call. */
void tl_model_source_ram_update(tl_nn_model_t *model, const uint8_t *sha256);

typedef struct {
    tl_nn_model_t *model;   /* NULL when none / not loadable */
    const uint8_t *sha256;  /* 32 bytes, NULL with model */
    const char *name;       /* "ram", the factory name, or "none" */
    uint32_t source;
    uint32_t generation;    /* tl_model_source_generation() when acquired */
    tl_nn_status_t load_status; /* engine status of a factory load (OK otherwise) */
    uint32_t arena_required;    /* for a factory load that failed with ARENA_TOO_SMALL */
} tl_model_active_t;

/* Get a usable handle for `source`, loading a factory model into the factory arena if
 * another one is loaded there; a slot source re-checks its image hash
 * (tl_model_slots_acquire). out->model is NULL when there is nothing to run. */
void tl_model_source_acquire(uint32_t source, tl_model_active_t *out);

/* Bumped by every factory (re)load, every RAM update and every slot change. */
uint32_t tl_model_source_generation(void);
/* A handle another user may hold changed (model slots): holders re-acquire. */
void tl_model_source_changed(void);

/* Bytes of the static factory arena. */
size_t tl_model_source_factory_arena_bytes(void);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_LOOP_MODEL_SOURCE_H */
