/*
 * op_pad.c - PAD and PADV2 (int8 or int32) with constant paddings. PAD fills with the
 * output zero point (TFLM), PADV2 with its constant value.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* simple data movement / element-wise: size first */
#endif
#include "op_common.h"
#include "ops.h"

typedef struct {
    uint16_t in, out;
    uint8_t ndim, esize, pad_[2];
    int32_t value;
    int32_t in_dims[TL_NN_MAX_DIMS];
    int32_t before[TL_NN_MAX_DIMS];
    int32_t out_dims[TL_NN_MAX_DIMS];
    uint32_t out_bytes;
} pad_params_t;

void tl_nn_eval_pad(const tl_nn_ctx_t *c, const void *params)
{
    const pad_params_t *P = params;
    const uint8_t *in = tl_nn_ptr(c, P->in);
    uint8_t *o = tl_nn_ptr(c, P->out);
    if (P->esize == 1) {
        memset(o, (uint8_t)(int8_t)P->value, P->out_bytes);
    } else {
        for (uint32_t i = 0; i < P->out_bytes; i += 4) {
            memcpy(o + i, &P->value, 4);
        }
    }
    /* copy input rows (innermost dimension) to their place in the output */
    const int32_t n = P->ndim;
    const size_t row = (size_t)P->in_dims[n - 1] * P->esize;
    int32_t idx[TL_NN_MAX_DIMS] = {0};
    for (;;) {
        size_t dst = 0;
        for (int32_t k = 0; k < n; ++k) {
            dst = dst * (size_t)P->out_dims[k] + (size_t)(idx[k] + P->before[k]);
        }
        memcpy(o + dst * P->esize, in, row);
        in += row;
        int32_t k = n - 2;
        while (k >= 0 && ++idx[k] == P->in_dims[k]) {
            idx[k] = 0;
            --k;
        }
        if (k < 0) {
            return;
        }
    }
}

tl_nn_status_t tl_nn_prep_pad(tl_nn_prep_t *p)
{
    tl_nn_tdesc_t in, pads, out, cv;
    const bool v2 = p->builtin == TL_OP_PADV2;
    bool has_cv = false;
    TL_TRY(tl_nn_prep_counts(p, 2, v2 ? 3 : 2, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &in, NULL));
    TL_TRY(tl_nn_prep_in(p, 1, &pads, NULL));
    if (v2) {
        TL_TRY(tl_nn_prep_in(p, 2, &cv, &has_cv));
    }
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    if ((in.type != TL_TT_INT8 && in.type != TL_TT_INT32) || out.type != in.type) {
        return TL_NN_ERR_UNSUPPORTED_TYPE;
    }
    const int32_t rank = in.ndim;
    if (rank < 1 || out.ndim != rank) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    TL_TRY(tl_nn_req_const_i32(&pads, 2u * (uint32_t)rank));
    uint32_t off;
    pad_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    P->in = tl_nn_tix(&in);
    P->out = tl_nn_tix(&out);
    P->ndim = (uint8_t)rank;
    P->esize = in.type == TL_TT_INT8 ? 1 : 4;
    P->out_bytes = out.bytes;
    for (int32_t d = 0; d < rank; ++d) {
        const int32_t before = tl_nn_const_i32(&pads, 2u * (uint32_t)d);
        const int32_t after = tl_nn_const_i32(&pads, 2u * (uint32_t)d + 1u);
        if (before < 0 || after < 0 ||
            (int64_t)in.dims[d] + before + after != (int64_t)out.dims[d]) {
            return TL_NN_ERR_BAD_SHAPE;
        }
        P->in_dims[d] = in.dims[d];
        P->before[d] = before;
        P->out_dims[d] = out.dims[d];
    }
    if (has_cv) {
        if (cv.type != in.type || cv.elems != 1 || cv.data == NULL) {
            return TL_NN_ERR_UNSUPPORTED_PARAM;
        }
        P->value = in.type == TL_TT_INT8 ? (int32_t)(int8_t)cv.data[0] : tl_nn_rd_i32(cv.data);
    } else {
        P->value = in.type == TL_TT_INT8 ? out.zero_point : 0;
        if (in.type == TL_TT_INT8 && (out.zero_point < -128 || out.zero_point > 127)) {
            return TL_NN_ERR_BAD_QUANTIZATION;
        }
    }
    p->kernel = TL_NN_K_PAD;
    p->params_off = off;
    return TL_NN_OK;
}
