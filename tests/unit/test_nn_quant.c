/*
 * test_nn_quant.c - the engine's quantization arithmetic against independent definitions.
 *
 * SaturatingRoundingDoublingHighMul and RoundingDivideByPOT are checked against exact
 * integer definitions (round half away from zero), MultiplyByQuantizedMultiplier against
 * their composition, QuantizeMultiplier against frexp/round from libm, and the gemmlowp
 * fixed-point functions against their real-valued counterparts.
 */
#include <math.h>
#include <stdint.h>

#include "../../firmware/core/src/nn/quant.h"
#include "tl_test.h"

static uint32_t g_rng = 12345u;

static uint32_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

/* round(a * b / 2^31), ties away from zero, saturating only INT32_MIN * INT32_MIN */
static int32_t ref_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    int64_t ab = (int64_t)a * b;
    int64_t nudge = ab >= 0 ? (INT64_C(1) << 30) : (1 - (INT64_C(1) << 30));
    return (int32_t)((ab + nudge) / (INT64_C(1) << 31));
}

/* x / 2^e rounded to nearest, ties away from zero */
static int32_t ref_rdbpot(int32_t x, int e)
{
    int64_t d = INT64_C(1) << e;
    int64_t q = (int64_t)x / d;
    int64_t r = (int64_t)x % d;
    if (2 * (r < 0 ? -r : r) >= d) {
        q += x < 0 ? -1 : 1;
    }
    return (int32_t)q;
}

static void test_srdhm_edges(void)
{
    TL_EXPECT_EQ(tl_q_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
    TL_EXPECT_EQ(tl_q_srdhm(INT32_MAX, INT32_MAX), INT32_MAX - 1);
    TL_EXPECT_EQ(tl_q_srdhm(INT32_MIN, INT32_MAX), -INT32_MAX);
    TL_EXPECT_EQ(tl_q_srdhm(0, INT32_MIN), 0);
    TL_EXPECT_EQ(tl_q_srdhm(1 << 30, 1 << 30), 1 << 29);
    /* 1 * 2^30 / 2^31 = 0.5 rounds away from zero in both directions */
    TL_EXPECT_EQ(tl_q_srdhm(1, 1 << 30), 1);
    TL_EXPECT_EQ(tl_q_srdhm(-1, 1 << 30), 0); /* gemmlowp's nudge: -0.5 goes to 0 */
    TL_EXPECT_EQ(tl_q_srdhm(3, 1 << 29), 1);   /* 0.75 */
    TL_EXPECT_EQ(tl_q_srdhm(-3, 1 << 29), -1); /* -0.75 */
    TL_EXPECT_EQ(tl_q_srdhm(1, 1 << 29), 0);   /* 0.25 */
}

static void test_srdhm_random(void)
{
    for (int i = 0; i < 200000; ++i) {
        int32_t a = (int32_t)rnd();
        int32_t b = (int32_t)rnd();
        if (i % 3 == 0) {
            a >>= (rnd() % 31u);
        }
        TL_EXPECT_EQ(tl_q_srdhm(a, b), ref_srdhm(a, b));
    }
}

static void test_rdbpot(void)
{
    static const int32_t xs[] = {0,  1,  -1, 2,  -2,  3,         -3,       5,
                                 -5, 6,  -6, 7,  -7,  INT32_MAX, INT32_MIN, INT32_MIN + 1,
                                 1 << 30, -(1 << 30), 12345678, -12345678};
    for (int e = 0; e <= 31; ++e) {
        for (size_t i = 0; i < sizeof xs / sizeof xs[0]; ++i) {
            TL_EXPECT_EQ(tl_q_rdbpot(xs[i], e), ref_rdbpot(xs[i], e));
        }
        for (int k = 0; k < 5000; ++k) {
            int32_t x = (int32_t)rnd();
            TL_EXPECT_EQ(tl_q_rdbpot(x, e), ref_rdbpot(x, e));
        }
        if (e >= 1) {
            /* exact ties */
            int32_t half = (int32_t)(INT64_C(1) << (e - 1));
            TL_EXPECT_EQ(tl_q_rdbpot(half, e), 1);
            TL_EXPECT_EQ(tl_q_rdbpot(-half, e), -1);
        }
    }
    TL_EXPECT_EQ(tl_q_rdbpot(5, 1), 3);
    TL_EXPECT_EQ(tl_q_rdbpot(-5, 1), -3);
    TL_EXPECT_EQ(tl_q_rdbpot(INT32_MIN, 31), -1);
    TL_EXPECT_EQ(tl_q_rdbpot(INT32_MAX, 31), 1);
}

static void test_mbqm(void)
{
    /* identity: multiplier 0.5 with one left shift */
    for (int i = 0; i < 1000; ++i) {
        int32_t x = (int32_t)rnd() >> 2;
        TL_EXPECT_EQ(tl_q_mbqm(x, 1 << 30, 1), x);
    }
    for (int i = 0; i < 100000; ++i) {
        int32_t x = (int32_t)rnd() >> (rnd() % 24u);
        int32_t m = (int32_t)(rnd() >> 1);
        int shift = (int)(rnd() % 40u) - 31; /* -31 .. 8 */
        int32_t want;
        if (shift > 0) {
            int64_t xs = (int64_t)x * (INT64_C(1) << shift);
            if (xs > INT32_MAX || xs < INT32_MIN) {
                continue; /* TFLM leaves overflow undefined */
            }
            want = ref_srdhm((int32_t)xs, m);
        } else {
            want = ref_rdbpot(ref_srdhm(x, m), -shift);
        }
        TL_EXPECT_EQ(tl_q_mbqm(x, m, shift), want);
    }
    /* double rounding differs from single rounding: 0.5 * x with x = 3, shift -1 */
    TL_EXPECT_EQ(tl_q_mbqm(3, 1 << 30, -1), 1); /* 3 * 0.5 = 1.5 -> 2 -> 2/2 = 1 */
    TL_EXPECT_EQ(tl_q_mbqm(-3, 1 << 30, -1), -1);
    TL_EXPECT_EQ(tl_q_mbqm(INT32_MIN, 1 << 30, 0), INT32_MIN / 2);
}

/* TFLite's QuantizeMultiplier through libm frexp/round */
static int ref_quantize(double d, int32_t *m, int *shift)
{
    if (d == 0.0) {
        *m = 0;
        *shift = 0;
        return 1;
    }
    double q = frexp(d, shift);
    int64_t qf = (int64_t)round(q * (double)(INT64_C(1) << 31));
    if (qf == (INT64_C(1) << 31)) {
        qf /= 2;
        ++*shift;
    }
    if (*shift < -31) {
        *shift = 0;
        qf = 0;
    }
    *m = (int32_t)qf;
    return 1;
}

static void test_quantize_multiplier(void)
{
    int32_t m;
    int s;
    TL_EXPECT(tl_q_quantize_multiplier(0.5, &m, &s));
    TL_EXPECT_EQ(m, 1 << 30);
    TL_EXPECT_EQ(s, 0);
    TL_EXPECT(tl_q_quantize_multiplier(1.0, &m, &s));
    TL_EXPECT_EQ(m, 1 << 30);
    TL_EXPECT_EQ(s, 1);
    TL_EXPECT(tl_q_quantize_multiplier(0.25, &m, &s));
    TL_EXPECT_EQ(m, 1 << 30);
    TL_EXPECT_EQ(s, -1);
    /* rounds up to 2^31: renormalised */
    TL_EXPECT(tl_q_quantize_multiplier(1.0 - ldexp(1.0, -40), &m, &s));
    TL_EXPECT_EQ(m, 1 << 30);
    TL_EXPECT_EQ(s, 1);
    /* below 2^-32: flushed to zero */
    TL_EXPECT(tl_q_quantize_multiplier(ldexp(1.0, -40), &m, &s));
    TL_EXPECT_EQ(m, 0);
    TL_EXPECT_EQ(s, 0);
    TL_EXPECT(tl_q_quantize_multiplier(0.0, &m, &s));
    TL_EXPECT_EQ(m, 0);
    /* rejected: negative, NaN, infinite, too large for the kernels */
    TL_EXPECT(!tl_q_quantize_multiplier(-0.5, &m, &s));
    TL_EXPECT(!tl_q_quantize_multiplier(NAN, &m, &s));
    TL_EXPECT(!tl_q_quantize_multiplier(INFINITY, &m, &s));
    TL_EXPECT(!tl_q_quantize_multiplier(ldexp(1.0, 40), &m, &s));
    /* subnormal input */
    TL_EXPECT(tl_q_quantize_multiplier(ldexp(1.0, -1070), &m, &s));
    TL_EXPECT_EQ(m, 0);
    for (int i = 0; i < 100000; ++i) {
        double d = ldexp((double)rnd() / 4294967296.0 + (double)rnd() * 1e-10, (int)(rnd() % 50u) - 40);
        int32_t rm;
        int rs;
        ref_quantize(d, &rm, &rs);
        if (rs > 30) {
            continue;
        }
        TL_EXPECT(tl_q_quantize_multiplier(d, &m, &s));
        TL_EXPECT_EQ(m, rm);
        TL_EXPECT_EQ(s, rs);
    }
    /* exact ties of the significand round away from zero */
    double tie = ldexp((double)((INT64_C(1) << 52) + (INT64_C(1) << 21)), -53);
    TL_EXPECT(tl_q_quantize_multiplier(tie, &m, &s));
    TL_EXPECT_EQ(m, (1 << 30) + 1);
}

static void test_frexp_round(void)
{
    for (int i = 0; i < 20000; ++i) {
        double d = ldexp((double)(rnd() | 1u), (int)(rnd() % 200u) - 100);
        int e1, e2;
        double f1 = tl_q_frexp(d, &e1);
        double f2 = frexp(d, &e2);
        TL_EXPECT(f1 == f2);
        TL_EXPECT_EQ(e1, e2);
    }
    static const float fv[] = {0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 0.49999997f, -0.49999997f,
                               8388609.0f, -8388609.0f, 1e20f, 0.0f, -0.0f, 123.456f};
    for (size_t i = 0; i < sizeof fv / sizeof fv[0]; ++i) {
        TL_EXPECT(tl_q_roundf(fv[i]) == roundf(fv[i]));
    }
    for (int i = 0; i < 100000; ++i) {
        uint32_t u = rnd();
        float f;
        memcpy(&f, &u, sizeof f);
        if (f != f) {
            continue;
        }
        TL_EXPECT(tl_q_roundf(f) == roundf(f));
        double d = (double)(int32_t)rnd() / 64.0;
        TL_EXPECT(tl_q_round(d) == round(d));
    }
}

static void test_activation_range(void)
{
    int32_t lo, hi;
    TL_EXPECT(tl_q_activation_range(0, 0.1f, 5, &lo, &hi));
    TL_EXPECT_EQ(lo, -128);
    TL_EXPECT_EQ(hi, 127);
    TL_EXPECT(tl_q_activation_range(1, 0.1f, -20, &lo, &hi)); /* RELU: zero point */
    TL_EXPECT_EQ(lo, -20);
    TL_EXPECT_EQ(hi, 127);
    TL_EXPECT(tl_q_activation_range(3, 0.1f, -128, &lo, &hi)); /* RELU6: 6/0.1 = 60 */
    TL_EXPECT_EQ(lo, -128);
    TL_EXPECT_EQ(hi, -68);
    TL_EXPECT(tl_q_activation_range(3, 0.01f, -128, &lo, &hi)); /* 6 beyond range */
    TL_EXPECT_EQ(hi, 127);
    TL_EXPECT(tl_q_activation_range(2, 0.5f, 0, &lo, &hi)); /* RELU_N1_TO_1 */
    TL_EXPECT_EQ(lo, -2);
    TL_EXPECT_EQ(hi, 2);
    TL_EXPECT(!tl_q_activation_range(4, 0.1f, 0, &lo, &hi)); /* TANH is not a clamp */
}

static double q31(int32_t v)
{
    return (double)v / 2147483648.0;
}

static void test_fixed_point(void)
{
    TL_EXPECT_EQ(tl_q_fp_exp_on_negative_values(0, 5), INT32_MAX);
    TL_EXPECT_EQ(tl_q_fp_logistic(0, 4), 1 << 30);
    TL_EXPECT_EQ(tl_q_fp_tanh(0, 4), 0);
    double worst = 0;
    for (int i = 1; i < 20000; ++i) {
        /* x in (-16, 0) as Q5.26 */
        int32_t a = -(int32_t)(rnd() % (16u << 26));
        double x = (double)a / (double)(1 << 26);
        double err = fabs(q31(tl_q_fp_exp_on_negative_values(a, 5)) - exp(x));
        worst = err > worst ? err : worst;
    }
    TL_EXPECT(worst < 5e-7); /* gemmlowp's polynomial: ~2e-7 */
    worst = 0;
    for (int i = 1; i < 20000; ++i) {
        int32_t a = (int32_t)(rnd() % (1u << 31)) - (int32_t)(1u << 30); /* Q4.27 in (-8, 8) */
        double x = (double)a / (double)(1 << 27);
        double el = fabs(q31(tl_q_fp_logistic(a, 4)) - 1.0 / (1.0 + exp(-x)));
        double et = fabs(q31(tl_q_fp_tanh(a, 4)) - tanh(x));
        worst = el > worst ? el : worst;
        worst = et > worst ? et : worst;
        /* symmetry of the fixed-point implementations */
        TL_EXPECT_EQ(tl_q_fp_tanh(-a, 4), -tl_q_fp_tanh(a, 4));
    }
    TL_EXPECT(worst < 5e-7);
    /* 1 / (1 + x) on [0, 1) */
    for (int i = 0; i < 10000; ++i) {
        int32_t a = (int32_t)(rnd() >> 1);
        TL_EXPECT(fabs(q31(tl_q_fp_one_over_one_plus_x(a)) - 1.0 / (1.0 + q31(a))) < 1e-8);
    }
    /* reciprocal of a Q12.19 sum */
    int bits;
    int32_t r = tl_q_get_reciprocal(3 << 19, 12, &bits); /* 3.0 */
    TL_EXPECT_EQ(bits, 1);
    TL_EXPECT(fabs(q31(r) - 2.0 / 3.0) < 1e-8); /* 1/3 = (2/3) / 2^bits */
}

int main(void)
{
    TL_RUN(test_srdhm_edges);
    TL_RUN(test_srdhm_random);
    TL_RUN(test_rdbpot);
    TL_RUN(test_mbqm);
    TL_RUN(test_quantize_multiplier);
    TL_RUN(test_frexp_round);
    TL_RUN(test_activation_range);
    TL_RUN(test_fixed_point);
    return tl_test_summary();
}
