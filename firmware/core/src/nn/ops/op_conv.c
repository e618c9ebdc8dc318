/*
 * op_conv.c - CONV_2D (int8, per-channel or per-tensor weights, int32 bias).
 *
 * Matches TFLM reference_integer_ops::ConvPerChannel: acc = bias + sum w * (x - zp_in)
 * over the taps inside the image, then MultiplyByQuantizedMultiplier per output channel,
 * + zp_out, clamp to the fused activation range. Strides, dilations, SAME/VALID padding
 * and grouped convolution are supported.
 *
 * The input offset is folded into the bias at load (bias' = bias - zp_in * sum(w)), which
 * is exact for output pixels whose taps are all inside the image: those run the fast
 * path, contiguous int8 dot products (two pixels x two channels at a time). Border
 * pixels read padded taps as zp_in, which contributes w * (zp_in - zp_in) = 0 exactly as
 * TFLM skipping them does.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2") /* kernels: speed, without -O3's code growth */
#endif
#include "../dot.h"
#include "mac_common.h"
#include "ops.h"

typedef struct {
    uint16_t in, filter, out, pad_;
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t groups, cpg, opg;
    int32_t in_zp, out_zp, act_min, act_max;
    int32_t oy_lo, oy_hi, ox_lo, ox_hi; /* output pixels whose taps are all inside */
    uint32_t mult_off, bias_off, shift_off;
} conv_params_t;

typedef struct {
    const conv_params_t *P;
    const int8_t *w;
    const int32_t *mult;
    const int32_t *bias;
    const int8_t *shift;
    tl_nn_outq_t oq;
} conv_run_t;

static inline tl_nn_chq_t chq(const conv_run_t *r, int32_t oc)
{
    return tl_nn_chq(r->mult, r->bias, r->shift, oc);
}

/* An interior pixel of a grouped or width-dilated convolution: one dot product per tap. */
static void interior_px(const conv_run_t *r, const int8_t *x0, int8_t *o)
{
    const conv_params_t *P = r->P;
    const int32_t filt = P->k_h * P->k_w * P->cpg;
    const int32_t row = P->in_w * P->in_c;
    for (int32_t oc = 0; oc < P->out_c; ++oc) {
        const int8_t *xg = x0 + (oc / P->opg) * P->cpg;
        const int8_t *wc = r->w + (size_t)oc * (size_t)filt;
        int32_t acc = 0;
        for (int32_t ky = 0; ky < P->k_h; ++ky) {
            for (int32_t kx = 0; kx < P->k_w; ++kx) {
                tl_nn_dot_1x1_call(xg + ky * P->dil_h * row + kx * P->dil_w * P->in_c,
                                   wc + (ky * P->k_w + kx) * P->cpg, (uint32_t)P->cpg, &acc);
            }
        }
        o[oc] = tl_nn_out8_call(chq(r, oc), r->oq, acc);
    }
}

/* A pixel with taps outside the image: padded taps read as the input zero point. */
static void border(const conv_run_t *r, const int8_t *xb, int32_t oy, int32_t ox, int8_t *o)
{
    const conv_params_t *P = r->P;
    const int32_t iy0 = oy * P->stride_h - P->pad_h;
    const int32_t ix0 = ox * P->stride_w - P->pad_w;
    const int32_t filt_stride = P->k_h * P->k_w * P->cpg;
    for (int32_t oc = 0; oc < P->out_c; ++oc) {
        const int32_t g = oc / P->opg;
        const int8_t *wc = r->w + (size_t)oc * filt_stride;
        int32_t acc = 0;
        for (int32_t ky = 0; ky < P->k_h; ++ky) {
            const int32_t iy = iy0 + ky * P->dil_h;
            const bool y_in = iy >= 0 && iy < P->in_h;
            for (int32_t kx = 0; kx < P->k_w; ++kx) {
                const int32_t ix = ix0 + kx * P->dil_w;
                const int8_t *wt = wc + (ky * P->k_w + kx) * P->cpg;
                if (y_in && ix >= 0 && ix < P->in_w) {
                    const int8_t *xt = xb + ((size_t)iy * P->in_w + ix) * P->in_c + g * P->cpg;
                    for (int32_t ic = 0; ic < P->cpg; ++ic) {
                        acc += (int32_t)xt[ic] * wt[ic];
                    }
                } else {
                    for (int32_t ic = 0; ic < P->cpg; ++ic) {
                        acc += P->in_zp * wt[ic];
                    }
                }
            }
        }
        o[oc] = tl_nn_out8_call(chq(r, oc), r->oq, acc);
    }
}

/* Interior pixels ox in [ox0, ox1) of output row oy when groups == 1 and dil_w == 1: the
 * taps of each filter row are one contiguous run of k_w * in_c bytes in the input. */
static void fast_row(const conv_run_t *r, const int8_t *xb, int8_t *orow, int32_t oy,
                     int32_t ox0, int32_t ox1)
{
    const conv_params_t *P = r->P;
    const int32_t OC = P->out_c, KH = P->k_h;
    const uint32_t L = (uint32_t)(P->k_w * P->in_c);
    const int32_t row = P->in_w * P->in_c;
    const int32_t rstep = P->dil_h * row;
    const int32_t filt = KH * (int32_t)L;
    const int32_t pstep = P->stride_w * P->in_c;
    const tl_nn_outq_t oq = r->oq;
    const int8_t *xr = xb + (size_t)(oy * P->stride_h - P->pad_h) * (size_t)row;
    int32_t ox = ox0;
    for (; ox + 1 < ox1; ox += 2) {
        const int8_t *x0 = xr + (size_t)(ox * P->stride_w - P->pad_w) * (size_t)P->in_c;
        const int8_t *x1 = x0 + pstep;
        int8_t *o0 = orow + (size_t)ox * (size_t)OC;
        int8_t *o1 = o0 + OC;
        const int8_t *w = r->w;
        int32_t oc = 0;
        for (; oc + 1 < OC; oc += 2, w += 2 * filt) {
            int32_t acc[4] = {0, 0, 0, 0};
            if (KH == 1) { /* 1-D convolutions: no filter-row loop to carry */
                tl_nn_dot_2x2(x0, x1, w, w + filt, L, acc);
            } else {
                for (int32_t ky = 0; ky < KH; ++ky) {
                    tl_nn_dot_2x2(x0 + ky * rstep, x1 + ky * rstep, w + ky * (int32_t)L,
                                  w + filt + ky * (int32_t)L, L, acc);
                }
            }
            const tl_nn_chq_t q0 = chq(r, oc);
            const tl_nn_chq_t q1 = chq(r, oc + 1);
            o0[oc] = tl_nn_out8(q0, oq, acc[0]);
            o0[oc + 1] = tl_nn_out8(q1, oq, acc[1]);
            o1[oc] = tl_nn_out8(q0, oq, acc[2]);
            o1[oc + 1] = tl_nn_out8(q1, oq, acc[3]);
        }
        if (oc < OC) {
            int32_t acc[2] = {0, 0};
            for (int32_t ky = 0; ky < KH; ++ky) {
                tl_nn_dot_1x2(w + ky * (int32_t)L, x0 + ky * rstep, x1 + ky * rstep, L, acc);
            }
            const tl_nn_chq_t q0 = chq(r, oc);
            o0[oc] = tl_nn_out8(q0, oq, acc[0]);
            o1[oc] = tl_nn_out8(q0, oq, acc[1]);
        }
    }
    if (ox < ox1) {
        const int8_t *x0 = xr + (size_t)(ox * P->stride_w - P->pad_w) * (size_t)P->in_c;
        int8_t *o0 = orow + (size_t)ox * (size_t)OC;
        const int8_t *w = r->w;
        int32_t oc = 0;
        for (; oc + 1 < OC; oc += 2, w += 2 * filt) {
            int32_t acc[2] = {0, 0};
            for (int32_t ky = 0; ky < KH; ++ky) {
                tl_nn_dot_1x2_call(x0 + ky * rstep, w + ky * (int32_t)L, w + filt + ky * (int32_t)L,
                              L, acc);
            }
            o0[oc] = tl_nn_out8_call(chq(r, oc), oq, acc[0]);
            o0[oc + 1] = tl_nn_out8_call(chq(r, oc + 1), oq, acc[1]);
        }
        if (oc < OC) {
            int32_t acc[1] = {0};
            for (int32_t ky = 0; ky < KH; ++ky) {
                tl_nn_dot_1x1_call(x0 + ky * rstep, w + ky * (int32_t)L, L, acc);
            }
            o0[oc] = tl_nn_out8_call(chq(r, oc), oq, acc[0]);
        }
    }
}

void tl_nn_eval_conv(const tl_nn_ctx_t *c, const void *params)
{
    const conv_params_t *P = params;
    conv_run_t r;
    r.P = P;
    r.w = tl_nn_ptr(c, P->filter);
    r.mult = tl_nn_arena_at(c, P->mult_off);
    r.bias = tl_nn_arena_at(c, P->bias_off);
    r.shift = tl_nn_arena_at(c, P->shift_off);
    r.oq.zp = P->out_zp;
    r.oq.lo = P->act_min;
    r.oq.hi = P->act_max;
    const int8_t *in = tl_nn_ptr(c, P->in);
    int8_t *out = tl_nn_ptr(c, P->out);
    const size_t in_img = (size_t)P->in_h * P->in_w * P->in_c;
    const size_t out_img = (size_t)P->out_h * P->out_w * P->out_c;
    const bool fast = P->groups == 1 && P->dil_w == 1;
    for (int32_t b = 0; b < P->batches; ++b) {
        const int8_t *xb = in + (size_t)b * in_img;
        int8_t *ob = out + (size_t)b * out_img;
        for (int32_t oy = 0; oy < P->out_h; ++oy) {
            const bool y_in = oy >= P->oy_lo && oy < P->oy_hi;
            int8_t *orow = ob + (size_t)oy * P->out_w * P->out_c;
            int32_t ox = 0;
            if (fast && y_in) {
                for (; ox < P->ox_lo; ++ox) {
                    border(&r, xb, oy, ox, orow + (size_t)ox * P->out_c);
                }
                fast_row(&r, xb, orow, oy, P->ox_lo, P->ox_hi);
                ox = P->ox_hi;
            }
            while (ox < P->out_w) {
                int8_t *o0 = orow + (size_t)ox * P->out_c;
                if (y_in && ox >= P->ox_lo && ox < P->ox_hi) {
                    interior_px(&r,
                                xb + ((size_t)(oy * P->stride_h - P->pad_h) * P->in_w +
                                      (size_t)(ox * P->stride_w - P->pad_w)) *
                                         P->in_c,
                                o0);
                } else {
                    border(&r, xb, oy, ox, o0);
                }
                ox += 1;
            }
        }
    }
}

/* First/last+1 output index whose taps [o*s - pad, o*s - pad + (k-1)*d] are inside [0, n). */
static void interior_range(int32_t out, int32_t n, int32_t k, int32_t s, int32_t d, int32_t pad,
                           int32_t *lo, int32_t *hi)
{
    *lo = out;
    *hi = out;
    for (int32_t o = 0; o < out; ++o) {
        int64_t first = (int64_t)o * s - pad;
        int64_t last = first + (int64_t)(k - 1) * d;
        if (first >= 0 && last < n) {
            if (*lo == out) {
                *lo = o;
            }
            *hi = o + 1;
        }
    }
    if (*lo == out) {
        *hi = out;
    }
}

tl_nn_status_t tl_nn_prep_conv(tl_nn_prep_t *p)
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
    if (in.ndim != 4 || f.ndim != 4 || out.ndim != 4) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    if (f.data == NULL || (has_bias && b.data == NULL)) {
        return TL_NN_ERR_UNSUPPORTED_PARAM; /* weights computed at run time */
    }
    uint8_t padding, act;
    int32_t sw, sh, dw, dh;
    TL_TRY(tl_nn_opt_u8(p, 0, TL_PAD_SAME, &padding));
    TL_TRY(tl_nn_opt_i32(p, 1, 0, &sw));
    TL_TRY(tl_nn_opt_i32(p, 2, 0, &sh));
    TL_TRY(tl_nn_opt_u8(p, 3, TL_ACT_NONE, &act));
    TL_TRY(tl_nn_opt_i32(p, 4, 1, &dw));
    TL_TRY(tl_nn_opt_i32(p, 5, 1, &dh));
    const int32_t n = in.dims[0], ih = in.dims[1], iw = in.dims[2], ic = in.dims[3];
    const int32_t oc_n = f.dims[0], kh = f.dims[1], kw = f.dims[2], cpg = f.dims[3];
    if (ic % cpg != 0 || oc_n % (ic / cpg) != 0) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    int32_t oh, ow, ph, pw;
    TL_TRY(tl_nn_window(p, padding, &in, &out, oc_n, kh, kw, sh, sw, dh, dw, &oh, &ow, &ph,
                        &pw));
    const uint64_t depth = (uint64_t)kh * (uint64_t)kw * (uint64_t)cpg;
    if (depth > TL_NN_MAX_ACCUM_DEPTH) {
        return TL_NN_ERR_TENSOR_TOO_LARGE;
    }
    uint32_t poff;
    conv_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &poff);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    P->in = tl_nn_tix(&in);
    P->filter = tl_nn_tix(&f);
    P->out = tl_nn_tix(&out);
    P->batches = n;
    P->in_h = ih;
    P->in_w = iw;
    P->in_c = ic;
    P->out_h = oh;
    P->out_w = ow;
    P->out_c = oc_n;
    P->k_h = kh;
    P->k_w = kw;
    P->stride_h = sh;
    P->stride_w = sw;
    P->dil_h = dh;
    P->dil_w = dw;
    P->pad_h = ph;
    P->pad_w = pw;
    P->groups = ic / cpg;
    P->cpg = cpg;
    P->opg = oc_n / P->groups;
    P->in_zp = in.zero_point;
    P->out_zp = out.zero_point;
    TL_TRY(tl_nn_act_range(act, &out, &P->act_min, &P->act_max));
    interior_range(oh, ih, kh, sh, dh, ph, &P->oy_lo, &P->oy_hi);
    interior_range(ow, iw, kw, sw, dw, pw, &P->ox_lo, &P->ox_hi);
    tl_nn_chan_offs_t offs;
    TL_TRY(tl_nn_chan_params(p, &in, &f, has_bias ? &b : NULL, &out, oc_n, 0, (uint32_t)depth, 1u,
                             (uint32_t)depth, NULL, &offs));
    P->mult_off = offs.mult_off;
    P->bias_off = offs.bias_off;
    P->shift_off = offs.shift_off;
    p->kernel = TL_NN_K_CONV;
    p->params_off = poff;
    p->macs = (uint64_t)n * (uint64_t)oh * (uint64_t)ow * (uint64_t)oc_n * depth;
    return TL_NN_OK;
}
