/*
 * op_softmax.c - SOFTMAX (int8 -> int8) over the last dimension.
 *
 * TFLM reference_ops::Softmax with gemmlowp fixed point: input differences to the row
 * maximum are scaled by beta * input_scale into Q5.26 (PreprocessSoftmaxScaling), exp()
 * of each is summed in Q12.19, the sum inverted (GetReciprocal) and every exp scaled by
 * it; differences below diff_min (-CalculateInputRadius(5, shift)) give -128. The output
 * must be quantized with scale 1/256 and zero point -128 (TFLM rejects anything else).
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2") /* kernels: speed, without -O3's code growth */
#endif
#include "op_common.h"
#include "ops.h"

/* Rows up to this long keep their exp() values on the stack between the two passes. */
#define SOFTMAX_CACHE 32

typedef struct {
    uint16_t in, out;
    int32_t outer, depth;
    int32_t mult, left_shift, diff_min;
} softmax_params_t;

static inline int32_t scaled_diff(const softmax_params_t *P, int32_t diff)
{
    return tl_q_srdhm(tl_q_wshl(diff, P->left_shift), P->mult);
}

void tl_nn_eval_softmax(const tl_nn_ctx_t *c, const void *params)
{
    const softmax_params_t *P = params;
    const int8_t *in = tl_nn_ptr(c, P->in);
    int8_t *out = tl_nn_ptr(c, P->out);
    for (int32_t r = 0; r < P->outer; ++r) {
        const int8_t *x = in + (size_t)r * P->depth;
        int8_t *o = out + (size_t)r * P->depth;
        int32_t max = -128;
        for (int32_t i = 0; i < P->depth; ++i) {
            if (x[i] > max) {
                max = x[i];
            }
        }
        /* exp() of short rows is kept for the second pass */
        int32_t cache[SOFTMAX_CACHE];
        const bool cached = P->depth <= SOFTMAX_CACHE;
        int32_t sum = 0; /* Q12.19 */
        for (int32_t i = 0; i < P->depth; ++i) {
            const int32_t diff = x[i] - max;
            int32_t e = 0;
            if (diff >= P->diff_min) {
                e = tl_q_fp_exp_on_negative_values(scaled_diff(P, diff), 5);
                sum = tl_q_wadd(sum, tl_q_rdbpot(e, 12));
            }
            if (cached) {
                cache[i] = e;
            }
        }
        int bits_over_unit;
        const int32_t recip = tl_q_get_reciprocal(sum, 12, &bits_over_unit);
        int32_t exponent = bits_over_unit + 31 - 8;
        /* TFLM requires 0 <= exponent <= 31 (fails otherwise); keep the shift defined */
        exponent = exponent < 0 ? 0 : (exponent > 31 ? 31 : exponent);
        for (int32_t i = 0; i < P->depth; ++i) {
            const int32_t diff = x[i] - max;
            if (diff >= P->diff_min) {
                const int32_t e = cached ? cache[i]
                                         : tl_q_fp_exp_on_negative_values(scaled_diff(P, diff), 5);
                const int32_t v = tl_q_rdbpot(tl_q_srdhm(recip, e), exponent) - 128;
                o[i] = (int8_t)tl_q_clamp(v, -128, 127);
            } else {
                o[i] = -128;
            }
        }
    }
}

tl_nn_status_t tl_nn_prep_softmax(tl_nn_prep_t *p)
{
    tl_nn_tdesc_t in, out;
    TL_TRY(tl_nn_prep_counts(p, 1, 1, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &in, NULL));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    TL_TRY(tl_nn_req_int8(&in));
    TL_TRY(tl_nn_req_int8(&out));
    if (in.ndim < 1) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    TL_TRY(tl_nn_shape_like(p, &out, &in));
    if (out.zero_point != -128 || out.scale != 1.0f / 256.0f) {
        return TL_NN_ERR_BAD_QUANTIZATION;
    }
    float beta;
    TL_TRY(tl_nn_opt_f32(p, 0, 0.0f, &beta));
    /* PreprocessSoftmaxScaling(beta, input_scale, 5): Q5.26 input, capped multiplier */
    double real = (double)beta * (double)in.scale * (double)(INT32_C(1) << 26);
    const double cap = 2147483647.0;
    if (real > cap) {
        real = cap;
    }
    if (!(real > 1.0)) {
        return TL_NN_ERR_BAD_QUANTIZATION; /* QuantizeMultiplierGreaterThanOne */
    }
    uint32_t off;
    softmax_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    int32_t m, s;
    TL_TRY(tl_nn_multiplier(real, &m, &s));
    if (s < 0) {
        return TL_NN_ERR_BAD_QUANTIZATION;
    }
    P->in = tl_nn_tix(&in);
    P->out = tl_nn_tix(&out);
    P->depth = in.dims[in.ndim - 1];
    P->outer = (int32_t)(in.elems / (uint32_t)P->depth);
    P->mult = m;
    P->left_shift = s;
    /* CalculateInputRadius(5, s, 31) = floor(31 * 2^26 / 2^s) */
    P->diff_min = -(int32_t)((INT64_C(31) << 26) >> s);
    p->kernel = TL_NN_K_SOFTMAX;
    p->params_off = off;
    return TL_NN_OK;
}
