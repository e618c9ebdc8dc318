/*
 * test_model_info.c - a model converted by `theraloop model convert` against the engine.
 *
 * tests/unit/data/two_io.{c,h} is tests/models/int8/two_inputs_two_outputs.tflite as
 * written by `theraloop model convert ... --name two_io` (regenerate: see
 * tests/unit/data/README.md). The test checks that the metadata the host tool computed
 * (SHA-256, arena bytes, MACs, the input/output contract, the op list) is exactly what
 * the engine finds when it loads the array, and that the array is usable in place.
 */
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "tl_test.h"

#include "data/two_io.c" /* the generated source: array and metadata */
#include "theraloop/nn/engine.h"
#include "theraloop/nn/model_info.h"

/* ---- SHA-256 (FIPS 180-4), test-only ------------------------------------------------ */

static uint32_t ror32(uint32_t x, unsigned n) { return (x >> n) | (x << (32u - n)); }

static const uint32_t k_sha256[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u,
};

static void sha256_block(uint32_t h[8], const uint8_t block[64])
{
    uint32_t w[64];
    for (unsigned i = 0; i < 16; i++) {
        w[i] = ((uint32_t)block[4 * i] << 24) | ((uint32_t)block[4 * i + 1] << 16) |
               ((uint32_t)block[4 * i + 2] << 8) | (uint32_t)block[4 * i + 3];
    }
    for (unsigned i = 16; i < 64; i++) {
        uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (unsigned i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) +
                      k_sha256[i] + w[i];
        uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

static void sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
    uint32_t h[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                     0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    size_t full = len / 64;
    for (size_t i = 0; i < full; i++) {
        sha256_block(h, data + 64 * i);
    }
    uint8_t tail[128] = {0};
    size_t rest = len - 64 * full;
    memcpy(tail, data + 64 * full, rest);
    tail[rest] = 0x80;
    size_t tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8u;
    for (unsigned i = 0; i < 8; i++) {
        tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
    }
    sha256_block(h, tail);
    if (tail_len == 128) {
        sha256_block(h, tail + 64);
    }
    for (unsigned i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

static void test_sha256_known_answers(void)
{
    /* FIPS 180-4 examples: "abc" and the 56-byte two-block message. */
    static const uint8_t abc[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    static const uint8_t two[32] = {
        0x24, 0x8d, 0x6a, 0x61, 0xd2, 0x06, 0x38, 0xb8, 0xe5, 0xc0, 0x26, 0x93, 0x0c, 0x3e, 0x60, 0x39,
        0xa3, 0x3c, 0xe4, 0x59, 0x64, 0xff, 0x21, 0x67, 0xf6, 0xec, 0xed, 0xd4, 0x19, 0xdb, 0x06, 0xc1};
    uint8_t got[32];
    sha256((const uint8_t *)"abc", 3, got);
    TL_EXPECT_MEM_EQ(got, abc, 32);
    const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256((const uint8_t *)msg, strlen(msg), got);
    TL_EXPECT_MEM_EQ(got, two, 32);
}

/* ---- the converted model ------------------------------------------------------------- */

static void test_array_is_the_file(void)
{
    TL_EXPECT_EQ(two_io_info.info_version, TL_MODEL_INFO_VERSION);
    TL_EXPECT(strcmp(two_io_info.name, "two_io") == 0);
    TL_EXPECT(two_io_info.data == two_io_tflite);
    TL_EXPECT_EQ(sizeof two_io_tflite, TWO_IO_TFLITE_SIZE);
    TL_EXPECT_EQ(two_io_info.size, TWO_IO_TFLITE_SIZE);
    TL_EXPECT_EQ((uintptr_t)two_io_tflite % 16u, 0);
    TL_EXPECT_MEM_EQ(two_io_tflite + 4, "TFL3", 4);
    uint8_t digest[32];
    sha256(two_io_tflite, sizeof two_io_tflite, digest);
    TL_EXPECT_MEM_EQ(digest, two_io_info.sha256, 32);
    TL_EXPECT(two_io_info.weights_bytes > 0 && two_io_info.weights_bytes < two_io_info.size);
}

static alignas(16) uint8_t g_arena[TWO_IO_ARENA_BYTES + 64];

static void expect_io(const tl_nn_tensor_t *t, const tl_model_io_t *io)
{
    TL_EXPECT_EQ(t->type, io->type);
    TL_EXPECT_EQ(t->ndim, io->ndim);
    for (unsigned d = 0; d < io->ndim && d < TL_NN_MAX_DIMS; d++) {
        TL_EXPECT_EQ(t->dims[d], io->dims[d]);
    }
    TL_EXPECT(t->scale == io->scale);
    TL_EXPECT_EQ(t->zero_point, io->zero_point);
    TL_EXPECT_EQ(t->bytes, io->bytes);
    TL_EXPECT_EQ(t->tensor_index, io->tensor_index);
    TL_EXPECT_EQ(t->name_len, strlen(io->name));
    TL_EXPECT(t->name_len == strlen(io->name) && memcmp(t->name, io->name, t->name_len) == 0);
}

static void test_metadata_matches_the_engine(void)
{
    tl_nn_model_t m;
    tl_nn_status_t st = tl_nn_load(&m, two_io_info.data, two_io_info.size, g_arena,
                                   TWO_IO_ARENA_BYTES);
    TL_EXPECT_EQ(st, TL_NN_OK);
    if (st != TL_NN_OK) {
        return;
    }
    TL_EXPECT_EQ(m.arena_required, two_io_info.arena_bytes);
    TL_EXPECT_EQ(m.macs, two_io_info.macs);
    TL_EXPECT_EQ(m.macs, TWO_IO_MACS);

    TL_EXPECT_EQ(tl_nn_input_count(&m), two_io_info.n_inputs);
    TL_EXPECT_EQ(tl_nn_output_count(&m), two_io_info.n_outputs);
    for (size_t i = 0; i < two_io_info.n_inputs; i++) {
        const tl_model_io_t *io = &two_io_info.inputs[i];
        tl_nn_tensor_t t;
        TL_EXPECT_EQ(tl_nn_input(&m, i, &t), TL_NN_OK);
        expect_io(&t, io);
        TL_EXPECT_EQ(tl_nn_expect(&m, false, i, io->type, io->dims, io->ndim), TL_NN_OK);
    }
    for (size_t i = 0; i < two_io_info.n_outputs; i++) {
        const tl_model_io_t *io = &two_io_info.outputs[i];
        tl_nn_tensor_t t;
        TL_EXPECT_EQ(tl_nn_output(&m, i, &t), TL_NN_OK);
        expect_io(&t, io);
        TL_EXPECT_EQ(tl_nn_expect(&m, true, i, io->type, io->dims, io->ndim), TL_NN_OK);
    }

    /* Op list: codes and the comma-separated names agree with the engine. */
    TL_EXPECT_EQ(tl_nn_op_count(&m), two_io_info.n_ops);
    char names[512] = {0};
    size_t used = 0;
    for (size_t i = 0; i < two_io_info.n_ops; i++) {
        TL_EXPECT_EQ(tl_nn_op_code(&m, i), two_io_info.op_codes[i]);
        const char *name = tl_nn_op_name_of(two_io_info.op_codes[i]);
        size_t n = strlen(name);
        if (used + n + 2 < sizeof names) {
            if (i > 0) {
                names[used++] = ',';
            }
            memcpy(names + used, name, n);
            used += n;
        }
    }
    TL_EXPECT(strcmp(names, two_io_info.op_list) == 0);

    /* It runs in place from the const array. */
    for (size_t i = 0; i < two_io_info.n_inputs; i++) {
        tl_nn_tensor_t t;
        TL_EXPECT_EQ(tl_nn_input(&m, i, &t), TL_NN_OK);
        memset(t.data, 0, t.bytes);
    }
    TL_EXPECT_EQ(tl_nn_invoke(&m), TL_NN_OK);
}

static void test_arena_bytes_is_the_minimum(void)
{
    tl_nn_model_t m;
    TL_EXPECT_EQ(tl_nn_load(&m, two_io_info.data, two_io_info.size, g_arena,
                            TWO_IO_ARENA_BYTES - 1),
                 TL_NN_ERR_ARENA_TOO_SMALL);
    /* The engine reports the size when it could still compute it in the short arena. */
    TL_EXPECT(m.arena_required == 0 || m.arena_required == TWO_IO_ARENA_BYTES);
    size_t bytes = 0;
    TL_EXPECT_EQ(tl_nn_arena_required(two_io_info.data, two_io_info.size, g_arena, sizeof g_arena,
                                      &bytes),
                 TL_NN_OK);
    TL_EXPECT_EQ(bytes, TWO_IO_ARENA_BYTES);
}

static void test_contract_mismatch_is_detected(void)
{
    tl_nn_model_t m;
    TL_EXPECT_EQ(tl_nn_load(&m, two_io_info.data, two_io_info.size, g_arena, sizeof g_arena),
                 TL_NN_OK);
    const tl_model_io_t *io = &two_io_info.inputs[0];
    int32_t dims[TL_NN_MAX_DIMS];
    memcpy(dims, io->dims, sizeof dims);
    dims[io->ndim - 1] += 1;
    TL_EXPECT_EQ(tl_nn_expect(&m, false, 0, io->type, dims, io->ndim),
                 TL_NN_ERR_CONTRACT_MISMATCH);
    TL_EXPECT_EQ(tl_nn_expect(&m, false, 0, TL_NN_TYPE_FLOAT32, io->dims, io->ndim),
                 TL_NN_ERR_CONTRACT_MISMATCH);
}

int main(void)
{
    TL_RUN(test_sha256_known_answers);
    TL_RUN(test_array_is_the_file);
    TL_RUN(test_metadata_matches_the_engine);
    TL_RUN(test_arena_bytes_is_the_minimum);
    TL_RUN(test_contract_mismatch_is_detected);
    return tl_test_summary();
}
