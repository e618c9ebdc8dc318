/*
 * op_relu.c - RELU (int8): TFLM ReluQuantized, a requantization from the input to the
 * output scale followed by a clamp at the output zero point.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* simple data movement / element-wise: size first */
#endif
#include "op_common.h"
#include "ops.h"

typedef struct {
    uint16_t in, out;
    uint32_t elems;
    int32_t in_zp, out_zp, mult, shift, act_min, act_max;
} relu_params_t;

void tl_nn_eval_relu(const tl_nn_ctx_t *c, const void *params)
{
    const relu_params_t *P = params;
    const int8_t *in = tl_nn_ptr(c, P->in);
    int8_t *out = tl_nn_ptr(c, P->out);
    for (uint32_t i = 0; i < P->elems; ++i) {
        int32_t v = tl_q_wadd(P->out_zp, tl_q_mbqm((int32_t)in[i] - P->in_zp, P->mult, P->shift));
        out[i] = (int8_t)tl_q_clamp(v, P->act_min, P->act_max);
    }
}

tl_nn_status_t tl_nn_prep_relu(tl_nn_prep_t *p)
{
    tl_nn_tdesc_t in, out;
    TL_TRY(tl_nn_prep_counts(p, 1, 1, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &in, NULL));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    TL_TRY(tl_nn_req_int8(&in));
    TL_TRY(tl_nn_req_int8(&out));
    TL_TRY(tl_nn_shape_like(p, &out, &in));
    uint32_t off;
    relu_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    P->in = tl_nn_tix(&in);
    P->out = tl_nn_tix(&out);
    P->elems = in.elems;
    P->in_zp = in.zero_point;
    P->out_zp = out.zero_point;
    TL_TRY(tl_nn_multiplier((double)in.scale / (double)out.scale, &P->mult, &P->shift));
    /* act_min = max(qmin, zp + roundf(0 / scale)); act_max = qmax */
    P->act_min = out.zero_point > -128 ? out.zero_point : -128;
    P->act_max = 127;
    p->kernel = TL_NN_K_RELU;
    p->params_off = off;
    return TL_NN_OK;
}
