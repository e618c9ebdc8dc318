/*
 * quant.c - load-time quantization arithmetic and gemmlowp fixed-point functions.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* fixed point exp/logistic/tanh: a few calls per row */
#endif
#include "quant.h"

#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#if defined(__GNUC__) && !defined(__clang__)
#define TL_Q_COLD __attribute__((cold, optimize("Os")))
#elif defined(__GNUC__)
#define TL_Q_COLD __attribute__((cold))
#else
#define TL_Q_COLD
#endif

static uint64_t dbits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static double dfrom(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

TL_Q_COLD bool tl_q_scale_ok(float s)
{
    /* finite and strictly positive (NaN fails both comparisons) */
    return s > 0.0f && s <= 3.402823466e38f;
}

TL_Q_COLD float tl_q_roundf(float v)
{
    if (v != v) {
        return v;
    }
    float a = v < 0.0f ? -v : v;
    if (a >= 8388608.0f) { /* 2^23: already integral (or infinite) */
        return v;
    }
    int32_t t = (int32_t)a;
    float frac = a - (float)t; /* exact: a < 2^23 */
    float r = (float)t + (frac >= 0.5f ? 1.0f : 0.0f);
    return v < 0.0f ? -r : r;
}

TL_Q_COLD double tl_q_round(double v)
{
    if (v != v) {
        return v;
    }
    double a = v < 0.0 ? -v : v;
    if (a >= 4503599627370496.0) { /* 2^52 */
        return v;
    }
    int64_t t = (int64_t)a;
    double frac = a - (double)t; /* exact */
    double r = (double)t + (frac >= 0.5 ? 1.0 : 0.0);
    return v < 0.0 ? -r : r;
}

TL_Q_COLD double tl_q_frexp(double v, int *exponent)
{
    uint64_t u = dbits(v);
    int e = (int)((u >> 52) & 0x7ffu);
    if (e == 0) {
        if ((u << 1) == 0) {
            *exponent = 0;
            return v;
        }
        /* subnormal: scale by 2^54 into the normal range first */
        double f = tl_q_frexp(v * 18014398509481984.0, exponent);
        *exponent -= 54;
        return f;
    }
    *exponent = e - 1022;
    u = (u & ~(UINT64_C(0x7ff) << 52)) | (UINT64_C(1022) << 52);
    return dfrom(u);
}

TL_Q_COLD bool tl_q_quantize_multiplier(double real, int32_t *multiplier, int *shift)
{
    if (!(real >= 0.0) || real > 1.7976931348623157e308) {
        return false;
    }
    if (real == 0.0) {
        *multiplier = 0;
        *shift = 0;
        return true;
    }
    int e;
    double f = tl_q_frexp(real, &e); /* f in [0.5, 1): f = mant * 2^-53 */
    uint64_t mant = (dbits(f) & ((UINT64_C(1) << 52) - 1u)) | (UINT64_C(1) << 52);
    /* round(f * 2^31) = round(mant / 2^22), ties away from zero */
    uint64_t q = (mant + (UINT64_C(1) << 21)) >> 22;
    if (q == (UINT64_C(1) << 31)) {
        q >>= 1;
        ++e;
    }
    if (e < -31) {
        e = 0;
        q = 0;
    }
    if (e > 30) {
        return false;
    }
    *multiplier = (int32_t)q;
    *shift = e;
    return true;
}

TL_Q_COLD static bool quantize_float(float scale, int32_t zero_point, float f, int32_t *q)
{
    float tmp = tl_q_roundf(f / scale);
    if (!(tmp >= -2147483648.0f && tmp < 2147483648.0f)) {
        return false;
    }
    *q = tl_q_wadd(zero_point, (int32_t)tmp);
    return true;
}

TL_Q_COLD bool tl_q_activation_range(uint8_t act, float scale, int32_t zero_point, int32_t *act_min,
                           int32_t *act_max)
{
    const int32_t qmin = -128;
    const int32_t qmax = 127;
    int32_t lo = qmin;
    int32_t hi = qmax;
    int32_t q;
    switch (act) {
    case 0: /* NONE */
        break;
    case 1: /* RELU */
        if (!quantize_float(scale, zero_point, 0.0f, &q)) {
            return false;
        }
        lo = q > qmin ? q : qmin;
        break;
    case 2: /* RELU_N1_TO_1 */
        if (!quantize_float(scale, zero_point, -1.0f, &q)) {
            return false;
        }
        lo = q > qmin ? q : qmin;
        if (!quantize_float(scale, zero_point, 1.0f, &q)) {
            return false;
        }
        hi = q < qmax ? q : qmax;
        break;
    case 3: /* RELU6 */
        if (!quantize_float(scale, zero_point, 0.0f, &q)) {
            return false;
        }
        lo = q > qmin ? q : qmin;
        if (!quantize_float(scale, zero_point, 6.0f, &q)) {
            return false;
        }
        hi = q < qmax ? q : qmax;
        break;
    default: /* TANH, SIGN_BIT: never fused by the converter, not applied by TFLM */
        return false;
    }
    *act_min = lo;
    *act_max = hi;
    return true;
}

/* ---- gemmlowp fixed point, scalar int32 ------------------------------------------ */

static int32_t fp_mul(int32_t a, int32_t b)
{
    return tl_q_srdhm(a, b);
}

/* SaturatingRoundingMultiplyByPOT with a run-time exponent. */
static int32_t fp_srmpot(int32_t x, int exponent)
{
    if (exponent == 0) {
        return x;
    }
    if (exponent < 0) {
        return tl_q_rdbpot(x, -exponent);
    }
    const int32_t threshold = (int32_t)((UINT32_C(1) << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return tl_q_wshl(x, exponent);
}

/* Rescale from `src` to `dst` integer bits. */
static int32_t fp_rescale(int32_t x, int src, int dst)
{
    return fp_srmpot(x, src - dst);
}

static int32_t fp_rounding_half_sum(int32_t a, int32_t b)
{
    int64_t sum = (int64_t)a + (int64_t)b;
    int64_t sign = sum >= 0 ? 1 : -1;
    return (int32_t)((sum + sign) / 2);
}

/* exp(x) for x in [-1/4, 0), Q0.31 in and out. */
static int32_t fp_exp_interval(int32_t a)
{
    const int32_t constant_term = 1895147668;  /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883;
    int32_t x = tl_q_wadd(a, INT32_C(1) << 28); /* + 1/8 */
    int32_t x2 = fp_mul(x, x);
    int32_t x3 = fp_mul(x2, x);
    int32_t x4 = fp_mul(x2, x2);
    int32_t x4_over_4 = tl_q_rdbpot(x4, 2);
    int32_t poly = tl_q_rdbpot(
        tl_q_wadd(fp_mul(tl_q_wadd(x4_over_4, x3), constant_1_over_3), x2), 1);
    return tl_q_wadd(constant_term, fp_mul(constant_term, tl_q_wadd(x, poly)));
}

int32_t tl_q_fp_exp_on_negative_values(int32_t a, int ibits)
{
    static const int32_t k_mult[7] = {1672461947, 1302514674, 790015084, 290630308,
                                      39332535,   720401,     242};
    const int fbits = 31 - ibits;
    const int32_t one_quarter = INT32_C(1) << (fbits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_one_quarter = tl_q_wsub(a & mask, one_quarter);
    int32_t result = fp_exp_interval(fp_rescale(a_mod_quarter_minus_one_quarter, ibits, 0));
    const int32_t remainder = tl_q_wsub(a_mod_quarter_minus_one_quarter, a);
    for (int exponent = -2; exponent <= 4; ++exponent) {
        if (ibits > exponent) {
            const int shift = fbits + exponent;
            if ((remainder & (int32_t)(UINT32_C(1) << shift)) != 0) {
                result = fp_mul(result, k_mult[exponent + 2]);
            }
        }
    }
    if (ibits > 5) {
        const int clamp_b = 36 - ibits;
        if (a < -(INT32_C(1) << clamp_b)) {
            result = 0;
        }
    }
    if (a == 0) {
        result = INT32_MAX;
    }
    return result;
}

/* Newton-Raphson 1/(1+x) (and (1-x)/(1+x)) for x in [0,1), Q0.31. */
static int32_t fp_nr_reciprocal_f2(int32_t a, int32_t *half_denominator_out)
{
    const int32_t c48_over_17 = 1515870810;   /* Q2.29 */
    const int32_t cneg32_over_17 = -1010580540; /* Q2.29 */
    const int32_t f2_one = INT32_C(1) << 29;
    int32_t half_denominator = fp_rounding_half_sum(a, INT32_MAX);
    int32_t x = tl_q_wadd(c48_over_17, fp_mul(half_denominator, cneg32_over_17));
    for (int i = 0; i < 3; ++i) {
        int32_t half_denominator_times_x = fp_mul(half_denominator, x);
        int32_t one_minus = tl_q_wsub(f2_one, half_denominator_times_x);
        x = tl_q_wadd(x, fp_rescale(fp_mul(x, one_minus), 4, 2));
    }
    *half_denominator_out = half_denominator;
    return x; /* Q2.29 */
}

int32_t tl_q_fp_one_over_one_plus_x(int32_t a)
{
    int32_t hd;
    int32_t x = fp_nr_reciprocal_f2(a, &hd);
    /* ExactMulByPot<-1>: Q2 -> Q1 (same raw), then Rescale<0> from 1 integer bit */
    return fp_rescale(x, 1, 0);
}

static int32_t fp_one_minus_x_over_one_plus_x(int32_t a)
{
    int32_t hd;
    int32_t x = fp_nr_reciprocal_f2(a, &hd);
    return fp_rescale(tl_q_wsub(x, INT32_C(1) << 29), 2, 0);
}

int32_t tl_q_fp_logistic(int32_t a, int ibits)
{
    if (a == 0) {
        return INT32_C(1) << 30;
    }
    const bool positive = a > 0;
    const int32_t abs_input = positive ? a : tl_q_wneg(a);
    const int32_t result_if_positive =
        tl_q_fp_one_over_one_plus_x(tl_q_fp_exp_on_negative_values(tl_q_wneg(abs_input), ibits));
    if (positive) {
        return result_if_positive;
    }
    return tl_q_wsub(INT32_MAX, result_if_positive);
}

int32_t tl_q_fp_tanh(int32_t a, int ibits)
{
    if (a == 0) {
        return 0;
    }
    const bool negative = a < 0;
    const int32_t n = negative ? a : tl_q_wneg(a);
    /* neg_tanh_on_negative_values: ExactMulByPot<1> makes it ibits + 1 integer bits */
    const int32_t t = fp_one_minus_x_over_one_plus_x(tl_q_fp_exp_on_negative_values(n, ibits + 1));
    return negative ? tl_q_wneg(t) : t;
}

int32_t tl_q_get_reciprocal(int32_t x, int x_integer_digits, int *num_bits_over_unit)
{
    uint32_t ux = (uint32_t)x;
    int headroom_plus_one = 0;
    while (headroom_plus_one < 32 && (ux & (UINT32_C(1) << (31 - headroom_plus_one))) == 0) {
        ++headroom_plus_one;
    }
    *num_bits_over_unit = x_integer_digits - headroom_plus_one;
    uint32_t shifted = headroom_plus_one >= 32 ? 0u : (ux << headroom_plus_one);
    const int32_t shifted_sum_minus_one = (int32_t)(shifted - (UINT32_C(1) << 31));
    return tl_q_fp_one_over_one_plus_x(shifted_sum_minus_one);
}
