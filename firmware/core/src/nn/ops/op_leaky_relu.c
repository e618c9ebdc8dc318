/*
 * op_leaky_relu.c - LEAKY_RELU (int8): TFLM QuantizeLeakyRelu with two multipliers,
 * identity (in_scale / out_scale) for x >= zp and alpha (in_scale * alpha / out_scale)
 * below; both ratios are computed in float32 like TFLM, then quantized.
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
    int32_t in_zp, out_zp, mult_id, shift_id, mult_alpha, shift_alpha;
} leaky_params_t;

void tl_nn_eval_leaky_relu(const tl_nn_ctx_t *c, const void *params)
{
    const leaky_params_t *P = params;
    const int8_t *in = tl_nn_ptr(c, P->in);
    int8_t *out = tl_nn_ptr(c, P->out);
    for (uint32_t i = 0; i < P->elems; ++i) {
        const int32_t x = (int32_t)in[i] - P->in_zp;
        const int32_t v = x >= 0 ? tl_q_mbqm(x, P->mult_id, P->shift_id)
                                 : tl_q_mbqm(x, P->mult_alpha, P->shift_alpha);
        out[i] = (int8_t)tl_q_clamp(tl_q_wadd(P->out_zp, v), -128, 127);
    }
}

tl_nn_status_t tl_nn_prep_leaky_relu(tl_nn_prep_t *p)
{
    tl_nn_tdesc_t in, out;
    TL_TRY(tl_nn_prep_counts(p, 1, 1, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &in, NULL));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    TL_TRY(tl_nn_req_int8(&in));
    TL_TRY(tl_nn_req_int8(&out));
    TL_TRY(tl_nn_shape_like(p, &out, &in));
    float alpha;
    TL_TRY(tl_nn_opt_f32(p, 0, 0.0f, &alpha));
    if (!(alpha >= 0.0f) || alpha > 1e30f) {
        return TL_NN_ERR_UNSUPPORTED_PARAM;
    }
    uint32_t off;
    leaky_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    P->in = tl_nn_tix(&in);
    P->out = tl_nn_tix(&out);
    P->elems = in.elems;
    P->in_zp = in.zero_point;
    P->out_zp = out.zero_point;
    const float ratio_alpha = in.scale * alpha / out.scale;
    const float ratio_id = in.scale / out.scale;
    TL_TRY(tl_nn_multiplier((double)ratio_alpha, &P->mult_alpha, &P->shift_alpha));
    TL_TRY(tl_nn_multiplier((double)ratio_id, &P->mult_id, &P->shift_id));
    p->kernel = TL_NN_K_LEAKY_RELU;
    p->params_off = off;
    return TL_NN_OK;
}
