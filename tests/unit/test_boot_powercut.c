/*
 * test_boot_powercut.c - reset safety of the bootloader's swap (boot_core.c): a power cut
 * after EVERY possible number of storage operations (writes and erases; the cut one is
 * torn: half written / half erased) during a test swap, a revert and a permanent swap,
 * then "reboots" (for every other count the first reboot is cut again) until a run starts
 * the application. That run must start the complete new image (swap) or the complete old
 * image (revert) from fw_primary, correctly signed, with the other image intact in
 * fw_secondary and the state idle with the right `testing` flag and counters.
 */
#include <stdint.h>
#include <string.h>

#include "boot_core.h"
#include "boot_test_util.h"
#include "tl_test.h"

static tl_sysstate_t g_boot_st;
static uint8_t g_snapshot[TL_FLASH_SIZE];

static tl_boot_outcome_t boot(void)
{
    tl_img_policy_t pol = bt_policy();
    tl_boot_outcome_t out;
    (void)tl_boot_run(&bt_ram.dev, &g_boot_st, &pol, NULL, &out);
    return out;
}

static void restore(void)
{
    memcpy(bt_mem, g_snapshot, sizeof bt_mem);
    tl_storage_ram_init(&bt_ram, bt_mem, bt_regions, 3u, 4u);
}

typedef struct {
    uint32_t new_primary;   /* image expected in fw_primary at the end */
    uint32_t new_secondary; /* ... and in fw_secondary */
    uint32_t old_primary;   /* what fw_primary held before */
    uint8_t testing;        /* expected flag at the end */
    uint8_t result;         /* expected last_result (or RESUMED) */
    uint32_t swap_count;
    uint32_t security_counter;
} expect_t;

/* Cut after n = 0, 1, 2, ... operations until a run completes without a cut. Returns
 * the number of cut positions tried. */
static uint32_t sweep(const expect_t *e)
{
    uint32_t bad = 0;
    uint32_t n = 0;
    for (;; n++) {
        restore();
        tl_storage_ram_cut_after(&bt_ram, n);
        tl_boot_outcome_t o = boot();
        int cut = bt_ram.powered_off;
        if (cut && o.action == TL_BOOT_ACTION_JUMP) {
            /* a run that was cut never starts anything (storage reads fail after it) */
            bad++;
        }
        /* reboot until a run starts an application (a run that is cut never does) */
        uint32_t reboots = 0;
        while (bt_ram.powered_off && reboots < 8u) {
            tl_storage_ram_power_on(&bt_ram);
            if (reboots == 0u && (n & 1u) != 0u) {
                /* the recovery itself is cut, somewhere in its first operations */
                tl_storage_ram_cut_after(&bt_ram, (n / 2u) % 61u);
            }
            o = boot();
            reboots++;
        }
        tl_storage_ram_power_on(&bt_ram); /* disarms a cut that was never reached */
        int ok = o.action == TL_BOOT_ACTION_JUMP && o.primary_err == TL_IMG_OK &&
                 bt_area_holds(TL_AREA_FW_PRIMARY, e->new_primary) &&
                 bt_area_holds(TL_AREA_FW_SECONDARY, e->new_secondary) &&
                 o.state.status == TL_BOOT_IDLE && o.state.request == TL_BOOT_REQ_NONE &&
                 o.state.testing == e->testing && o.state.swap_count == e->swap_count &&
                 o.state.security_counter == e->security_counter &&
                 (o.state.last_result == e->result ||
                  o.state.last_result == TL_BOOT_RESULT_RESUMED);
        /* and a further boot changes nothing (for a test image it reverts: tested in
         * test_boot_core.c); sampled, to keep the sweep fast under ASan */
        if (ok && e->testing == 0u && (n % 8u == 0u || !cut)) {
            tl_boot_outcome_t again = boot();
            ok = again.action == TL_BOOT_ACTION_JUMP && !again.swapped &&
                 bt_area_holds(TL_AREA_FW_PRIMARY, e->new_primary);
        }
        if (!ok) {
            if (bad++ < 5u) {
                printf("  cut after %u ops: action %d err %d status %u testing %u result %u "
                       "swaps %u counter %u\n",
                       (unsigned)n, (int)o.action, (int)o.primary_err, o.state.status,
                       o.state.testing, o.state.last_result, (unsigned)o.state.swap_count,
                       (unsigned)o.state.security_counter);
            }
        }
        if (!cut) {
            break;
        }
    }
    TL_EXPECT_EQ(bad, 0);
    return n;
}

static void prepare_request(uint32_t primary, uint32_t secondary, uint8_t req)
{
    bt_fresh();
    TL_EXPECT_EQ(bt_put_image(TL_AREA_FW_PRIMARY, primary, UINT32_MAX), 0);
    TL_EXPECT_EQ(bt_put_image(TL_AREA_FW_SECONDARY, secondary, UINT32_MAX), 0);
    TL_EXPECT_EQ(bt_request(req), 0);
    memcpy(g_snapshot, bt_mem, sizeof g_snapshot);
}

static void test_cut_during_test_swap(void)
{
    /* both images span both sectors of a slot (150000 and 140004 bytes) */
    prepare_request(FW_A, FW_B, TL_BOOT_REQ_TEST);
    expect_t e = {FW_B, FW_A, FW_A, 1u, TL_BOOT_RESULT_SWAPPED_TEST, 1u, 0u};
    uint32_t n = sweep(&e);
    printf("  test swap: %u cut positions\n", (unsigned)n);
    TL_EXPECT(n > 1000u);
}

static void test_cut_during_revert(void)
{
    prepare_request(FW_A, FW_B, TL_BOOT_REQ_TEST);
    restore();
    tl_boot_outcome_t o = boot();
    TL_EXPECT_EQ(o.action, TL_BOOT_ACTION_JUMP);
    TL_EXPECT_EQ(o.state.testing, 1);
    memcpy(g_snapshot, bt_mem, sizeof g_snapshot); /* fw_b under test, not confirmed */
    expect_t e = {FW_A, FW_B, FW_B, 0u, TL_BOOT_RESULT_REVERTED, 2u, 0u};
    uint32_t n = sweep(&e);
    printf("  revert: %u cut positions\n", (unsigned)n);
    TL_EXPECT(n > 1000u);
}

static void test_cut_during_perm_swap(void)
{
    prepare_request(FW_A, FW_C, TL_BOOT_REQ_PERM);
    expect_t e = {FW_C, FW_A, FW_A, 0u, TL_BOOT_RESULT_SWAPPED_PERM, 1u, 3u};
    uint32_t n = sweep(&e);
    printf("  perm swap: %u cut positions\n", (unsigned)n);
    TL_EXPECT(n > 500u);
}

int main(void)
{
    TL_RUN(test_cut_during_test_swap);
    TL_RUN(test_cut_during_revert);
    TL_RUN(test_cut_during_perm_swap);
    return tl_test_summary();
}
