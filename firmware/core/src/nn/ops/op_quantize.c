/*
 * op_quantize.c - QUANTIZE: int8 -> int8 requantization (TFLM Requantize), or
 * float32 -> int8 for models with float inputs (TFLM AffineQuantize).
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* simple data movement / element-wise: size first */
#endif
#include "op_common.h"
#include "ops.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

typedef struct {
    uint16_t in, out;
    uint32_t elems;
    uint8_t from_float, pad_[3];
    int32_t in_zp, out_zp, mult, shift;
    float out_scale;
} quantize_params_t;

static int8_t quantize_float(const quantize_params_t *P, float v)
{
    /* round(v / scale) in float32, then + zero point, clamped */
    const float q = tl_q_roundf(v / P->out_scale);
    int32_t r;
    if (!(q == q)) {
        r = 0;
    } else if (q >= 2147483520.0f) {
        r = INT32_MAX;
    } else if (q <= -2147483648.0f) {
        r = INT32_MIN;
    } else {
        r = (int32_t)q;
    }
    const int64_t u = (int64_t)r + P->out_zp;
    return (int8_t)(u < -128 ? -128 : (u > 127 ? 127 : u));
}

void tl_nn_eval_quantize(const tl_nn_ctx_t *c, const void *params)
{
    const quantize_params_t *P = params;
    int8_t *o = tl_nn_ptr(c, P->out);
    if (P->from_float) {
        const uint8_t *in = tl_nn_ptr(c, P->in);
        for (uint32_t i = 0; i < P->elems; ++i) {
            float v;
            memcpy(&v, in + 4u * i, sizeof v);
            o[i] = quantize_float(P, v);
        }
        return;
    }
    const int8_t *in = tl_nn_ptr(c, P->in);
    for (uint32_t i = 0; i < P->elems; ++i) {
        const int32_t v = tl_q_wadd(tl_q_mbqm((int32_t)in[i] - P->in_zp, P->mult, P->shift),
                                    P->out_zp);
        o[i] = (int8_t)tl_q_clamp(v, -128, 127);
    }
}

tl_nn_status_t tl_nn_prep_quantize(tl_nn_prep_t *p)
{
    tl_nn_tdesc_t in, out;
    TL_TRY(tl_nn_prep_counts(p, 1, 1, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &in, NULL));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    TL_TRY(tl_nn_req_int8(&out));
    TL_TRY(tl_nn_shape_like(p, &out, &in));
    uint32_t off;
    quantize_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    P->in = tl_nn_tix(&in);
    P->out = tl_nn_tix(&out);
    P->elems = in.elems;
    P->out_zp = out.zero_point;
    P->out_scale = out.scale;
    if (in.type == TL_TT_FLOAT32) {
        P->from_float = 1;
    } else {
        TL_TRY(tl_nn_req_int8(&in));
        P->in_zp = in.zero_point;
        TL_TRY(tl_nn_multiplier((double)in.scale / (double)out.scale, &P->mult, &P->shift));
    }
    p->kernel = TL_NN_K_QUANTIZE;
    p->params_off = off;
    return TL_NN_OK;
}
