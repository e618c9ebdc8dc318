/*
 * test_system_state.c - the system state store: sections added, replaced, removed and kept
 * byte for byte (also unknown ones), malformed section lists, a full blob, and a power cut
 * injected at every write/erase step of a commit (the old or the new blob, never a mix).
 */
#include <string.h>

#include "storage_ram.h"
#include "theraloop/storage/flash_map.h"
#include "theraloop/storage/system_state.h"
#include "tl_test.h"

/* The STM32F405 geometry every board provides (flash_map.h). */
static const tl_storage_region_t k_regions[] = {{4u, 16384u}, {1u, 65536u}, {7u, 131072u}};
static uint8_t g_mem[TL_FLASH_SIZE];
static tl_storage_ram_t g_ram;
static tl_sysstate_t g_st;
static tl_sysstate_t g_st2;

#define STATE_A 0x8000u /* sector 2 */
#define STATE_B 0xC000u /* sector 3 */

static const tl_storage_t *fresh(void)
{
    memset(g_mem, 0xFF, sizeof g_mem);
    tl_storage_ram_init(&g_ram, g_mem, k_regions, 3u, 4u);
    return &g_ram.dev;
}

/* A reboot: power back on and a new state object on the same flash. */
static tl_cfgstore_err_t reopen(tl_sysstate_t *st)
{
    tl_storage_ram_power_on(&g_ram);
    return tl_sysstate_open(st, &g_ram.dev);
}

static bool section_is(const tl_sysstate_t *st, uint16_t id, const void *want, uint16_t n)
{
    const uint8_t *p = NULL;
    uint16_t len = 0;
    return tl_sysstate_get(st, id, &p, &len) && len == n && (n == 0u || memcmp(p, want, n) == 0);
}

static void fill(uint8_t *p, uint32_t n, uint8_t seed)
{
    for (uint32_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed + i * 13u);
    }
}

static void test_empty_device(void)
{
    const tl_storage_t *d = fresh();
    TL_EXPECT_EQ(tl_sysstate_open(&g_st, d), TL_CFGSTORE_EMPTY);
    TL_EXPECT(g_st.attached);
    TL_EXPECT_EQ(g_st.len, 0);
    const uint8_t *p = (const uint8_t *)&g_st;
    uint16_t n = 7;
    TL_EXPECT(!tl_sysstate_get(&g_st, TL_SYSSTATE_BOOT, &p, &n));
    TL_EXPECT(p == NULL);
    TL_EXPECT_EQ(n, 0);
    /* the store sits on sectors 2 and 3 of the state area */
    TL_EXPECT_EQ(g_st.store.sector[0], 2);
    TL_EXPECT_EQ(g_st.store.sector[1], 3);
    /* committing an empty blob is valid and reloads as OK with no sections */
    TL_EXPECT_EQ(tl_sysstate_commit(&g_st), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(reopen(&g_st2), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(g_st2.len, 0);
    /* no device: nothing usable */
    TL_EXPECT_EQ(tl_sysstate_open(&g_st2, NULL), TL_CFGSTORE_STORAGE);
    TL_EXPECT(!g_st2.attached);
    TL_EXPECT_EQ(g_st2.store.storage_err, TL_STORAGE_ERR_NO_DEVICE);
    TL_EXPECT(tl_sysstate_put(&g_st2, TL_SYSSTATE_CONFIG, "x", 1));
    TL_EXPECT_EQ(tl_sysstate_commit(&g_st2), TL_CFGSTORE_STORAGE);
    /* a device without the flash map's geometry: no state area, nothing written */
    static const tl_storage_region_t other[] = {{3u, 16384u}};
    static uint8_t mem[3u * 16384u];
    static tl_storage_ram_t ram;
    memset(mem, 0xFF, sizeof mem);
    tl_storage_ram_init(&ram, mem, other, 1u, 4u);
    TL_EXPECT_EQ(tl_sysstate_open(&g_st2, &ram.dev), TL_CFGSTORE_BAD_LAYOUT);
    TL_EXPECT(!g_st2.attached);
    TL_EXPECT_EQ(tl_sysstate_commit(&g_st2), TL_CFGSTORE_BAD_LAYOUT);
    TL_EXPECT_EQ(ram.erases + ram.writes, 0);
}

static void test_sections_add_replace_remove(void)
{
    const tl_storage_t *d = fresh();
    (void)tl_sysstate_open(&g_st, d);
    uint8_t boot[24];
    uint8_t models[7];
    uint8_t cfg[301];
    fill(boot, sizeof boot, 1);
    fill(models, sizeof models, 2);
    fill(cfg, sizeof cfg, 3);
    TL_EXPECT(tl_sysstate_put(&g_st, TL_SYSSTATE_BOOT, boot, sizeof boot));
    TL_EXPECT(tl_sysstate_put(&g_st, TL_SYSSTATE_MODELS, models, sizeof models));
    TL_EXPECT(tl_sysstate_put(&g_st, TL_SYSSTATE_CONFIG, cfg, sizeof cfg));
    /* 4-byte headers, data padded to 4 */
    TL_EXPECT_EQ(g_st.len, (4u + 24u) + (4u + 8u) + (4u + 304u));
    TL_EXPECT_EQ(g_st.blob[4u + 24u + 4u + 7u], 0xFF); /* padding of MODELS */
    TL_EXPECT_EQ(tl_sysstate_commit(&g_st), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(reopen(&g_st2), TL_CFGSTORE_OK);
    TL_EXPECT(section_is(&g_st2, TL_SYSSTATE_BOOT, boot, sizeof boot));
    TL_EXPECT(section_is(&g_st2, TL_SYSSTATE_MODELS, models, sizeof models));
    TL_EXPECT(section_is(&g_st2, TL_SYSSTATE_CONFIG, cfg, sizeof cfg));

    /* replace with a different size: the others stay byte for byte */
    uint8_t models2[13];
    fill(models2, sizeof models2, 9);
    TL_EXPECT(tl_sysstate_put(&g_st2, TL_SYSSTATE_MODELS, models2, sizeof models2));
    TL_EXPECT(section_is(&g_st2, TL_SYSSTATE_MODELS, models2, sizeof models2));
    TL_EXPECT(section_is(&g_st2, TL_SYSSTATE_BOOT, boot, sizeof boot));
    TL_EXPECT(section_is(&g_st2, TL_SYSSTATE_CONFIG, cfg, sizeof cfg));
    TL_EXPECT_EQ(g_st2.len, (4u + 24u) + (4u + 16u) + (4u + 304u));
    /* an empty section is a section */
    TL_EXPECT(tl_sysstate_put(&g_st2, 77, NULL, 0));
    TL_EXPECT(section_is(&g_st2, 77, NULL, 0));
    /* remove: gone, the others kept; removing an absent id changes nothing */
    tl_sysstate_remove(&g_st2, TL_SYSSTATE_BOOT);
    TL_EXPECT(!section_is(&g_st2, TL_SYSSTATE_BOOT, boot, sizeof boot));
    uint32_t len = g_st2.len;
    tl_sysstate_remove(&g_st2, TL_SYSSTATE_BOOT);
    TL_EXPECT_EQ(g_st2.len, len);
    TL_EXPECT(section_is(&g_st2, TL_SYSSTATE_MODELS, models2, sizeof models2));
    TL_EXPECT(section_is(&g_st2, TL_SYSSTATE_CONFIG, cfg, sizeof cfg));
    /* the freed tail is erased again (the RAM copy stays canonical) */
    for (uint32_t i = g_st2.len; i < TL_SYSSTATE_MAX; i++) {
        if (g_st2.blob[i] != 0xFFu) {
            TL_EXPECT(0);
            break;
        }
    }
    TL_EXPECT_EQ(tl_sysstate_commit(&g_st2), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(reopen(&g_st), TL_CFGSTORE_OK);
    TL_EXPECT(!section_is(&g_st, TL_SYSSTATE_BOOT, boot, sizeof boot));
    TL_EXPECT(section_is(&g_st, 77, NULL, 0));
    TL_EXPECT(section_is(&g_st, TL_SYSSTATE_MODELS, models2, sizeof models2));
    TL_EXPECT(section_is(&g_st, TL_SYSSTATE_CONFIG, cfg, sizeof cfg));
    /* data pointing into the blob itself is refused (the move would corrupt it) */
    const uint8_t *p = NULL;
    uint16_t n = 0;
    TL_EXPECT(tl_sysstate_get(&g_st, TL_SYSSTATE_CONFIG, &p, &n));
    TL_EXPECT(!tl_sysstate_put(&g_st, TL_SYSSTATE_MODELS, p, n));
    TL_EXPECT(section_is(&g_st, TL_SYSSTATE_MODELS, models2, sizeof models2));
    TL_EXPECT(!tl_sysstate_put(&g_st, TL_SYSSTATE_MODELS, NULL, 3));
}

/* A writer that knows only CONFIG keeps a section written by someone else (the
 * bootloader, a newer firmware) exactly, including its padding position. */
static void test_unknown_sections_kept(void)
{
    const tl_storage_t *d = fresh();
    (void)tl_sysstate_open(&g_st, d);
    uint8_t future[5] = {0xDE, 0xAD, 0xBE, 0xEF, 0x00};
    uint8_t boot[24];
    fill(boot, sizeof boot, 4);
    TL_EXPECT(tl_sysstate_put(&g_st, 0x4242, future, sizeof future));
    TL_EXPECT(tl_sysstate_put(&g_st, TL_SYSSTATE_BOOT, boot, sizeof boot));
    TL_EXPECT_EQ(tl_sysstate_commit(&g_st), TL_CFGSTORE_OK);
    for (int round = 0; round < 4; round++) {
        TL_EXPECT_EQ(reopen(&g_st2), TL_CFGSTORE_OK);
        uint8_t cfg[40];
        fill(cfg, sizeof cfg, (uint8_t)(20 + round));
        uint16_t n = (uint16_t)(sizeof cfg - (uint32_t)round);
        TL_EXPECT(tl_sysstate_put(&g_st2, TL_SYSSTATE_CONFIG, cfg, n));
        TL_EXPECT_EQ(tl_sysstate_commit(&g_st2), TL_CFGSTORE_OK);
        TL_EXPECT_EQ(reopen(&g_st), TL_CFGSTORE_OK);
        TL_EXPECT(section_is(&g_st, 0x4242, future, sizeof future));
        TL_EXPECT(section_is(&g_st, TL_SYSSTATE_BOOT, boot, sizeof boot));
        TL_EXPECT(section_is(&g_st, TL_SYSSTATE_CONFIG, cfg, n));
    }
}

/* Write a raw blob through a config store on the state sectors (as a buggy or hostile
 * writer could), then open it. */
static tl_cfgstore_err_t open_raw(const uint8_t *blob, uint32_t n)
{
    const tl_storage_t *d = fresh();
    tl_cfgstore_t cs;
    TL_EXPECT_EQ(tl_cfgstore_init(&cs, d, 2, 3), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(tl_cfgstore_save(&cs, blob, n), TL_CFGSTORE_OK);
    return tl_sysstate_open(&g_st, d);
}

static void test_malformed_lists_are_corrupt(void)
{
    /* well-formed reference: two sections */
    const uint8_t good[] = {1, 0, 2, 0, 0xAA, 0xBB, 0xFF, 0xFF, 3, 0, 4, 0, 1, 2, 3, 4};
    TL_EXPECT_EQ(open_raw(good, sizeof good), TL_CFGSTORE_OK);
    TL_EXPECT(section_is(&g_st, 1, "\xAA\xBB", 2));
    TL_EXPECT(section_is(&g_st, 3, "\x01\x02\x03\x04", 4));

    /* a section running past the blob */
    const uint8_t past[] = {1, 0, 9, 0, 1, 2, 3, 4};
    /* a header cut short */
    const uint8_t cut[] = {1, 0, 0, 0, 2, 0};
    /* the same id twice */
    const uint8_t twice[] = {1, 0, 1, 0, 7, 0xFF, 0xFF, 0xFF, 1, 0, 1, 0, 8, 0xFF, 0xFF, 0xFF};
    /* padding that is not 0xFF */
    const uint8_t badpad[] = {1, 0, 1, 0, 7, 0x00, 0xFF, 0xFF};
    /* a length that needs padding the blob does not have */
    const uint8_t nopad[] = {1, 0, 3, 0, 7, 7, 7};
    const struct {
        const uint8_t *p;
        uint32_t n;
    } bad[] = {{past, sizeof past},
               {cut, sizeof cut},
               {twice, sizeof twice},
               {badpad, sizeof badpad},
               {nopad, sizeof nopad}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        TL_EXPECT_EQ(open_raw(bad[i].p, bad[i].n), TL_CFGSTORE_CORRUPT);
        TL_EXPECT_EQ(g_st.len, 0); /* starts from an empty blob */
        TL_EXPECT(g_st.attached);  /* ... and the next commit writes a fresh one */
        TL_EXPECT(!section_is(&g_st, 1, "\x07", 1));
        TL_EXPECT(tl_sysstate_put(&g_st, TL_SYSSTATE_CONFIG, "ok", 2));
        TL_EXPECT_EQ(tl_sysstate_commit(&g_st), TL_CFGSTORE_OK);
        TL_EXPECT_EQ(reopen(&g_st2), TL_CFGSTORE_OK);
        TL_EXPECT(section_is(&g_st2, TL_SYSSTATE_CONFIG, "ok", 2));
    }

    /* both copies failing their CRC: corrupt too */
    const tl_storage_t *d = fresh();
    (void)tl_sysstate_open(&g_st, d);
    TL_EXPECT(tl_sysstate_put(&g_st, TL_SYSSTATE_BOOT, "abcd", 4));
    TL_EXPECT_EQ(tl_sysstate_commit(&g_st), TL_CFGSTORE_OK);
    g_mem[STATE_A + 32u + 5u] ^= 0x10u;
    TL_EXPECT_EQ(reopen(&g_st), TL_CFGSTORE_CORRUPT);
    TL_EXPECT_EQ(g_st.len, 0);
}

static void test_blob_larger_than_ours_not_overwritten(void)
{
    static uint8_t big[TL_SYSSTATE_MAX + 8u];
    memset(big, 0xFF, sizeof big);
    big[0] = 1;
    big[2] = (uint8_t)((TL_SYSSTATE_MAX + 4u) & 0xFFu);
    big[3] = (uint8_t)((TL_SYSSTATE_MAX + 4u) >> 8);
    TL_EXPECT_EQ(open_raw(big, sizeof big), TL_CFGSTORE_TOO_BIG);
    TL_EXPECT(!g_st.attached);
    uint32_t erases = g_ram.erases;
    TL_EXPECT_EQ(tl_sysstate_commit(&g_st), TL_CFGSTORE_TOO_BIG);
    TL_EXPECT_EQ(g_ram.erases, erases);
}

static void test_full_blob(void)
{
    const tl_storage_t *d = fresh();
    (void)tl_sysstate_open(&g_st, d);
    static uint8_t data[TL_SYSSTATE_MAX];
    fill(data, sizeof data, 5);
    /* one section filling the blob exactly */
    TL_EXPECT(!tl_sysstate_put(&g_st, 1, data, (uint16_t)(TL_SYSSTATE_MAX - 3u)));
    TL_EXPECT_EQ(g_st.len, 0);
    TL_EXPECT(tl_sysstate_put(&g_st, 1, data, (uint16_t)(TL_SYSSTATE_MAX - 4u)));
    TL_EXPECT_EQ(g_st.len, TL_SYSSTATE_MAX);
    /* nothing else fits, not even an empty section; a failed put changes nothing */
    TL_EXPECT(!tl_sysstate_put(&g_st, 2, NULL, 0));
    TL_EXPECT(section_is(&g_st, 1, data, (uint16_t)(TL_SYSSTATE_MAX - 4u)));
    TL_EXPECT_EQ(tl_sysstate_commit(&g_st), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(reopen(&g_st2), TL_CFGSTORE_OK);
    TL_EXPECT(section_is(&g_st2, 1, data, (uint16_t)(TL_SYSSTATE_MAX - 4u)));
    /* replacing the only section by a smaller one fits again (its old space counts) */
    TL_EXPECT(tl_sysstate_put(&g_st2, 1, data + 1, 100));
    TL_EXPECT(tl_sysstate_put(&g_st2, 2, data + 2, 200));
    TL_EXPECT(section_is(&g_st2, 1, data + 1, 100));
    TL_EXPECT(section_is(&g_st2, 2, data + 2, 200));
    /* replacing a section by one that would overflow leaves the old one */
    TL_EXPECT(!tl_sysstate_put(&g_st2, 1, data, (uint16_t)(TL_SYSSTATE_MAX - 200u)));
    TL_EXPECT(section_is(&g_st2, 1, data + 1, 100));
    TL_EXPECT(section_is(&g_st2, 2, data + 2, 200));
}

/* Cut the power after every possible number of write/erase operations of a commit; after
 * the reboot the store holds exactly the old or the new blob (the new one whenever the
 * commit returned OK), and a commit after the reboot works. */
static void test_power_cut_every_step(void)
{
    uint8_t boot_old[24];
    uint8_t boot_new[24];
    uint8_t cfg_old[120];
    uint8_t cfg_new[333];
    fill(boot_old, sizeof boot_old, 1);
    fill(boot_new, sizeof boot_new, 2);
    fill(cfg_old, sizeof cfg_old, 3);
    fill(cfg_new, sizeof cfg_new, 4);
    uint32_t saw_old = 0;
    uint32_t saw_new = 0;
    bool done = false;
    for (int64_t cut = 0; cut < 1000 && !done; cut++) {
        const tl_storage_t *d = fresh();
        (void)tl_sysstate_open(&g_st, d);
        TL_EXPECT(tl_sysstate_put(&g_st, TL_SYSSTATE_BOOT, boot_old, sizeof boot_old));
        TL_EXPECT(tl_sysstate_put(&g_st, TL_SYSSTATE_CONFIG, cfg_old, sizeof cfg_old));
        TL_EXPECT_EQ(tl_sysstate_commit(&g_st), TL_CFGSTORE_OK);
        /* two commits so that both copies hold data and the target is not blank */
        TL_EXPECT_EQ(tl_sysstate_commit(&g_st), TL_CFGSTORE_OK);
        /* the new state: both sections change, one grows */
        TL_EXPECT(tl_sysstate_put(&g_st, TL_SYSSTATE_BOOT, boot_new, sizeof boot_new));
        TL_EXPECT(tl_sysstate_put(&g_st, TL_SYSSTATE_CONFIG, cfg_new, sizeof cfg_new));
        tl_storage_ram_cut_after(&g_ram, cut);
        tl_cfgstore_err_t r = tl_sysstate_commit(&g_st);
        done = r == TL_CFGSTORE_OK && !g_ram.powered_off;
        TL_EXPECT_EQ(reopen(&g_st2), TL_CFGSTORE_OK);
        bool is_old = section_is(&g_st2, TL_SYSSTATE_BOOT, boot_old, sizeof boot_old) &&
                      section_is(&g_st2, TL_SYSSTATE_CONFIG, cfg_old, sizeof cfg_old) &&
                      g_st2.len == (4u + 24u) + (4u + 120u);
        bool is_new = section_is(&g_st2, TL_SYSSTATE_BOOT, boot_new, sizeof boot_new) &&
                      section_is(&g_st2, TL_SYSSTATE_CONFIG, cfg_new, sizeof cfg_new) &&
                      g_st2.len == (4u + 24u) + (4u + 336u);
        TL_EXPECT(is_old != is_new);
        if (r == TL_CFGSTORE_OK) {
            TL_EXPECT(is_new);
        }
        saw_old += is_old ? 1u : 0u;
        saw_new += is_new ? 1u : 0u;
        /* the store keeps working after the reboot */
        TL_EXPECT(tl_sysstate_put(&g_st2, TL_SYSSTATE_MODELS, "m", 1));
        TL_EXPECT_EQ(tl_sysstate_commit(&g_st2), TL_CFGSTORE_OK);
        TL_EXPECT_EQ(reopen(&g_st), TL_CFGSTORE_OK);
        TL_EXPECT(section_is(&g_st, TL_SYSSTATE_MODELS, "m", 1));
        TL_EXPECT(section_is(&g_st, TL_SYSSTATE_BOOT, is_new ? boot_new : boot_old, 24));
    }
    TL_EXPECT(done);
    TL_EXPECT(saw_old > 5u); /* the cut really hit the erase, payload and header steps */
    TL_EXPECT(saw_new >= 1u);
    /* nothing outside the state area was touched */
    for (uint32_t i = 0; i < TL_FLASH_SIZE; i++) {
        if ((i < STATE_A || i >= STATE_B + 16384u) && g_mem[i] != 0xFFu) {
            TL_EXPECT(0);
            break;
        }
    }
}

int main(void)
{
    TL_RUN(test_empty_device);
    TL_RUN(test_sections_add_replace_remove);
    TL_RUN(test_unknown_sections_kept);
    TL_RUN(test_malformed_lists_are_corrupt);
    TL_RUN(test_blob_larger_than_ours_not_overwritten);
    TL_RUN(test_full_blob);
    TL_RUN(test_power_cut_every_step);
    return tl_test_summary();
}
