/*
 * model_source.c - the factory model table, the RAM model hook, the factory arena and
 * the model slot sources (served by update/model_slots.c).
 */
#include "theraloop/loop/model_source.h"

#include <stdalign.h>
#include <string.h>

#include "theraloop/factory_models.h" /* generated: TL_FACTORY_MODEL_COUNT, arena size */
#include "theraloop/update/model_slots.h"

static const char *const k_slot_names[TL_MODEL_SLOT_COUNT] = {"slot_a", "slot_b"};

#if TL_FACTORY_MODEL_COUNT > 0
static alignas(16) uint8_t g_factory_arena[TL_FACTORY_ARENA_BYTES];
static tl_nn_model_t g_factory_model;
static int32_t g_factory_loaded = -1; /* index loaded in g_factory_model */
static tl_nn_status_t g_factory_status[TL_FACTORY_MODEL_COUNT];
#endif

static struct {
    tl_nn_model_t *model;
    uint8_t sha256[32];
} g_ram;

static uint32_t g_generation = 1u;

size_t tl_factory_count(void)
{
    return TL_FACTORY_MODEL_COUNT;
}

const tl_factory_model_t *tl_factory_get(size_t index)
{
#if TL_FACTORY_MODEL_COUNT > 0
    return index < (size_t)TL_FACTORY_MODEL_COUNT ? &tl_factory_models[index] : NULL;
#else
    (void)index;
    return NULL;
#endif
}

static bool name_is(const char *s, const char *name, size_t len)
{
    return s != NULL && strlen(s) == len && memcmp(s, name, len) == 0;
}

int32_t tl_factory_find(const char *name, size_t name_len)
{
    for (size_t i = 0; i < tl_factory_count(); i++) {
        if (name_is(tl_factory_get(i)->info->name, name, name_len)) {
            return (int32_t)i;
        }
    }
    return -1;
}

uint32_t tl_model_source_slot(uint32_t slot)
{
    return TL_MODEL_SRC_FACTORY + (uint32_t)tl_factory_count() + slot;
}

int32_t tl_model_source_slot_index(uint32_t source)
{
    uint32_t first = tl_model_source_slot(0);
    return (source >= first && source - first < TL_MODEL_SLOT_COUNT) ? (int32_t)(source - first)
                                                                      : -1;
}

uint32_t tl_model_source_count(void)
{
    return tl_model_source_slot(0) + TL_MODEL_SLOT_COUNT;
}

const char *tl_model_source_name(uint32_t source)
{
    if (source == TL_MODEL_SRC_NONE) {
        return "none";
    }
    if (source == TL_MODEL_SRC_RAM) {
        return "ram";
    }
    int32_t slot = tl_model_source_slot_index(source);
    if (slot >= 0) {
        return k_slot_names[slot];
    }
    if (source < TL_MODEL_SRC_FACTORY) {
        return NULL;
    }
    const tl_factory_model_t *f = tl_factory_get(source - TL_MODEL_SRC_FACTORY);
    return f != NULL ? f->info->name : NULL;
}

int32_t tl_model_source_find(const char *name, size_t name_len)
{
    if (name_is("none", name, name_len)) {
        return (int32_t)TL_MODEL_SRC_NONE;
    }
    if (name_is("ram", name, name_len)) {
        return (int32_t)TL_MODEL_SRC_RAM;
    }
    for (uint32_t k = 0; k < TL_MODEL_SLOT_COUNT; k++) {
        if (name_is(k_slot_names[k], name, name_len)) {
            return (int32_t)tl_model_source_slot(k);
        }
    }
    int32_t i = tl_factory_find(name, name_len);
    return i < 0 ? -1 : (int32_t)TL_MODEL_SRC_FACTORY + i;
}

void tl_model_source_ram_update(tl_nn_model_t *model, const uint8_t *sha256)
{
    g_ram.model = (model != NULL && model->loaded && sha256 != NULL) ? model : NULL;
    if (g_ram.model != NULL) {
        memcpy(g_ram.sha256, sha256, sizeof g_ram.sha256);
    } else {
        memset(g_ram.sha256, 0, sizeof g_ram.sha256);
    }
    g_generation++;
}

uint32_t tl_model_source_generation(void)
{
    return g_generation;
}

void tl_model_source_changed(void)
{
    g_generation++;
}

size_t tl_model_source_factory_arena_bytes(void)
{
#if TL_FACTORY_MODEL_COUNT > 0
    return sizeof g_factory_arena;
#else
    return 0;
#endif
}

void tl_model_source_acquire(uint32_t source, tl_model_active_t *out)
{
    memset(out, 0, sizeof *out);
    out->source = source;
    out->load_status = TL_NN_OK;
    const char *name = tl_model_source_name(source);
    out->name = name != NULL ? name : "none";
    if (source == TL_MODEL_SRC_RAM) {
        out->model = g_ram.model;
        out->sha256 = g_ram.model != NULL ? g_ram.sha256 : NULL;
    } else if (tl_model_source_slot_index(source) >= 0) {
        tl_model_slots_acquire((uint32_t)tl_model_source_slot_index(source), out);
    }
#if TL_FACTORY_MODEL_COUNT > 0
    else if (source >= TL_MODEL_SRC_FACTORY && source < tl_model_source_count()) {
        int32_t index = (int32_t)(source - TL_MODEL_SRC_FACTORY);
        const tl_model_info_t *info = tl_factory_models[index].info;
        if (g_factory_loaded != index) {
            /* Another factory model (or none) is in the arena: load this one. Holders of
             * the old handle see the generation change. */
            g_factory_loaded = -1;
            g_generation++;
            tl_nn_status_t st = tl_nn_load(&g_factory_model, info->data, info->size,
                                           g_factory_arena, sizeof g_factory_arena);
            g_factory_status[index] = st;
            if (st == TL_NN_OK) {
                g_factory_loaded = index;
            } else {
                out->arena_required = g_factory_model.arena_required;
            }
        }
        out->load_status = g_factory_status[index];
        if (g_factory_loaded == index) {
            out->model = &g_factory_model;
            out->sha256 = info->sha256;
        }
    }
#endif
    out->generation = g_generation;
}
