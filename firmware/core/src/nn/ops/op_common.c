/*
 * op_common.c - validation helpers shared by operator prepare functions.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* load-time code: size over speed */
#endif
#include "op_common.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

tl_nn_status_t tl_nn_req_type(const tl_nn_tdesc_t *d, uint8_t type)
{
    return d->type == type ? TL_NN_OK : TL_NN_ERR_UNSUPPORTED_TYPE;
}

tl_nn_status_t tl_nn_req_int8(const tl_nn_tdesc_t *d)
{
    TL_TRY(tl_nn_req_type(d, TL_TT_INT8));
    if (d->n_scale < 1u || !tl_q_scale_ok(d->scale)) {
        return TL_NN_ERR_BAD_QUANTIZATION;
    }
    if (d->zero_point < -128 || d->zero_point > 127) {
        return TL_NN_ERR_BAD_QUANTIZATION;
    }
    return TL_NN_OK;
}

tl_nn_status_t tl_nn_req_const_i32(const tl_nn_tdesc_t *d, uint32_t elems)
{
    TL_TRY(tl_nn_req_type(d, TL_TT_INT32));
    if (d->data == NULL) {
        return TL_NN_ERR_UNSUPPORTED_PARAM; /* run-time computed parameters */
    }
    if (elems != 0 && d->elems != elems) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    return TL_NN_OK;
}

int32_t tl_nn_const_i32(const tl_nn_tdesc_t *d, uint32_t i)
{
    return tl_nn_rd_i32(d->data + 4u * i);
}

bool tl_nn_same_shape(const tl_nn_tdesc_t *a, const tl_nn_tdesc_t *b)
{
    if (a->ndim != b->ndim) {
        return false;
    }
    for (uint32_t i = 0; i < a->ndim; ++i) {
        if (a->dims[i] != b->dims[i]) {
            return false;
        }
    }
    return true;
}

tl_nn_status_t tl_nn_act_range(uint8_t act, const tl_nn_tdesc_t *out, int32_t *lo,
                               int32_t *hi)
{
    if (act > TL_ACT_RELU6) {
        return TL_NN_ERR_UNSUPPORTED_PARAM;
    }
    if (!tl_q_activation_range(act, out->scale, out->zero_point, lo, hi)) {
        return TL_NN_ERR_BAD_QUANTIZATION;
    }
    return TL_NN_OK;
}

tl_nn_status_t tl_nn_multiplier(double real, int32_t *m, int32_t *shift)
{
    int s;
    if (!tl_q_quantize_multiplier(real, m, &s)) {
        return TL_NN_ERR_BAD_QUANTIZATION;
    }
    *shift = s;
    return TL_NN_OK;
}

int64_t tl_nn_sdiv64(int64_t n, int64_t d)
{
    const uint64_t un = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    const uint64_t ud = (uint64_t)d;
    uint64_t q = 0, r = 0;
    for (int i = 63; i >= 0; --i) {
        r = (r << 1) | ((un >> i) & 1u);
        if (r >= ud) {
            r -= ud;
            q |= (uint64_t)1 << i;
        }
    }
    return n < 0 ? -(int64_t)q : (int64_t)q;
}

int32_t tl_nn_out_size(uint8_t padding, int32_t in, int32_t filter, int32_t stride,
                       int32_t dilation)
{
    int64_t eff = (int64_t)(filter - 1) * dilation + 1;
    if (stride <= 0) {
        return 0;
    }
    int64_t r;
    if (padding == TL_PAD_SAME) {
        r = tl_nn_sdiv64((int64_t)in + stride - 1, stride);
    } else {
        r = tl_nn_sdiv64((int64_t)in + stride - eff, stride);
    }
    return (r < 0 || r > INT32_MAX) ? 0 : (int32_t)r;
}

int32_t tl_nn_padding(int32_t stride, int32_t dilation, int32_t in, int32_t filter, int32_t out)
{
    int64_t eff = (int64_t)(filter - 1) * dilation + 1;
    int64_t pad = tl_nn_sdiv64(((int64_t)out - 1) * stride + eff - in, 2);
    return pad > 0 ? (int32_t)pad : 0;
}

tl_nn_status_t tl_nn_window(tl_nn_prep_t *p, uint8_t padding, const tl_nn_tdesc_t *in,
                            tl_nn_tdesc_t *out, int32_t out_c, int32_t kh, int32_t kw,
                            int32_t sh, int32_t sw, int32_t dh, int32_t dw, int32_t *oh,
                            int32_t *ow, int32_t *ph, int32_t *pw)
{
    if (padding > TL_PAD_VALID || sw < 1 || sh < 1 || sw > 0xFFFF || sh > 0xFFFF ||
        !tl_nn_filter_ok(kh, dh) || !tl_nn_filter_ok(kw, dw)) {
        return TL_NN_ERR_UNSUPPORTED_PARAM;
    }
    if (in->ndim != 4 || out->ndim != 4) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    *oh = tl_nn_out_size(padding, in->dims[1], kh, sh, dh);
    *ow = tl_nn_out_size(padding, in->dims[2], kw, sw, dw);
    const int32_t dims[4] = {in->dims[0], *oh, *ow, out_c};
    TL_TRY(tl_nn_prep_set_shape(p, out, dims));
    *ph = tl_nn_padding(sh, dh, in->dims[1], kh, *oh);
    *pw = tl_nn_padding(sw, dw, in->dims[2], kw, *ow);
    return TL_NN_OK;
}

tl_nn_status_t tl_nn_shape_like(tl_nn_prep_t *p, tl_nn_tdesc_t *out, const tl_nn_tdesc_t *in)
{
    if (in->ndim != out->ndim) {
        /* element-wise on the flat data: a different rank keeps the file's shape */
        return in->elems == out->elems ? TL_NN_OK : TL_NN_ERR_BAD_SHAPE;
    }
    return tl_nn_prep_set_shape(p, out, in->dims);
}


tl_nn_status_t tl_nn_opt_u8(const tl_nn_prep_t *p, uint16_t id, uint8_t def, uint8_t *out)
{
    *out = def;
    if (!p->has_options) {
        return TL_NN_OK;
    }
    return tl_fb_u8(&p->ld->fb, &p->options, id, def, out);
}

tl_nn_status_t tl_nn_opt_i32(const tl_nn_prep_t *p, uint16_t id, int32_t def, int32_t *out)
{
    *out = def;
    if (!p->has_options) {
        return TL_NN_OK;
    }
    return tl_fb_i32(&p->ld->fb, &p->options, id, def, out);
}

tl_nn_status_t tl_nn_opt_f32(const tl_nn_prep_t *p, uint16_t id, float def, float *out)
{
    *out = def;
    if (!p->has_options) {
        return TL_NN_OK;
    }
    return tl_fb_f32(&p->ld->fb, &p->options, id, def, out);
}
