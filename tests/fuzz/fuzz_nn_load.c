/*
 * fuzz_nn_load.c - arbitrary bytes as a .tflite model: load, check the arena accounting,
 * run, read the outputs.
 *
 * For every input the engine must either reject it with a status code or load it; a
 * loaded model is loaded a second time into a heap block of exactly arena_required
 * bytes, so AddressSanitizer catches any access past the reported arena size (the size
 * must be exact, not just sufficient), one byte less must fail cleanly, and
 * tl_nn_arena_required() must agree. The model then runs on inputs derived from the
 * fuzz data.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "theraloop/nn/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static alignas(16) uint8_t g_arena[96 * 1024];
static alignas(16) uint8_t g_work[32 * 1024];

/* Skip running models whose compute would make the fuzzer crawl. */
#define MAX_MACS 4000000u

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

static void fill_inputs(tl_nn_model_t *m, const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < tl_nn_input_count(m); ++i) {
        tl_nn_tensor_t t;
        check(tl_nn_input(m, i, &t) == TL_NN_OK);
        check(t.data != NULL && t.bytes > 0);
        uint8_t *p = t.data;
        for (size_t k = 0; k < t.bytes; ++k) {
            p[k] = size ? data[(k * 7u + i) % size] : 0;
        }
        if (t.type == TL_NN_TYPE_FLOAT32) {
            /* keep floats finite and moderate */
            for (size_t k = 0; k + 4 <= t.bytes; k += 4) {
                float f = (float)(int8_t)p[k] * 0.25f;
                memcpy(p + k, &f, sizeof f);
            }
        }
    }
}

static uint32_t read_outputs(const tl_nn_model_t *m)
{
    uint32_t h = 0;
    for (size_t i = 0; i < tl_nn_output_count(m); ++i) {
        tl_nn_tensor_t t;
        check(tl_nn_output(m, i, &t) == TL_NN_OK);
        check(t.data != NULL);
        const uint8_t *p = t.data;
        for (size_t k = 0; k < t.bytes; ++k) {
            h = h * 31u + p[k];
        }
    }
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tl_nn_model_t m;
    tl_nn_status_t st = tl_nn_load(&m, data, size, g_arena, sizeof g_arena);
    check((unsigned)st < TL_NN_STATUS_COUNT);
    check(tl_nn_strerror(st) != NULL && tl_nn_status_name(st) != NULL);
    if (st != TL_NN_OK) {
        check(!m.loaded);
        check(tl_nn_invoke(&m) == TL_NN_ERR_NOT_LOADED);
        return 0;
    }
    const uint32_t need = m.arena_required;
    check(need > 0 && need <= sizeof g_arena);
    size_t req = 0;
    st = tl_nn_arena_required(data, size, g_work, sizeof g_work, &req);
    check(st == TL_NN_ERR_ARENA_TOO_SMALL || (st == TL_NN_OK && req == need));

    /* exactly arena_required bytes: ASan flags any access beyond them */
    uint8_t *exact = malloc(need);
    check(exact != NULL);
    tl_nn_model_t m2;
    check(tl_nn_load(&m2, data, size, exact, need) == TL_NN_OK);
    check(m2.arena_required == need && m2.macs == m.macs);
    uint8_t *short_arena = malloc(need - 1u + 1u); /* +1: malloc(0) may return NULL */
    check(short_arena != NULL);
    tl_nn_model_t m3;
    check(tl_nn_load(&m3, data, size, short_arena, need - 1u) == TL_NN_ERR_ARENA_TOO_SMALL);
    free(short_arena);

    if (m2.macs <= MAX_MACS) {
        fill_inputs(&m2, data, size);
        check(tl_nn_invoke(&m2) == TL_NN_OK);
        (void)read_outputs(&m2);
        /* the same inputs in the big arena give the same outputs */
        fill_inputs(&m2, data, size);
        check(tl_nn_invoke(&m2) == TL_NN_OK);
        const uint32_t h2 = read_outputs(&m2);
        fill_inputs(&m, data, size);
        check(tl_nn_invoke(&m) == TL_NN_OK);
        check(read_outputs(&m) == h2);
    }
    for (size_t i = 0; i < tl_nn_op_count(&m2); ++i) {
        check(tl_nn_op_name_of(tl_nn_op_code(&m2, i)) != NULL);
    }
    free(exact);
    return 0;
}
