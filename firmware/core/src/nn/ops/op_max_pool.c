/*
 * op_max_pool.c - MAX_POOL_2D (int8): TFLM reference_integer_ops::MaxPool.
 *
 * The maximum over the in-image taps, then the fused activation clamp (max with the
 * lower bound first, as TFLM). With the DSP extension four channels are handled per
 * instruction pair (SSUB8 sets a per-byte >= flag, SEL picks the larger bytes).
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2") /* kernels: speed, without -O3's code growth */
#endif
#include "../dot.h"
#include "ops.h"
#include "pool_common.h"

#if TL_NN_DSP
/* Byte-wise signed maximum / minimum of four int8 lanes. */
static inline uint32_t max4(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(r) : "r"(a), "r"(b) : "cc");
    return r;
}
static inline uint32_t min4(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %2, %1" : "=&r"(r) : "r"(a), "r"(b) : "cc");
    return r;
}
#endif

/* One output pixel: the maximum over `rows` x `cols` taps starting at `first`. */
static void pool_px(const tl_nn_pool_params_t *P, const int8_t *first, int32_t rows,
                    int32_t cols, int8_t *o)
{
    const int32_t D = P->depth;
    const size_t row_step = (size_t)P->in_w * (size_t)D;
    int32_t vec = 0;
#if TL_NN_DSP
    /* four channels per word, the output row as the running maximum */
    vec = D & ~3;
    for (int32_t ch = 0; ch < vec; ch += 4) {
        memcpy(o + ch, first + ch, 4);
    }
    for (int32_t fy = 0; fy < rows; ++fy) {
        const int8_t *p = first + (size_t)fy * row_step;
        for (int32_t fx = 0; fx < cols; ++fx, p += D) {
            for (int32_t ch = 0; ch < vec; ch += 4) {
                const uint32_t m = max4(tl_nn_ld32(o + ch), tl_nn_ld32(p + ch));
                memcpy(o + ch, &m, 4);
            }
        }
    }
    if (P->act_min > -128 || P->act_max < 127) {
        const uint32_t lo4 = (uint8_t)(int8_t)P->act_min * 0x01010101u;
        const uint32_t hi4 = (uint8_t)(int8_t)P->act_max * 0x01010101u;
        for (int32_t ch = 0; ch < vec; ch += 4) {
            const uint32_t m = min4(max4(tl_nn_ld32(o + ch), lo4), hi4);
            memcpy(o + ch, &m, 4);
        }
    }
#endif
    for (int32_t ch = vec; ch < D; ++ch) {
        int32_t m = first[ch];
        for (int32_t fy = 0; fy < rows; ++fy) {
            const int8_t *p = first + (size_t)fy * row_step + ch;
            for (int32_t fx = 0; fx < cols; ++fx, p += D) {
                m = *p > m ? *p : m;
            }
        }
        o[ch] = (int8_t)tl_q_clamp(m, P->act_min, P->act_max);
    }
}

void tl_nn_eval_max_pool(const tl_nn_ctx_t *c, const void *params)
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
                int8_t *o = out + (((size_t)b * P->out_h + oy) * P->out_w + ox) * D;
                const int8_t *first =
                    xb + ((size_t)(iy0 + fy0) * P->in_w + (size_t)(ix0 + fx0)) * D;
                pool_px(P, first, fy1 - fy0, fx1 - fx0, o);
            }
        }
    }
}

tl_nn_status_t tl_nn_prep_max_pool(tl_nn_prep_t *p)
{
    return tl_nn_pool_prep(p, TL_NN_K_MAXPOOL);
}
