/* The slot writer (update/slot_writer.h) on the host RAM flash with the STM32F4 geometry:
 * lazy sector erase, write-unit tails kept in RAM and padded at finish, offset/overrun/size
 * checks that change nothing, storage errors (power cut) reported with the device error. */
#include <stdint.h>
#include <string.h>

#include "storage_ram.h"
#include "theraloop/storage/flash_map.h"
#include "theraloop/update/slot_writer.h"
#include "tl_test.h"

static const tl_storage_region_t k_regions[] = {
    {4u, 0x4000u}, {1u, 0x10000u}, {7u, 0x20000u}};

static uint8_t g_mem[TL_FLASH_SIZE];
static uint8_t g_src[0x40000];
static tl_storage_ram_t g_ram;

static void setup(uint32_t align, uint8_t fill)
{
    memset(g_mem, fill, sizeof(g_mem));
    tl_storage_ram_init(&g_ram, g_mem, k_regions, 3u, align);
    for (uint32_t i = 0; i < sizeof(g_src); i++) {
        g_src[i] = (uint8_t)((i * 131u + (i >> 8) * 7u + 1u) & 0xFFu);
    }
}

static tl_flash_area_t area(uint32_t id)
{
    tl_flash_area_t a;
    memset(&a, 0, sizeof(a));
    TL_EXPECT_EQ(tl_flash_area_get(&g_ram.dev, id, &a), TL_STORAGE_OK);
    return a;
}

static bool all_ff(uint32_t off, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (g_mem[off + i] != 0xFFu) {
            return false;
        }
    }
    return true;
}

static bool all_eq(uint32_t off, uint32_t n, uint8_t v)
{
    for (uint32_t i = 0; i < n; i++) {
        if (g_mem[off + i] != v) {
            return false;
        }
    }
    return true;
}

/* Sectors are erased only when the first byte is programmed into them. */
static void test_lazy_erase(void)
{
    setup(8u, 0x00u); /* "old contents": all zero, so programming without erase would fail */
    tl_flash_area_t a = area(TL_AREA_FW_SECONDARY);
    tl_slot_writer_t w;
    TL_EXPECT_EQ(tl_slot_writer_begin(&w, &g_ram.dev, &a, 0x30000u), TL_SLOTW_OK);
    TL_EXPECT_EQ(g_ram.erases, 0);
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 0, g_src, 5), TL_SLOTW_OK); /* stays in RAM */
    TL_EXPECT_EQ(g_ram.erases, 0);
    TL_EXPECT_EQ(w.off, 5);
    TL_EXPECT_EQ(w.pending_len, 5);
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 5, g_src + 5, 100), TL_SLOTW_OK);
    TL_EXPECT_EQ(g_ram.erases, 1); /* first sector of the slot only */
    TL_EXPECT_EQ(w.erased_until, 0x20000u);
    TL_EXPECT_MEM_EQ(&g_mem[a.off], g_src, 104); /* 13 units programmed, 1 byte pending */
    TL_EXPECT(all_eq(a.off + 0x20000u, 0x20000u, 0x00u)); /* second sector untouched */
    /* up to the end of the first sector: still one erase */
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 105, g_src + 105, 0x20000u - 105u), TL_SLOTW_OK);
    TL_EXPECT_EQ(g_ram.erases, 1);
    /* one byte more reaches into the second sector only when it is programmed */
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 0x20000u, g_src + 0x20000u, 1), TL_SLOTW_OK);
    TL_EXPECT_EQ(g_ram.erases, 1);
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 0x20001u, g_src + 0x20001u, 0x10000u - 1u),
                 TL_SLOTW_OK);
    TL_EXPECT_EQ(g_ram.erases, 2);
    TL_EXPECT_EQ(tl_slot_writer_finish(&w), TL_SLOTW_OK);
    TL_EXPECT_MEM_EQ(&g_mem[a.off], g_src, 0x30000u);
    TL_EXPECT(all_ff(a.off + 0x30000u, 0x10000u)); /* rest of the erased sector */
    /* neighbours untouched */
    TL_EXPECT(all_eq(a.off - 0x100u, 0x100u, 0x00u));
    TL_EXPECT(all_eq(a.off + a.size, 0x100u, 0x00u));
}

/* Chunks of every odd size; tails wait in RAM; the last unit is padded with 0xFF. */
static void run_tails(uint32_t align, uint32_t len)
{
    setup(align, 0xA5u);
    tl_flash_area_t a = area(TL_AREA_MODEL_B);
    tl_slot_writer_t w;
    TL_EXPECT_EQ(tl_slot_writer_begin(&w, &g_ram.dev, &a, len), TL_SLOTW_OK);
    uint32_t off = 0;
    uint32_t step = 1;
    while (off < len) {
        uint32_t n = (step < len - off) ? step : len - off;
        TL_EXPECT_EQ(tl_slot_writer_write(&w, off, g_src + off, n), TL_SLOTW_OK);
        off += n;
        TL_EXPECT_EQ(w.off, off);
        TL_EXPECT(w.pending_len < align || (align == 1u && w.pending_len == 0u));
        TL_EXPECT_EQ((off - w.pending_len) % align, 0);
        step = (step * 3u + 1u) % 97u + 1u;
    }
    TL_EXPECT_EQ(tl_slot_writer_finish(&w), TL_SLOTW_OK);
    TL_EXPECT_MEM_EQ(&g_mem[a.off], g_src, len);
    uint32_t padded = (len + align - 1u) & ~(align - 1u);
    TL_EXPECT(all_ff(a.off + len, padded - len));
    TL_EXPECT(all_ff(a.off + padded, a.size - padded)); /* erased, never programmed */
    TL_EXPECT_EQ(g_ram.erases, 1);
    /* a zero-length write and a second finish change nothing */
    TL_EXPECT_EQ(tl_slot_writer_write(&w, len, g_src, 0), TL_SLOTW_OK);
    TL_EXPECT_EQ(tl_slot_writer_finish(&w), TL_SLOTW_OK);
    TL_EXPECT_MEM_EQ(&g_mem[a.off], g_src, len);
}

static void test_alignment_tails(void)
{
    run_tails(8u, 5003u);
    run_tails(8u, 4096u);
    run_tails(4u, 1u);
    run_tails(4u, 777u);
    run_tails(1u, 333u);
}

static void test_wrong_offset_changes_nothing(void)
{
    setup(8u, 0xFFu);
    tl_flash_area_t a = area(TL_AREA_MODEL_A);
    tl_slot_writer_t w;
    TL_EXPECT_EQ(tl_slot_writer_begin(&w, &g_ram.dev, &a, 1000u), TL_SLOTW_OK);
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 0, g_src, 13), TL_SLOTW_OK);
    tl_slot_writer_t before = w;
    uint32_t writes = g_ram.writes;
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 12, g_src + 12, 10), TL_SLOTW_BAD_OFFSET); /* resend */
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 14, g_src + 14, 10), TL_SLOTW_BAD_OFFSET); /* gap */
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 0, g_src, 10), TL_SLOTW_BAD_OFFSET);
    TL_EXPECT_EQ(g_ram.writes, writes);
    TL_EXPECT_MEM_EQ(&before, &w, sizeof(w));
    /* finish before every byte arrived */
    TL_EXPECT_EQ(tl_slot_writer_finish(&w), TL_SLOTW_BAD_OFFSET);
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 13, g_src + 13, 987), TL_SLOTW_OK);
    TL_EXPECT_EQ(tl_slot_writer_finish(&w), TL_SLOTW_OK);
    TL_EXPECT_MEM_EQ(&g_mem[a.off], g_src, 1000);
}

static void test_overrun_and_too_big(void)
{
    setup(8u, 0xFFu);
    tl_flash_area_t a = area(TL_AREA_MODEL_A);
    tl_slot_writer_t w;
    TL_EXPECT_EQ(tl_slot_writer_begin(&w, &g_ram.dev, &a, a.size + 1u), TL_SLOTW_TOO_BIG);
    TL_EXPECT_EQ(tl_slot_writer_begin(&w, &g_ram.dev, &a, UINT32_MAX), TL_SLOTW_TOO_BIG);
    TL_EXPECT_EQ(tl_slot_writer_begin(&w, &g_ram.dev, &a, a.size), TL_SLOTW_OK); /* exactly */
    TL_EXPECT_EQ(tl_slot_writer_begin(&w, &g_ram.dev, &a, 100u), TL_SLOTW_OK);
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 0, g_src, 101), TL_SLOTW_OVERRUN);
    TL_EXPECT_EQ(w.off, 0);
    TL_EXPECT_EQ(g_ram.erases, 0);
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 0, g_src, 60), TL_SLOTW_OK);
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 60, g_src + 60, 41), TL_SLOTW_OVERRUN);
    TL_EXPECT_EQ(w.off, 60);
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 60, g_src + 60, 40), TL_SLOTW_OK);
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 100, g_src, 1), TL_SLOTW_OVERRUN);
    TL_EXPECT_EQ(tl_slot_writer_finish(&w), TL_SLOTW_OK);
    TL_EXPECT_MEM_EQ(&g_mem[a.off], g_src, 100);
}

static void test_bad_arguments(void)
{
    setup(8u, 0xFFu);
    tl_flash_area_t a = area(TL_AREA_MODEL_A);
    tl_slot_writer_t w;
    TL_EXPECT_EQ(tl_slot_writer_begin(&w, NULL, &a, 10u), TL_SLOTW_STORAGE);
    TL_EXPECT_EQ(w.err, TL_STORAGE_ERR_NO_DEVICE);
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 0, g_src, 1), TL_SLOTW_STORAGE); /* not begun */
    TL_EXPECT_EQ(tl_slot_writer_finish(&w), TL_SLOTW_STORAGE);
    /* a write unit larger than the RAM tail cannot be handled */
    tl_storage_ram_t big;
    tl_storage_ram_init(&big, g_mem, k_regions, 3u, 16u);
    TL_EXPECT_EQ(tl_slot_writer_begin(&w, &big.dev, &a, 10u), TL_SLOTW_STORAGE);
    TL_EXPECT_EQ(w.err, TL_STORAGE_ERR_ALIGN);
    /* an area that does not match the device's sectors */
    tl_flash_area_t bogus = a;
    bogus.off += 0x1000u;
    TL_EXPECT_EQ(tl_slot_writer_begin(&w, &g_ram.dev, &bogus, 100u), TL_SLOTW_OK);
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 0, g_src, 16), TL_SLOTW_STORAGE);
    TL_EXPECT_EQ(w.err, TL_STORAGE_ERR_RANGE);
}

static void test_storage_errors(void)
{
    /* power cut on the erase */
    setup(8u, 0xFFu);
    tl_flash_area_t a = area(TL_AREA_MODEL_A);
    tl_slot_writer_t w;
    TL_EXPECT_EQ(tl_slot_writer_begin(&w, &g_ram.dev, &a, 1000u), TL_SLOTW_OK);
    tl_storage_ram_cut_after(&g_ram, 0);
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 0, g_src, 64), TL_SLOTW_STORAGE);
    TL_EXPECT_EQ(w.err, TL_STORAGE_ERR_POWER_CUT);
    TL_EXPECT_EQ(w.off, 0);
    tl_storage_ram_power_on(&g_ram);

    /* power cut on a bulk program (after the erase) */
    TL_EXPECT_EQ(tl_slot_writer_begin(&w, &g_ram.dev, &a, 1000u), TL_SLOTW_OK);
    tl_storage_ram_cut_after(&g_ram, 1);
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 0, g_src, 64), TL_SLOTW_STORAGE);
    TL_EXPECT_EQ(w.err, TL_STORAGE_ERR_POWER_CUT);
    tl_storage_ram_power_on(&g_ram);

    /* power cut when the padded tail is programmed at finish */
    TL_EXPECT_EQ(tl_slot_writer_begin(&w, &g_ram.dev, &a, 13u), TL_SLOTW_OK);
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 0, g_src, 13), TL_SLOTW_OK); /* 8 programmed, 5 in RAM */
    tl_storage_ram_cut_after(&g_ram, 0);
    TL_EXPECT_EQ(tl_slot_writer_finish(&w), TL_SLOTW_STORAGE);
    TL_EXPECT_EQ(w.err, TL_STORAGE_ERR_POWER_CUT);
    tl_storage_ram_power_on(&g_ram);

    /* a program over non-erased bytes cannot happen: a fresh writer erases first */
    memset(&g_mem[a.off], 0x00, 64);
    TL_EXPECT_EQ(tl_slot_writer_begin(&w, &g_ram.dev, &a, 64u), TL_SLOTW_OK);
    TL_EXPECT_EQ(tl_slot_writer_write(&w, 0, g_src, 64), TL_SLOTW_OK);
    TL_EXPECT_EQ(tl_slot_writer_finish(&w), TL_SLOTW_OK);
    TL_EXPECT_MEM_EQ(&g_mem[a.off], g_src, 64);
}

int main(void)
{
    TL_RUN(test_lazy_erase);
    TL_RUN(test_alignment_tails);
    TL_RUN(test_wrong_offset_changes_nothing);
    TL_RUN(test_overrun_and_too_big);
    TL_RUN(test_bad_arguments);
    TL_RUN(test_storage_errors);
    return tl_test_summary();
}
