/*
 * quant.h - integer quantization arithmetic shared by all kernels.
 *
 * These reproduce, bit for bit, the arithmetic of TensorFlow Lite Micro's reference
 * kernels (TFLite's default "double rounding" build):
 *   - SaturatingRoundingDoublingHighMul, RoundingDivideByPOT, MultiplyByQuantizedMultiplier;
 *   - QuantizeMultiplier (frexp of a double, significand rounded half away from zero),
 *     implemented on the IEEE-754 bit pattern, so no libm is needed on the device;
 *   - gemmlowp's fixed-point exp / logistic / tanh / 1/(1+x) used by SOFTMAX, LOGISTIC
 *     and TANH, with the integer-bit counts as run-time parameters.
 * Signed overflow is avoided everywhere (wrapping is done in unsigned arithmetic), so
 * the host build runs clean under UBSan while producing the values TFLM produces.
 */
#ifndef TL_NN_QUANT_H
#define TL_NN_QUANT_H

#include <stdbool.h>
#include <stdint.h>

/* Wrapping int32 arithmetic (two's complement, no UB). */
static inline int32_t tl_q_wadd(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}
static inline int32_t tl_q_wsub(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}
static inline int32_t tl_q_wneg(int32_t a)
{
    return (int32_t)(0u - (uint32_t)a);
}
static inline int32_t tl_q_wshl(int32_t a, int s)
{
    return (int32_t)((uint32_t)a << s);
}

/* std::min(std::max(v, lo), hi), in TFLite's order (hi wins if lo > hi). */
static inline int32_t tl_q_clamp(int32_t v, int32_t lo, int32_t hi)
{
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* gemmlowp SaturatingRoundingDoublingHighMul: round(a * b / 2^31), saturating
 * INT32_MIN * INT32_MIN. Equals floor((a*b + 2^30) / 2^31) for all other inputs. */
static inline int32_t tl_q_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    int64_t ab = (int64_t)a * (int64_t)b;
    return (int32_t)((ab + (INT64_C(1) << 30)) >> 31);
}

/* gemmlowp RoundingDivideByPOT: x / 2^e rounded to nearest, ties away from zero. 0<=e<=31. */
static inline int32_t tl_q_rdbpot(int32_t x, int e)
{
    const int32_t mask = (int32_t)((UINT32_C(1) << e) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (remainder > threshold ? 1 : 0);
}

/* TFLite MultiplyByQuantizedMultiplier (double rounding). -31 <= shift <= 30. */
static inline int32_t tl_q_mbqm(int32_t x, int32_t multiplier, int shift)
{
    if (shift > 0) {
        return tl_q_srdhm(tl_q_wshl(x, shift), multiplier);
    }
    return tl_q_rdbpot(tl_q_srdhm(x, multiplier), -shift);
}

/*
 * The output stage of the MAC kernels: tl_q_mbqm for a multiplier in [0, 2^31) with the
 * shift split into a left part (shift > 0) and a right part (shift <= 0). Such a
 * multiplier is never INT32_MIN, so the doubling high multiply cannot saturate and needs
 * no test; with both shifts as operands the code has no branches.
 */
static inline int32_t tl_q_mbqm_split(int32_t x, int32_t multiplier, uint32_t lshift,
                                      uint32_t rshift)
{
    const int64_t ab = (int64_t)tl_q_wshl(x, (int)lshift) * multiplier;
    const int32_t hi = (int32_t)((ab + (INT64_C(1) << 30)) >> 31);
    const int32_t mask = (int32_t)((UINT32_C(1) << rshift) - 1u);
    const int32_t threshold = (mask >> 1) + (int32_t)((uint32_t)hi >> 31);
    return (hi >> rshift) + ((hi & mask) > threshold ? 1 : 0);
}

/* Left and right parts of a signed shift. */
static inline uint32_t tl_q_lshift(int32_t shift)
{
    return shift > 0 ? (uint32_t)shift : 0u;
}
static inline uint32_t tl_q_rshift(int32_t shift)
{
    return shift > 0 ? 0u : (uint32_t)-shift;
}

/* Round half away from zero, as roundf()/round() (TfLiteRound). */
float tl_q_roundf(float v);
double tl_q_round(double v);

/* TFLite QuantizeMultiplier. Returns false for a non-finite or negative multiplier,
 * or one whose shift falls outside what the kernels support (> 30). */
bool tl_q_quantize_multiplier(double real, int32_t *multiplier, int *shift);

/* frexp() of a finite positive double (exact). */
double tl_q_frexp(double v, int *exponent);

/*
 * TFLite CalculateActivationRangeQuantized for int8 outputs. `act` is the schema's
 * ActivationFunctionType (NONE, RELU, RELU_N1_TO_1, RELU6). Returns false for an
 * unsupported activation or an unrepresentable bound.
 */
bool tl_q_activation_range(uint8_t act, float scale, int32_t zero_point, int32_t *act_min,
                           int32_t *act_max);

/* gemmlowp fixed point (raw int32 values; `ibits` = integer bits of the input format). */
int32_t tl_q_fp_exp_on_negative_values(int32_t a, int ibits);   /* -> Q0.31 */
int32_t tl_q_fp_one_over_one_plus_x(int32_t a);                 /* Q0.31 -> Q0.31 */
int32_t tl_q_fp_logistic(int32_t a, int ibits);                 /* -> Q0.31 */
int32_t tl_q_fp_tanh(int32_t a, int ibits);                     /* -> Q0.31 */
/* TFLite GetReciprocal (x > 0). */
int32_t tl_q_get_reciprocal(int32_t x, int x_integer_digits, int *num_bits_over_unit);

/* Scale validity: finite and > 0. */
bool tl_q_scale_ok(float s);

#endif /* TL_NN_QUANT_H */
