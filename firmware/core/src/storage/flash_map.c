/*
 * flash_map.c - the storage partitions (see storage/flash_map.h).
 */
#include "theraloop/storage/flash_map.h"

#include <stddef.h>

typedef struct {
    const char *name;
    uint8_t first;
    uint8_t count;
} area_def_t;

static const area_def_t k_areas[TL_AREA_COUNT] = {
    [TL_AREA_BOOTLOADER] = {"bootloader", 0u, 2u},
    [TL_AREA_STATE] = {"state", 2u, 2u},
    [TL_AREA_RESERVED] = {"reserved", 4u, 1u},
    [TL_AREA_FW_PRIMARY] = {"fw_primary", 5u, 2u},
    [TL_AREA_FW_SECONDARY] = {"fw_secondary", 7u, 2u},
    [TL_AREA_FW_SCRATCH] = {"fw_scratch", 9u, 1u},
    [TL_AREA_MODEL_A] = {"model_a", 10u, 1u},
    [TL_AREA_MODEL_B] = {"model_b", 11u, 1u},
};

/* The STM32F405/407 sector sizes, sector by sector. */
static uint32_t expected_sector_size(uint32_t index)
{
    if (index < 4u) {
        return 0x4000u;
    }
    return index == 4u ? 0x10000u : 0x20000u;
}

const char *tl_flash_area_name(uint32_t id)
{
    return id < TL_AREA_COUNT ? k_areas[id].name : "?";
}

tl_storage_err_t tl_flash_area_get(const tl_storage_t *dev, uint32_t id, tl_flash_area_t *out)
{
    if (dev == NULL || out == NULL) {
        return TL_STORAGE_ERR_NO_DEVICE;
    }
    if (id >= TL_AREA_COUNT || tl_storage_sector_count(dev) != TL_FLASH_SECTORS ||
        tl_storage_size(dev) != TL_FLASH_SIZE) {
        return TL_STORAGE_ERR_RANGE;
    }
    const area_def_t *a = &k_areas[id];
    uint32_t off = 0;
    uint32_t total = 0;
    for (uint32_t i = 0; i < a->count; i++) {
        uint32_t s_off = 0;
        uint32_t s_size = 0;
        tl_storage_err_t err = tl_storage_sector(dev, a->first + i, &s_off, &s_size);
        if (err != TL_STORAGE_OK) {
            return err;
        }
        if (s_size != expected_sector_size(a->first + i)) {
            return TL_STORAGE_ERR_RANGE;
        }
        if (i == 0u) {
            off = s_off;
        }
        total += s_size;
    }
    out->first_sector = a->first;
    out->sector_count = a->count;
    out->off = off;
    out->size = total;
    return TL_STORAGE_OK;
}

tl_storage_err_t tl_flash_area_erase(const tl_storage_t *dev, const tl_flash_area_t *area)
{
    if (dev == NULL || area == NULL) {
        return TL_STORAGE_ERR_NO_DEVICE;
    }
    for (uint32_t i = 0; i < area->sector_count; i++) {
        tl_storage_err_t err = tl_storage_erase(dev, area->first_sector + i);
        if (err != TL_STORAGE_OK) {
            return err;
        }
    }
    return TL_STORAGE_OK;
}
