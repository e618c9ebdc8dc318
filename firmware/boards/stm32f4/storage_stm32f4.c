/*
 * storage_stm32f4.c - the board's storage device (tl_platform_storage): the whole 1 MiB
 * flash (12 sectors: 4 x 16 KiB, 1 x 64 KiB, 7 x 128 KiB), memory-mapped at 0x08000000.
 * The partitions (bootloader, state store, firmware slots, model slots) are in
 * theraloop/storage/flash_map.h.
 *
 * Two backends behind the same geometry:
 *   - "stm32f4-flash": the flash controller (flash.c), on hardware;
 *   - "semihost-file": under QEMU, which does not model the flash controller, a 1 MiB
 *     flash image file on the host (TL_EMU_FLASH_FILE, in QEMU's working directory)
 *     reached through ARM semihosting, with the same NOR semantics. The QEMU runner
 *     boots QEMU with that file as the flash contents (-device loader), and every write
 *     or erase goes to the file and is then read back from the file INTO the emulated
 *     flash (a semihosting SYS_READ into a flash address writes QEMU's ROM), so the
 *     memory-mapped flash and the file stay equal: code written by the bootloader runs,
 *     a model slot runs in place, and everything survives a reset and a restart of QEMU.
 *     A file that is missing or short is created from the flash QEMU booted with.
 *
 * Choosing: a semihosting call on hardware without a debugger (or in QEMU without
 * `-semihosting-config enable=on`) hard-faults or aborts, so it cannot be probed. The
 * runner that enables semihosting also writes an 8-byte flag into the first two words of
 * RAM (the start of .noinit, which startup code never touches) at every QEMU reset:
 *   -device loader,addr=0x20000000,data=0x4D455354,data-len=4
 *   -device loader,addr=0x20000004,data=0xB2BAACAB,data-len=4
 * ("TSEM" and its complement). On hardware that word pair is never written by anyone,
 * so the flash controller is used. See docs/storage.md.
 */
#include <string.h>

#include "flash.h"
#include "theraloop/platform.h"

#define STORAGE_SIZE 0x100000u

#define EMU_FLAG 0x4D455354u
#define TL_EMU_FLASH_FILE "theraloop-flash.bin"

/* First in .noinit (linker script): written by the QEMU runner, read here. The
 * bootloader, which has its own RAM layout, reads the same two words by address. */
__attribute__((section(".noinit.tl_emu_flag"), used)) static volatile uint32_t s_emu_flag[2];
#define EMU_FLAG_WORDS ((const volatile uint32_t *)0x20000000u)

static const tl_storage_region_t k_regions[] = {
    {4u, 0x4000u}, {1u, 0x10000u}, {7u, 0x20000u}};

static uint8_t *flash_ptr(uint32_t off)
{
    return (uint8_t *)(uintptr_t)(TL_STM32F4_FLASH_BASE + off);
}

/* ---- flash controller backend ---- */

static tl_storage_err_t mapped_read(const tl_storage_t *dev, uint32_t off, void *buf, uint32_t n)
{
    (void)dev;
    memcpy(buf, flash_ptr(off), n);
    return TL_STORAGE_OK;
}

static tl_storage_err_t hw_write(const tl_storage_t *dev, uint32_t off, const void *data,
                                 uint32_t n)
{
    (void)dev;
    return tl_stm32f4_flash_program(TL_STM32F4_FLASH_BASE + off, data, n);
}

static tl_storage_err_t hw_erase(const tl_storage_t *dev, uint32_t sector, uint32_t off,
                                 uint32_t size)
{
    (void)dev;
    (void)off;
    (void)size;
    return tl_stm32f4_flash_erase_sector(sector);
}

static const tl_storage_ops_t k_hw_ops = {mapped_read, hw_write, hw_erase};

/* ---- semihosting flash-file backend ---- */

#define SYS_OPEN 0x01u
#define SYS_WRITE 0x05u
#define SYS_READ 0x06u
#define SYS_SEEK 0x0Au
#define SYS_FLEN 0x0Cu
#define MODE_RB_PLUS 3u /* "r+b" */
#define MODE_WB_PLUS 7u /* "w+b" */
#define FF_CHUNK 256u

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

/* File bytes [pos, pos + n) -> memory at buf (which may be the emulated flash). */
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

/* Open (or create) the image. A new or short file is completed with the flash contents
 * QEMU booted with, so file and memory-mapped flash agree from the start. */
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
    if ((uint32_t)len < STORAGE_SIZE &&
        !sh_write((uint32_t)len, flash_ptr((uint32_t)len), STORAGE_SIZE - (uint32_t)len)) {
        return false;
    }
    return true;
}

static tl_storage_err_t sh_dev_write(const tl_storage_t *dev, uint32_t off, const void *data,
                                     uint32_t n)
{
    (void)dev;
    const uint8_t *src = data;
    const uint8_t *cur = flash_ptr(off);
    /* check the whole request first: a refused write changes nothing */
    for (uint32_t i = 0; i < n; i++) {
        if (!tl_storage_programmable(cur[i], src[i])) {
            return TL_STORAGE_ERR_NOT_ERASED;
        }
    }
    /* programmable means old & new == new: the file gets the new bytes, then the
     * emulated flash is refreshed from the file */
    if (!sh_write(off, src, n) || !sh_read(off, flash_ptr(off), n)) {
        return TL_STORAGE_ERR_IO;
    }
    return memcmp(flash_ptr(off), src, n) == 0 ? TL_STORAGE_OK : TL_STORAGE_ERR_VERIFY;
}

static tl_storage_err_t sh_dev_erase(const tl_storage_t *dev, uint32_t sector, uint32_t off,
                                     uint32_t size)
{
    (void)dev;
    (void)sector;
    uint8_t ff[FF_CHUNK];
    memset(ff, 0xFF, sizeof ff);
    for (uint32_t done = 0; done < size; done += FF_CHUNK) {
        if (!sh_write(off + done, ff, size - done < FF_CHUNK ? size - done : FF_CHUNK)) {
            return TL_STORAGE_ERR_IO;
        }
    }
    if (!sh_read(off, flash_ptr(off), size)) {
        return TL_STORAGE_ERR_IO;
    }
    const uint32_t *w = (const uint32_t *)(const void *)flash_ptr(off);
    for (uint32_t i = 0; i < size / 4u; i++) {
        if (w[i] != 0xFFFFFFFFu) {
            return TL_STORAGE_ERR_VERIFY;
        }
    }
    return TL_STORAGE_OK;
}

static const tl_storage_ops_t k_sh_ops = {mapped_read, sh_dev_write, sh_dev_erase};

/* ---- selection ---- */

static tl_storage_t g_dev;
static bool g_ready;

bool tl_stm32f4_storage_is_emulated(void)
{
    return EMU_FLAG_WORDS[0] == EMU_FLAG && EMU_FLAG_WORDS[1] == ~EMU_FLAG;
}

const tl_storage_t *tl_platform_storage(void)
{
    if (g_ready) {
        return g_dev.ops != NULL ? &g_dev : NULL;
    }
    (void)s_emu_flag; /* reserves the words at 0x20000000 in the application's RAM map */
    g_ready = true;
    g_dev.regions = k_regions;
    g_dev.region_count = 3u;
    g_dev.write_align = 4u;
    g_dev.mapped = flash_ptr(0);
    if (tl_stm32f4_storage_is_emulated()) {
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
