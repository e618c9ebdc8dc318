/*
 * test_nn_engine.c - the engine's public API under ASan/UBSan: argument checks, status
 * names, model loading with exactly-sized arenas, the input/output contract, and
 * corrupted files (every truncation and every byte flip of a real model).
 *
 * Models come from the fuzz seed corpus tests/fuzz/corpus/nn_load/ (found relative to
 * this source file). Bit-exactness against TFLite Micro is tested in Python
 * (tests/python/test_engine*.py).
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "theraloop/nn/engine.h"
#include "tl_test.h"

static alignas(16) uint8_t g_arena[256 * 1024];

typedef struct {
    uint8_t *data;
    size_t len;
} blob_t;

static blob_t load_file(const char *name)
{
    char path[1024];
    const char *here = __FILE__;
    const char *cut = strstr(here, "tests/unit/");
    size_t root_len = cut != NULL ? (size_t)(cut - here) : 0;
    snprintf(path, sizeof path, "%.*stests/fuzz/corpus/nn_load/%s", (int)root_len, here, name);
    blob_t b = {NULL, 0};
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        printf("cannot open %s\n", path);
        return b;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b.data = malloc((size_t)n);
    b.len = fread(b.data, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static const char *const k_models[] = {
    "bench_mlp.tflite",     "bench_conv1d.tflite",      "add_broadcast.tflite",
    "concat_axis1.tflite",  "conv1d_k3_d2_same_relu6.tflite", "conv2d_k3_s2_same_nobias.tflite",
    "dense_per_tensor.tflite", "dwconv2d_m3_k5x3_same.tflite", "float_io.tflite",
    "leaky_relu.tflite",    "mean_axes.tflite",         "mul_broadcast_se.tflite",
    "pool1d_max_avg.tflite", "softmax_3d.tflite",       "space_batch_nd.tflite",
    "stack.tflite",         "tanh.tflite",              "sigmoid.tflite",
    "cropping.tflite",      "zero_padding.tflite",      "shape_dynamic_batch.tflite",
    "expand_squeeze.tflite", "relu_relu6_standalone.tflite",
    /* dynamic-batch dilated convolutions: shapes computed at load (shape table at the
     * end of the arena while loading) */
    "conv1d_dyn_causal_tcn.tflite", "conv2d_dyn_d2_same_after_pool.tflite",
    "dwconv2d_dyn_d2_same_m2.tflite", "sepconv1d_dyn_d2_same.tflite",
    "space_to_batch_padded.tflite",
};

static void test_api_contract(void)
{
    tl_nn_model_t m;
    uint8_t model[16] = {0};
    TL_EXPECT_EQ(tl_nn_load(NULL, model, sizeof model, g_arena, 64), TL_NN_ERR_ARG);
    TL_EXPECT_EQ(tl_nn_load(&m, NULL, 16, g_arena, 64), TL_NN_ERR_ARG);
    TL_EXPECT_EQ(tl_nn_load(&m, model, sizeof model, NULL, 64), TL_NN_ERR_ARG);
    TL_EXPECT_EQ(tl_nn_load(&m, model, sizeof model, g_arena + 1, 64), TL_NN_ERR_ARENA_ALIGN);
    TL_EXPECT_EQ(tl_nn_load(&m, model, sizeof model, g_arena, 64), TL_NN_ERR_BAD_IDENTIFIER);
    TL_EXPECT(!m.loaded);
    TL_EXPECT_EQ(tl_nn_invoke(&m), TL_NN_ERR_NOT_LOADED);
    TL_EXPECT_EQ(tl_nn_invoke(NULL), TL_NN_ERR_ARG);
    TL_EXPECT_EQ(tl_nn_input_count(&m), 0);
    tl_nn_tensor_t t;
    TL_EXPECT_EQ(tl_nn_input(&m, 0, &t), TL_NN_ERR_NOT_LOADED);
    size_t bytes = 1;
    TL_EXPECT_EQ(tl_nn_arena_required(model, sizeof model, g_arena, 64, &bytes),
                 TL_NN_ERR_BAD_IDENTIFIER);
    TL_EXPECT_EQ(bytes, 0);
    TL_EXPECT_EQ(tl_nn_arena_required(model, sizeof model, g_arena, 64, NULL), TL_NN_ERR_ARG);
    /* names and messages: present, distinct, stable */
    for (int i = 0; i < TL_NN_STATUS_COUNT; ++i) {
        TL_EXPECT(tl_nn_status_name((tl_nn_status_t)i) != NULL);
        TL_EXPECT(strlen(tl_nn_strerror((tl_nn_status_t)i)) > 0);
        for (int j = 0; j < i; ++j) {
            TL_EXPECT(strcmp(tl_nn_status_name((tl_nn_status_t)i),
                             tl_nn_status_name((tl_nn_status_t)j)) != 0);
        }
    }
    TL_EXPECT(strcmp(tl_nn_status_name(TL_NN_ERR_ARENA_TOO_SMALL), "ARENA_TOO_SMALL") == 0);
    TL_EXPECT(strcmp(tl_nn_status_name((tl_nn_status_t)99), "UNKNOWN") == 0);
    TL_EXPECT(strcmp(tl_nn_op_name_of(3), "CONV_2D") == 0);
    TL_EXPECT(strcmp(tl_nn_op_name_of(39), "UNKNOWN") == 0);
    TL_EXPECT(!tl_nn_uses_dsp()); /* the host build is the portable path */
    size_t ms = 0, ts = 0;
    tl_nn_abi_sizes(&ms, &ts);
    TL_EXPECT_EQ(ms, sizeof(tl_nn_model_t));
    TL_EXPECT_EQ(ts, sizeof(tl_nn_tensor_t));
}

static uint32_t run_once(tl_nn_model_t *m, uint32_t seed)
{
    for (size_t i = 0; i < tl_nn_input_count(m); ++i) {
        tl_nn_tensor_t t;
        TL_EXPECT_EQ(tl_nn_input(m, i, &t), TL_NN_OK);
        uint8_t *p = t.data;
        for (size_t k = 0; k < t.bytes; ++k) {
            seed = seed * 1103515245u + 12345u;
            p[k] = (uint8_t)(seed >> 16);
        }
        if (t.type == TL_NN_TYPE_FLOAT32) {
            for (size_t k = 0; k + 4 <= t.bytes; k += 4) {
                float f = (float)(int8_t)p[k] / 16.0f;
                memcpy(p + k, &f, sizeof f);
            }
        }
    }
    TL_EXPECT_EQ(tl_nn_invoke(m), TL_NN_OK);
    uint32_t h = 0;
    for (size_t i = 0; i < tl_nn_output_count(m); ++i) {
        tl_nn_tensor_t t;
        TL_EXPECT_EQ(tl_nn_output(m, i, &t), TL_NN_OK);
        const uint8_t *p = t.data;
        for (size_t k = 0; k < t.bytes; ++k) {
            h = h * 16777619u ^ p[k];
        }
    }
    return h;
}

static void test_models_exact_arena(void)
{
    for (size_t i = 0; i < sizeof k_models / sizeof k_models[0]; ++i) {
        blob_t b = load_file(k_models[i]);
        TL_EXPECT(b.data != NULL);
        if (b.data == NULL) {
            continue;
        }
        tl_nn_model_t big;
        tl_nn_status_t st = tl_nn_load(&big, b.data, b.len, g_arena, sizeof g_arena);
        if (st != TL_NN_OK) {
            printf("%s: %s (op %d)\n", k_models[i], tl_nn_status_name(st), big.err_op);
        }
        TL_EXPECT_EQ(st, TL_NN_OK);
        const uint32_t need = big.arena_required;
        size_t req = 0;
        TL_EXPECT_EQ(tl_nn_arena_required(b.data, b.len, g_arena, sizeof g_arena, &req), TL_NN_OK);
        TL_EXPECT_EQ(req, need);
        /* a heap block of exactly `need` bytes: ASan catches any access beyond it */
        uint8_t *exact = malloc(need);
        tl_nn_model_t m;
        TL_EXPECT_EQ(tl_nn_load(&m, b.data, b.len, exact, need), TL_NN_OK);
        TL_EXPECT(tl_nn_input_count(&m) >= 1 && tl_nn_output_count(&m) >= 1);
        TL_EXPECT(tl_nn_op_count(&m) >= 1);
        const uint32_t h1 = run_once(&m, 7u);
        const uint32_t h2 = run_once(&m, 7u);
        TL_EXPECT_EQ(h1, h2);
        (void)tl_nn_load(&big, b.data, b.len, g_arena, sizeof g_arena);
        TL_EXPECT_EQ(run_once(&big, 7u), h1); /* independent of where the arena is */
        /* one byte less is a clean error that reports the size needed */
        uint8_t *short_arena = malloc(need);
        tl_nn_model_t s;
        TL_EXPECT_EQ(tl_nn_load(&s, b.data, b.len, short_arena, need - 1u),
                     TL_NN_ERR_ARENA_TOO_SMALL);
        TL_EXPECT(s.arena_required == need || s.arena_required == 0);
        TL_EXPECT(!s.loaded);
        free(short_arena);
        free(exact);
        free(b.data);
    }
}

static void test_contract(void)
{
    blob_t b = load_file("bench_mlp.tflite");
    tl_nn_model_t m;
    TL_EXPECT_EQ(tl_nn_load(&m, b.data, b.len, g_arena, sizeof g_arena), TL_NN_OK);
    const int32_t in_dims[2] = {1, 16};
    const int32_t bad_dims[2] = {1, 15};
    const int32_t out_dims[2] = {1, 3};
    TL_EXPECT_EQ(tl_nn_expect(&m, false, 0, TL_NN_TYPE_INT8, in_dims, 2), TL_NN_OK);
    TL_EXPECT_EQ(tl_nn_expect(&m, false, 0, TL_NN_TYPE_INT8, NULL, 0), TL_NN_OK);
    TL_EXPECT_EQ(tl_nn_expect(&m, true, 0, TL_NN_TYPE_INT8, out_dims, 2), TL_NN_OK);
    TL_EXPECT_EQ(tl_nn_expect(&m, false, 0, TL_NN_TYPE_INT8, bad_dims, 2),
                 TL_NN_ERR_CONTRACT_MISMATCH);
    TL_EXPECT_EQ(tl_nn_expect(&m, false, 0, TL_NN_TYPE_INT8, in_dims, 1),
                 TL_NN_ERR_CONTRACT_MISMATCH);
    TL_EXPECT_EQ(tl_nn_expect(&m, false, 0, TL_NN_TYPE_FLOAT32, NULL, 0),
                 TL_NN_ERR_CONTRACT_MISMATCH);
    TL_EXPECT_EQ(tl_nn_expect(&m, false, 1, TL_NN_TYPE_INT8, NULL, 0),
                 TL_NN_ERR_CONTRACT_MISMATCH);
    tl_nn_tensor_t t;
    TL_EXPECT_EQ(tl_nn_input(&m, 0, &t), TL_NN_OK);
    TL_EXPECT_EQ(t.type, TL_NN_TYPE_INT8);
    TL_EXPECT_EQ(t.ndim, 2);
    TL_EXPECT_EQ(t.bytes, 16);
    TL_EXPECT(t.scale > 0.0f);
    TL_EXPECT(t.name != NULL && t.name_len > 0);
    TL_EXPECT_EQ(tl_nn_input(&m, 1, &t), TL_NN_ERR_ARG);
    TL_EXPECT_EQ(tl_nn_op_count(&m), 4);
    TL_EXPECT(strcmp(tl_nn_op_name_of(tl_nn_op_code(&m, 0)), "FULLY_CONNECTED") == 0);
    TL_EXPECT(strcmp(tl_nn_op_name_of(tl_nn_op_code(&m, 3)), "SOFTMAX") == 0);
    TL_EXPECT_EQ(tl_nn_op_code(&m, 4), -1);
    TL_EXPECT_EQ(m.macs, 16 * 32 + 32 * 16 + 16 * 3);
    free(b.data);
}

static void test_unsupported(void)
{
    blob_t b = load_file("unsupported_float_dense.tflite");
    tl_nn_model_t m;
    TL_EXPECT_EQ(tl_nn_load(&m, b.data, b.len, g_arena, sizeof g_arena),
                 TL_NN_ERR_UNSUPPORTED_TYPE);
    TL_EXPECT_EQ(m.err_op, 0);
    TL_EXPECT(strcmp(tl_nn_op_name_of(m.err_opcode), "FULLY_CONNECTED") == 0);
    free(b.data);
}

/* SPACE_TO_BATCH_ND pads with the output zero point (the quantized 0.0). */
static void test_space_to_batch_padding(void)
{
    blob_t b = load_file("space_to_batch_padded.tflite");
    tl_nn_model_t m;
    TL_EXPECT_EQ(tl_nn_load(&m, b.data, b.len, g_arena, sizeof g_arena), TL_NN_OK);
    tl_nn_tensor_t in, out;
    TL_EXPECT_EQ(tl_nn_input(&m, 0, &in), TL_NN_OK);
    TL_EXPECT_EQ(tl_nn_output(&m, 0, &out), TL_NN_OK);
    /* [1,5,6,3], block (2,3), paddings ((1,2),(2,1)) -> [6,4,3,3] */
    TL_EXPECT_EQ(in.bytes, 5 * 6 * 3);
    TL_EXPECT_EQ(out.ndim, 4);
    TL_EXPECT_EQ(out.dims[0], 6);
    TL_EXPECT_EQ(out.bytes, 6 * 4 * 3 * 3);
    const int8_t fill = (int8_t)(out.zero_point == 77 ? 78 : 77);
    memset(in.data, (uint8_t)fill, in.bytes);
    TL_EXPECT_EQ(tl_nn_invoke(&m), TL_NN_OK);
    size_t n_fill = 0, n_zp = 0;
    const int8_t *o = out.data;
    for (size_t i = 0; i < out.bytes; ++i) {
        n_fill += o[i] == fill;
        n_zp += o[i] == out.zero_point;
    }
    TL_EXPECT_EQ(n_fill, in.bytes);
    TL_EXPECT_EQ(n_zp, out.bytes - in.bytes);
    free(b.data);
}

static void test_truncated_everywhere(void)
{
    blob_t b = load_file("bench_mlp.tflite");
    for (size_t len = 0; len < b.len; ++len) {
        /* an exactly sized copy, so reads past `len` are caught */
        uint8_t *cut = malloc(len ? len : 1);
        memcpy(cut, b.data, len);
        tl_nn_model_t m;
        tl_nn_status_t st = tl_nn_load(&m, cut, len, g_arena, sizeof g_arena);
        TL_EXPECT(st != TL_NN_OK);
        TL_EXPECT((unsigned)st < TL_NN_STATUS_COUNT);
        free(cut);
    }
    free(b.data);
}

static void test_byte_flips(void)
{
    blob_t b = load_file("bench_conv1d.tflite");
    uint8_t *copy = malloc(b.len);
    int loaded = 0, rejected = 0;
    for (size_t i = 0; i < b.len; ++i) {
        memcpy(copy, b.data, b.len);
        copy[i] ^= (uint8_t)(0x5Au + i);
        tl_nn_model_t m;
        tl_nn_status_t st = tl_nn_load(&m, copy, b.len, g_arena, sizeof g_arena);
        TL_EXPECT((unsigned)st < TL_NN_STATUS_COUNT);
        if (st == TL_NN_OK) {
            ++loaded;
            if (m.macs < 10000000u) {
                (void)run_once(&m, (uint32_t)i);
            }
        } else {
            ++rejected;
        }
    }
    /* flips in weights load fine; flips in the structure are rejected */
    TL_EXPECT(loaded > 0 && rejected > 0);
    free(copy);
    free(b.data);
}

int main(void)
{
    TL_RUN(test_api_contract);
    TL_RUN(test_models_exact_arena);
    TL_RUN(test_contract);
    TL_RUN(test_unsupported);
    TL_RUN(test_space_to_batch_padding);
    TL_RUN(test_truncated_everywhere);
    TL_RUN(test_byte_flips);
    return tl_test_summary();
}
