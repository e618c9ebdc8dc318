/*
 * test_config_store.c - the two-copy configuration store: round trips, corruption
 * fallbacks, and a power cut injected at every single write/erase step of a save.
 */
#include <string.h>

#include "storage_ram.h"
#include "theraloop/storage/config_store.h"
#include "theraloop/storage/crc32.h"
#include "tl_test.h"

/* Two 16 KiB sectors for the store, plus an unrelated sector before them. */
static const tl_storage_region_t k_regions[] = {{3u, 16384u}};
static uint8_t g_mem[3u * 16384u];
static tl_storage_ram_t g_ram;

static const tl_storage_t *fresh(void)
{
    memset(g_mem, 0xFF, sizeof g_mem);
    tl_storage_ram_init(&g_ram, g_mem, k_regions, 1u, 4u);
    return &g_ram.dev;
}

static void fill(uint8_t *p, uint32_t n, uint8_t seed)
{
    for (uint32_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed + i * 7u);
    }
}

static uint8_t g_old[301];
static uint8_t g_new[517];
static uint8_t g_buf[1024];

static void test_empty_then_round_trip(void)
{
    const tl_storage_t *d = fresh();
    tl_cfgstore_t cs;
    TL_EXPECT_EQ(tl_cfgstore_init(&cs, d, 1, 2), TL_CFGSTORE_OK);
    uint32_t len = 99;
    TL_EXPECT_EQ(tl_cfgstore_load(&cs, g_buf, sizeof g_buf, &len), TL_CFGSTORE_EMPTY);
    TL_EXPECT_EQ(len, 0);
    fill(g_old, sizeof g_old, 1);
    fill(g_new, sizeof g_new, 9);
    for (int i = 0; i < 5; i++) {
        const uint8_t *p = (i % 2) ? g_new : g_old;
        uint32_t n = (i % 2) ? (uint32_t)sizeof g_new : (uint32_t)sizeof g_old;
        TL_EXPECT_EQ(tl_cfgstore_save(&cs, p, n), TL_CFGSTORE_OK);
        tl_cfgstore_t again; /* a reboot: a new store object on the same flash */
        TL_EXPECT_EQ(tl_cfgstore_init(&again, d, 1, 2), TL_CFGSTORE_OK);
        TL_EXPECT_EQ(tl_cfgstore_load(&again, g_buf, sizeof g_buf, &len), TL_CFGSTORE_OK);
        TL_EXPECT_EQ(len, n);
        TL_EXPECT_MEM_EQ(g_buf, p, n);
        TL_EXPECT_EQ(again.seq, (uint32_t)i + 1u);
        TL_EXPECT_EQ(again.current, i % 2); /* copies alternate */
    }
    /* the unrelated sector 0 was never touched */
    for (uint32_t i = 0; i < 16384u; i++) {
        if (g_mem[i] != 0xFF) {
            TL_EXPECT(0);
            break;
        }
    }
    /* zero-length configuration is valid */
    TL_EXPECT_EQ(tl_cfgstore_save(&cs, g_old, 0), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(tl_cfgstore_load(&cs, g_buf, sizeof g_buf, &len), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(len, 0);
}

static void test_bad_layout_and_limits(void)
{
    const tl_storage_t *d = fresh();
    tl_cfgstore_t cs;
    TL_EXPECT_EQ(tl_cfgstore_init(&cs, d, 1, 1), TL_CFGSTORE_BAD_LAYOUT);
    TL_EXPECT_EQ(tl_cfgstore_init(&cs, d, 1, 3), TL_CFGSTORE_BAD_LAYOUT);
    TL_EXPECT_EQ(tl_cfgstore_init(&cs, NULL, 0, 1), TL_CFGSTORE_BAD_LAYOUT);
    uint32_t len = 0;
    TL_EXPECT_EQ(tl_cfgstore_load(&cs, g_buf, sizeof g_buf, &len), TL_CFGSTORE_BAD_LAYOUT);
    TL_EXPECT_EQ(tl_cfgstore_init(&cs, d, 0, 1), TL_CFGSTORE_OK);
    /* larger than a sector minus the header: refused before anything is erased */
    static uint8_t big[16384];
    TL_EXPECT_EQ(tl_cfgstore_save(&cs, big, sizeof big), TL_CFGSTORE_TOO_BIG);
    TL_EXPECT_EQ(g_ram.erases, 0);
    fill(g_new, sizeof g_new, 3);
    TL_EXPECT_EQ(tl_cfgstore_save(&cs, g_new, sizeof g_new), TL_CFGSTORE_OK);
    /* caller's buffer too small */
    TL_EXPECT_EQ(tl_cfgstore_load(&cs, g_buf, 16, &len), TL_CFGSTORE_TOO_BIG);
}

static void test_corruption_falls_back(void)
{
    const tl_storage_t *d = fresh();
    tl_cfgstore_t cs;
    TL_EXPECT_EQ(tl_cfgstore_init(&cs, d, 1, 2), TL_CFGSTORE_OK);
    fill(g_old, sizeof g_old, 1);
    fill(g_new, sizeof g_new, 9);
    TL_EXPECT_EQ(tl_cfgstore_save(&cs, g_old, sizeof g_old), TL_CFGSTORE_OK); /* sector 1 */
    TL_EXPECT_EQ(tl_cfgstore_save(&cs, g_new, sizeof g_new), TL_CFGSTORE_OK); /* sector 2 */
    /* a bit flip in the newest payload: the older copy is used */
    g_mem[2u * 16384u + 32u + 100u] ^= 0x04u;
    uint32_t len = 0;
    TL_EXPECT_EQ(tl_cfgstore_load(&cs, g_buf, sizeof g_buf, &len), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(len, sizeof g_old);
    TL_EXPECT_MEM_EQ(g_buf, g_old, sizeof g_old);
    TL_EXPECT_EQ(cs.valid_mask, 1);
    /* the next save replaces the bad copy, not the good one */
    TL_EXPECT_EQ(tl_cfgstore_save(&cs, g_new, sizeof g_new), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(cs.current, 1);
    TL_EXPECT_EQ(cs.seq, 2);
    /* both copies damaged (header of one, payload of the other): CORRUPT */
    g_mem[1u * 16384u + 8u] ^= 0x01u;
    g_mem[2u * 16384u + 32u] ^= 0x80u;
    TL_EXPECT_EQ(tl_cfgstore_load(&cs, g_buf, sizeof g_buf, &len), TL_CFGSTORE_CORRUPT);
    TL_EXPECT_EQ(len, 0);
    /* garbage length field can't make load read past the sector */
    memset(&g_mem[1u * 16384u + 12u], 0x7F, 4);
    TL_EXPECT_EQ(tl_cfgstore_load(&cs, g_buf, sizeof g_buf, &len), TL_CFGSTORE_CORRUPT);
    /* the store recovers with a save */
    TL_EXPECT_EQ(tl_cfgstore_save(&cs, g_old, sizeof g_old), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(tl_cfgstore_load(&cs, g_buf, sizeof g_buf, &len), TL_CFGSTORE_OK);
    TL_EXPECT_MEM_EQ(g_buf, g_old, sizeof g_old);
}

/* Rewrite the sequence number of the copy in `sector` (and its CRC), as if it had been
 * saved that many times. */
static void set_seq(uint32_t sector, uint32_t seq)
{
    uint8_t *h = &g_mem[sector * 16384u];
    uint32_t n = (uint32_t)h[12] | ((uint32_t)h[13] << 8) | ((uint32_t)h[14] << 16) |
                 ((uint32_t)h[15] << 24);
    for (int i = 0; i < 4; i++) {
        h[8 + i] = (uint8_t)(seq >> (8 * i));
    }
    TL_EXPECT(n <= 16384u - 32u);
    if (n > 16384u - 32u) {
        return;
    }
    uint32_t crc = tl_crc32(tl_crc32(0, h + 32, n), h, 16);
    for (int i = 0; i < 4; i++) {
        h[16 + i] = (uint8_t)(crc >> (8 * i));
    }
}

/* Sequence numbers compare with wrap-around: 0 is newer than 0xFFFFFFFF. */
static void test_sequence_wraps(void)
{
    const tl_storage_t *d = fresh();
    tl_cfgstore_t cs;
    TL_EXPECT_EQ(tl_cfgstore_init(&cs, d, 1, 2), TL_CFGSTORE_OK);
    fill(g_old, sizeof g_old, 1);
    fill(g_new, sizeof g_new, 9);
    TL_EXPECT_EQ(tl_cfgstore_save(&cs, g_old, sizeof g_old), TL_CFGSTORE_OK); /* sector 1 */
    TL_EXPECT_EQ(tl_cfgstore_save(&cs, g_new, sizeof g_new), TL_CFGSTORE_OK); /* sector 2 */
    set_seq(1, 0xFFFFFFFFu);
    set_seq(2, 0u);
    uint32_t len = 0;
    TL_EXPECT_EQ(tl_cfgstore_load(&cs, g_buf, sizeof g_buf, &len), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(cs.current, 1);
    TL_EXPECT_EQ(len, sizeof g_new);
    TL_EXPECT_EQ(tl_cfgstore_save(&cs, g_old, sizeof g_old), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(cs.current, 0);
    TL_EXPECT_EQ(cs.seq, 1);
    TL_EXPECT_EQ(tl_cfgstore_load(&cs, g_buf, sizeof g_buf, &len), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(len, sizeof g_old);
    TL_EXPECT_MEM_EQ(g_buf, g_old, sizeof g_old);
}

/* Power cut after n write/erase operations of a save, for every n: after the reboot the
 * store holds exactly the old or exactly the new configuration; if save reported OK,
 * the new one. Then a save after the reboot works. */
static void power_cut_sweep(bool had_old)
{
    fill(g_old, sizeof g_old, 1);
    fill(g_new, sizeof g_new, 9);
    int saw_old = 0;
    int saw_new = 0;
    for (int64_t n = 0;; n++) {
        const tl_storage_t *d = fresh();
        tl_cfgstore_t cs;
        TL_EXPECT_EQ(tl_cfgstore_init(&cs, d, 1, 2), TL_CFGSTORE_OK);
        if (had_old) {
            /* two saves so that both copies hold data (old in the newer copy) */
            TL_EXPECT_EQ(tl_cfgstore_save(&cs, g_new, 40), TL_CFGSTORE_OK);
            TL_EXPECT_EQ(tl_cfgstore_save(&cs, g_old, sizeof g_old), TL_CFGSTORE_OK);
        }
        tl_storage_ram_cut_after(&g_ram, n);
        tl_cfgstore_err_t st = tl_cfgstore_save(&cs, g_new, sizeof g_new);
        bool cut = g_ram.powered_off;
        tl_storage_ram_power_on(&g_ram);

        tl_cfgstore_t boot;
        TL_EXPECT_EQ(tl_cfgstore_init(&boot, d, 1, 2), TL_CFGSTORE_OK);
        uint32_t len = 0;
        tl_cfgstore_err_t ld = tl_cfgstore_load(&boot, g_buf, sizeof g_buf, &len);
        if (st == TL_CFGSTORE_OK) {
            TL_EXPECT_EQ(ld, TL_CFGSTORE_OK);
            TL_EXPECT_EQ(len, sizeof g_new);
            TL_EXPECT_MEM_EQ(g_buf, g_new, sizeof g_new);
        } else if (ld == TL_CFGSTORE_OK && len == sizeof g_new) {
            TL_EXPECT_MEM_EQ(g_buf, g_new, sizeof g_new);
            saw_new++;
        } else if (had_old) {
            TL_EXPECT_EQ(ld, TL_CFGSTORE_OK);
            TL_EXPECT_EQ(len, sizeof g_old);
            TL_EXPECT_MEM_EQ(g_buf, g_old, sizeof g_old);
            saw_old++;
        } else {
            /* nothing was ever committed: empty or (torn) corrupt, never garbage */
            TL_EXPECT(ld == TL_CFGSTORE_EMPTY || ld == TL_CFGSTORE_CORRUPT);
            saw_old++;
        }
        /* the device keeps working after the reboot */
        TL_EXPECT_EQ(tl_cfgstore_save(&boot, g_old, 64), TL_CFGSTORE_OK);
        TL_EXPECT_EQ(tl_cfgstore_load(&boot, g_buf, sizeof g_buf, &len), TL_CFGSTORE_OK);
        TL_EXPECT_EQ(len, 64);
        if (!cut) {
            TL_EXPECT_EQ(st, TL_CFGSTORE_OK);
            TL_EXPECT(n > 3); /* erase + payload chunks + header */
            break;
        }
        TL_EXPECT(st != TL_CFGSTORE_OK);
        if (n > 1000) {
            TL_EXPECT(0);
            break;
        }
    }
    TL_EXPECT(saw_old > 3);
}

static void test_power_cut_first_save(void)
{
    power_cut_sweep(false);
}

static void test_power_cut_replacing(void)
{
    power_cut_sweep(true);
}

int main(void)
{
    TL_RUN(test_empty_then_round_trip);
    TL_RUN(test_bad_layout_and_limits);
    TL_RUN(test_corruption_falls_back);
    TL_RUN(test_sequence_wraps);
    TL_RUN(test_power_cut_first_save);
    TL_RUN(test_power_cut_replacing);
    return tl_test_summary();
}
