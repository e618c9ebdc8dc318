/*
 * flatbuf.h - a minimal, read-only, bounds-checked FlatBuffers reader.
 *
 * Reads a buffer in place. Every uoffset, soffset, vtable, vector length and scalar
 * position is checked against the buffer size and the alignment FlatBuffers guarantees
 * (relative to the start of the buffer) before it is used, so an arbitrary byte string
 * can never make the reader touch memory outside [buf, buf + len). There is no
 * recursion: the schema-driven caller decides how deep it goes.
 *
 * Errors: TL_NN_ERR_TRUNCATED when something points past the end of the buffer,
 * TL_NN_ERR_MALFORMED for misalignment, inconsistent vtables and the like.
 */
#ifndef TL_NN_FLATBUF_H
#define TL_NN_FLATBUF_H

#include <stdbool.h>
#include <stdint.h>

#include "theraloop/nn/engine.h"

typedef struct {
    const uint8_t *buf;
    uint32_t len;
} tl_fb_t;

/* A validated table: its position, its vtable and their sizes. */
typedef struct {
    uint32_t pos;
    uint32_t vt;
    uint16_t vt_len;
    uint16_t obj_len;
} tl_fb_table_t;

/* A validated vector: position of element 0 and element count. */
typedef struct {
    uint32_t pos;
    uint32_t n;
} tl_fb_vec_t;

/* Little-endian loads (no alignment requirement). Callers pass validated positions. */
static inline uint16_t tl_fb_rd_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)(p[1] << 8));
}
static inline uint32_t tl_fb_rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
static inline int32_t tl_fb_rd_i32(const uint8_t *p)
{
    return (int32_t)tl_fb_rd_u32(p);
}
static inline uint64_t tl_fb_rd_u64(const uint8_t *p)
{
    return (uint64_t)tl_fb_rd_u32(p) | ((uint64_t)tl_fb_rd_u32(p + 4) << 32);
}
float tl_fb_rd_f32(const uint8_t *p);

/* Root table; checks the 4-byte file identifier at offset 4 when `ident` is non-NULL. */
tl_nn_status_t tl_fb_root(const tl_fb_t *fb, const char ident[4], tl_fb_table_t *root);

/* Validate the table at `pos` (where its soffset to the vtable is stored). */
tl_nn_status_t tl_fb_table_at(const tl_fb_t *fb, uint32_t pos, tl_fb_table_t *t);

/* Position of scalar field `id` of `size` bytes, or 0 if the field is absent. */
tl_nn_status_t tl_fb_field(const tl_fb_t *fb, const tl_fb_table_t *t, uint16_t id,
                           uint32_t size, uint32_t *pos);

/* Scalar fields with the schema default when absent. */
tl_nn_status_t tl_fb_u8(const tl_fb_t *fb, const tl_fb_table_t *t, uint16_t id, uint8_t def,
                        uint8_t *out);
tl_nn_status_t tl_fb_i8(const tl_fb_t *fb, const tl_fb_table_t *t, uint16_t id, int8_t def,
                        int8_t *out);
tl_nn_status_t tl_fb_i32(const tl_fb_t *fb, const tl_fb_table_t *t, uint16_t id, int32_t def,
                         int32_t *out);
tl_nn_status_t tl_fb_u32(const tl_fb_t *fb, const tl_fb_table_t *t, uint16_t id, uint32_t def,
                         uint32_t *out);
tl_nn_status_t tl_fb_u64(const tl_fb_t *fb, const tl_fb_table_t *t, uint16_t id, uint64_t def,
                         uint64_t *out);
tl_nn_status_t tl_fb_f32(const tl_fb_t *fb, const tl_fb_table_t *t, uint16_t id, float def,
                         float *out);

/* Sub-table field (uoffset). *present = false (and *out untouched) when absent. */
tl_nn_status_t tl_fb_table_field(const tl_fb_t *fb, const tl_fb_table_t *t, uint16_t id,
                                 tl_fb_table_t *out, bool *present);

/* Vector field with elements of `elem_size` bytes (strings: elem_size 1). An absent
 * vector reads as an empty one (n = 0). */
tl_nn_status_t tl_fb_vec_field(const tl_fb_t *fb, const tl_fb_table_t *t, uint16_t id,
                               uint32_t elem_size, tl_fb_vec_t *out, bool *present);

/* Element `i` (< v->n) of a vector of tables. */
tl_nn_status_t tl_fb_vec_table(const tl_fb_t *fb, const tl_fb_vec_t *v, uint32_t i,
                               tl_fb_table_t *out);

/* Element `i` (< v->n) of a vector of 4-byte scalars. */
static inline int32_t tl_fb_vec_i32(const tl_fb_t *fb, const tl_fb_vec_t *v, uint32_t i)
{
    return tl_fb_rd_i32(fb->buf + v->pos + 4u * i);
}

#endif /* TL_NN_FLATBUF_H */
