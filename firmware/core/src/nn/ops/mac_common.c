/*
 * mac_common.c - per-channel quantization parameters shared by CONV_2D,
 * DEPTHWISE_CONV_2D and FULLY_CONNECTED.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* load-time code: size over speed */
#endif
#include "mac_common.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

tl_nn_status_t tl_nn_chan_params(tl_nn_prep_t *p, const tl_nn_tdesc_t *in,
                                 const tl_nn_tdesc_t *w, const tl_nn_tdesc_t *b,
                                 const tl_nn_tdesc_t *out, int32_t n_ch, int32_t qdim,
                                 uint32_t ch_stride, uint32_t k_stride, uint32_t taps,
                                 const int32_t *pt, tl_nn_chan_offs_t *offs)
{
    if (pt == NULL) {
        if (w->n_scale != 1u && w->n_scale != (uint32_t)n_ch) {
            return TL_NN_ERR_BAD_QUANTIZATION;
        }
        if (w->n_scale > 1u && w->qdim != qdim) {
            return TL_NN_ERR_BAD_QUANTIZATION;
        }
    }
    if (b != NULL) {
        TL_TRY(tl_nn_req_type(b, TL_TT_INT32));
        if (b->elems != (uint32_t)n_ch) {
            return TL_NN_ERR_BAD_SHAPE;
        }
    }
    int32_t *mult = tl_nn_prep_alloc(p, 4u * (uint32_t)n_ch, &offs->mult_off);
    int32_t *bias = tl_nn_prep_alloc(p, 4u * (uint32_t)n_ch, &offs->bias_off);
    int8_t *shift = tl_nn_prep_alloc(p, (uint32_t)n_ch, &offs->shift_off);
    if (mult == NULL || bias == NULL || shift == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    const int8_t *wd = (const int8_t *)w->data;
    for (int32_t c = 0; c < n_ch; ++c) {
        int32_t m, s;
        if (pt != NULL) {
            m = pt[0];
            s = pt[1];
        } else {
            float ws = tl_nn_tdesc_scale(p->ld, w, w->n_scale > 1u ? (uint32_t)c : 0u);
            if (!tl_q_scale_ok(ws)) {
                return TL_NN_ERR_BAD_QUANTIZATION;
            }
            TL_TRY(tl_nn_multiplier((double)in->scale * (double)ws / (double)out->scale, &m, &s));
        }
        mult[c] = m;
        shift[c] = (int8_t)s;
        uint32_t wsum = 0;
        const int8_t *wc = wd + (size_t)c * ch_stride;
        for (uint32_t k = 0; k < taps; ++k) {
            wsum += (uint32_t)(int32_t)wc[(size_t)k * k_stride];
        }
        const int32_t bv = b != NULL ? tl_nn_rd_i32(b->data + 4u * (uint32_t)c) : 0;
        /* bias - zp_in * sum(w), modulo 2^32 like TFLM's int32 accumulator */
        bias[c] = (int32_t)((uint32_t)bv - (uint32_t)in->zero_point * wsum);
    }
    return TL_NN_OK;
}

int8_t tl_nn_out8_call(tl_nn_chq_t q, tl_nn_outq_t o, int32_t acc)
{
    return tl_nn_out8(q, o, acc);
}
