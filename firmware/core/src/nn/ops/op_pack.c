/*
 * op_pack.c - PACK (stack N equally shaped int8/int32 tensors along a new axis).
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* simple data movement / element-wise: size first */
#endif
#include "op_common.h"
#include "ops.h"

typedef struct {
    uint16_t out, n_in;
    uint32_t outer, bytes; /* bytes per input per outer step */
    uint16_t in[];
} pack_params_t;

void tl_nn_eval_pack(const tl_nn_ctx_t *c, const void *params)
{
    const pack_params_t *P = params;
    uint8_t *o = tl_nn_ptr(c, P->out);
    for (uint32_t k = 0; k < P->outer; ++k) {
        for (uint32_t i = 0; i < P->n_in; ++i) {
            const uint8_t *x = tl_nn_ptr(c, P->in[i]);
            memcpy(o, x + (size_t)k * P->bytes, P->bytes);
            o += P->bytes;
        }
    }
}

tl_nn_status_t tl_nn_prep_pack(tl_nn_prep_t *p)
{
    const uint32_t n_in = tl_nn_prep_n_in(p);
    tl_nn_tdesc_t out, first;
    TL_TRY(tl_nn_prep_counts(p, 1, TL_NN_MAX_OP_INPUTS, 1));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    TL_TRY(tl_nn_prep_in(p, 0, &first, NULL));
    if (out.type != TL_TT_INT8 && out.type != TL_TT_INT32) {
        return TL_NN_ERR_UNSUPPORTED_TYPE;
    }
    int32_t values_count, axis;
    TL_TRY(tl_nn_opt_i32(p, 0, 0, &values_count));
    TL_TRY(tl_nn_opt_i32(p, 1, 0, &axis));
    if (values_count != (int32_t)n_in) {
        return TL_NN_ERR_BAD_GRAPH;
    }
    const int32_t rank = first.ndim;
    if (axis < 0) {
        axis += rank + 1;
    }
    if (axis < 0 || axis > rank || out.ndim != rank + 1) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    for (int32_t d = 0, s = 0; d <= rank; ++d) {
        const int32_t want = d == axis ? (int32_t)n_in : first.dims[s++];
        if (out.dims[d] != want) {
            return TL_NN_ERR_BAD_SHAPE;
        }
    }
    uint32_t outer = 1, inner = 1;
    for (int32_t d = 0; d < axis; ++d) {
        outer *= (uint32_t)first.dims[d];
    }
    for (int32_t d = axis; d < rank; ++d) {
        inner *= (uint32_t)first.dims[d];
    }
    uint32_t off;
    pack_params_t *P = tl_nn_prep_alloc(p, (uint32_t)(sizeof *P + 2u * n_in), &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    P->out = tl_nn_tix(&out);
    P->n_in = (uint16_t)n_in;
    P->outer = outer;
    P->bytes = inner * (out.type == TL_TT_INT8 ? 1u : 4u);
    for (uint32_t i = 0; i < n_in; ++i) {
        tl_nn_tdesc_t in;
        TL_TRY(tl_nn_prep_in(p, i, &in, NULL));
        if (in.type != out.type) {
            return TL_NN_ERR_UNSUPPORTED_TYPE;
        }
        if (!tl_nn_same_shape(&in, &first)) {
            return TL_NN_ERR_BAD_SHAPE;
        }
        P->in[i] = tl_nn_tix(&in);
    }
    p->kernel = TL_NN_K_PACK;
    p->params_off = off;
    return TL_NN_OK;
}
