/*
 * op_strided_slice.c - STRIDED_SLICE (int8 or int32) with constant begin/end/strides,
 * begin/end/shrink-axis masks and the `offset` option (TFLite StartForAxis/StopForAxis
 * semantics). Ellipsis and new-axis masks are not supported.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* simple data movement / element-wise: size first */
#endif
#include "op_common.h"
#include "ops.h"

typedef struct {
    uint16_t in, out;
    uint8_t ndim, esize, pad_[2];
    int32_t start[TL_NN_MAX_DIMS];
    int32_t step[TL_NN_MAX_DIMS];  /* in elements of the input, signed */
    int32_t count[TL_NN_MAX_DIMS];
} slice_params_t;

void tl_nn_eval_strided_slice(const tl_nn_ctx_t *c, const void *params)
{
    const slice_params_t *P = params;
    const uint8_t *in = tl_nn_ptr(c, P->in);
    uint8_t *o = tl_nn_ptr(c, P->out);
    const int32_t n = P->ndim;
    int32_t idx[TL_NN_MAX_DIMS] = {0};
    for (;;) {
        int64_t off = 0;
        for (int32_t k = 0; k < n; ++k) {
            off += (int64_t)P->start[k] + (int64_t)idx[k] * P->step[k];
        }
        memcpy(o, in + (size_t)off * P->esize, P->esize);
        o += P->esize;
        int32_t k = n - 1;
        while (k >= 0 && ++idx[k] == P->count[k]) {
            idx[k] = 0;
            --k;
        }
        if (k < 0) {
            return;
        }
    }
}

static int32_t clamp32(int64_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : (int32_t)v);
}

tl_nn_status_t tl_nn_prep_strided_slice(tl_nn_prep_t *p)
{
    tl_nn_tdesc_t in, tb, te, ts, out;
    TL_TRY(tl_nn_prep_counts(p, 4, 4, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &in, NULL));
    TL_TRY(tl_nn_prep_in(p, 1, &tb, NULL));
    TL_TRY(tl_nn_prep_in(p, 2, &te, NULL));
    TL_TRY(tl_nn_prep_in(p, 3, &ts, NULL));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    if ((in.type != TL_TT_INT8 && in.type != TL_TT_INT32) || out.type != in.type) {
        return TL_NN_ERR_UNSUPPORTED_TYPE;
    }
    const int32_t rank = in.ndim;
    if (rank < 1) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    TL_TRY(tl_nn_req_const_i32(&tb, (uint32_t)rank));
    TL_TRY(tl_nn_req_const_i32(&te, (uint32_t)rank));
    TL_TRY(tl_nn_req_const_i32(&ts, (uint32_t)rank));
    int32_t begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_mask;
    uint8_t use_offset;
    TL_TRY(tl_nn_opt_i32(p, 0, 0, &begin_mask));
    TL_TRY(tl_nn_opt_i32(p, 1, 0, &end_mask));
    TL_TRY(tl_nn_opt_i32(p, 2, 0, &ellipsis_mask));
    TL_TRY(tl_nn_opt_i32(p, 3, 0, &new_axis_mask));
    TL_TRY(tl_nn_opt_i32(p, 4, 0, &shrink_mask));
    TL_TRY(tl_nn_opt_u8(p, 5, 0, &use_offset));
    if (ellipsis_mask != 0 || new_axis_mask != 0) {
        return TL_NN_ERR_UNSUPPORTED_PARAM;
    }
    uint32_t off;
    slice_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    P->in = tl_nn_tix(&in);
    P->out = tl_nn_tix(&out);
    P->ndim = (uint8_t)rank;
    P->esize = in.type == TL_TT_INT8 ? 1 : 4;
    int32_t out_dims[TL_NN_MAX_DIMS];
    int32_t n_out = 0;
    int64_t elem_stride = 1;
    int64_t strides[TL_NN_MAX_DIMS];
    for (int32_t d = rank - 1; d >= 0; --d) {
        strides[d] = elem_stride;
        elem_stride *= in.dims[d];
    }
    for (int32_t d = 0; d < rank; ++d) {
        const int32_t size = in.dims[d];
        const int32_t stride = tl_nn_const_i32(&ts, (uint32_t)d);
        if (stride == 0 || stride == INT32_MIN) {
            return TL_NN_ERR_UNSUPPORTED_PARAM;
        }
        int64_t begin = tl_nn_const_i32(&tb, (uint32_t)d);
        int64_t end = tl_nn_const_i32(&te, (uint32_t)d);
        if (use_offset) {
            end += begin;
        }
        /* StartForAxis */
        int64_t start = begin;
        if (begin_mask & (1 << d)) {
            start = stride > 0 ? INT32_MIN : INT32_MAX;
        }
        if (start < 0) {
            start += size;
        }
        start = stride > 0 ? clamp32(start, 0, size) : clamp32(start, -1, size - 1);
        /* StopForAxis */
        int64_t stop;
        const bool shrink = (shrink_mask & (1 << d)) != 0;
        if (shrink) {
            stop = start + 1;
        } else {
            stop = end;
            if (end_mask & (1 << d)) {
                stop = stride > 0 ? INT32_MAX : INT32_MIN;
            }
            if (stop < 0) {
                stop += size;
            }
            stop = stride > 0 ? clamp32(stop, 0, size) : clamp32(stop, -1, size - 1);
        }
        int64_t count;
        if (stride > 0) {
            count = stop > start ? tl_nn_sdiv64(stop - start + stride - 1, stride) : 0;
        } else {
            count = start > stop
                        ? tl_nn_sdiv64(start - stop + (-(int64_t)stride) - 1, -(int64_t)stride)
                        : 0;
        }
        if (count < 1 || (shrink && (start < 0 || start >= size))) {
            return TL_NN_ERR_BAD_SHAPE; /* empty slices are not supported */
        }
        P->start[d] = (int32_t)(start * strides[d]);
        P->step[d] = count > 1 ? (int32_t)(stride * strides[d]) : 0;
        P->count[d] = (int32_t)count;
        if (!shrink) {
            out_dims[n_out++] = (int32_t)count;
        }
    }
    if (out.ndim != n_out) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    for (int32_t d = 0; d < n_out; ++d) {
        if (out.dims[d] != out_dims[d]) {
            return TL_NN_ERR_BAD_SHAPE;
        }
    }
    p->kernel = TL_NN_K_STRIDED_SLICE;
    p->params_off = off;
    return TL_NN_OK;
}
