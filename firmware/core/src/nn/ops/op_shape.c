/*
 * op_shape.c - SHAPE: the (static) dimensions of its input as int32. The input's data
 * is never read, so it does not keep the input alive.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* simple data movement / element-wise: size first */
#endif
#include "op_common.h"
#include "ops.h"

typedef struct {
    uint16_t out, ndim;
    int32_t dims[TL_NN_MAX_DIMS];
} shape_params_t;

void tl_nn_eval_shape(const tl_nn_ctx_t *c, const void *params)
{
    const shape_params_t *P = params;
    int32_t *o = tl_nn_ptr(c, P->out);
    for (uint32_t i = 0; i < P->ndim; ++i) {
        o[i] = P->dims[i];
    }
}

tl_nn_status_t tl_nn_prep_shape(tl_nn_prep_t *p)
{
    tl_nn_tdesc_t in, out;
    TL_TRY(tl_nn_prep_counts(p, 1, 1, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &in, NULL));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    uint8_t out_type;
    TL_TRY(tl_nn_opt_u8(p, 0, TL_TT_INT32, &out_type));
    TL_TRY(tl_nn_req_type(&out, TL_TT_INT32));
    if (out_type != TL_TT_INT32) {
        return TL_NN_ERR_UNSUPPORTED_TYPE;
    }
    if (out.elems != in.ndim || (out.ndim != 1 && !(out.ndim == 0 && in.ndim == 1))) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    uint32_t off;
    shape_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    P->out = tl_nn_tix(&out);
    P->ndim = in.ndim;
    for (uint32_t i = 0; i < in.ndim; ++i) {
        P->dims[i] = in.dims[i];
    }
    p->kernel = TL_NN_K_SHAPE;
    p->params_off = off;
    return TL_NN_OK;
}
