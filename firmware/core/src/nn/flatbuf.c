/*
 * flatbuf.c - bounds-checked FlatBuffers reader (see flatbuf.h).
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* load-time code: size over speed */
#endif
#include "flatbuf.h"

#include <string.h>

float tl_fb_rd_f32(const uint8_t *p)
{
    uint32_t u = tl_fb_rd_u32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* A uoffset stored at `at` (already known to be inside the buffer) -> target position. */
static tl_nn_status_t follow_uoffset(const tl_fb_t *fb, uint32_t at, uint32_t *target)
{
    if ((at & 3u) != 0) {
        return TL_NN_ERR_MALFORMED;
    }
    if (at > fb->len || fb->len - at < 4u) {
        return TL_NN_ERR_TRUNCATED;
    }
    uint32_t off = tl_fb_rd_u32(fb->buf + at);
    if (off == 0) {
        return TL_NN_ERR_MALFORMED; /* would point at itself */
    }
    if (off > fb->len - at) {
        return TL_NN_ERR_TRUNCATED;
    }
    *target = at + off;
    return TL_NN_OK;
}

tl_nn_status_t tl_fb_table_at(const tl_fb_t *fb, uint32_t pos, tl_fb_table_t *t)
{
    if ((pos & 3u) != 0) {
        return TL_NN_ERR_MALFORMED;
    }
    if (pos > fb->len || fb->len - pos < 4u) {
        return TL_NN_ERR_TRUNCATED;
    }
    int64_t vt = (int64_t)pos - (int64_t)tl_fb_rd_i32(fb->buf + pos);
    if (vt < 0 || vt > (int64_t)fb->len - 4) {
        return TL_NN_ERR_TRUNCATED;
    }
    if ((vt & 1) != 0) {
        return TL_NN_ERR_MALFORMED;
    }
    uint32_t vtu = (uint32_t)vt;
    uint16_t vt_len = tl_fb_rd_u16(fb->buf + vtu);
    uint16_t obj_len = tl_fb_rd_u16(fb->buf + vtu + 2);
    if (vt_len < 4u || (vt_len & 1u) != 0 || obj_len < 4u) {
        return TL_NN_ERR_MALFORMED;
    }
    if ((uint32_t)vt_len > fb->len - vtu || (uint32_t)obj_len > fb->len - pos) {
        return TL_NN_ERR_TRUNCATED;
    }
    t->pos = pos;
    t->vt = vtu;
    t->vt_len = vt_len;
    t->obj_len = obj_len;
    return TL_NN_OK;
}

tl_nn_status_t tl_fb_root(const tl_fb_t *fb, const char ident[4], tl_fb_table_t *root)
{
    if (fb->buf == NULL) {
        return TL_NN_ERR_ARG;
    }
    if (fb->len < 8u) {
        return TL_NN_ERR_TRUNCATED;
    }
    if (ident != NULL && memcmp(fb->buf + 4, ident, 4) != 0) {
        return TL_NN_ERR_BAD_IDENTIFIER;
    }
    uint32_t pos;
    tl_nn_status_t st = follow_uoffset(fb, 0, &pos);
    if (st != TL_NN_OK) {
        return st;
    }
    return tl_fb_table_at(fb, pos, root);
}

tl_nn_status_t tl_fb_field(const tl_fb_t *fb, const tl_fb_table_t *t, uint16_t id,
                           uint32_t size, uint32_t *pos)
{
    *pos = 0;
    uint32_t slot = 4u + 2u * (uint32_t)id;
    if (slot + 2u > t->vt_len) {
        return TL_NN_OK; /* vtable shorter than the field id: absent */
    }
    uint16_t voff = tl_fb_rd_u16(fb->buf + t->vt + slot);
    if (voff == 0) {
        return TL_NN_OK;
    }
    if (voff < 4u || (uint32_t)voff + size > t->obj_len) {
        return TL_NN_ERR_MALFORMED;
    }
    uint32_t p = t->pos + voff;
    /* Scalars are aligned to their size relative to the buffer start. */
    if (size > 1u && (p & (size - 1u)) != 0) {
        return TL_NN_ERR_MALFORMED;
    }
    *pos = p;
    return TL_NN_OK;
}

tl_nn_status_t tl_fb_u8(const tl_fb_t *fb, const tl_fb_table_t *t, uint16_t id, uint8_t def,
                        uint8_t *out)
{
    uint32_t p;
    tl_nn_status_t st = tl_fb_field(fb, t, id, 1, &p);
    *out = (st == TL_NN_OK && p != 0) ? fb->buf[p] : def;
    return st;
}

tl_nn_status_t tl_fb_i8(const tl_fb_t *fb, const tl_fb_table_t *t, uint16_t id, int8_t def,
                        int8_t *out)
{
    uint8_t u;
    tl_nn_status_t st = tl_fb_u8(fb, t, id, (uint8_t)def, &u);
    *out = (int8_t)u;
    return st;
}

tl_nn_status_t tl_fb_u32(const tl_fb_t *fb, const tl_fb_table_t *t, uint16_t id, uint32_t def,
                         uint32_t *out)
{
    uint32_t p;
    tl_nn_status_t st = tl_fb_field(fb, t, id, 4, &p);
    *out = (st == TL_NN_OK && p != 0) ? tl_fb_rd_u32(fb->buf + p) : def;
    return st;
}

tl_nn_status_t tl_fb_i32(const tl_fb_t *fb, const tl_fb_table_t *t, uint16_t id, int32_t def,
                         int32_t *out)
{
    uint32_t u;
    tl_nn_status_t st = tl_fb_u32(fb, t, id, (uint32_t)def, &u);
    *out = (int32_t)u;
    return st;
}

tl_nn_status_t tl_fb_u64(const tl_fb_t *fb, const tl_fb_table_t *t, uint16_t id, uint64_t def,
                         uint64_t *out)
{
    uint32_t p;
    tl_nn_status_t st = tl_fb_field(fb, t, id, 8, &p);
    *out = (st == TL_NN_OK && p != 0) ? tl_fb_rd_u64(fb->buf + p) : def;
    return st;
}

tl_nn_status_t tl_fb_f32(const tl_fb_t *fb, const tl_fb_table_t *t, uint16_t id, float def,
                         float *out)
{
    uint32_t p;
    tl_nn_status_t st = tl_fb_field(fb, t, id, 4, &p);
    *out = (st == TL_NN_OK && p != 0) ? tl_fb_rd_f32(fb->buf + p) : def;
    return st;
}

tl_nn_status_t tl_fb_table_field(const tl_fb_t *fb, const tl_fb_table_t *t, uint16_t id,
                                 tl_fb_table_t *out, bool *present)
{
    *present = false;
    uint32_t p;
    tl_nn_status_t st = tl_fb_field(fb, t, id, 4, &p);
    if (st != TL_NN_OK || p == 0) {
        return st;
    }
    uint32_t target;
    st = follow_uoffset(fb, p, &target);
    if (st != TL_NN_OK) {
        return st;
    }
    st = tl_fb_table_at(fb, target, out);
    if (st == TL_NN_OK) {
        *present = true;
    }
    return st;
}

tl_nn_status_t tl_fb_vec_field(const tl_fb_t *fb, const tl_fb_table_t *t, uint16_t id,
                               uint32_t elem_size, tl_fb_vec_t *out, bool *present)
{
    out->pos = 0;
    out->n = 0;
    if (present != NULL) {
        *present = false;
    }
    uint32_t p;
    tl_nn_status_t st = tl_fb_field(fb, t, id, 4, &p);
    if (st != TL_NN_OK || p == 0) {
        return st;
    }
    uint32_t vpos;
    st = follow_uoffset(fb, p, &vpos);
    if (st != TL_NN_OK) {
        return st;
    }
    if ((vpos & 3u) != 0) {
        return TL_NN_ERR_MALFORMED;
    }
    if (fb->len - vpos < 4u) {
        return TL_NN_ERR_TRUNCATED;
    }
    uint32_t n = tl_fb_rd_u32(fb->buf + vpos);
    uint64_t need = (uint64_t)n * elem_size;
    if (need > (uint64_t)(fb->len - vpos - 4u)) {
        return TL_NN_ERR_TRUNCATED;
    }
    out->pos = vpos + 4u;
    out->n = n;
    if (present != NULL) {
        *present = true;
    }
    return TL_NN_OK;
}

tl_nn_status_t tl_fb_vec_table(const tl_fb_t *fb, const tl_fb_vec_t *v, uint32_t i,
                               tl_fb_table_t *out)
{
    if (i >= v->n) {
        return TL_NN_ERR_ARG;
    }
    uint32_t target;
    tl_nn_status_t st = follow_uoffset(fb, v->pos + 4u * i, &target);
    if (st != TL_NN_OK) {
        return st;
    }
    return tl_fb_table_at(fb, target, out);
}
