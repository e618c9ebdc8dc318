/*
 * storage/storage.h - a flash-like storage device, the same interface on every backend.
 *
 * A device is a byte range [0, size) divided into erase sectors (sizes may differ, as on
 * the STM32F4). It behaves like NOR flash on every backend:
 *   - erase(sector) sets every byte of the sector to 0xFF;
 *   - write(off, data, n) can only clear bits (1 -> 0). Offset and length must be
 *     multiples of write_align. A write that would need to set a bit fails with
 *     TL_STORAGE_ERR_NOT_ERASED and changes nothing;
 *   - read(off, buf, n) has no alignment rule.
 * Backends: STM32F4 flash controller and a semihosting flash file (firmware/boards/stm32f4),
 * a RAM image with power-cut injection (firmware/boards/host). Upper layers (config store,
 * model slots) call only the tl_storage_* functions below, which check ranges and
 * alignment before a backend sees the request. See docs/storage.md.
 */
#ifndef THERALOOP_STORAGE_STORAGE_H
#define THERALOOP_STORAGE_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TL_STORAGE_OK = 0,
    TL_STORAGE_ERR_RANGE = 1,       /* outside the device, or sector index out of range */
    TL_STORAGE_ERR_ALIGN = 2,       /* write offset/length not a multiple of write_align */
    TL_STORAGE_ERR_NOT_ERASED = 3,  /* write would need a 0 -> 1 transition */
    TL_STORAGE_ERR_IO = 4,          /* backend failure (host file I/O, controller error) */
    TL_STORAGE_ERR_PROTECTED = 5,   /* write-protected sector (STM32F4 WRPERR) */
    TL_STORAGE_ERR_VERIFY = 6,      /* read-back after programming differs */
    TL_STORAGE_ERR_POWER_CUT = 7,   /* injected power loss (host test backend only) */
    TL_STORAGE_ERR_NO_DEVICE = 8,   /* no storage on this board/run */
} tl_storage_err_t;

/* Stable lower-case name of an error ("not_erased", ...). */
const char *tl_storage_err_name(uint32_t err);

/* One run of equal sectors: `count` sectors of `size` bytes each. */
typedef struct {
    uint32_t count;
    uint32_t size;
} tl_storage_region_t;

typedef struct tl_storage tl_storage_t;

/* Backend operations. Called only with requests already checked by tl_storage_*. */
typedef struct {
    tl_storage_err_t (*read)(const tl_storage_t *dev, uint32_t off, void *buf, uint32_t n);
    tl_storage_err_t (*write)(const tl_storage_t *dev, uint32_t off, const void *data,
                              uint32_t n);
    /* Erase [off, off + size) which is exactly one sector. */
    tl_storage_err_t (*erase)(const tl_storage_t *dev, uint32_t sector, uint32_t off,
                              uint32_t size);
} tl_storage_ops_t;

struct tl_storage {
    const tl_storage_ops_t *ops;
    void *ctx;                          /* backend state */
    const char *name;                   /* "stm32f4-flash", "semihost-file", "ram" */
    const tl_storage_region_t *regions; /* sector geometry, in address order */
    uint32_t region_count;
    uint32_t write_align;               /* program granularity in bytes (power of two) */
    /* The contents as memory (STM32F4 flash at 0x08000000, the host's RAM image), or NULL
     * if the device cannot be read through a pointer. A model can then run in place. */
    const uint8_t *mapped;
};

/* Total size in bytes and number of sectors. */
uint32_t tl_storage_size(const tl_storage_t *dev);
uint32_t tl_storage_sector_count(const tl_storage_t *dev);
/* Offset and size of sector `index`; TL_STORAGE_ERR_RANGE if there is none. */
tl_storage_err_t tl_storage_sector(const tl_storage_t *dev, uint32_t index, uint32_t *off,
                                   uint32_t *size);

tl_storage_err_t tl_storage_read(const tl_storage_t *dev, uint32_t off, void *buf, uint32_t n);
tl_storage_err_t tl_storage_write(const tl_storage_t *dev, uint32_t off, const void *data,
                                  uint32_t n);
tl_storage_err_t tl_storage_erase(const tl_storage_t *dev, uint32_t sector);

/* Pointer to bytes [off, off + n) of a memory-mapped device; NULL if the device is not
 * mapped or the range is outside it. Valid until the bytes are erased or written. */
const uint8_t *tl_storage_mapped(const tl_storage_t *dev, uint32_t off, uint32_t n);

/* True if `a` can be turned into `b` by programming only (every 1 bit of b is 1 in a). */
static inline int tl_storage_programmable(uint8_t a, uint8_t b)
{
    return (uint8_t)(a & b) == b;
}

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_STORAGE_STORAGE_H */
