/*
 * test_boot_core.c - the bootloader's decisions (firmware/bootloader/boot_core.c) on a RAM
 * flash with the STM32F4 geometry and real imgtool images (data/mcuboot/fw_images.h):
 * test update + confirm, test update + revert, permanent update, rejected updates
 * (tampered, other key, unsigned, model image, older version, lower security counter),
 * a corrupt or malformed state store. Power cuts: test_boot_powercut.c.
 */
#include <stdint.h>
#include <string.h>

#include "boot_core.h"
#include "boot_test_util.h"
#include "tl_test.h"

#define NO_FLIP UINT32_MAX
#define LINE_LOG_MAX_TEST 128u

static tl_sysstate_t g_boot_st;
static char g_log[64][LINE_LOG_MAX_TEST];
static uint32_t g_log_n;

static void log_line(void *ctx, const char *line)
{
    (void)ctx;
    if (g_log_n < 64u) {
        strncpy(g_log[g_log_n], line, LINE_LOG_MAX_TEST - 1u);
        g_log[g_log_n][LINE_LOG_MAX_TEST - 1u] = '\0';
        g_log_n++;
    }
}

static int logged(const char *prefix)
{
    for (uint32_t i = 0; i < g_log_n; i++) {
        if (strncmp(g_log[i], prefix, strlen(prefix)) == 0) {
            return 1;
        }
    }
    return 0;
}

static tl_boot_outcome_t boot(void)
{
    g_log_n = 0;
    tl_img_policy_t pol = bt_policy();
    tl_boot_hooks_t hooks = {log_line, NULL, NULL};
    tl_boot_outcome_t out;
    (void)tl_boot_run(&bt_ram.dev, &g_boot_st, &pol, &hooks, &out);
    return out;
}

static void setup(uint32_t primary, uint32_t secondary, uint32_t flip)
{
    bt_fresh();
    TL_EXPECT_EQ(bt_put_image(TL_AREA_FW_PRIMARY, primary, NO_FLIP), 0);
    if (secondary != UINT32_MAX) {
        TL_EXPECT_EQ(bt_put_image(TL_AREA_FW_SECONDARY, secondary, flip), 0);
    }
}

static void expect_jump(const tl_boot_outcome_t *o, uint32_t idx)
{
    TL_EXPECT_EQ(o->action, TL_BOOT_ACTION_JUMP);
    TL_EXPECT_EQ(o->primary_err, TL_IMG_OK);
    TL_EXPECT_EQ(o->vector_off, 0x20200u);
    TL_EXPECT_EQ(o->primary.version.major, fw_images[idx].major);
    TL_EXPECT_EQ(o->primary.version.minor, fw_images[idx].minor);
    TL_EXPECT(bt_area_holds(TL_AREA_FW_PRIMARY, idx));
    TL_EXPECT(!o->storage_failed);
}

static void test_plain_boot(void)
{
    setup(FW_A, UINT32_MAX, NO_FLIP);
    tl_boot_outcome_t o = boot();
    expect_jump(&o, FW_A);
    TL_EXPECT_EQ(o.state_load, TL_CFGSTORE_EMPTY);
    TL_EXPECT(!o.swapped);
    TL_EXPECT(logged("theraloop-boot 0.1.0"));
    TL_EXPECT(logged("boot: check fw_primary ok version 1.0.0+0 ("));
    /* nothing to do: the state store is not written */
    TL_EXPECT_EQ(bt_ram.erases, 2u); /* the two erases of the primary area by setup */
}

static void test_no_image(void)
{
    bt_fresh();
    tl_boot_outcome_t o = boot();
    TL_EXPECT_EQ(o.action, TL_BOOT_ACTION_NO_IMAGE);
    TL_EXPECT_EQ(o.primary_err, TL_IMG_ERR_FORMAT);
    TL_EXPECT(logged("boot: no bootable image (format)"));
    /* a tampered primary is not started */
    setup(FW_A, UINT32_MAX, NO_FLIP);
    bt_mem[0x20000u + 0x200u + 1000u] ^= 0x80u;
    o = boot();
    TL_EXPECT_EQ(o.action, TL_BOOT_ACTION_NO_IMAGE);
    TL_EXPECT_EQ(o.primary_err, TL_IMG_ERR_HASH);
    /* nor one signed with another key, nor an unsigned one */
    setup(FW_OTHER_KEY, UINT32_MAX, NO_FLIP);
    TL_EXPECT_EQ(boot().primary_err, TL_IMG_ERR_KEY);
    setup(FW_UNSIGNED, UINT32_MAX, NO_FLIP);
    TL_EXPECT_EQ(boot().primary_err, TL_IMG_ERR_UNSIGNED);
    setup(FW_MODEL, UINT32_MAX, NO_FLIP);
    TL_EXPECT_EQ(boot().primary_err, TL_IMG_ERR_KIND);
    /* arguments */
    tl_boot_outcome_t out;
    tl_img_policy_t pol = bt_policy();
    TL_EXPECT_EQ(tl_boot_run(NULL, &g_boot_st, &pol, NULL, &out), TL_BOOT_ACTION_NO_IMAGE);
    TL_EXPECT_EQ(tl_boot_run(&bt_ram.dev, NULL, &pol, NULL, &out), TL_BOOT_ACTION_NO_IMAGE);
    TL_EXPECT_EQ(tl_boot_run(&bt_ram.dev, &g_boot_st, NULL, NULL, &out),
                 TL_BOOT_ACTION_NO_IMAGE);
    /* a device without the flash map's geometry */
    static const tl_storage_region_t small[] = {{4u, 0x20000u}};
    tl_storage_ram_init(&bt_ram, bt_mem, small, 1u, 4u);
    TL_EXPECT_EQ(tl_boot_run(&bt_ram.dev, &g_boot_st, &pol, NULL, &out),
                 TL_BOOT_ACTION_NO_IMAGE);
}

static void test_update_test_confirm(void)
{
    setup(FW_A, FW_B, NO_FLIP);
    TL_EXPECT_EQ(bt_request(TL_BOOT_REQ_TEST), 0);
    tl_boot_outcome_t o = boot();
    expect_jump(&o, FW_B);
    TL_EXPECT(o.swapped);
    TL_EXPECT(bt_area_holds(TL_AREA_FW_SECONDARY, FW_A));
    TL_EXPECT_EQ(o.state.testing, 1);
    TL_EXPECT_EQ(o.state.request, TL_BOOT_REQ_NONE);
    TL_EXPECT_EQ(o.state.status, TL_BOOT_IDLE);
    TL_EXPECT_EQ(o.state.last_result, TL_BOOT_RESULT_SWAPPED_TEST);
    TL_EXPECT_EQ(o.state.swap_count, 1);
    TL_EXPECT_EQ(o.state.security_counter, 0); /* raised only on confirmation */
    TL_EXPECT(logged("boot: update test to version 1.1.0+3"));
    TL_EXPECT(logged("boot: swap test 1/2 phase 0"));
    TL_EXPECT(logged("boot: swap test 2/2 phase 2"));
    /* the state the application reads */
    tl_boot_state_t bs = bt_state();
    TL_EXPECT_EQ(bs.testing, 1);
    TL_EXPECT_EQ(bs.last_result, TL_BOOT_RESULT_SWAPPED_TEST);
    /* the application confirms: no revert on the next boots */
    TL_EXPECT_EQ(bt_confirm(fw_images[FW_B].security_counter), 0);
    o = boot();
    expect_jump(&o, FW_B);
    TL_EXPECT(!o.swapped);
    TL_EXPECT_EQ(o.state.last_result, TL_BOOT_RESULT_NONE);
    TL_EXPECT_EQ(o.state.security_counter, 2);
    uint32_t erases = bt_ram.erases;
    o = boot();
    expect_jump(&o, FW_B);
    TL_EXPECT_EQ(bt_ram.erases, erases); /* steady state: no flash writes at boot */
}

static void test_update_test_revert(void)
{
    setup(FW_A, FW_B, NO_FLIP);
    TL_EXPECT_EQ(bt_request(TL_BOOT_REQ_TEST), 0);
    tl_boot_outcome_t o = boot();
    expect_jump(&o, FW_B);
    /* the test image is not confirmed (it crashed, or was reset): the next boot reverts */
    o = boot();
    expect_jump(&o, FW_A);
    TL_EXPECT(o.swapped);
    TL_EXPECT(bt_area_holds(TL_AREA_FW_SECONDARY, FW_B));
    TL_EXPECT_EQ(o.state.testing, 0);
    TL_EXPECT_EQ(o.state.last_result, TL_BOOT_RESULT_REVERTED);
    TL_EXPECT_EQ(o.state.swap_count, 2);
    TL_EXPECT(logged("boot: swap revert 1/2 phase 0"));
    o = boot();
    expect_jump(&o, FW_A);
    TL_EXPECT(!o.swapped);
}

static void test_update_perm(void)
{
    setup(FW_A, FW_C, NO_FLIP);
    TL_EXPECT_EQ(bt_request(TL_BOOT_REQ_PERM), 0);
    tl_boot_outcome_t o = boot();
    expect_jump(&o, FW_C);
    TL_EXPECT_EQ(o.state.testing, 0);
    TL_EXPECT_EQ(o.state.last_result, TL_BOOT_RESULT_SWAPPED_PERM);
    TL_EXPECT_EQ(o.state.security_counter, 3); /* fw_c's counter, without a confirmation */
    o = boot();
    expect_jump(&o, FW_C);
    TL_EXPECT(!o.swapped);
    /* the old image, now in the secondary slot, can never come back */
    TL_EXPECT_EQ(bt_request(TL_BOOT_REQ_TEST), 0);
    o = boot();
    expect_jump(&o, FW_C);
    TL_EXPECT_EQ(o.state.last_result, TL_BOOT_RESULT_REJECTED);
    TL_EXPECT_EQ(o.state.last_detail, ((uint32_t)TL_IMG_ERR_ROLLBACK << 16) | 1u);
}

/* Request `req` with image `idx` (optionally with a flipped byte) over fw_b (counter 2
 * confirmed): refused with err/detail, request cleared, fw_b still runs. */
static void expect_rejected(uint32_t idx, uint32_t flip, uint8_t req, tl_img_err_t err,
                            uint32_t detail)
{
    setup(FW_B, idx, flip);
    tl_boot_state_t bs = bt_state();
    bs.security_counter = 2;
    bs.request = req;
    TL_EXPECT_EQ(bt_set_state(&bs), 0);
    tl_boot_outcome_t o = boot();
    expect_jump(&o, FW_B);
    TL_EXPECT(!o.swapped);
    TL_EXPECT(bt_area_holds(TL_AREA_FW_SECONDARY, idx) || flip != NO_FLIP);
    TL_EXPECT_EQ(o.state.last_result, TL_BOOT_RESULT_REJECTED);
    TL_EXPECT_EQ(o.state.last_detail, ((uint32_t)err << 16) | detail);
    TL_EXPECT(logged("boot: reject fw_secondary"));
    bs = bt_state();
    TL_EXPECT_EQ(bs.request, TL_BOOT_REQ_NONE);
    TL_EXPECT_EQ(bs.testing, 0);
    TL_EXPECT_EQ(bs.last_result, TL_BOOT_RESULT_REJECTED);
    /* and it stays rejected: the next boot does nothing (and reports that) */
    o = boot();
    expect_jump(&o, FW_B);
    TL_EXPECT_EQ(o.state.last_result, TL_BOOT_RESULT_NONE);
}

static void test_rejected_updates(void)
{
    /* tampered: a payload byte, a signature byte */
    expect_rejected(FW_C, FW_HEADER_SIZE + 4321u, TL_BOOT_REQ_TEST, TL_IMG_ERR_HASH,
                    TL_MCUBOOT_ERR_HASH_MISMATCH);
    uint32_t sig_at = FW_HEADER_SIZE + fw_images[FW_C].payload_len +
                      fw_images[FW_C].trailer_len - 10u; /* inside the signature value */
    expect_rejected(FW_C, sig_at, TL_BOOT_REQ_PERM, TL_IMG_ERR_SIGNATURE, 7u);
    expect_rejected(FW_OTHER_KEY, NO_FLIP, TL_BOOT_REQ_TEST, TL_IMG_ERR_KEY, 0u);
    expect_rejected(FW_UNSIGNED, NO_FLIP, TL_BOOT_REQ_PERM, TL_IMG_ERR_UNSIGNED,
                    TL_MCUBOOT_ERR_UNSIGNED);
    expect_rejected(FW_MODEL, NO_FLIP, TL_BOOT_REQ_TEST, TL_IMG_ERR_KIND,
                    TL_MCUBOOT_F_NON_BOOTABLE);
    /* rollback: an older version (even with a higher counter), a lower counter (even with
     * a newer version) */
    expect_rejected(FW_OLD, NO_FLIP, TL_BOOT_REQ_TEST, TL_IMG_ERR_ROLLBACK,
                    TL_BOOT_DETAIL_OLDER_VERSION);
    expect_rejected(FW_LOWCNT, NO_FLIP, TL_BOOT_REQ_PERM, TL_IMG_ERR_ROLLBACK, 1u);
    expect_rejected(FW_NOCNT, NO_FLIP, TL_BOOT_REQ_TEST, TL_IMG_ERR_ROLLBACK, 0u);
    /* an empty secondary slot */
    setup(FW_B, UINT32_MAX, NO_FLIP);
    TL_EXPECT_EQ(bt_request(TL_BOOT_REQ_TEST), 0);
    tl_boot_outcome_t o = boot();
    expect_jump(&o, FW_B);
    TL_EXPECT_EQ(o.state.last_result, TL_BOOT_RESULT_REJECTED);
    TL_EXPECT_EQ(o.state.last_detail >> 16, TL_IMG_ERR_FORMAT);
}

static void test_revert_target_checked(void)
{
    /* during a test, the old image in fw_secondary was overwritten by something unsigned:
     * no revert to it; the test image keeps running, still unconfirmed */
    setup(FW_A, FW_B, NO_FLIP);
    TL_EXPECT_EQ(bt_request(TL_BOOT_REQ_TEST), 0);
    tl_boot_outcome_t o = boot();
    expect_jump(&o, FW_B);
    TL_EXPECT_EQ(bt_put_image(TL_AREA_FW_SECONDARY, FW_UNSIGNED, NO_FLIP), 0);
    o = boot();
    expect_jump(&o, FW_B);
    TL_EXPECT(!o.swapped);
    TL_EXPECT_EQ(o.state.testing, 1);
    TL_EXPECT_EQ(o.state.last_result, TL_BOOT_RESULT_REJECTED);
    TL_EXPECT_EQ(o.state.last_detail >> 16, TL_IMG_ERR_UNSIGNED);
    TL_EXPECT(logged("boot: reject fw_secondary for revert (unsigned)"));
}

static void test_corrupt_state_store(void)
{
    setup(FW_A, FW_B, NO_FLIP);
    TL_EXPECT_EQ(bt_request(TL_BOOT_REQ_TEST), 0);
    /* garble the only copy of the state (a payload byte: CRC mismatch) */
    tl_flash_area_t st = bt_area(TL_AREA_STATE);
    uint32_t copy = bt_mem[st.off] == 0xFFu ? st.off + 0x4000u : st.off;
    bt_mem[copy + 40u] ^= 0x10u;
    tl_boot_outcome_t o = boot();
    TL_EXPECT_EQ(o.state_load, TL_CFGSTORE_CORRUPT);
    expect_jump(&o, FW_A); /* the request is lost with the state: the old image runs */
    TL_EXPECT(!o.swapped);
    TL_EXPECT(logged("boot: state store corrupt"));
    /* the store is usable again: a new request works */
    TL_EXPECT_EQ(bt_request(TL_BOOT_REQ_TEST), 0);
    o = boot();
    TL_EXPECT_EQ(o.state_load, TL_CFGSTORE_OK);
    expect_jump(&o, FW_B);

    /* a malformed BOOT section (wrong size) next to a good store: defaults */
    setup(FW_A, FW_B, NO_FLIP);
    (void)tl_sysstate_open(&bt_st, &bt_ram.dev);
    static const uint8_t junk[7] = {1, 2, 3, 4, 5, 6, 7};
    TL_EXPECT(tl_sysstate_put(&bt_st, TL_SYSSTATE_BOOT, junk, sizeof junk));
    TL_EXPECT_EQ(tl_sysstate_commit(&bt_st), TL_CFGSTORE_OK);
    o = boot();
    TL_EXPECT(!o.state_valid);
    expect_jump(&o, FW_A);
    TL_EXPECT(logged("boot: boot state malformed"));

    /* a swap position outside the slot (no correct writer makes one): abandoned */
    setup(FW_A, FW_B, NO_FLIP);
    tl_boot_state_t bs;
    memset(&bs, 0, sizeof bs);
    bs.status = TL_BOOT_SWAPPING;
    bs.swap_kind = TL_BOOT_SWAP_TEST;
    bs.swap_sector = 9;
    TL_EXPECT_EQ(bt_set_state(&bs), 0);
    o = boot();
    expect_jump(&o, FW_A);
    TL_EXPECT_EQ(o.state.status, TL_BOOT_IDLE);
    TL_EXPECT(logged("boot: bad swap position"));
}

static void test_update_chain(void)
{
    /* a -> b (test, confirmed) -> c (test, confirmed) -> a refused (older) */
    setup(FW_A, FW_B, NO_FLIP);
    TL_EXPECT_EQ(bt_request(TL_BOOT_REQ_TEST), 0);
    tl_boot_outcome_t o = boot();
    expect_jump(&o, FW_B);
    TL_EXPECT_EQ(bt_confirm(2), 0);
    TL_EXPECT_EQ(bt_put_image(TL_AREA_FW_SECONDARY, FW_C, NO_FLIP), 0);
    TL_EXPECT_EQ(bt_request(TL_BOOT_REQ_TEST), 0);
    o = boot();
    expect_jump(&o, FW_C);
    TL_EXPECT(bt_area_holds(TL_AREA_FW_SECONDARY, FW_B));
    TL_EXPECT_EQ(bt_confirm(3), 0);
    TL_EXPECT_EQ(bt_put_image(TL_AREA_FW_SECONDARY, FW_A, NO_FLIP), 0);
    TL_EXPECT_EQ(bt_request(TL_BOOT_REQ_PERM), 0);
    o = boot();
    expect_jump(&o, FW_C);
    TL_EXPECT_EQ(o.state.last_result, TL_BOOT_RESULT_REJECTED);
    TL_EXPECT_EQ(o.state.swap_count, 2);
    TL_EXPECT_EQ(o.state.security_counter, 3);
}

static void test_names(void)
{
    TL_EXPECT(strcmp(tl_boot_swap_kind_name(TL_BOOT_SWAP_TEST), "test") == 0);
    TL_EXPECT(strcmp(tl_boot_swap_kind_name(TL_BOOT_SWAP_REVERT), "revert") == 0);
    TL_EXPECT(strcmp(tl_boot_swap_kind_name(0), "?") == 0);
}

int main(void)
{
    TL_RUN(test_plain_boot);
    TL_RUN(test_no_image);
    TL_RUN(test_update_test_confirm);
    TL_RUN(test_update_test_revert);
    TL_RUN(test_update_perm);
    TL_RUN(test_rejected_updates);
    TL_RUN(test_revert_target_checked);
    TL_RUN(test_corrupt_state_store);
    TL_RUN(test_update_chain);
    TL_RUN(test_names);
    return tl_test_summary();
}
