/*
 * system_state.c - the system state store: a list of sections in one config-store blob
 * on the `state` flash area (see storage/system_state.h).
 */
#include "theraloop/storage/system_state.h"

#include <stddef.h>
#include <string.h>

#include "theraloop/storage/flash_map.h"

#define SEC_HDR 4u /* id u16, len u16 */

static uint32_t pad4(uint32_t n)
{
    return (n + 3u) & ~3u;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* Check the section list of blob[0, len): every section inside the blob, its padding
 * 0xFF, no id twice. */
static bool list_valid(const uint8_t *blob, uint32_t len)
{
    uint32_t off = 0;
    while (off < len) {
        if (len - off < SEC_HDR) {
            return false;
        }
        uint16_t id = get16(&blob[off]);
        uint32_t n = get16(&blob[off + 2u]);
        uint32_t room = len - off - SEC_HDR;
        if (pad4(n) > room) {
            return false;
        }
        for (uint32_t i = n; i < pad4(n); i++) {
            if (blob[off + SEC_HDR + i] != 0xFFu) {
                return false;
            }
        }
        /* an id seen before this section? */
        for (uint32_t o = 0; o < off;) {
            if (get16(&blob[o]) == id) {
                return false;
            }
            o += SEC_HDR + pad4(get16(&blob[o + 2u]));
        }
        off += SEC_HDR + pad4(n);
    }
    return true;
}

/* Offset of section `id` in the RAM copy, or -1. The list is valid (checked at open and
 * kept valid by put/remove). */
static int32_t find(const tl_sysstate_t *st, uint16_t id)
{
    uint32_t off = 0;
    while (off + SEC_HDR <= st->len) {
        if (get16(&st->blob[off]) == id) {
            return (int32_t)off;
        }
        off += SEC_HDR + pad4(get16(&st->blob[off + 2u]));
    }
    return -1;
}

static void clear(tl_sysstate_t *st)
{
    st->len = 0;
    memset(st->blob, 0xFF, sizeof st->blob);
}

tl_cfgstore_err_t tl_sysstate_open(tl_sysstate_t *st, const tl_storage_t *dev)
{
    memset(st, 0, sizeof *st);
    st->store.current = -1;
    clear(st);
    if (dev == NULL) {
        st->store.storage_err = TL_STORAGE_ERR_NO_DEVICE;
        st->load_err = TL_CFGSTORE_STORAGE;
        return st->load_err;
    }
    tl_flash_area_t area;
    if (tl_flash_area_get(dev, TL_AREA_STATE, &area) != TL_STORAGE_OK || area.sector_count != 2u ||
        tl_cfgstore_init(&st->store, dev, area.first_sector, area.first_sector + 1u) !=
            TL_CFGSTORE_OK) {
        st->load_err = TL_CFGSTORE_BAD_LAYOUT;
        return st->load_err;
    }
    uint32_t n = 0;
    tl_cfgstore_err_t err = tl_cfgstore_load(&st->store, st->blob, sizeof st->blob, &n);
    if (err == TL_CFGSTORE_OK && !list_valid(st->blob, n)) {
        err = TL_CFGSTORE_CORRUPT;
    }
    if (err == TL_CFGSTORE_OK) {
        st->len = n;
        /* keep the bytes after the blob erased so that the RAM copy is canonical */
        memset(st->blob + n, 0xFF, sizeof st->blob - n);
    } else {
        clear(st);
    }
    /* EMPTY and CORRUPT: the next commit writes a fresh blob. Anything else (a read
     * error, a blob larger than ours) may hide sections we must not overwrite. */
    st->attached = err == TL_CFGSTORE_OK || err == TL_CFGSTORE_EMPTY || err == TL_CFGSTORE_CORRUPT;
    st->load_err = err;
    return err;
}

bool tl_sysstate_get(const tl_sysstate_t *st, uint16_t id, const uint8_t **data, uint16_t *len)
{
    int32_t off = find(st, id);
    if (off < 0) {
        *data = NULL;
        *len = 0;
        return false;
    }
    *data = &st->blob[(uint32_t)off + SEC_HDR];
    *len = get16(&st->blob[(uint32_t)off + 2u]);
    return true;
}

void tl_sysstate_remove(tl_sysstate_t *st, uint16_t id)
{
    int32_t found = find(st, id);
    if (found < 0) {
        return;
    }
    uint32_t off = (uint32_t)found;
    uint32_t size = SEC_HDR + pad4(get16(&st->blob[off + 2u]));
    memmove(&st->blob[off], &st->blob[off + size], st->len - off - size);
    st->len -= size;
    memset(&st->blob[st->len], 0xFF, sizeof st->blob - st->len);
}

bool tl_sysstate_put(tl_sysstate_t *st, uint16_t id, const void *data, uint16_t len)
{
    if (len > 0u && data == NULL) {
        return false;
    }
    /* data may not point into the blob: removing the old section moves bytes. */
    uintptr_t d = (uintptr_t)data;
    uintptr_t b = (uintptr_t)st->blob;
    if (len > 0u && d < b + sizeof st->blob && b < d + len) {
        return false;
    }
    int32_t found = find(st, id);
    uint32_t old = found < 0 ? 0u : SEC_HDR + pad4(get16(&st->blob[(uint32_t)found + 2u]));
    uint32_t need = SEC_HDR + pad4(len);
    if (st->len - old + need > sizeof st->blob) {
        return false;
    }
    tl_sysstate_remove(st, id);
    uint8_t *p = &st->blob[st->len];
    put16(p, id);
    put16(p + 2, len);
    if (len > 0u) {
        memcpy(p + SEC_HDR, data, len);
    }
    /* padding: the bytes after len are still 0xFF (remove and clear keep them erased) */
    memset(p + SEC_HDR + len, 0xFF, pad4(len) - len);
    st->len += need;
    return true;
}

tl_cfgstore_err_t tl_sysstate_commit(tl_sysstate_t *st)
{
    if (!st->attached) {
        return st->load_err != TL_CFGSTORE_OK ? st->load_err : TL_CFGSTORE_BAD_LAYOUT;
    }
    return tl_cfgstore_save(&st->store, st->blob, st->len);
}
