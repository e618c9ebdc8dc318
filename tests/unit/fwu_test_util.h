/*
 * fwu_test_util.h - a device for the firmware-update tests (test_fw_update.c,
 * test_mgmt_img.c, fuzz_mgmt_img.c): the whole 1 MiB flash with the STM32F4 geometry on
 * the host RAM backend, the system state store on it, images written into areas as the
 * bootloader or a programmer would, and fw_update bound with the unit tests' key.
 * Header-only; every function is static.
 */
#ifndef FWU_TEST_UTIL_H
#define FWU_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "data/fw_update/fw_images.h"
#include "storage_ram.h"
#include "theraloop/storage/flash_map.h"
#include "theraloop/storage/system_state.h"
#include "theraloop/update/boot_state.h"
#include "theraloop/update/fw_update.h"

#define FWU_ALIGN 4u

static const tl_storage_region_t fwu_regions[] = {
    {4u, 0x4000u}, {1u, 0x10000u}, {7u, 0x20000u}};

static uint8_t fwu_mem[TL_FLASH_SIZE];
static tl_storage_ram_t fwu_ram;
static tl_sysstate_t fwu_st;

static inline tl_flash_area_t fwu_area(uint32_t id)
{
    tl_flash_area_t a;
    memset(&a, 0, sizeof(a));
    (void)tl_flash_area_get(&fwu_ram.dev, id, &a);
    return a;
}

/* Erase an area and program an image into it (tail padded with 0xFF). */
static inline bool fwu_flash_image(uint32_t id, const uint8_t *img, uint32_t len)
{
    tl_flash_area_t a = fwu_area(id);
    if (tl_flash_area_erase(&fwu_ram.dev, &a) != TL_STORAGE_OK || len > a.size) {
        return false;
    }
    uint32_t whole = len & ~(FWU_ALIGN - 1u);
    if (whole > 0u && tl_storage_write(&fwu_ram.dev, a.off, img, whole) != TL_STORAGE_OK) {
        return false;
    }
    if (whole < len) {
        uint8_t tail[FWU_ALIGN];
        memset(tail, 0xFF, sizeof(tail));
        memcpy(tail, img + whole, len - whole);
        if (tl_storage_write(&fwu_ram.dev, a.off + whole, tail, FWU_ALIGN) != TL_STORAGE_OK) {
            return false;
        }
    }
    return true;
}

/* Current BOOT section as stored in flash (re-read from the device, not the RAM copy). */
static inline tl_boot_state_t fwu_stored_boot(void)
{
    static tl_sysstate_t fresh;
    tl_boot_state_t bs;
    memset(&bs, 0, sizeof(bs));
    (void)tl_sysstate_open(&fresh, &fwu_ram.dev);
    (void)tl_boot_state_get(&fresh, &bs);
    return bs;
}

/* Write a BOOT section (as the bootloader would) and commit it. */
static inline bool fwu_put_boot(const tl_boot_state_t *bs)
{
    return tl_boot_state_put(&fwu_st, bs) && tl_sysstate_commit(&fwu_st) == TL_CFGSTORE_OK;
}

/* "Boot": open the state store and init fw_update with the test key. */
static inline void fwu_boot(void)
{
    (void)tl_sysstate_open(&fwu_st, &fwu_ram.dev);
    tl_fw_update_init_with_key(&fwu_ram.dev, &fwu_st, fwu_test_pubkey, fwu_test_key_hash);
}

/* A fresh device: erased flash, v1.0.0 running in fw_primary, empty state store. */
static inline bool fwu_fresh_device(void)
{
    memset(fwu_mem, 0xFF, sizeof(fwu_mem));
    tl_storage_ram_init(&fwu_ram, fwu_mem, fwu_regions, 3u, FWU_ALIGN);
    bool ok = fwu_flash_image(TL_AREA_FW_PRIMARY, fw_v1_0, sizeof(fw_v1_0));
    tl_fw_update_set_busy_check(NULL);
    fwu_boot();
    return ok;
}

#endif /* FWU_TEST_UTIL_H */
