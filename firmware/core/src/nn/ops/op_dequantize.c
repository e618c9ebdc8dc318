/*
 * op_dequantize.c - DEQUANTIZE int8 -> float32 (a model output): scale * (x - zp).
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
    int32_t zp;
    float scale;
} dequantize_params_t;

void tl_nn_eval_dequantize(const tl_nn_ctx_t *c, const void *params)
{
    const dequantize_params_t *P = params;
    const int8_t *in = tl_nn_ptr(c, P->in);
    uint8_t *o = tl_nn_ptr(c, P->out);
    for (uint32_t i = 0; i < P->elems; ++i) {
        const float v = P->scale * (float)((int32_t)in[i] - P->zp);
        memcpy(o + 4u * i, &v, sizeof v);
    }
}

tl_nn_status_t tl_nn_prep_dequantize(tl_nn_prep_t *p)
{
    tl_nn_tdesc_t in, out;
    TL_TRY(tl_nn_prep_counts(p, 1, 1, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &in, NULL));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    TL_TRY(tl_nn_req_int8(&in));
    TL_TRY(tl_nn_req_type(&out, TL_TT_FLOAT32));
    TL_TRY(tl_nn_shape_like(p, &out, &in));
    uint32_t off;
    dequantize_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    P->in = tl_nn_tix(&in);
    P->out = tl_nn_tix(&out);
    P->elems = in.elems;
    P->zp = in.zero_point;
    P->scale = in.scale;
    p->kernel = TL_NN_K_DEQUANTIZE;
    p->params_off = off;
    return TL_NN_OK;
}
