/*
 * config_store.c - two-copy, CRC-checked configuration store (see storage/config_store.h).
 */
#include "theraloop/storage/config_store.h"

#include <string.h>

#include "theraloop/storage/crc32.h"

#define CHUNK 64u /* bytes moved per storage call: stack only, no big buffers */

const char *tl_cfgstore_err_name(uint32_t err)
{
    switch (err) {
    case TL_CFGSTORE_OK: return "ok";
    case TL_CFGSTORE_EMPTY: return "empty";
    case TL_CFGSTORE_CORRUPT: return "corrupt";
    case TL_CFGSTORE_TOO_BIG: return "too_big";
    case TL_CFGSTORE_STORAGE: return "storage";
    case TL_CFGSTORE_BAD_LAYOUT: return "bad_layout";
    default: return "unknown";
    }
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Newer in serial-number arithmetic (a wrapped counter still orders correctly). */
static bool seq_newer(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}

tl_cfgstore_err_t tl_cfgstore_init(tl_cfgstore_t *cs, const tl_storage_t *dev,
                                   uint32_t sector_a, uint32_t sector_b)
{
    memset(cs, 0, sizeof *cs);
    cs->current = -1;
    uint32_t off = 0;
    uint32_t size = 0;
    if (dev == NULL) {
        return TL_CFGSTORE_BAD_LAYOUT;
    }
    if (sector_a == sector_b || dev->write_align > CHUNK || (CHUNK % dev->write_align) != 0u ||
        TL_CFGSTORE_HDR_LEN % dev->write_align != 0u ||
        tl_storage_sector(dev, sector_a, &off, &size) != TL_STORAGE_OK ||
        size <= TL_CFGSTORE_HDR_LEN ||
        tl_storage_sector(dev, sector_b, &off, &size) != TL_STORAGE_OK ||
        size <= TL_CFGSTORE_HDR_LEN) {
        return TL_CFGSTORE_BAD_LAYOUT;
    }
    cs->dev = dev;
    cs->sector[0] = sector_a;
    cs->sector[1] = sector_b;
    return TL_CFGSTORE_OK;
}

typedef enum { COPY_VALID, COPY_ERASED, COPY_BAD, COPY_IO } copy_state_t;

/* Check one copy; on COPY_VALID sets *seq and *len. */
static copy_state_t check_copy(tl_cfgstore_t *cs, int copy, uint32_t *seq, uint32_t *len)
{
    uint32_t base = 0;
    uint32_t size = 0;
    (void)tl_storage_sector(cs->dev, cs->sector[copy], &base, &size);
    uint8_t hdr[TL_CFGSTORE_HDR_LEN];
    tl_storage_err_t e = tl_storage_read(cs->dev, base, hdr, sizeof hdr);
    if (e != TL_STORAGE_OK) {
        cs->storage_err = e;
        return COPY_IO;
    }
    bool erased = true;
    for (size_t i = 0; i < sizeof hdr; i++) {
        erased = erased && hdr[i] == 0xFFu;
    }
    if (erased) {
        return COPY_ERASED;
    }
    uint32_t n = get32(&hdr[12]);
    if (get32(&hdr[0]) != TL_CFGSTORE_MAGIC ||
        (hdr[4] | (hdr[5] << 8)) != (int)TL_CFGSTORE_VERSION ||
        (hdr[6] | (hdr[7] << 8)) != (int)TL_CFGSTORE_HDR_LEN || n > size - TL_CFGSTORE_HDR_LEN) {
        return COPY_BAD;
    }
    uint32_t crc = 0;
    uint8_t chunk[CHUNK];
    for (uint32_t done = 0; done < n;) {
        uint32_t k = n - done < CHUNK ? n - done : CHUNK;
        e = tl_storage_read(cs->dev, base + TL_CFGSTORE_HDR_LEN + done, chunk, k);
        if (e != TL_STORAGE_OK) {
            cs->storage_err = e;
            return COPY_IO;
        }
        crc = tl_crc32(crc, chunk, k);
        done += k;
    }
    crc = tl_crc32(crc, hdr, 16);
    if (crc != get32(&hdr[16])) {
        return COPY_BAD;
    }
    *seq = get32(&hdr[8]);
    *len = n;
    return COPY_VALID;
}

/* Examine both copies; returns the overall load status (OK/EMPTY/CORRUPT/STORAGE) and
 * leaves current/seq/valid_mask set. */
static tl_cfgstore_err_t scan(tl_cfgstore_t *cs, uint32_t *len)
{
    cs->current = -1;
    cs->valid_mask = 0;
    cs->storage_err = TL_STORAGE_OK;
    bool all_erased = true;
    bool io = false;
    for (int c = 0; c < 2; c++) {
        uint32_t seq = 0;
        uint32_t n = 0;
        copy_state_t st = check_copy(cs, c, &seq, &n);
        all_erased = all_erased && st == COPY_ERASED;
        io = io || st == COPY_IO;
        if (st != COPY_VALID) {
            continue;
        }
        cs->valid_mask |= (uint8_t)(1u << c);
        if (cs->current < 0 || seq_newer(seq, cs->seq)) {
            cs->current = (int8_t)c;
            cs->seq = seq;
            *len = n;
        }
    }
    if (cs->current >= 0) {
        return TL_CFGSTORE_OK;
    }
    if (io) {
        return TL_CFGSTORE_STORAGE;
    }
    return all_erased ? TL_CFGSTORE_EMPTY : TL_CFGSTORE_CORRUPT;
}

tl_cfgstore_err_t tl_cfgstore_load(tl_cfgstore_t *cs, uint8_t *buf, uint32_t cap,
                                   uint32_t *len)
{
    *len = 0;
    if (cs->dev == NULL) {
        return TL_CFGSTORE_BAD_LAYOUT;
    }
    uint32_t n = 0;
    tl_cfgstore_err_t err = scan(cs, &n);
    if (err != TL_CFGSTORE_OK) {
        return err;
    }
    if (n > cap) {
        return TL_CFGSTORE_TOO_BIG;
    }
    uint32_t base = 0;
    uint32_t size = 0;
    (void)tl_storage_sector(cs->dev, cs->sector[cs->current], &base, &size);
    tl_storage_err_t e = tl_storage_read(cs->dev, base + TL_CFGSTORE_HDR_LEN, buf, n);
    if (e != TL_STORAGE_OK) {
        cs->storage_err = e;
        return TL_CFGSTORE_STORAGE;
    }
    /* The copy was checked from flash; check what we hand out as well. */
    uint32_t dummy_seq = 0;
    uint32_t dummy_len = 0;
    if (check_copy(cs, cs->current, &dummy_seq, &dummy_len) != COPY_VALID) {
        return TL_CFGSTORE_CORRUPT;
    }
    *len = n;
    return TL_CFGSTORE_OK;
}

static tl_cfgstore_err_t storage_fail(tl_cfgstore_t *cs, tl_storage_err_t e)
{
    cs->storage_err = e;
    return TL_CFGSTORE_STORAGE;
}

tl_cfgstore_err_t tl_cfgstore_save(tl_cfgstore_t *cs, const uint8_t *data, uint32_t len)
{
    if (cs->dev == NULL) {
        return TL_CFGSTORE_BAD_LAYOUT;
    }
    uint32_t old_len = 0;
    tl_cfgstore_err_t st = scan(cs, &old_len);
    if (st == TL_CFGSTORE_STORAGE) {
        return st;
    }
    int target = cs->current < 0 ? 0 : 1 - cs->current;
    uint32_t seq = cs->current < 0 ? 1u : cs->seq + 1u;
    uint32_t base = 0;
    uint32_t size = 0;
    (void)tl_storage_sector(cs->dev, cs->sector[target], &base, &size);
    if (len > size - TL_CFGSTORE_HDR_LEN) {
        return TL_CFGSTORE_TOO_BIG;
    }

    tl_storage_err_t e = tl_storage_erase(cs->dev, cs->sector[target]);
    if (e != TL_STORAGE_OK) {
        return storage_fail(cs, e);
    }
    /* 1. payload, padded with 0xFF to the write granularity */
    const uint32_t align = cs->dev->write_align;
    uint8_t chunk[CHUNK];
    for (uint32_t done = 0; done < len;) {
        uint32_t k = len - done < CHUNK ? len - done : CHUNK;
        memset(chunk, 0xFF, sizeof chunk);
        memcpy(chunk, data + done, k);
        uint32_t padded = (k + align - 1u) & ~(align - 1u);
        e = tl_storage_write(cs->dev, base + TL_CFGSTORE_HDR_LEN + done, chunk, padded);
        if (e != TL_STORAGE_OK) {
            return storage_fail(cs, e);
        }
        done += k;
    }
    /* 2. header last: programming it commits the copy */
    uint8_t hdr[TL_CFGSTORE_HDR_LEN];
    memset(hdr, 0xFF, sizeof hdr);
    put32(&hdr[0], TL_CFGSTORE_MAGIC);
    hdr[4] = (uint8_t)TL_CFGSTORE_VERSION;
    hdr[5] = 0;
    hdr[6] = (uint8_t)TL_CFGSTORE_HDR_LEN;
    hdr[7] = 0;
    put32(&hdr[8], seq);
    put32(&hdr[12], len);
    uint32_t crc = tl_crc32(0, data, len);
    put32(&hdr[16], tl_crc32(crc, hdr, 16));
    e = tl_storage_write(cs->dev, base, hdr, sizeof hdr);
    if (e != TL_STORAGE_OK) {
        return storage_fail(cs, e);
    }
    /* 3. verify from the medium */
    uint32_t vseq = 0;
    uint32_t vlen = 0;
    copy_state_t v = check_copy(cs, target, &vseq, &vlen);
    if (v == COPY_IO) {
        return TL_CFGSTORE_STORAGE;
    }
    if (v != COPY_VALID || vseq != seq || vlen != len) {
        return storage_fail(cs, TL_STORAGE_ERR_VERIFY);
    }
    for (uint32_t done = 0; done < len;) {
        uint32_t k = len - done < CHUNK ? len - done : CHUNK;
        e = tl_storage_read(cs->dev, base + TL_CFGSTORE_HDR_LEN + done, chunk, k);
        if (e != TL_STORAGE_OK) {
            return storage_fail(cs, e);
        }
        if (memcmp(chunk, data + done, k) != 0) {
            return storage_fail(cs, TL_STORAGE_ERR_VERIFY);
        }
        done += k;
    }
    cs->current = (int8_t)target;
    cs->seq = seq;
    cs->valid_mask |= (uint8_t)(1u << target);
    return TL_CFGSTORE_OK;
}
