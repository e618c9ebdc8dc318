/*
 * op_fully_connected.c - FULLY_CONNECTED (int8, per-channel or per-tensor weights).
 *
 * TFLM semantics: per-channel weights use FullyConnectedPerChannel (multiplier per output
 * unit from double(in_scale) * double(w_scale[c]) / double(out_scale)); per-tensor
 * weights use FullyConnected with the multiplier from the float32 product
 * in_scale * w_scale (GetQuantizedConvolutionMultipler), including its bias-scale check.
 * The input zero point is folded into the bias at load.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2") /* kernels: speed, without -O3's code growth */
#endif
#include "../dot.h"
#include "mac_common.h"
#include "ops.h"

typedef struct {
    uint16_t in, w, out, pad_;
    int32_t batches, depth, units;
    int32_t out_zp, act_min, act_max;
    uint32_t mult_off, bias_off, shift_off;
} fc_params_t;

void tl_nn_eval_fully_connected(const tl_nn_ctx_t *c, const void *params)
{
    const fc_params_t *P = params;
    const int8_t *x = tl_nn_ptr(c, P->in);
    const int8_t *w = tl_nn_ptr(c, P->w);
    int8_t *o = tl_nn_ptr(c, P->out);
    const int32_t *mult = tl_nn_arena_at(c, P->mult_off);
    const int32_t *bias = tl_nn_arena_at(c, P->bias_off);
    const int8_t *shift = tl_nn_arena_at(c, P->shift_off);
    const uint32_t depth = (uint32_t)P->depth;
    const int32_t units = P->units, batches = P->batches;
    const tl_nn_outq_t oq = {P->out_zp, P->act_min, P->act_max};
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x0 = x + (size_t)b * depth;
        int8_t *o0 = o + (size_t)b * units;
        int32_t u = 0;
        for (; u + 1 < units; u += 2) {
            int32_t acc[2] = {0, 0};
            const int8_t *w0 = w + (size_t)u * depth;
            tl_nn_dot_1x2(x0, w0, w0 + depth, depth, acc);
            const tl_nn_chq_t q0 = tl_nn_chq(mult, bias, shift, u);
            const tl_nn_chq_t q1 = tl_nn_chq(mult, bias, shift, u + 1);
            o0[u] = tl_nn_out8(q0, oq, acc[0]);
            o0[u + 1] = tl_nn_out8(q1, oq, acc[1]);
        }
        if (u < units) {
            int32_t acc[1] = {0};
            tl_nn_dot_1x1_call(x0, w + (size_t)u * depth, depth, acc);
            o0[u] = tl_nn_out8(tl_nn_chq(mult, bias, shift, u), oq, acc[0]);
        }
    }
}

tl_nn_status_t tl_nn_prep_fully_connected(tl_nn_prep_t *p)
{
    tl_nn_tdesc_t in, w, b, out;
    bool has_bias;
    TL_TRY(tl_nn_prep_counts(p, 2, 3, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &in, NULL));
    TL_TRY(tl_nn_prep_in(p, 1, &w, NULL));
    TL_TRY(tl_nn_prep_in(p, 2, &b, &has_bias));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    TL_TRY(tl_nn_req_int8(&in));
    TL_TRY(tl_nn_req_type(&w, TL_TT_INT8));
    TL_TRY(tl_nn_req_int8(&out));
    if (w.data == NULL || (has_bias && b.data == NULL)) {
        return TL_NN_ERR_UNSUPPORTED_PARAM;
    }
    uint8_t act, weights_format;
    TL_TRY(tl_nn_opt_u8(p, 0, TL_ACT_NONE, &act));
    TL_TRY(tl_nn_opt_u8(p, 1, 0, &weights_format));
    if (weights_format != 0) {
        return TL_NN_ERR_UNSUPPORTED_PARAM;
    }
    if (w.ndim != 2 || out.ndim < 1) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    const int32_t units = w.dims[0];
    const int32_t depth = w.dims[1];
    if ((uint32_t)depth > TL_NN_MAX_ACCUM_DEPTH) {
        return TL_NN_ERR_TENSOR_TOO_LARGE;
    }
    if (out.dims[out.ndim - 1] != units || in.elems % (uint32_t)depth != 0) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    const uint32_t batches = out.elems / (uint32_t)units;
    if ((uint64_t)batches * (uint32_t)depth != in.elems) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    const bool per_channel = w.n_scale > 1u;
    int32_t pt[2];
    if (per_channel) {
        if (w.n_scale != (uint32_t)units || w.qdim != 0) {
            return TL_NN_ERR_BAD_QUANTIZATION;
        }
    } else {
        if (w.n_scale != 1u || w.zero_point != 0 || !tl_q_scale_ok(w.scale)) {
            return TL_NN_ERR_BAD_QUANTIZATION;
        }
        /* GetQuantizedConvolutionMultipler: float32 product, then double */
        const double product = (double)(in.scale * w.scale);
        if (has_bias) {
            double diff = product - (double)b.scale;
            if (diff < 0) {
                diff = -diff;
            }
            if (!(diff / (double)out.scale <= 0.02)) {
                return TL_NN_ERR_BAD_QUANTIZATION;
            }
        }
        TL_TRY(tl_nn_multiplier(product / (double)out.scale, &pt[0], &pt[1]));
    }
    uint32_t poff;
    fc_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &poff);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    P->in = tl_nn_tix(&in);
    P->w = tl_nn_tix(&w);
    P->out = tl_nn_tix(&out);
    P->batches = (int32_t)batches;
    P->depth = depth;
    P->units = units;
    P->out_zp = out.zero_point;
    TL_TRY(tl_nn_act_range(act, &out, &P->act_min, &P->act_max));
    tl_nn_chan_offs_t offs;
    TL_TRY(tl_nn_chan_params(p, &in, &w, has_bias ? &b : NULL, &out, units, 0, (uint32_t)depth,
                             1u, (uint32_t)depth, per_channel ? NULL : pt, &offs));
    P->mult_off = offs.mult_off;
    P->bias_off = offs.bias_off;
    P->shift_off = offs.shift_off;
    p->kernel = TL_NN_K_FC;
    p->params_off = poff;
    p->macs = (uint64_t)batches * (uint64_t)units * (uint64_t)depth;
    return TL_NN_OK;
}
