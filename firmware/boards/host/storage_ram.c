/*
 * storage_ram.c - RAM-backed NOR flash emulation with power-cut injection (see
 * storage_ram.h), and the host board's storage device (tl_platform_storage).
 */
#include "storage_ram.h"

#include <string.h>

#include "theraloop/platform.h"

static bool power_step(tl_storage_ram_t *s)
{
    if (s->powered_off) {
        return false;
    }
    if (s->ops_left == 0) {
        s->powered_off = true;
        return false;
    }
    if (s->ops_left > 0) {
        s->ops_left--;
    }
    return true;
}

static tl_storage_err_t ram_read(const tl_storage_t *dev, uint32_t off, void *buf, uint32_t n)
{
    tl_storage_ram_t *s = dev->ctx;
    if (s->powered_off) {
        return TL_STORAGE_ERR_POWER_CUT;
    }
    memcpy(buf, s->mem + off, n);
    return TL_STORAGE_OK;
}

static tl_storage_err_t ram_write(const tl_storage_t *dev, uint32_t off, const void *data,
                                  uint32_t n)
{
    tl_storage_ram_t *s = dev->ctx;
    const uint8_t *src = data;
    if (s->powered_off) {
        return TL_STORAGE_ERR_POWER_CUT;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!tl_storage_programmable(s->mem[off + i], src[i])) {
            return TL_STORAGE_ERR_NOT_ERASED;
        }
    }
    if (!power_step(s)) {
        uint32_t half = (n / 2u) & ~(dev->write_align - 1u);
        for (uint32_t i = 0; i < half; i++) {
            s->mem[off + i] &= src[i];
        }
        return TL_STORAGE_ERR_POWER_CUT;
    }
    for (uint32_t i = 0; i < n; i++) {
        s->mem[off + i] &= src[i];
    }
    s->writes++;
    return TL_STORAGE_OK;
}

static tl_storage_err_t ram_erase(const tl_storage_t *dev, uint32_t sector, uint32_t off,
                                  uint32_t size)
{
    tl_storage_ram_t *s = dev->ctx;
    (void)sector;
    if (s->powered_off) {
        return TL_STORAGE_ERR_POWER_CUT;
    }
    if (!power_step(s)) {
        memset(s->mem + off, 0xFF, size / 2u);
        return TL_STORAGE_ERR_POWER_CUT;
    }
    memset(s->mem + off, 0xFF, size);
    s->erases++;
    return TL_STORAGE_OK;
}

static const tl_storage_ops_t k_ram_ops = {ram_read, ram_write, ram_erase};

void tl_storage_ram_init(tl_storage_ram_t *s, uint8_t *mem, const tl_storage_region_t *regions,
                         uint32_t region_count, uint32_t write_align)
{
    memset(s, 0, sizeof *s);
    s->dev.ops = &k_ram_ops;
    s->dev.ctx = s;
    s->dev.name = "ram";
    s->dev.regions = regions;
    s->dev.region_count = region_count;
    s->dev.write_align = write_align;
    s->dev.mapped = mem;
    s->mem = mem;
    s->size = tl_storage_size(&s->dev);
    s->ops_left = -1;
}

void tl_storage_ram_cut_after(tl_storage_ram_t *s, int64_t n)
{
    s->ops_left = n;
}

void tl_storage_ram_power_on(tl_storage_ram_t *s)
{
    s->powered_off = false;
    s->ops_left = -1;
}

/* The host board's device: the whole STM32F405 flash geometry (storage/flash_map.h:
 * 4 x 16 KiB, 1 x 64 KiB, 7 x 128 KiB, 4-byte words), memory-mapped, kept in process
 * memory so it survives the host's virtual reboots (not a restart of the process). */
static const tl_storage_region_t k_host_regions[] = {
    {4u, 16u * 1024u}, {1u, 64u * 1024u}, {7u, 128u * 1024u}};
static uint8_t g_host_mem[1024u * 1024u];
static tl_storage_ram_t g_host_storage;
static bool g_host_storage_ready;

const tl_storage_t *tl_platform_storage(void)
{
    if (!g_host_storage_ready) {
        memset(g_host_mem, 0xFF, sizeof g_host_mem);
        tl_storage_ram_init(&g_host_storage, g_host_mem, k_host_regions, 3u, 4u);
        g_host_storage_ready = true;
    }
    return &g_host_storage.dev;
}
