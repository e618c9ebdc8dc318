/*
 * boot_test_util.h - shared by test_image_check.c, test_boot_core.c and
 * test_boot_powercut.c: the firmware test images of data/mcuboot/fw_images.h (real
 * imgtool output; payload regenerated here), a RAM flash with the STM32F4 geometry, and
 * the application's side of the update protocol (request, confirm).
 */
#ifndef BOOT_TEST_UTIL_H
#define BOOT_TEST_UTIL_H

#include <stdint.h>
#include <string.h>

#include "data/mcuboot/fw_images.h"
#include "data/mcuboot/mcuboot_images.h"
#include "storage_ram.h"
#include "theraloop/sha256.h"
#include "theraloop/storage/flash_map.h"
#include "theraloop/storage/system_state.h"
#include "theraloop/update/boot_state.h"
#include "theraloop/update/image_check.h"

#define BT_IMG_MAX FW_SLOT_SIZE

/* The payload pattern of gen_mcuboot_images.py (fw_pattern). */
static inline uint8_t bt_pattern(uint32_t i, uint8_t seed)
{
    return (uint8_t)((uint8_t)((i * 2654435761u) >> 24) ^ seed);
}

/* Assemble test image `idx` into buf (BT_IMG_MAX bytes); returns its length. */
static inline uint32_t bt_image(uint32_t idx, uint8_t *buf)
{
    const fw_image_t *im = &fw_images[idx];
    memcpy(buf, im->header, FW_HEADER_SIZE);
    for (uint32_t i = 0; i < im->payload_len; i++) {
        buf[FW_HEADER_SIZE + i] = bt_pattern(i, im->seed);
    }
    memcpy(buf + FW_HEADER_SIZE + im->payload_len, im->trailer, im->trailer_len);
    return FW_HEADER_SIZE + im->payload_len + im->trailer_len;
}

/* imgtool's key hash: SHA-256 of the DER SubjectPublicKeyInfo of an Ed25519 key. */
static inline void bt_key_hash(const uint8_t pub[32], uint8_t out[32])
{
    static const uint8_t prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                       0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    uint8_t der[44];
    memcpy(der, prefix, sizeof prefix);
    memcpy(der + 12, pub, 32);
    tl_sha256(der, sizeof der, out);
}

/* ---- RAM flash with the STM32F4 geometry ---- */

static const tl_storage_region_t bt_regions[] = {
    {4u, 0x4000u}, {1u, 0x10000u}, {7u, 0x20000u}};
static uint8_t bt_mem[TL_FLASH_SIZE];
static tl_storage_ram_t bt_ram;
static uint8_t bt_imgbuf[BT_IMG_MAX];

static inline const tl_storage_t *bt_fresh(void)
{
    memset(bt_mem, 0xFF, sizeof bt_mem);
    tl_storage_ram_init(&bt_ram, bt_mem, bt_regions, 3u, 4u);
    return &bt_ram.dev;
}

static inline tl_flash_area_t bt_area(uint32_t id)
{
    tl_flash_area_t a;
    memset(&a, 0, sizeof a);
    (void)tl_flash_area_get(&bt_ram.dev, id, &a);
    return a;
}

/* Erase the area and write image idx into it; flip_at < len XORs that byte with 0x01. */
static inline int bt_put_image(uint32_t area_id, uint32_t idx, uint32_t flip_at)
{
    tl_flash_area_t a = bt_area(area_id);
    if (tl_flash_area_erase(&bt_ram.dev, &a) != TL_STORAGE_OK) {
        return -1;
    }
    uint32_t len = bt_image(idx, bt_imgbuf);
    if (flip_at < len) {
        bt_imgbuf[flip_at] ^= 0x01u;
    }
    uint32_t padded = (len + 3u) & ~3u;
    memset(bt_imgbuf + len, 0xFF, padded - len);
    return tl_storage_write(&bt_ram.dev, a.off, bt_imgbuf, padded) == TL_STORAGE_OK ? 0 : -1;
}

/* True if the area holds exactly image idx followed by erased bytes. */
static inline int bt_area_holds(uint32_t area_id, uint32_t idx)
{
    tl_flash_area_t a = bt_area(area_id);
    uint32_t len = bt_image(idx, bt_imgbuf);
    if (memcmp(bt_mem + a.off, bt_imgbuf, len) != 0) {
        return 0;
    }
    for (uint32_t i = len; i < a.size; i++) {
        if (bt_mem[a.off + i] != 0xFFu) {
            return 0;
        }
    }
    return 1;
}

/* ---- the application's side ---- */

static tl_sysstate_t bt_st;

static inline tl_boot_state_t bt_state(void)
{
    tl_boot_state_t bs;
    (void)tl_sysstate_open(&bt_st, &bt_ram.dev);
    (void)tl_boot_state_get(&bt_st, &bs);
    return bs;
}

static inline int bt_set_state(const tl_boot_state_t *bs)
{
    (void)tl_sysstate_open(&bt_st, &bt_ram.dev);
    if (!tl_boot_state_put(&bt_st, bs)) {
        return -1;
    }
    return tl_sysstate_commit(&bt_st) == TL_CFGSTORE_OK ? 0 : -1;
}

static inline int bt_request(uint8_t req)
{
    tl_boot_state_t bs = bt_state();
    bs.request = req;
    return bt_set_state(&bs);
}

/* Confirm the running test image: testing = 0, counter raised to the image's. */
static inline int bt_confirm(uint32_t image_counter)
{
    tl_boot_state_t bs = bt_state();
    bs.testing = 0u;
    if (image_counter > bs.security_counter) {
        bs.security_counter = image_counter;
    }
    return bt_set_state(&bs);
}

static inline tl_img_policy_t bt_policy(void)
{
    tl_img_policy_t p = {fw_test_pubkey, mcuboot_key_hash, TL_IMG_KIND_ANY, 0u};
    return p;
}

#endif /* BOOT_TEST_UTIL_H */
