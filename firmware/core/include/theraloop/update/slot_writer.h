/*
 * update/slot_writer.h - write an upload into a flash area chunk by chunk: sectors are
 * erased lazily just before the first byte lands in them, bytes are programmed in
 * write_align units (a short tail waits in RAM until the next chunk or finish), and every
 * chunk must start where the previous one ended (the SMP upload's `off`).
 */
#ifndef THERALOOP_UPDATE_SLOT_WRITER_H
#define THERALOOP_UPDATE_SLOT_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "theraloop/storage/flash_map.h"
#include "theraloop/storage/storage.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const tl_storage_t *dev;
    tl_flash_area_t area;
    uint32_t len;           /* announced total */
    uint32_t off;           /* bytes accepted so far (programmed + pending) */
    uint32_t erased_until;  /* area offset up to which sectors are erased */
    uint8_t pending[8];     /* accepted bytes not yet programmed (< write_align) */
    uint8_t pending_len;
    uint8_t reserved[3];
    tl_storage_err_t err;   /* last storage error */
} tl_slot_writer_t;

typedef enum {
    TL_SLOTW_OK = 0,
    TL_SLOTW_TOO_BIG = 1,    /* len larger than the area */
    TL_SLOTW_BAD_OFFSET = 2, /* chunk does not start at w->off */
    TL_SLOTW_OVERRUN = 3,    /* chunk runs past len */
    TL_SLOTW_STORAGE = 4,    /* erase/program failed: see w->err */
} tl_slotw_err_t;

tl_slotw_err_t tl_slot_writer_begin(tl_slot_writer_t *w, const tl_storage_t *dev,
                                    const tl_flash_area_t *area, uint32_t len);
tl_slotw_err_t tl_slot_writer_write(tl_slot_writer_t *w, uint32_t off, const uint8_t *data,
                                    uint32_t n);
/* All len bytes received: program the tail (padded with 0xFF). */
tl_slotw_err_t tl_slot_writer_finish(tl_slot_writer_t *w);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_UPDATE_SLOT_WRITER_H */
