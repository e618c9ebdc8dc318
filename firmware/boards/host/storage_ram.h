/*
 * storage_ram.h - host storage backend: flash emulated in a caller-provided RAM buffer,
 * with NOR semantics (erase to 0xFF, programming only clears bits) and power-cut
 * injection for tests: after `ops_left` more write/erase operations, the next one is
 * torn (a write programs only its first half, an erase leaves the sector half erased)
 * and fails with TL_STORAGE_ERR_POWER_CUT, as does every operation after it until
 * tl_storage_ram_power_on() ("reboot").
 */
#ifndef TL_HOST_STORAGE_RAM_H
#define TL_HOST_STORAGE_RAM_H

#include <stdbool.h>
#include <stdint.h>

#include "theraloop/storage/storage.h"

typedef struct {
    tl_storage_t dev;
    uint8_t *mem;
    uint32_t size;
    int64_t ops_left;   /* -1: no power cut armed */
    bool powered_off;   /* a power cut happened; everything fails until power_on */
    uint32_t writes;    /* counters (for tests and benchmarks) */
    uint32_t erases;
} tl_storage_ram_t;

/* mem must hold the sum of the regions' sizes; it is not erased here (fill it with
 * 0xFF for a fresh device, or keep it across "reboots"). */
void tl_storage_ram_init(tl_storage_ram_t *s, uint8_t *mem, const tl_storage_region_t *regions,
                         uint32_t region_count, uint32_t write_align);

/* Arm a power cut: `n` more write/erase operations succeed, the next one is torn. */
void tl_storage_ram_cut_after(tl_storage_ram_t *s, int64_t n);

/* Restore power (the RAM contents, like flash, are kept); disarms the cut. */
void tl_storage_ram_power_on(tl_storage_ram_t *s);

#endif /* TL_HOST_STORAGE_RAM_H */
