/*
 * fuzz_boot_state.c - the bootloader's decision from an arbitrary BOOT section (the state
 * store is flash anyone with write access may have filled; it passes its CRC).
 *
 * Flash: the STM32F4 geometry with test image fw_a in fw_primary and the newer fw_b in
 * fw_secondary (real imgtool output, tests/unit/boot_test_util.h). Input: the BOOT
 * section's bytes, stored as the only section with a valid CRC. Then two boots run
 * (tl_boot_run). Checked after each: the action is JUMP or NO_IMAGE; a JUMP's vector table
 * is fw_primary + 0x200 and fw_primary holds an image that passes the full signed-image
 * check; the bootloader area is untouched; the state the run read or wrote decodes; and a boot that
 * finds a well-formed, idle state with nothing requested, nothing under test and no result
 * to clear never writes flash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot_core.h"
#include "boot_test_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t g_initial[TL_FLASH_SIZE];
static tl_sysstate_t g_boot_st;
static int g_ready;

static void check_boot(const tl_storage_t *dev)
{
    tl_boot_state_t before;
    (void)tl_sysstate_open(&bt_st, dev);
    bool well_formed = tl_boot_state_get(&bt_st, &before);
    bool quiet = well_formed && before.status == TL_BOOT_IDLE &&
                 before.request == TL_BOOT_REQ_NONE && before.testing == 0u &&
                 before.last_result == TL_BOOT_RESULT_NONE;
    uint32_t writes = bt_ram.writes;
    uint32_t erases = bt_ram.erases;

    tl_img_policy_t policy = bt_policy();
    tl_boot_hooks_t hooks = {NULL, NULL, NULL};
    tl_boot_outcome_t out;
    tl_boot_action_t action = tl_boot_run(dev, &g_boot_st, &policy, &hooks, &out);
    if (action != TL_BOOT_ACTION_JUMP && action != TL_BOOT_ACTION_NO_IMAGE) {
        abort();
    }
    tl_flash_area_t primary = bt_area(TL_AREA_FW_PRIMARY);
    if (action == TL_BOOT_ACTION_JUMP) {
        if (out.vector_off != primary.off + FW_HEADER_SIZE) {
            abort();
        }
        tl_mcuboot_storage_ctx_t ctx;
        tl_mcuboot_src_t src = tl_mcuboot_src_storage(&ctx, dev, primary.off, primary.size);
        tl_mcuboot_info_t info;
        uint32_t detail = 0;
        tl_img_policy_t check = bt_policy();
        check.kind = TL_IMG_KIND_FIRMWARE;
        if (tl_image_check(&src, primary.size, &check, &info, &detail) != TL_IMG_OK) {
            abort(); /* it would have jumped into an image that fails the check */
        }
    }
    if (memcmp(bt_mem, g_initial, 0x8000u) != 0) {
        abort(); /* the bootloader area is never written */
    }
    if (quiet && (bt_ram.writes != writes || bt_ram.erases != erases)) {
        abort(); /* a plain boot must not wear the flash */
    }
    tl_boot_state_t after;
    (void)tl_sysstate_open(&bt_st, dev);
    if (!out.storage_failed && (well_formed || out.swapped) &&
        !tl_boot_state_get(&bt_st, &after)) {
        abort(); /* a state it read, or one it wrote, must read back (a malformed record
                  * it found is left alone: the boot treats it as the defaults) */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_ready) {
        const tl_storage_t *dev = bt_fresh();
        if (bt_put_image(TL_AREA_FW_PRIMARY, FW_A, UINT32_MAX) != 0 ||
            bt_put_image(TL_AREA_FW_SECONDARY, FW_B, UINT32_MAX) != 0) {
            abort();
        }
        memset(bt_mem, 0x5A, 0x8000u); /* stand-in bootloader bytes */
        (void)dev;
        memcpy(g_initial, bt_mem, sizeof g_initial);
        g_ready = 1;
    }
    if (size > 64u) {
        return 0;
    }
    memcpy(bt_mem, g_initial, sizeof bt_mem);
    tl_storage_ram_power_on(&bt_ram);
    const tl_storage_t *dev = &bt_ram.dev;
    (void)tl_sysstate_open(&bt_st, dev);
    if (!tl_sysstate_put(&bt_st, TL_SYSSTATE_BOOT, data, (uint16_t)size) ||
        tl_sysstate_commit(&bt_st) != TL_CFGSTORE_OK) {
        abort();
    }
    check_boot(dev); /* the boot that meets the stored state */
    check_boot(dev); /* and the next one, from whatever the first left */
    return 0;
}
