/*
 * test_boot_state.c - the BOOT section of the system state store (update/boot_state.h):
 * byte layout, defaults, malformed records, persistence across a reopen next to other
 * sections.
 */
#include <stdint.h>
#include <string.h>

#include "boot_test_util.h"
#include "tl_test.h"

static tl_sysstate_t g_st;

static void open_fresh(void)
{
    bt_fresh();
    TL_EXPECT_EQ(tl_sysstate_open(&g_st, &bt_ram.dev), TL_CFGSTORE_EMPTY);
}

static void test_absent_is_default(void)
{
    open_fresh();
    tl_boot_state_t bs;
    memset(&bs, 0xAA, sizeof bs);
    TL_EXPECT(tl_boot_state_get(&g_st, &bs));
    TL_EXPECT_EQ(bs.request, TL_BOOT_REQ_NONE);
    TL_EXPECT_EQ(bs.status, TL_BOOT_IDLE);
    TL_EXPECT_EQ(bs.testing, 0);
    TL_EXPECT_EQ(bs.security_counter, 0);
    TL_EXPECT_EQ(bs.swap_count, 0);
    TL_EXPECT(!tl_boot_state_get(NULL, &bs));
    TL_EXPECT(!tl_boot_state_get(&g_st, NULL));
}

static void test_layout(void)
{
    open_fresh();
    tl_boot_state_t bs = {TL_BOOT_REQ_TEST, TL_BOOT_SWAPPING, TL_BOOT_SWAP_REVERT, 1, 2, 1,
                          TL_BOOT_RESULT_RESUMED, 0, 0x11223344u, 0x55667788u, 0x99AABBCCu};
    TL_EXPECT(tl_boot_state_put(&g_st, &bs));
    const uint8_t *p;
    uint16_t len;
    TL_EXPECT(tl_sysstate_get(&g_st, TL_SYSSTATE_BOOT, &p, &len));
    TL_EXPECT_EQ(len, TL_BOOT_STATE_SIZE);
    static const uint8_t expect[TL_BOOT_STATE_SIZE] = {
        1, 0, 0, 0, 1, 1, 3, 1, 2, 1, 5, 0,
        0x44, 0x33, 0x22, 0x11, 0x88, 0x77, 0x66, 0x55, 0xCC, 0xBB, 0xAA, 0x99};
    TL_EXPECT_MEM_EQ(p, expect, sizeof expect);
    tl_boot_state_t back;
    TL_EXPECT(tl_boot_state_get(&g_st, &back));
    TL_EXPECT_MEM_EQ(&back, &bs, sizeof bs);
}

static void put_raw(const uint8_t *rec, uint16_t len)
{
    TL_EXPECT(tl_sysstate_put(&g_st, TL_SYSSTATE_BOOT, rec, len));
}

static void expect_malformed(void)
{
    tl_boot_state_t bs;
    memset(&bs, 0x5A, sizeof bs);
    TL_EXPECT(!tl_boot_state_get(&g_st, &bs));
    tl_boot_state_t zero;
    memset(&zero, 0, sizeof zero);
    TL_EXPECT_MEM_EQ(&bs, &zero, sizeof bs); /* defaults */
}

static void test_malformed(void)
{
    open_fresh();
    uint8_t rec[TL_BOOT_STATE_SIZE + 1];
    memset(rec, 0, sizeof rec);
    rec[0] = 1;
    put_raw(rec, TL_BOOT_STATE_SIZE - 1u); /* short */
    expect_malformed();
    put_raw(rec, TL_BOOT_STATE_SIZE + 1u); /* long */
    expect_malformed();
    rec[0] = 2; /* unknown version */
    put_raw(rec, TL_BOOT_STATE_SIZE);
    expect_malformed();
    rec[0] = 1;
    put_raw(rec, TL_BOOT_STATE_SIZE);
    tl_boot_state_t bs;
    TL_EXPECT(tl_boot_state_get(&g_st, &bs));
    /* values no writer produces */
    static const struct {
        uint8_t at, value;
    } bad[] = {{4, 3}, {5, 2}, {9, 2}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t r[TL_BOOT_STATE_SIZE];
        memcpy(r, rec, sizeof r);
        r[bad[i].at] = bad[i].value;
        put_raw(r, sizeof r);
        expect_malformed();
    }
    /* a swap needs a known kind and a phase 0..2 */
    uint8_t r[TL_BOOT_STATE_SIZE];
    memcpy(r, rec, sizeof r);
    r[5] = TL_BOOT_SWAPPING;
    r[6] = 0;
    put_raw(r, sizeof r);
    expect_malformed();
    r[6] = 4;
    put_raw(r, sizeof r);
    expect_malformed();
    r[6] = TL_BOOT_SWAP_PERM;
    r[8] = 3;
    put_raw(r, sizeof r);
    expect_malformed();
    r[8] = 2;
    put_raw(r, sizeof r);
    TL_EXPECT(tl_boot_state_get(&g_st, &bs));
    TL_EXPECT_EQ(bs.swap_phase, 2);
    TL_EXPECT_EQ(bs.swap_kind, TL_BOOT_SWAP_PERM);
}

static void test_persists_next_to_other_sections(void)
{
    open_fresh();
    static const uint8_t other[5] = {1, 2, 3, 4, 5};
    TL_EXPECT(tl_sysstate_put(&g_st, TL_SYSSTATE_MODELS, other, sizeof other));
    tl_boot_state_t bs;
    memset(&bs, 0, sizeof bs);
    bs.testing = 1;
    bs.security_counter = 7;
    bs.last_result = TL_BOOT_RESULT_SWAPPED_TEST;
    TL_EXPECT(tl_boot_state_put(&g_st, &bs));
    TL_EXPECT_EQ(tl_sysstate_commit(&g_st), TL_CFGSTORE_OK);
    tl_sysstate_t again;
    TL_EXPECT_EQ(tl_sysstate_open(&again, &bt_ram.dev), TL_CFGSTORE_OK);
    tl_boot_state_t back;
    TL_EXPECT(tl_boot_state_get(&again, &back));
    TL_EXPECT_MEM_EQ(&back, &bs, sizeof bs);
    const uint8_t *p;
    uint16_t len;
    TL_EXPECT(tl_sysstate_get(&again, TL_SYSSTATE_MODELS, &p, &len));
    TL_EXPECT_EQ(len, sizeof other);
    TL_EXPECT_MEM_EQ(p, other, sizeof other);
    TL_EXPECT(!tl_boot_state_put(NULL, &bs));
    TL_EXPECT(!tl_boot_state_put(&again, NULL));
}

static void test_names(void)
{
    TL_EXPECT(strcmp(tl_boot_result_name(TL_BOOT_RESULT_NONE), "none") == 0);
    TL_EXPECT(strcmp(tl_boot_result_name(TL_BOOT_RESULT_REVERTED), "reverted") == 0);
    TL_EXPECT(strcmp(tl_boot_result_name(TL_BOOT_RESULT_REJECTED), "rejected") == 0);
    TL_EXPECT(strcmp(tl_boot_result_name(TL_BOOT_RESULT_RESUMED), "resumed") == 0);
    TL_EXPECT(strcmp(tl_boot_result_name(77), "unknown") == 0);
}

int main(void)
{
    TL_RUN(test_absent_is_default);
    TL_RUN(test_layout);
    TL_RUN(test_malformed);
    TL_RUN(test_persists_next_to_other_sections);
    TL_RUN(test_names);
    return tl_test_summary();
}
