/*
 * slot_writer.c - chunked writes of an upload into a flash area (see update/slot_writer.h).
 *
 * Offsets below are relative to the area unless named `dev_off`. Invariants between calls:
 *   off = bytes accepted; off - pending_len bytes are programmed and that count is a
 *   multiple of write_align; erased_until is a sector boundary >= what was programmed.
 * A chunk with a wrong offset or one running past `len` changes nothing. After a storage
 * error the writer is unusable (begin again).
 */
#include "theraloop/update/slot_writer.h"

#include <stddef.h>
#include <string.h>

/* Erase the area's sectors until [0, end) is erased. */
static tl_slotw_err_t erase_until(tl_slot_writer_t *w, uint32_t end)
{
    while (w->erased_until < end) {
        bool found = false;
        for (uint32_t i = 0; i < w->area.sector_count; i++) {
            uint32_t s_off = 0;
            uint32_t s_size = 0;
            tl_storage_err_t e = tl_storage_sector(w->dev, w->area.first_sector + i, &s_off,
                                                   &s_size);
            if (e != TL_STORAGE_OK) {
                w->err = e;
                return TL_SLOTW_STORAGE;
            }
            if (s_off - w->area.off == w->erased_until) {
                e = tl_storage_erase(w->dev, w->area.first_sector + i);
                if (e != TL_STORAGE_OK) {
                    w->err = e;
                    return TL_SLOTW_STORAGE;
                }
                w->erased_until += s_size;
                found = true;
                break;
            }
        }
        if (!found) {
            w->err = TL_STORAGE_ERR_RANGE; /* the area does not match the device */
            return TL_SLOTW_STORAGE;
        }
    }
    return TL_SLOTW_OK;
}

/* Program n (a multiple of write_align) bytes at area offset `at`, erasing first. */
static tl_slotw_err_t program(tl_slot_writer_t *w, uint32_t at, const uint8_t *data, uint32_t n)
{
    tl_slotw_err_t r = erase_until(w, at + n);
    if (r != TL_SLOTW_OK) {
        return r;
    }
    tl_storage_err_t e = tl_storage_write(w->dev, w->area.off + at, data, n);
    if (e != TL_STORAGE_OK) {
        w->err = e;
        return TL_SLOTW_STORAGE;
    }
    return TL_SLOTW_OK;
}

tl_slotw_err_t tl_slot_writer_begin(tl_slot_writer_t *w, const tl_storage_t *dev,
                                    const tl_flash_area_t *area, uint32_t len)
{
    if (w == NULL) {
        return TL_SLOTW_STORAGE;
    }
    memset(w, 0, sizeof(*w));
    if (dev == NULL || area == NULL) {
        w->err = TL_STORAGE_ERR_NO_DEVICE;
        return TL_SLOTW_STORAGE;
    }
    uint32_t align = dev->write_align;
    if (align == 0u || align > sizeof(w->pending) || (align & (align - 1u)) != 0u ||
        area->off % align != 0u || area->size % align != 0u) {
        w->err = TL_STORAGE_ERR_ALIGN;
        return TL_SLOTW_STORAGE;
    }
    if (len > area->size) {
        return TL_SLOTW_TOO_BIG;
    }
    w->dev = dev;
    w->area = *area;
    w->len = len;
    return TL_SLOTW_OK;
}

tl_slotw_err_t tl_slot_writer_write(tl_slot_writer_t *w, uint32_t off, const uint8_t *data,
                                    uint32_t n)
{
    if (w == NULL || w->dev == NULL || (data == NULL && n > 0u)) {
        return TL_SLOTW_STORAGE;
    }
    if (off != w->off) {
        return TL_SLOTW_BAD_OFFSET;
    }
    if (n > w->len - w->off) {
        return TL_SLOTW_OVERRUN;
    }
    uint32_t align = w->dev->write_align;
    while (n > 0u) {
        if (w->pending_len > 0u || n < align) {
            /* Fill the RAM tail; program it once it holds a whole unit. */
            uint32_t take = align - w->pending_len;
            if (take > n) {
                take = n;
            }
            memcpy(&w->pending[w->pending_len], data, take);
            w->pending_len = (uint8_t)(w->pending_len + take);
            w->off += take;
            data += take;
            n -= take;
            if (w->pending_len == align) {
                tl_slotw_err_t r = program(w, w->off - align, w->pending, align);
                if (r != TL_SLOTW_OK) {
                    return r;
                }
                w->pending_len = 0;
            }
        } else {
            /* Aligned bulk straight from the chunk. */
            uint32_t bulk = n & ~(align - 1u);
            tl_slotw_err_t r = program(w, w->off, data, bulk);
            if (r != TL_SLOTW_OK) {
                return r;
            }
            w->off += bulk;
            data += bulk;
            n -= bulk;
        }
    }
    return TL_SLOTW_OK;
}

tl_slotw_err_t tl_slot_writer_finish(tl_slot_writer_t *w)
{
    if (w == NULL || w->dev == NULL) {
        return TL_SLOTW_STORAGE;
    }
    if (w->off != w->len) {
        return TL_SLOTW_BAD_OFFSET; /* bytes are missing */
    }
    uint32_t align = w->dev->write_align;
    if (w->pending_len > 0u) {
        uint8_t unit[sizeof(w->pending)];
        memset(unit, 0xFF, sizeof(unit));
        memcpy(unit, w->pending, w->pending_len);
        tl_slotw_err_t r = program(w, w->off - w->pending_len, unit, align);
        if (r != TL_SLOTW_OK) {
            return r;
        }
        w->pending_len = 0;
    }
    return TL_SLOTW_OK;
}
