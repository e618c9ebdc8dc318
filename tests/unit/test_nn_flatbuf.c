/*
 * test_nn_flatbuf.c - the bounds-checked FlatBuffers reader on hand-built buffers:
 * a valid one, then every kind of corruption the reader must reject without touching
 * memory outside the buffer (run under ASan/UBSan).
 *
 * Layout of the valid buffer (40 bytes):
 *    0: uoffset -> root table at 16        4: "TFL3"
 *    8: vtable  [vt_len 8][obj_len 12][f0 @4][f1 @8]  (fields >= 2 absent)
 *   16: table   soffset 8 (vtable at 16-8) ; 20: u32 f0 = 3 ; 24: uoffset f1 -> 28
 *   28: vector  n = 2 ; 32: int32 7 ; 36: int32 -9
 */
#include <stdint.h>
#include <string.h>

#include "../../firmware/core/src/nn/flatbuf.h"
#include "tl_test.h"

#define LEN 40u

static uint8_t g_buf[64];

static void put16(uint32_t at, uint16_t v)
{
    g_buf[at] = (uint8_t)v;
    g_buf[at + 1] = (uint8_t)(v >> 8);
}

static void put32(uint32_t at, uint32_t v)
{
    for (int i = 0; i < 4; ++i) {
        g_buf[at + (uint32_t)i] = (uint8_t)(v >> (8 * i));
    }
}

static void build(void)
{
    memset(g_buf, 0xEE, sizeof g_buf);
    put32(0, 16);
    memcpy(g_buf + 4, "TFL3", 4);
    put16(8, 8);   /* vtable length: 2 field slots */
    put16(10, 12); /* object length */
    put16(12, 4);  /* field 0 at +4 */
    put16(14, 8);  /* field 1 at +8 */
    put32(16, 8);  /* soffset: vtable = 16 - 8 */
    put32(20, 3);
    put32(24, 4);  /* uoffset from 24 to 28 */
    put32(28, 2);
    put32(32, 7);
    put32(36, (uint32_t)-9);
}

static tl_fb_t fb(uint32_t len)
{
    tl_fb_t f = {g_buf, len};
    return f;
}

static void test_valid(void)
{
    build();
    tl_fb_t f = fb(LEN);
    tl_fb_table_t root;
    TL_EXPECT_EQ(tl_fb_root(&f, "TFL3", &root), TL_NN_OK);
    TL_EXPECT_EQ(root.pos, 16);
    uint32_t v0;
    TL_EXPECT_EQ(tl_fb_u32(&f, &root, 0, 99, &v0), TL_NN_OK);
    TL_EXPECT_EQ(v0, 3);
    uint32_t v2;
    TL_EXPECT_EQ(tl_fb_u32(&f, &root, 2, 99, &v2), TL_NN_OK); /* beyond the vtable: default */
    TL_EXPECT_EQ(v2, 99);
    tl_fb_vec_t vec;
    bool present;
    TL_EXPECT_EQ(tl_fb_vec_field(&f, &root, 1, 4, &vec, &present), TL_NN_OK);
    TL_EXPECT(present);
    TL_EXPECT_EQ(vec.n, 2);
    TL_EXPECT_EQ(tl_fb_vec_i32(&f, &vec, 0), 7);
    TL_EXPECT_EQ(tl_fb_vec_i32(&f, &vec, 1), -9);
    /* an absent vector reads as empty */
    TL_EXPECT_EQ(tl_fb_vec_field(&f, &root, 5, 4, &vec, &present), TL_NN_OK);
    TL_EXPECT(!present);
    TL_EXPECT_EQ(vec.n, 0);
    /* a scalar field read as a table is rejected, not followed blindly */
    tl_fb_table_t sub;
    TL_EXPECT(tl_fb_table_field(&f, &root, 0, &sub, &present) != TL_NN_OK);
}

static void test_identifier_and_size(void)
{
    build();
    tl_fb_table_t root;
    for (uint32_t len = 0; len < 8; ++len) {
        tl_fb_t f = fb(len);
        TL_EXPECT_EQ(tl_fb_root(&f, "TFL3", &root), TL_NN_ERR_TRUNCATED);
    }
    tl_fb_t f = fb(LEN);
    TL_EXPECT_EQ(tl_fb_root(&f, "TFL2", &root), TL_NN_ERR_BAD_IDENTIFIER);
    tl_fb_t n = {NULL, LEN};
    TL_EXPECT_EQ(tl_fb_root(&n, "TFL3", &root), TL_NN_ERR_ARG);
    /* every truncation of the buffer fails somewhere, never reads past len */
    for (uint32_t len = 8; len < LEN; ++len) {
        tl_fb_t t = fb(len);
        tl_nn_status_t st = tl_fb_root(&t, "TFL3", &root);
        if (st == TL_NN_OK) {
            tl_fb_vec_t vec;
            uint32_t v0;
            st = tl_fb_u32(&t, &root, 0, 0, &v0);
            if (st == TL_NN_OK) {
                st = tl_fb_vec_field(&t, &root, 1, 4, &vec, NULL);
            }
        }
        TL_EXPECT(st == TL_NN_ERR_TRUNCATED || st == TL_NN_ERR_MALFORMED);
    }
}

static tl_nn_status_t read_all(void)
{
    tl_fb_t f = fb(LEN);
    tl_fb_table_t root;
    tl_nn_status_t st = tl_fb_root(&f, "TFL3", &root);
    if (st != TL_NN_OK) {
        return st;
    }
    uint32_t v0;
    st = tl_fb_u32(&f, &root, 0, 0, &v0);
    if (st != TL_NN_OK) {
        return st;
    }
    tl_fb_vec_t vec;
    return tl_fb_vec_field(&f, &root, 1, 4, &vec, NULL);
}

static void test_corruptions(void)
{
    /* root offset past the end / misaligned / zero */
    build();
    put32(0, 1000);
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_TRUNCATED);
    put32(0, 18);
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_MALFORMED);
    put32(0, 0);
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_MALFORMED);
    put32(0, 0xFFFFFFF0u); /* wraps if added naively */
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_TRUNCATED);

    /* vtable outside the buffer (negative and positive), odd */
    build();
    put32(16, 100);
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_TRUNCATED);
    put32(16, (uint32_t)-100);
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_TRUNCATED);
    put32(16, 7);
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_MALFORMED);
    put32(16, 0x80000000u);
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_TRUNCATED);

    /* vtable length odd / too small / past the end; object past the end */
    build();
    put16(8, 7);
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_MALFORMED);
    put16(8, 2);
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_MALFORMED);
    put16(8, 0xFFF0);
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_TRUNCATED);
    build();
    put16(10, 200);
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_TRUNCATED);

    /* field outside its object, misaligned scalar */
    build();
    put16(12, 10); /* u32 at +10 of a 12-byte object: ends at 14 > 12 */
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_MALFORMED);
    put16(12, 6); /* u32 at 22: not 4-aligned */
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_MALFORMED);
    put16(12, 2); /* inside the soffset */
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_MALFORMED);

    /* vector: offset past end, huge count, count * size overflowing 32 bits */
    build();
    put32(24, 400);
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_TRUNCATED);
    build();
    put32(28, 3); /* 3 elements need 12 bytes after 32; only 8 left */
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_TRUNCATED);
    put32(28, 0x40000001u);
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_TRUNCATED);
    put32(28, 0xFFFFFFFFu);
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_TRUNCATED);
    build();
    put32(24, 2); /* vector at 26: misaligned */
    TL_EXPECT_EQ(read_all(), TL_NN_ERR_MALFORMED);
}

static void test_vector_of_tables(void)
{
    /* a vector with one uoffset element pointing back at the root table */
    build();
    put32(28, 1);
    put32(32, (uint32_t)(16 - 32)); /* negative: uoffsets are unsigned, so this is huge */
    tl_fb_t f = fb(LEN);
    tl_fb_table_t root, t;
    TL_EXPECT_EQ(tl_fb_root(&f, "TFL3", &root), TL_NN_OK);
    tl_fb_vec_t vec;
    TL_EXPECT_EQ(tl_fb_vec_field(&f, &root, 1, 4, &vec, NULL), TL_NN_OK);
    TL_EXPECT_EQ(tl_fb_vec_table(&f, &vec, 0, &t), TL_NN_ERR_TRUNCATED);
    TL_EXPECT_EQ(tl_fb_vec_table(&f, &vec, 1, &t), TL_NN_ERR_ARG); /* index out of range */
    put32(32, 4); /* -> 36, a 4-byte slot that is not a table */
    TL_EXPECT(tl_fb_vec_table(&f, &vec, 0, &t) != TL_NN_OK);
}

static void test_every_byte_flip(void)
{
    /* flipping any bit of the valid buffer never makes the reader misbehave */
    for (uint32_t i = 0; i < LEN; ++i) {
        for (int b = 0; b < 8; ++b) {
            build();
            put16(8, 8);
            g_buf[i] ^= (uint8_t)(1u << b);
            tl_nn_status_t st = read_all();
            TL_EXPECT(st == TL_NN_OK || st == TL_NN_ERR_TRUNCATED || st == TL_NN_ERR_MALFORMED ||
                      st == TL_NN_ERR_BAD_IDENTIFIER);
        }
    }
}

int main(void)
{
    TL_RUN(test_valid);
    TL_RUN(test_identifier_and_size);
    TL_RUN(test_corruptions);
    TL_RUN(test_vector_of_tables);
    TL_RUN(test_every_byte_flip);
    return tl_test_summary();
}
