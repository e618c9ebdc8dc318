/*
 * op_avg_pool.c - AVERAGE_POOL_2D (int8): TFLM reference_integer_ops::AveragePool.
 * Sum of the in-image taps (raw int8, zero point untouched), divided by the number of
 * taps rounding half away from zero, clamped to the activation range.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* simple data movement / element-wise: size first */
#endif
#include "ops.h"
#include "pool_common.h"

void tl_nn_eval_avg_pool(const tl_nn_ctx_t *c, const void *params)
{
    const tl_nn_pool_params_t *P = params;
    const int8_t *in = tl_nn_ptr(c, P->in);
    int8_t *out = tl_nn_ptr(c, P->out);
    const int32_t D = P->depth;
    for (int32_t b = 0; b < P->batches; ++b) {
        const int8_t *xb = in + (size_t)b * P->in_h * P->in_w * D;
        for (int32_t oy = 0; oy < P->out_h; ++oy) {
            const int32_t iy0 = oy * P->stride_h - P->pad_h;
            const int32_t fy0 = iy0 < 0 ? -iy0 : 0;
            const int32_t fy1 = P->f_h < P->in_h - iy0 ? P->f_h : P->in_h - iy0;
            for (int32_t ox = 0; ox < P->out_w; ++ox) {
                const int32_t ix0 = ox * P->stride_w - P->pad_w;
                const int32_t fx0 = ix0 < 0 ? -ix0 : 0;
                const int32_t fx1 = P->f_w < P->in_w - ix0 ? P->f_w : P->in_w - ix0;
                const int32_t count = (fy1 - fy0) * (fx1 - fx0);
                int8_t *o = out + (((size_t)b * P->out_h + oy) * P->out_w + ox) * D;
                for (int32_t ch = 0; ch < D; ++ch) {
                    int32_t acc = 0;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        const int8_t *row =
                            xb + ((size_t)(iy0 + fy) * P->in_w + (size_t)(ix0 + fx0)) * D + ch;
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            acc += row[(size_t)(fx - fx0) * D];
                        }
                    }
                    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    o[ch] = (int8_t)tl_q_clamp(acc, P->act_min, P->act_max);
                }
            }
        }
    }
}

tl_nn_status_t tl_nn_prep_avg_pool(tl_nn_prep_t *p)
{
    return tl_nn_pool_prep(p, TL_NN_K_AVGPOOL);
}
