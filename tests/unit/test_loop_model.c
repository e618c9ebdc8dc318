/*
 * test_loop_model.c - the control loop's model step: integer quantisation with the model's
 * scales, Q15 scores, contract checks, and inference through the engine.
 */
#include <math.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "data/loop_conv.c" /* models/bench/conv1d_classifier.tflite: [1,256,1] -> [1,2] */
#include "data/loop_mlp.c"  /* models/bench/mlp_16_32_16_3.tflite: [1,16] -> [1,3] */
#include "data/two_io.c"    /* two inputs, two outputs */
#include "theraloop/loop/model_step.h"
#include "tl_test.h"

static alignas(16) uint8_t g_arena[16384];
static alignas(16) uint8_t g_arena2[16384];

static float f32_from_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static int8_t q_in(int32_t v, float scale, int32_t zp)
{
    tl_qmul_t q;
    TL_EXPECT(tl_qmul_input(scale, &q));
    return tl_quantize_i32(v, &q, zp);
}

static void test_quantize_power_of_two(void)
{
    /* scale 4 (2^2): q = rha(v / 4) */
    TL_EXPECT_EQ(q_in(2, 4.0f, 0), 1);    /* 0.5 away from zero */
    TL_EXPECT_EQ(q_in(-2, 4.0f, 0), -1);
    TL_EXPECT_EQ(q_in(6, 4.0f, 0), 2);    /* 1.5 */
    TL_EXPECT_EQ(q_in(-6, 4.0f, 0), -2);
    TL_EXPECT_EQ(q_in(5, 4.0f, 0), 1);    /* 1.25 */
    TL_EXPECT_EQ(q_in(7, 4.0f, 0), 2);    /* 1.75 */
    TL_EXPECT_EQ(q_in(508, 4.0f, 0), 127);
    TL_EXPECT_EQ(q_in(510, 4.0f, 0), 127); /* 127.5 -> 128 -> clamp */
    TL_EXPECT_EQ(q_in(-600, 4.0f, 0), -128);
    TL_EXPECT_EQ(q_in(INT32_MAX, 4.0f, 0), 127);
    TL_EXPECT_EQ(q_in(INT32_MIN, 4.0f, 0), -128);
    /* zero point shifts after rounding; scale 1 is the identity */
    TL_EXPECT_EQ(q_in(0, 1.0f, -128), -128);
    TL_EXPECT_EQ(q_in(100, 1.0f, -128), -28);
    TL_EXPECT_EQ(q_in(300, 1.0f, -128), 127);
    /* fractional power of two: scale 1/8 multiplies by 8 */
    TL_EXPECT_EQ(q_in(-3, 0.125f, 5), -19);
    /* a tiny scale saturates anything but 0 */
    TL_EXPECT_EQ(q_in(1, f32_from_bits(0x01000000u), 0), 127);
    TL_EXPECT_EQ(q_in(-1, f32_from_bits(0x01000000u), 0), -128);
    TL_EXPECT_EQ(q_in(0, f32_from_bits(0x01000000u), 3), 3);
    /* a huge scale rounds everything to the zero point */
    TL_EXPECT_EQ(q_in(INT32_MAX, 1.0e30f, -7), -7);
}

/* Against double arithmetic for scales that are not powers of two, away from ties. */
static void test_quantize_general(void)
{
    srand(1234);
    int checked = 0;
    for (int i = 0; i < 200000; i++) {
        uint32_t bits = ((uint32_t)(100 + rand() % 60) << 23) | ((uint32_t)rand() & 0x7FFFFFu);
        float scale = f32_from_bits(bits);
        int32_t v = (int32_t)((uint32_t)rand() * 2654435761u);
        if (i % 2 == 0) {
            v = (rand() % 80001) - 40000;
        }
        int32_t zp = (rand() % 256) - 128;
        double x = (double)v / (double)scale;
        double frac = fabs(x) - floor(fabs(x));
        if (fabs(x) < 1000.0 && fabs(frac - 0.5) < 1e-6 * (1.0 + fabs(x))) {
            continue; /* near a tie: the multiplier's rounding may decide it */
        }
        double r = x < 0 ? -floor(-x + 0.5) : floor(x + 0.5);
        double want = r + zp;
        want = want < -128 ? -128 : (want > 127 ? 127 : want);
        int8_t got = q_in(v, scale, zp);
        if ((double)got != want) {
            printf("scale %a v %d zp %d: got %d want %.0f\n", (double)scale, v, zp, got, want);
            TL_EXPECT(0);
            break;
        }
        checked++;
    }
    TL_EXPECT(checked > 150000);
}

static int32_t q15(int8_t q, float scale, int32_t zp)
{
    tl_qmul_t m;
    TL_EXPECT(tl_qmul_output(scale, &m));
    return tl_dequantize_q15(q, &m, zp);
}

static void test_dequantize_q15(void)
{
    /* the usual softmax output: scale 1/256, zero point -128 */
    TL_EXPECT_EQ(q15(-128, 1.0f / 256.0f, -128), 0);
    TL_EXPECT_EQ(q15(127, 1.0f / 256.0f, -128), 255 * 128);
    TL_EXPECT_EQ(q15(0, 1.0f / 256.0f, -128), 128 * 128);
    TL_EXPECT_EQ(q15(3, 0.5f, 0), 3 * 16384);
    TL_EXPECT_EQ(q15(-3, 0.5f, 0), -3 * 16384);
    /* 0.1 is not exact: (1 * 0.1f) in Q15 = 3276.8000.. -> 3277 */
    TL_EXPECT_EQ(q15(1, 0.1f, 0), 3277);
    TL_EXPECT_EQ(q15(-1, 0.1f, 0), -3277);
    /* huge scale saturates, tiny scale rounds to 0 */
    TL_EXPECT_EQ(q15(1, 1.0e20f, 0), INT32_MAX);
    TL_EXPECT_EQ(q15(-1, 1.0e20f, 0), INT32_MIN);
    TL_EXPECT_EQ(q15(100, 1.0e-20f, 0), 0);
    TL_EXPECT_EQ(q15(5, 1.0e20f, 5), 0);
}

static void test_bad_scales(void)
{
    tl_qmul_t q;
    TL_EXPECT(!tl_qmul_input(0.0f, &q));
    TL_EXPECT(!tl_qmul_input(-1.0f, &q));
    TL_EXPECT(!tl_qmul_input(f32_from_bits(0x7F800000u), &q)); /* inf */
    TL_EXPECT(!tl_qmul_input(f32_from_bits(0x7FC00000u), &q)); /* nan */
    TL_EXPECT(!tl_qmul_input(f32_from_bits(0x00000001u), &q)); /* subnormal */
    TL_EXPECT(!tl_qmul_output(0.0f, &q));
    TL_EXPECT(tl_qmul_input(f32_from_bits(0x00800000u), &q)); /* smallest normal */
}

static void load(tl_nn_model_t *m, const tl_model_info_t *info, uint8_t *arena)
{
    TL_EXPECT_EQ(tl_nn_load(m, info->data, info->size, arena, sizeof g_arena), TL_NN_OK);
}

static void test_bind_contract(void)
{
    tl_nn_model_t m;
    tl_model_step_t ms;
    load(&m, &loop_mlp_info, g_arena);
    tl_model_contract_t c = {16, TL_PIPE_FEATURES, 1, TL_MODEL_NO_CLASS, 0};
    TL_EXPECT_EQ(tl_model_step_bind(&ms, &m, &c), TL_MODEL_OK);
    TL_EXPECT(tl_model_step_bound(&ms));
    c.input_len = 15;
    TL_EXPECT_EQ(tl_model_step_bind(&ms, &m, &c), TL_MODEL_ERR_INPUT_SIZE);
    TL_EXPECT_EQ(ms.detail, 16);
    TL_EXPECT(!tl_model_step_bound(&ms));
    c.input_len = 16;
    c.score_class = 3;
    TL_EXPECT_EQ(tl_model_step_bind(&ms, &m, &c), TL_MODEL_ERR_SCORE_CLASS);
    TL_EXPECT_EQ(ms.detail, 3);
    c.score_class = 1;
    c.artifact_class = 3;
    TL_EXPECT_EQ(tl_model_step_bind(&ms, &m, &c), TL_MODEL_ERR_ARTIFACT_CLASS);
    c.artifact_class = 2;
    TL_EXPECT_EQ(tl_model_step_bind(&ms, &m, &c), TL_MODEL_OK);
    TL_EXPECT_EQ(tl_model_step_bind(&ms, NULL, &c), TL_MODEL_ERR_NONE);

    tl_nn_model_t two;
    TL_EXPECT_EQ(tl_nn_load(&two, two_io_info.data, two_io_info.size, g_arena2, sizeof g_arena2),
                 TL_NN_OK);
    TL_EXPECT_EQ(tl_model_step_bind(&ms, &two, &c), TL_MODEL_ERR_INPUTS);
    TL_EXPECT_EQ(ms.detail, 2);

    tl_nn_model_t conv;
    load(&conv, &loop_conv_info, g_arena2);
    tl_model_contract_t raw = {256, TL_PIPE_RAW, 1, TL_MODEL_NO_CLASS, 0};
    TL_EXPECT_EQ(tl_model_step_bind(&ms, &conv, &raw), TL_MODEL_OK);
    raw.input_len = 255;
    TL_EXPECT_EQ(tl_model_step_bind(&ms, &conv, &raw), TL_MODEL_ERR_INPUT_SIZE);
    /* an unbound step refuses to run */
    tl_model_result_t r;
    int32_t v[16] = {0};
    TL_EXPECT(!tl_model_step_run_features(&ms, v, &r));
    for (uint32_t e = 0; e < TL_MODEL_ERR_COUNT; e++) {
        TL_EXPECT(strcmp(tl_model_err_name(e), "unknown") != 0);
    }
}

/* The step's result equals quantising by hand and invoking a second copy of the model. */
static void test_run_features_matches_manual(void)
{
    tl_nn_model_t m;
    tl_nn_model_t ref;
    load(&m, &loop_mlp_info, g_arena);
    load(&ref, &loop_mlp_info, g_arena2);
    tl_model_step_t ms;
    tl_model_contract_t c = {16, TL_PIPE_FEATURES, 1, 2, 0};
    TL_EXPECT_EQ(tl_model_step_bind(&ms, &m, &c), TL_MODEL_OK);
    const tl_model_io_t *in = &loop_mlp_info.inputs[0];
    const tl_model_io_t *out = &loop_mlp_info.outputs[0];
    srand(7);
    int classes_seen = 0;
    for (int trial = 0; trial < 300; trial++) {
        int32_t v[16];
        for (int i = 0; i < 16; i++) {
            v[i] = (rand() % 2001) - 1000 + (trial % 3) * (rand() % 300);
        }
        tl_model_result_t r;
        TL_EXPECT(tl_model_step_run_features(&ms, v, &r));
        TL_EXPECT_EQ(r.ok, 1);
        tl_nn_tensor_t ti;
        tl_nn_tensor_t to;
        TL_EXPECT_EQ(tl_nn_input(&ref, 0, &ti), TL_NN_OK);
        int8_t *x = (int8_t *)ti.data;
        for (int i = 0; i < 16; i++) {
            double q = (double)v[i] / (double)in->scale;
            q = q < 0 ? -floor(-q + 0.5) : floor(q + 0.5);
            q += in->zero_point;
            x[i] = (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
        }
        TL_EXPECT_EQ(tl_nn_invoke(&ref), TL_NN_OK);
        TL_EXPECT_EQ(tl_nn_output(&ref, 0, &to), TL_NN_OK);
        const int8_t *y = (const int8_t *)to.data;
        int best = 0;
        for (int k = 1; k < 3; k++) {
            best = y[k] > y[best] ? k : best;
        }
        classes_seen |= 1 << best;
        TL_EXPECT_EQ(r.model_class, best);
        TL_EXPECT_EQ(r.artifact, best == 2 ? 1 : 0);
        double want = ((double)y[1] - out->zero_point) * (double)out->scale * 32768.0;
        TL_EXPECT_EQ(r.score, (int32_t)floor(want + 0.5));
    }
    TL_EXPECT(classes_seen != 0);
}

static void test_run_raw(void)
{
    tl_nn_model_t m;
    load(&m, &loop_conv_info, g_arena);
    tl_model_step_t ms;
    tl_model_contract_t c = {256, TL_PIPE_RAW, 1, TL_MODEL_NO_CLASS, 0};
    TL_EXPECT_EQ(tl_model_step_bind(&ms, &m, &c), TL_MODEL_OK);
    int16_t x[256];
    for (int i = 0; i < 256; i++) {
        x[i] = (int16_t)(400.0 * sin(0.3 * i));
    }
    tl_model_result_t a;
    tl_model_result_t b;
    TL_EXPECT(tl_model_step_run_raw(&ms, x, &a));
    TL_EXPECT(tl_model_step_run_raw(&ms, x, &b)); /* inputs rewritten: same answer twice */
    TL_EXPECT_EQ(a.score, b.score);
    TL_EXPECT_EQ(a.model_class, b.model_class);
    TL_EXPECT(a.score >= 0 && a.score <= TL_MODEL_Q15_ONE);
    TL_EXPECT_EQ(a.artifact, 0);
}

int main(void)
{
    TL_RUN(test_quantize_power_of_two);
    TL_RUN(test_quantize_general);
    TL_RUN(test_dequantize_q15);
    TL_RUN(test_bad_scales);
    TL_RUN(test_bind_contract);
    TL_RUN(test_run_features_matches_manual);
    TL_RUN(test_run_raw);
    return tl_test_summary();
}
