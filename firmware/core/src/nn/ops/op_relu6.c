/*
 * op_relu6.c - RELU6 (int8): TFLM Relu6Quantized clamps the raw input between its zero
 * point and the quantized 6.0 (no requantization; the converter keeps in/out equal).
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* simple data movement / element-wise: size first */
#endif
#include "op_common.h"
#include "ops.h"

typedef struct {
    uint16_t in, out;
    uint32_t elems;
    int32_t lower, upper;
} relu6_params_t;

void tl_nn_eval_relu6(const tl_nn_ctx_t *c, const void *params)
{
    const relu6_params_t *P = params;
    const int8_t *in = tl_nn_ptr(c, P->in);
    int8_t *out = tl_nn_ptr(c, P->out);
    for (uint32_t i = 0; i < P->elems; ++i) {
        const int32_t v = in[i];
        out[i] = (int8_t)(v > P->upper ? P->upper : (v < P->lower ? P->lower : v));
    }
}

tl_nn_status_t tl_nn_prep_relu6(tl_nn_prep_t *p)
{
    tl_nn_tdesc_t in, out;
    TL_TRY(tl_nn_prep_counts(p, 1, 1, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &in, NULL));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    TL_TRY(tl_nn_req_int8(&in));
    TL_TRY(tl_nn_req_int8(&out));
    TL_TRY(tl_nn_shape_like(p, &out, &in));
    uint32_t off;
    relu6_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    P->in = tl_nn_tix(&in);
    P->out = tl_nn_tix(&out);
    P->elems = in.elems;
    P->lower = in.zero_point;
    /* FloatToQuantizedType<int8_t>(6.0f, scale, zp): round(6 / scale) + zp, clamped */
    float six = tl_q_roundf(6.0f / in.scale);
    int32_t up = six >= 256.0f ? 256 : (int32_t)six;
    up += in.zero_point;
    P->upper = up < -128 ? -128 : (up > 127 ? 127 : up);
    p->kernel = TL_NN_K_RELU6;
    p->params_off = off;
    return TL_NN_OK;
}
