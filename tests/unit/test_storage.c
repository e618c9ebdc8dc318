/*
 * test_storage.c - the storage interface's checks and the NOR semantics every backend
 * must have, on the host RAM backend (storage_ram.c) and the host board's device.
 */
#include <string.h>

#include "storage_ram.h"
#include "theraloop/platform.h"
#include "theraloop/storage/crc32.h"
#include "theraloop/storage/flash_map.h"
#include "tl_test.h"

/* STM32F4-like mixed geometry: 4 x 16 KiB, 1 x 64 KiB, 1 x 128 KiB. */
static const tl_storage_region_t k_regions[] = {{4u, 16384u}, {1u, 65536u}, {1u, 131072u}};
static uint8_t g_mem[4u * 16384u + 65536u + 131072u];
static tl_storage_ram_t g_ram;

static const tl_storage_t *fresh(void)
{
    memset(g_mem, 0xFF, sizeof g_mem);
    tl_storage_ram_init(&g_ram, g_mem, k_regions, 3u, 4u);
    return &g_ram.dev;
}

static void test_geometry(void)
{
    const tl_storage_t *d = fresh();
    TL_EXPECT_EQ(tl_storage_size(d), sizeof g_mem);
    TL_EXPECT_EQ(tl_storage_sector_count(d), 6);
    uint32_t off = 0;
    uint32_t size = 0;
    TL_EXPECT_EQ(tl_storage_sector(d, 3, &off, &size), TL_STORAGE_OK);
    TL_EXPECT_EQ(off, 49152);
    TL_EXPECT_EQ(size, 16384);
    TL_EXPECT_EQ(tl_storage_sector(d, 4, &off, &size), TL_STORAGE_OK);
    TL_EXPECT_EQ(off, 65536);
    TL_EXPECT_EQ(size, 65536);
    TL_EXPECT_EQ(tl_storage_sector(d, 5, &off, &size), TL_STORAGE_OK);
    TL_EXPECT_EQ(off, 131072);
    TL_EXPECT_EQ(size, 131072);
    TL_EXPECT_EQ(tl_storage_sector(d, 6, &off, &size), TL_STORAGE_ERR_RANGE);
    TL_EXPECT_EQ(tl_storage_erase(d, 6), TL_STORAGE_ERR_RANGE);
    TL_EXPECT_EQ(tl_storage_size(NULL), 0);
    TL_EXPECT_EQ(tl_storage_read(NULL, 0, g_mem, 1), TL_STORAGE_ERR_NO_DEVICE);
}

static void test_write_clears_bits_only(void)
{
    const tl_storage_t *d = fresh();
    const uint8_t a[4] = {0xF0, 0x0F, 0xAA, 0x55};
    uint8_t out[4];
    TL_EXPECT_EQ(tl_storage_write(d, 16, a, 4), TL_STORAGE_OK);
    TL_EXPECT_EQ(tl_storage_read(d, 16, out, 4), TL_STORAGE_OK);
    TL_EXPECT_MEM_EQ(out, a, 4);
    /* clearing more bits of the same word is allowed */
    const uint8_t b[4] = {0x80, 0x01, 0x00, 0x55};
    TL_EXPECT_EQ(tl_storage_write(d, 16, b, 4), TL_STORAGE_OK);
    TL_EXPECT_EQ(tl_storage_read(d, 16, out, 4), TL_STORAGE_OK);
    TL_EXPECT_MEM_EQ(out, b, 4);
    /* setting a bit is refused and changes nothing */
    const uint8_t c[4] = {0x80, 0x01, 0x01, 0x55};
    TL_EXPECT_EQ(tl_storage_write(d, 16, c, 4), TL_STORAGE_ERR_NOT_ERASED);
    TL_EXPECT_EQ(tl_storage_read(d, 16, out, 4), TL_STORAGE_OK);
    TL_EXPECT_MEM_EQ(out, b, 4);
    /* erase restores 0xFF over exactly the sector */
    TL_EXPECT_EQ(tl_storage_write(d, 16384, a, 4), TL_STORAGE_OK);
    TL_EXPECT_EQ(tl_storage_erase(d, 0), TL_STORAGE_OK);
    TL_EXPECT_EQ(tl_storage_read(d, 16, out, 4), TL_STORAGE_OK);
    const uint8_t ff[4] = {0xFF, 0xFF, 0xFF, 0xFF};
    TL_EXPECT_MEM_EQ(out, ff, 4);
    TL_EXPECT_EQ(tl_storage_read(d, 16384, out, 4), TL_STORAGE_OK);
    TL_EXPECT_MEM_EQ(out, a, 4);
}

static void test_alignment_and_range(void)
{
    const tl_storage_t *d = fresh();
    const uint8_t w[8] = {0};
    uint8_t out[8];
    TL_EXPECT_EQ(tl_storage_write(d, 2, w, 4), TL_STORAGE_ERR_ALIGN);
    TL_EXPECT_EQ(tl_storage_write(d, 4, w, 3), TL_STORAGE_ERR_ALIGN);
    TL_EXPECT_EQ(tl_storage_read(d, 3, out, 3), TL_STORAGE_OK); /* reads: any alignment */
    uint32_t size = tl_storage_size(d);
    TL_EXPECT_EQ(tl_storage_write(d, size - 4u, w, 4), TL_STORAGE_OK);
    TL_EXPECT_EQ(tl_storage_write(d, size - 4u, w, 8), TL_STORAGE_ERR_RANGE);
    TL_EXPECT_EQ(tl_storage_read(d, size, out, 1), TL_STORAGE_ERR_RANGE);
    TL_EXPECT_EQ(tl_storage_read(d, UINT32_MAX - 2u, out, 4), TL_STORAGE_ERR_RANGE);
    TL_EXPECT_EQ(tl_storage_read(d, size, out, 0), TL_STORAGE_OK);
}

static void test_power_cut(void)
{
    const tl_storage_t *d = fresh();
    uint8_t w[16];
    memset(w, 0x00, sizeof w);
    tl_storage_ram_cut_after(&g_ram, 1);
    TL_EXPECT_EQ(tl_storage_write(d, 0, w, 16), TL_STORAGE_OK);
    TL_EXPECT_EQ(tl_storage_write(d, 32, w, 16), TL_STORAGE_ERR_POWER_CUT);
    TL_EXPECT_EQ(g_mem[32], 0x00);   /* torn: first half programmed */
    TL_EXPECT_EQ(g_mem[47], 0xFF);   /* second half not */
    uint8_t out[1];
    TL_EXPECT_EQ(tl_storage_read(d, 0, out, 1), TL_STORAGE_ERR_POWER_CUT);
    tl_storage_ram_power_on(&g_ram);
    TL_EXPECT_EQ(tl_storage_read(d, 0, out, 1), TL_STORAGE_OK);
    TL_EXPECT_EQ(out[0], 0x00);
    tl_storage_ram_cut_after(&g_ram, 0);
    TL_EXPECT_EQ(tl_storage_erase(d, 0), TL_STORAGE_ERR_POWER_CUT);
    TL_EXPECT_EQ(g_mem[0], 0xFF);    /* first half erased */
    TL_EXPECT_EQ(g_mem[16383], 0xFF);
    tl_storage_ram_power_on(&g_ram);
}

static void test_platform_device(void)
{
    const tl_storage_t *d = tl_platform_storage();
    TL_EXPECT(d != NULL);
    TL_EXPECT(d == tl_platform_storage());
    TL_EXPECT_EQ(tl_storage_sector_count(d), 12);
    TL_EXPECT_EQ(tl_storage_size(d), 1024u * 1024u);
    TL_EXPECT_EQ(d->write_align, 4);
    uint8_t b = 0;
    TL_EXPECT_EQ(tl_storage_read(d, 0, &b, 1), TL_STORAGE_OK);
    TL_EXPECT_EQ(b, 0xFF);
    /* memory-mapped: the pointer sees what the device holds */
    const uint8_t *m = tl_storage_mapped(d, 0x20000u, 4u);
    TL_EXPECT(m != NULL);
    TL_EXPECT(tl_storage_mapped(d, 0xFFFFEu, 4u) == NULL); /* past the end */
    /* the STM32F4 flash map fits the device */
    tl_flash_area_t area;
    TL_EXPECT_EQ(tl_flash_area_get(d, TL_AREA_FW_PRIMARY, &area), TL_STORAGE_OK);
    TL_EXPECT_EQ(area.off, 0x20000u);
    TL_EXPECT_EQ(area.size, 0x40000u);
    TL_EXPECT_EQ(tl_flash_area_get(d, TL_AREA_MODEL_B, &area), TL_STORAGE_OK);
    TL_EXPECT_EQ(area.off, 0xE0000u);
    TL_EXPECT_EQ(area.first_sector, 11u);
    TL_EXPECT_EQ(tl_flash_area_get(d, TL_AREA_STATE, &area), TL_STORAGE_OK);
    TL_EXPECT_EQ(area.off, 0x8000u);
    TL_EXPECT_EQ(area.size, 0x8000u);
    TL_EXPECT_EQ(area.sector_count, 2u);
    TL_EXPECT_EQ(tl_flash_area_get(d, TL_AREA_COUNT, &area), TL_STORAGE_ERR_RANGE);
    /* a device of another geometry has no flash map */
    TL_EXPECT_EQ(tl_flash_area_get(&g_ram.dev, TL_AREA_STATE, &area), TL_STORAGE_ERR_RANGE);
    TL_EXPECT(strcmp(tl_flash_area_name(TL_AREA_FW_SCRATCH), "fw_scratch") == 0);
    TL_EXPECT(strcmp(tl_flash_area_name(99u), "?") == 0);
}

static void test_crc32(void)
{
    TL_EXPECT_EQ(tl_crc32(0, "123456789", 9), 0xCBF43926u);
    uint32_t c = tl_crc32(0, "1234", 4);
    TL_EXPECT_EQ(tl_crc32(c, "56789", 5), 0xCBF43926u);
    TL_EXPECT_EQ(tl_crc32(0, "", 0), 0);
}

int main(void)
{
    TL_RUN(test_geometry);
    TL_RUN(test_write_clears_bits_only);
    TL_RUN(test_alignment_and_range);
    TL_RUN(test_power_cut);
    TL_RUN(test_platform_device);
    TL_RUN(test_crc32);
    return tl_test_summary();
}
