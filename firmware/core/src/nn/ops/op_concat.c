/*
 * op_concat.c - CONCATENATION (int8 or int32) along any axis. Like TFLM the bytes are
 * copied as they are (the converter gives all inputs the output's quantization).
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* simple data movement / element-wise: size first */
#endif
#include "op_common.h"
#include "ops.h"

typedef struct {
    uint16_t out, n_in;
    uint32_t outer;
    struct {
        uint16_t tensor, pad_;
        uint32_t bytes; /* bytes copied per outer step */
    } in[];
} concat_params_t;

void tl_nn_eval_concat(const tl_nn_ctx_t *c, const void *params)
{
    const concat_params_t *P = params;
    uint8_t *o = tl_nn_ptr(c, P->out);
    for (uint32_t k = 0; k < P->outer; ++k) {
        for (uint32_t i = 0; i < P->n_in; ++i) {
            const uint8_t *x = tl_nn_ptr(c, P->in[i].tensor);
            const uint32_t n = P->in[i].bytes;
            memcpy(o, x + (size_t)k * n, n);
            o += n;
        }
    }
}

static uint32_t elem_size(uint8_t type)
{
    return type == TL_TT_INT8 ? 1u : 4u;
}

tl_nn_status_t tl_nn_prep_concat(tl_nn_prep_t *p)
{
    const uint32_t n_in = tl_nn_prep_n_in(p);
    tl_nn_tdesc_t out;
    TL_TRY(tl_nn_prep_counts(p, 1, TL_NN_MAX_OP_INPUTS, 1));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    if (out.type != TL_TT_INT8 && out.type != TL_TT_INT32) {
        return TL_NN_ERR_UNSUPPORTED_TYPE;
    }
    int32_t axis;
    uint8_t act;
    TL_TRY(tl_nn_opt_i32(p, 0, 0, &axis));
    TL_TRY(tl_nn_opt_u8(p, 1, TL_ACT_NONE, &act));
    if (act != TL_ACT_NONE) {
        return TL_NN_ERR_UNSUPPORTED_PARAM;
    }
    const int32_t rank = out.ndim;
    if (axis < 0) {
        axis += rank;
    }
    if (axis < 0 || axis >= rank) {
        return TL_NN_ERR_UNSUPPORTED_PARAM;
    }
    uint32_t outer = 1, inner = 1;
    for (int32_t d = 0; d < axis; ++d) {
        outer *= (uint32_t)out.dims[d];
    }
    for (int32_t d = axis + 1; d < rank; ++d) {
        inner *= (uint32_t)out.dims[d];
    }
    uint32_t off;
    concat_params_t *P = tl_nn_prep_alloc(p, (uint32_t)(sizeof *P + n_in * sizeof P->in[0]), &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    P->out = tl_nn_tix(&out);
    P->n_in = (uint16_t)n_in;
    P->outer = outer;
    int64_t axis_sum = 0;
    for (uint32_t i = 0; i < n_in; ++i) {
        tl_nn_tdesc_t in;
        TL_TRY(tl_nn_prep_in(p, i, &in, NULL));
        if (in.type != out.type) {
            return TL_NN_ERR_UNSUPPORTED_TYPE;
        }
        if (in.ndim != rank) {
            return TL_NN_ERR_BAD_SHAPE;
        }
        for (int32_t d = 0; d < rank; ++d) {
            if (d != axis && in.dims[d] != out.dims[d]) {
                return TL_NN_ERR_BAD_SHAPE;
            }
        }
        axis_sum += in.dims[axis];
        P->in[i].tensor = tl_nn_tix(&in);
        P->in[i].bytes = (uint32_t)in.dims[axis] * inner * elem_size(out.type);
    }
    if (axis_sum != out.dims[axis]) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    p->kernel = TL_NN_K_CONCAT;
    p->params_off = off;
    return TL_NN_OK;
}
