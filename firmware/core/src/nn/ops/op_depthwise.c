/*
 * op_depthwise.c - DEPTHWISE_CONV_2D (int8, per-channel or per-tensor weights).
 *
 * TFLM reference_integer_ops::DepthwiseConvPerChannel: output channel
 * oc = ic * depth_multiplier + m; acc = bias + sum over in-image taps of
 * w[ky][kx][oc] * (x[iy][ix][ic] - zp_in). As in CONV_2D the input offset is folded into
 * the bias at load and padded taps read zp_in, so every pixel runs the same loop.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2") /* kernels: speed, without -O3's code growth */
#endif
#include "mac_common.h"
#include "ops.h"

typedef struct {
    uint16_t in, filter, out, pad_;
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, mult_depth;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t in_zp, out_zp, act_min, act_max;
    uint32_t mult_off, bias_off, shift_off;
} dw_params_t;

void tl_nn_eval_depthwise(const tl_nn_ctx_t *c, const void *params)
{
    const dw_params_t *P = params;
    const int8_t *in = tl_nn_ptr(c, P->in);
    const int8_t *w = tl_nn_ptr(c, P->filter);
    int8_t *out = tl_nn_ptr(c, P->out);
    const int32_t *mult = tl_nn_arena_at(c, P->mult_off);
    const int32_t *bias = tl_nn_arena_at(c, P->bias_off);
    const int8_t *shift = tl_nn_arena_at(c, P->shift_off);
    const int32_t C = P->in_c, OC = P->out_c, DM = P->mult_depth;
    const tl_nn_outq_t oq = {P->out_zp, P->act_min, P->act_max};
    for (int32_t b = 0; b < P->batches; ++b) {
        const int8_t *xb = in + (size_t)b * P->in_h * P->in_w * C;
        for (int32_t oy = 0; oy < P->out_h; ++oy) {
            const int32_t iy0 = oy * P->stride_h - P->pad_h;
            for (int32_t ox = 0; ox < P->out_w; ++ox) {
                const int32_t ix0 = ox * P->stride_w - P->pad_w;
                int8_t *o = out + (((size_t)b * P->out_h + oy) * P->out_w + ox) * OC;
                for (int32_t ic = 0; ic < C; ++ic) {
                    for (int32_t m = 0; m < DM; ++m) {
                        const int32_t oc = ic * DM + m;
                        int32_t acc = 0;
                        for (int32_t ky = 0; ky < P->k_h; ++ky) {
                            const int32_t iy = iy0 + ky * P->dil_h;
                            const bool y_in = iy >= 0 && iy < P->in_h;
                            const int8_t *wr = w + (size_t)ky * P->k_w * OC + oc;
                            for (int32_t kx = 0; kx < P->k_w; ++kx) {
                                const int32_t ix = ix0 + kx * P->dil_w;
                                const int32_t xv = (y_in && ix >= 0 && ix < P->in_w)
                                                       ? xb[((size_t)iy * P->in_w + ix) * C + ic]
                                                       : P->in_zp;
                                acc += xv * wr[(size_t)kx * OC];
                            }
                        }
                        o[oc] = tl_nn_out8(tl_nn_chq(mult, bias, shift, oc), oq, acc);
                    }
                }
            }
        }
    }
}

tl_nn_status_t tl_nn_prep_depthwise(tl_nn_prep_t *p)
{
    tl_nn_tdesc_t in, f, b, out;
    bool has_bias;
    TL_TRY(tl_nn_prep_counts(p, 2, 3, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &in, NULL));
    TL_TRY(tl_nn_prep_in(p, 1, &f, NULL));
    TL_TRY(tl_nn_prep_in(p, 2, &b, &has_bias));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    TL_TRY(tl_nn_req_int8(&in));
    TL_TRY(tl_nn_req_type(&f, TL_TT_INT8));
    TL_TRY(tl_nn_req_int8(&out));
    if (in.ndim != 4 || f.ndim != 4 || f.dims[0] != 1) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    if (f.data == NULL || (has_bias && b.data == NULL)) {
        return TL_NN_ERR_UNSUPPORTED_PARAM;
    }
    uint8_t padding, act;
    int32_t sw, sh, dm, dw, dh;
    TL_TRY(tl_nn_opt_u8(p, 0, TL_PAD_SAME, &padding));
    TL_TRY(tl_nn_opt_i32(p, 1, 0, &sw));
    TL_TRY(tl_nn_opt_i32(p, 2, 0, &sh));
    TL_TRY(tl_nn_opt_i32(p, 3, 0, &dm));
    TL_TRY(tl_nn_opt_u8(p, 4, TL_ACT_NONE, &act));
    TL_TRY(tl_nn_opt_i32(p, 5, 1, &dw));
    TL_TRY(tl_nn_opt_i32(p, 6, 1, &dh));
    const int32_t ic = in.dims[3];
    const int32_t kh = f.dims[1], kw = f.dims[2], oc_n = f.dims[3];
    if (oc_n % ic != 0 || (dm != 0 && (int64_t)dm * ic != oc_n)) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    int32_t oh, ow, ph, pw;
    TL_TRY(tl_nn_window(p, padding, &in, &out, oc_n, kh, kw, sh, sw, dh, dw, &oh, &ow, &ph,
                        &pw));
    uint32_t poff;
    dw_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &poff);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    P->in = tl_nn_tix(&in);
    P->filter = tl_nn_tix(&f);
    P->out = tl_nn_tix(&out);
    P->batches = in.dims[0];
    P->in_h = in.dims[1];
    P->in_w = in.dims[2];
    P->in_c = ic;
    P->out_h = oh;
    P->out_w = ow;
    P->out_c = oc_n;
    P->mult_depth = oc_n / ic;
    P->k_h = kh;
    P->k_w = kw;
    P->stride_h = sh;
    P->stride_w = sw;
    P->dil_h = dh;
    P->dil_w = dw;
    P->pad_h = ph;
    P->pad_w = pw;
    P->in_zp = in.zero_point;
    P->out_zp = out.zero_point;
    TL_TRY(tl_nn_act_range(act, &out, &P->act_min, &P->act_max));
    tl_nn_chan_offs_t offs;
    TL_TRY(tl_nn_chan_params(p, &in, &f, has_bias ? &b : NULL, &out, oc_n, 3, 1u,
                             (uint32_t)oc_n, (uint32_t)(kh * kw), NULL, &offs));
    P->mult_off = offs.mult_off;
    P->bias_off = offs.bias_off;
    P->shift_off = offs.shift_off;
    p->kernel = TL_NN_K_DWCONV;
    p->params_off = poff;
    p->macs = (uint64_t)out.elems * (uint64_t)kh * (uint64_t)kw;
    return TL_NN_OK;
}
