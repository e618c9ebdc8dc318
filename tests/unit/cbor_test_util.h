/*
 * cbor_test_util.h - a small CBOR writer (requests) and reader (responses) for the image
 * group tests, written independently of zcbor. Header-only; every function is static.
 */
#ifndef CBOR_TEST_UTIL_H
#define CBOR_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* --- writer --------------------------------------------------------------------------- */

typedef struct {
    uint8_t buf[4096];
    size_t n;
    bool overflow;
} cw_t;

static inline void cw_head(cw_t *c, uint8_t major, uint64_t v)
{
    if (c->n + 9u > sizeof(c->buf)) {
        c->overflow = true;
        return;
    }
    uint8_t mt = (uint8_t)(major << 5);
    if (v < 24u) {
        c->buf[c->n++] = (uint8_t)(mt | v);
    } else if (v <= 0xFFu) {
        c->buf[c->n++] = (uint8_t)(mt | 24u);
        c->buf[c->n++] = (uint8_t)v;
    } else if (v <= 0xFFFFu) {
        c->buf[c->n++] = (uint8_t)(mt | 25u);
        c->buf[c->n++] = (uint8_t)(v >> 8);
        c->buf[c->n++] = (uint8_t)v;
    } else if (v <= 0xFFFFFFFFu) {
        c->buf[c->n++] = (uint8_t)(mt | 26u);
        for (int s = 24; s >= 0; s -= 8) {
            c->buf[c->n++] = (uint8_t)(v >> s);
        }
    } else {
        c->buf[c->n++] = (uint8_t)(mt | 27u);
        for (int s = 56; s >= 0; s -= 8) {
            c->buf[c->n++] = (uint8_t)(v >> s);
        }
    }
}

static inline void cw_bytes(cw_t *c, uint8_t major, const void *p, size_t len)
{
    cw_head(c, major, len);
    if (len > sizeof(c->buf) - c->n) {
        c->overflow = true;
        return;
    }
    memcpy(c->buf + c->n, p, len);
    c->n += len;
}

static inline void cw_map(cw_t *c, size_t entries)
{
    cw_head(c, 5, entries);
}
static inline void cw_key(cw_t *c, const char *k)
{
    cw_bytes(c, 3, k, strlen(k));
}
static inline void cw_uint(cw_t *c, const char *k, uint64_t v)
{
    cw_key(c, k);
    cw_head(c, 0, v);
}
static inline void cw_bstr(cw_t *c, const char *k, const void *p, size_t len)
{
    cw_key(c, k);
    cw_bytes(c, 2, p, len);
}
static inline void cw_bool(cw_t *c, const char *k, bool v)
{
    cw_key(c, k);
    if (c->n < sizeof(c->buf)) {
        c->buf[c->n++] = v ? 0xF5u : 0xF4u;
    }
}

/* --- reader --------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t n;
    size_t pos;
} cr_t;

typedef struct {
    uint8_t major;
    uint64_t arg;
    bool indefinite;
} cr_head_t;

static inline bool cr_head(cr_t *r, cr_head_t *h)
{
    if (r->pos >= r->n) {
        return false;
    }
    uint8_t b = r->p[r->pos++];
    h->major = (uint8_t)(b >> 5);
    uint8_t ai = (uint8_t)(b & 31u);
    h->indefinite = false;
    if (ai < 24u) {
        h->arg = ai;
    } else if (ai <= 27u) {
        size_t k = (size_t)1u << (ai - 24u);
        if (k > r->n - r->pos) {
            return false;
        }
        h->arg = 0;
        for (size_t i = 0; i < k; i++) {
            h->arg = (h->arg << 8) | r->p[r->pos++];
        }
    } else if (ai == 31u && (h->major == 4u || h->major == 5u)) {
        h->indefinite = true;
        h->arg = 0;
    } else {
        return false;
    }
    return true;
}

static inline bool cr_at_break(cr_t *r)
{
    return r->pos < r->n && r->p[r->pos] == 0xFFu;
}

static inline bool cr_skip(cr_t *r, int depth)
{
    cr_head_t h;
    if (depth > 8 || !cr_head(r, &h)) {
        return false;
    }
    switch (h.major) {
    case 0: case 1: case 7:
        return true;
    case 2: case 3:
        if (h.arg > r->n - r->pos) {
            return false;
        }
        r->pos += (size_t)h.arg;
        return true;
    case 4: case 5: {
        uint64_t per = (h.major == 5u) ? 2u : 1u;
        if (h.indefinite) {
            while (!cr_at_break(r)) {
                for (uint64_t k = 0; k < per; k++) {
                    if (!cr_skip(r, depth + 1)) {
                        return false;
                    }
                }
            }
            r->pos++;
            return true;
        }
        for (uint64_t i = 0; i < h.arg * per; i++) {
            if (!cr_skip(r, depth + 1)) {
                return false;
            }
        }
        return true;
    }
    default:
        return false;
    }
}

/* Position `val` at the value of text key `key` in the map at r's position. */
static inline bool cr_find(cr_t r, const char *key, cr_t *val)
{
    cr_head_t h;
    if (!cr_head(&r, &h) || h.major != 5u) {
        return false;
    }
    for (uint64_t i = 0; h.indefinite ? !cr_at_break(&r) : i < h.arg; i++) {
        cr_head_t k;
        size_t key_pos = r.pos;
        if (!cr_head(&r, &k)) {
            return false;
        }
        if (k.major == 3u && k.arg == strlen(key) && k.arg <= r.n - r.pos &&
            memcmp(r.p + r.pos, key, (size_t)k.arg) == 0) {
            r.pos += (size_t)k.arg;
            *val = r;
            return true;
        }
        r.pos = key_pos;
        if (!cr_skip(&r, 0) || !cr_skip(&r, 0)) {
            return false;
        }
    }
    return false;
}

static inline bool cr_uint(cr_t r, const char *key, uint64_t *out)
{
    cr_t v;
    cr_head_t h;
    if (!cr_find(r, key, &v) || !cr_head(&v, &h) || h.major != 0u) {
        return false;
    }
    *out = h.arg;
    return true;
}

static inline bool cr_bool(cr_t r, const char *key, bool *out)
{
    cr_t v;
    if (!cr_find(r, key, &v) || v.pos >= v.n) {
        return false;
    }
    uint8_t b = v.p[v.pos];
    if (b != 0xF4u && b != 0xF5u) {
        return false;
    }
    *out = (b == 0xF5u);
    return true;
}

/* Byte or text string value: pointer into the buffer. */
static inline bool cr_str(cr_t r, const char *key, uint8_t major, const uint8_t **p,
                          size_t *len)
{
    cr_t v;
    cr_head_t h;
    if (!cr_find(r, key, &v) || !cr_head(&v, &h) || h.major != major ||
        h.arg > v.n - v.pos) {
        return false;
    }
    *p = v.p + v.pos;
    *len = (size_t)h.arg;
    return true;
}

/* Number of top-level keys of the map at r. */
static inline int cr_map_size(cr_t r)
{
    cr_head_t h;
    if (!cr_head(&r, &h) || h.major != 5u) {
        return -1;
    }
    int n = 0;
    for (uint64_t i = 0; h.indefinite ? !cr_at_break(&r) : i < h.arg; i++) {
        if (!cr_skip(&r, 0) || !cr_skip(&r, 0)) {
            return -1;
        }
        n++;
    }
    return n;
}

#endif /* CBOR_TEST_UTIL_H */
