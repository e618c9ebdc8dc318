/*
 * storage_stm32f4.c - the board's storage device (tl_platform_storage): flash sectors
 * 8..11 (0x08080000, 4 x 128 KiB; the image is linked into the first 512 KiB).
 *
 * Two backends behind the same geometry:
 *   - "stm32f4-flash": the flash controller (flash.c), on hardware;
 *   - "semihost-file": under QEMU, which does not model the flash controller, a 512 KiB
 *     flash image file on the host (TL_EMU_FLASH_FILE, in QEMU's working directory)
 *     reached through ARM semihosting, with the same NOR semantics, so its contents
 *     survive a reset and a restart of QEMU.
 *
 * Choosing: a semihosting call on hardware without a debugger (or in QEMU without
 * `-semihosting-config enable=on`) hard-faults or aborts, so it cannot be probed. The
 * runner that enables semihosting also writes an 8-byte flag into the first word of RAM
 * (the start of .noinit, which startup code never touches) at every QEMU reset:
 *   -device loader,addr=0x20000000,data=0x4D455354,data-len=4
 *   -device loader,addr=0x20000004,data=0xB2BAACAB,data-len=4
 * ("TSEM" and its complement). On hardware that word pair is never written by anyone,
 * so the flash controller is used. See docs/storage.md.
 */
#include <string.h>

#include "flash.h"
#include "theraloop/platform.h"

#define STORAGE_FIRST_SNB 8u
#define STORAGE_SECTORS 4u
#define STORAGE_SECTOR_SIZE 0x20000u
#define STORAGE_SIZE (STORAGE_SECTORS * STORAGE_SECTOR_SIZE)

#define EMU_FLAG 0x4D455354u
#define TL_EMU_FLASH_FILE "theraloop-flash.bin"

/* First in .noinit (linker script): written by the QEMU runner, read here. */
__attribute__((section(".noinit.tl_emu_flag"), used)) static volatile uint32_t s_emu_flag[2];

static const tl_storage_region_t k_regions[] = {{STORAGE_SECTORS, STORAGE_SECTOR_SIZE}};

/* ---- flash controller backend ---- */

static tl_storage_err_t hw_read(const tl_storage_t *dev, uint32_t off, void *buf, uint32_t n)
{
    (void)dev;
    memcpy(buf, (const void *)(tl_stm32f4_flash_sector_addr(STORAGE_FIRST_SNB) + off), n);
    return TL_STORAGE_OK;
}

static tl_storage_err_t hw_write(const tl_storage_t *dev, uint32_t off, const void *data,
                                 uint32_t n)
{
    (void)dev;
    return tl_stm32f4_flash_program(tl_stm32f4_flash_sector_addr(STORAGE_FIRST_SNB) + off, data,
                                    n);
}

static tl_storage_err_t hw_erase(const tl_storage_t *dev, uint32_t sector, uint32_t off,
                                 uint32_t size)
{
    (void)dev;
    (void)off;
    (void)size;
    return tl_stm32f4_flash_erase_sector(STORAGE_FIRST_SNB + sector);
}

static const tl_storage_ops_t k_hw_ops = {hw_read, hw_write, hw_erase};

/* ---- semihosting flash-file backend ---- */

#define SYS_OPEN 0x01u
#define SYS_CLOSE 0x02u
#define SYS_WRITE 0x05u
#define SYS_READ 0x06u
#define SYS_SEEK 0x0Au
#define SYS_FLEN 0x0Cu
#define MODE_RB_PLUS 3u  /* "r+b" */
#define MODE_WB_PLUS 7u  /* "w+b" */
#define CHUNK 64u

static uint32_t sh_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static int32_t s_fd = -1;

static bool sh_seek(uint32_t pos)
{
    const uint32_t a[2] = {(uint32_t)s_fd, pos};
    return sh_call(SYS_SEEK, a) == 0u;
}

static bool sh_read(uint32_t pos, void *buf, uint32_t n)
{
    const uint32_t a[3] = {(uint32_t)s_fd, (uint32_t)(uintptr_t)buf, n};
    return sh_seek(pos) && sh_call(SYS_READ, a) == 0u; /* returns bytes NOT read */
}

static bool sh_write(uint32_t pos, const void *buf, uint32_t n)
{
    const uint32_t a[3] = {(uint32_t)s_fd, (uint32_t)(uintptr_t)buf, n};
    return sh_seek(pos) && sh_call(SYS_WRITE, a) == 0u; /* returns bytes NOT written */
}

static int32_t sh_open(const char *name, uint32_t mode)
{
    const uint32_t a[3] = {(uint32_t)(uintptr_t)name, mode, (uint32_t)strlen(name)};
    return (int32_t)sh_call(SYS_OPEN, a);
}

static bool sh_fill_ff(uint32_t pos, uint32_t n)
{
    uint8_t ff[CHUNK];
    memset(ff, 0xFF, sizeof ff);
    for (uint32_t done = 0; done < n; done += CHUNK) {
        if (!sh_write(pos + done, ff, n - done < CHUNK ? n - done : CHUNK)) {
            return false;
        }
    }
    return true;
}

/* Open (or create) the image; a new or short file is extended with erased bytes. */
static bool sh_attach(void)
{
    s_fd = sh_open(TL_EMU_FLASH_FILE, MODE_RB_PLUS);
    if (s_fd < 0) {
        s_fd = sh_open(TL_EMU_FLASH_FILE, MODE_WB_PLUS);
    }
    if (s_fd < 0) {
        return false;
    }
    const uint32_t a[1] = {(uint32_t)s_fd};
    int32_t len = (int32_t)sh_call(SYS_FLEN, a);
    if (len < 0) {
        return false;
    }
    if ((uint32_t)len < STORAGE_SIZE && !sh_fill_ff((uint32_t)len, STORAGE_SIZE - (uint32_t)len)) {
        return false;
    }
    return true;
}

static tl_storage_err_t sh_dev_read(const tl_storage_t *dev, uint32_t off, void *buf,
                                    uint32_t n)
{
    (void)dev;
    return sh_read(off, buf, n) ? TL_STORAGE_OK : TL_STORAGE_ERR_IO;
}

static tl_storage_err_t sh_dev_write(const tl_storage_t *dev, uint32_t off, const void *data,
                                     uint32_t n)
{
    (void)dev;
    const uint8_t *src = data;
    uint8_t cur[CHUNK];
    /* check the whole request first: a refused write changes nothing */
    for (uint32_t done = 0; done < n; done += CHUNK) {
        uint32_t k = n - done < CHUNK ? n - done : CHUNK;
        if (!sh_read(off + done, cur, k)) {
            return TL_STORAGE_ERR_IO;
        }
        for (uint32_t i = 0; i < k; i++) {
            if (!tl_storage_programmable(cur[i], src[done + i])) {
                return TL_STORAGE_ERR_NOT_ERASED;
            }
        }
    }
    for (uint32_t done = 0; done < n; done += CHUNK) {
        uint32_t k = n - done < CHUNK ? n - done : CHUNK;
        if (!sh_read(off + done, cur, k)) {
            return TL_STORAGE_ERR_IO;
        }
        for (uint32_t i = 0; i < k; i++) {
            cur[i] &= src[done + i];
        }
        if (!sh_write(off + done, cur, k)) {
            return TL_STORAGE_ERR_IO;
        }
    }
    return TL_STORAGE_OK;
}

static tl_storage_err_t sh_dev_erase(const tl_storage_t *dev, uint32_t sector, uint32_t off,
                                     uint32_t size)
{
    (void)dev;
    (void)sector;
    return sh_fill_ff(off, size) ? TL_STORAGE_OK : TL_STORAGE_ERR_IO;
}

static const tl_storage_ops_t k_sh_ops = {sh_dev_read, sh_dev_write, sh_dev_erase};

/* ---- selection ---- */

static tl_storage_t g_dev;
static bool g_ready;

const tl_storage_t *tl_platform_storage(void)
{
    if (g_ready) {
        return g_dev.ops != NULL ? &g_dev : NULL;
    }
    g_ready = true;
    g_dev.regions = k_regions;
    g_dev.region_count = 1u;
    g_dev.write_align = 4u;
    if (s_emu_flag[0] == EMU_FLAG && s_emu_flag[1] == ~EMU_FLAG) {
        if (!sh_attach()) {
            return NULL; /* emulator without a usable flash file: no storage */
        }
        g_dev.ops = &k_sh_ops;
        g_dev.name = "semihost-file";
    } else {
        g_dev.ops = &k_hw_ops;
        g_dev.name = "stm32f4-flash";
    }
    return &g_dev;
}
