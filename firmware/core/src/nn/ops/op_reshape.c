/*
 * op_reshape.c - RESHAPE, SQUEEZE and EXPAND_DIMS: same bytes, new shape. The output
 * shares the input's memory (the planner treats them as one tensor), so they cost no
 * time and no arena. The shape operands are not read at run time.
 *
 * The output keeps the file's shape when it holds as many elements as the input (what
 * TFLM does). When it does not, the input carries a shape computed at load (the batch
 * of a SPACE_TO_BATCH_ND upstream, see tl_nn_prep_set_shape) and the output shape is
 * computed from the operator's constant operands as TensorFlow Lite does: RESHAPE's
 * shape with its -1 resolved, EXPAND_DIMS' axis, SQUEEZE's squeeze_dims.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* simple data movement / element-wise: size first */
#endif
#include "op_common.h"
#include "ops.h"

/* RESHAPE: the constant shape operand, one entry per output dimension, at most one -1. */
static tl_nn_status_t reshape_dims(const tl_nn_prep_t *p, const tl_nn_tdesc_t *in,
                                   const tl_nn_tdesc_t *out, int32_t *dims)
{
    tl_nn_tdesc_t shape;
    bool present;
    TL_TRY(tl_nn_prep_in(p, 1, &shape, &present));
    if (!present) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    TL_TRY(tl_nn_req_const_i32(&shape, out->ndim));
    uint32_t stretch = TL_NN_MAX_DIMS;
    uint64_t known = 1;
    for (uint32_t i = 0; i < out->ndim; ++i) {
        dims[i] = tl_nn_const_i32(&shape, i);
        if (dims[i] == -1 && stretch == TL_NN_MAX_DIMS) {
            stretch = i;
        } else if (dims[i] < 1 || (known *= (uint64_t)dims[i]) > in->elems) {
            return TL_NN_ERR_BAD_SHAPE;
        }
    }
    if (stretch != TL_NN_MAX_DIMS) {
        /* known >= 1 and known <= elems < 2^28 */
        dims[stretch] = (int32_t)(in->elems / (uint32_t)known);
    }
    return TL_NN_OK; /* the element count is checked by the caller */
}

/* EXPAND_DIMS: a 1 inserted at the constant axis (negative: counted from the end). */
static tl_nn_status_t expand_dims(const tl_nn_prep_t *p, const tl_nn_tdesc_t *in,
                                  const tl_nn_tdesc_t *out, int32_t *dims)
{
    tl_nn_tdesc_t axis_t;
    TL_TRY(tl_nn_prep_in(p, 1, &axis_t, NULL));
    TL_TRY(tl_nn_req_const_i32(&axis_t, 1));
    int32_t axis = tl_nn_const_i32(&axis_t, 0);
    const int32_t rank = (int32_t)in->ndim;
    if (axis < 0) {
        axis = axis < -(rank + 1) ? -1 : axis + rank + 1;
    }
    if (axis < 0 || axis > rank || out->ndim != (uint32_t)rank + 1u) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    for (int32_t i = 0, k = 0; i <= rank; ++i) {
        dims[i] = i == axis ? 1 : in->dims[k++];
    }
    return TL_NN_OK;
}

/* SQUEEZE: the input without the size-1 dimensions listed in squeeze_dims (all if none). */
static tl_nn_status_t squeeze_dims(const tl_nn_prep_t *p, const tl_nn_tdesc_t *in,
                                   const tl_nn_tdesc_t *out, int32_t *dims)
{
    tl_fb_vec_t sq = {0, 0};
    if (p->has_options) {
        TL_TRY(tl_fb_vec_field(&p->ld->fb, &p->options, 0, 4, &sq, NULL));
    }
    const int32_t rank = (int32_t)in->ndim;
    uint32_t drop = 0; /* bit i: squeeze dimension i */
    for (uint32_t k = 0; k < sq.n; ++k) {
        int32_t a = tl_fb_vec_i32(&p->ld->fb, &sq, k);
        a = a < 0 ? a + rank : a;
        if (a < 0 || a >= rank || in->dims[a] != 1) {
            return TL_NN_ERR_BAD_SHAPE;
        }
        drop |= 1u << a;
    }
    uint32_t n = 0;
    for (int32_t i = 0; i < rank; ++i) {
        const bool squeeze = sq.n != 0 ? (drop >> i & 1u) != 0 : in->dims[i] == 1;
        if (!squeeze) {
            if (n == out->ndim) {
                return TL_NN_ERR_BAD_SHAPE;
            }
            dims[n++] = in->dims[i];
        }
    }
    return n == out->ndim ? TL_NN_OK : TL_NN_ERR_BAD_SHAPE;
}

static tl_nn_status_t alias_prep(tl_nn_prep_t *p, uint32_t max_in)
{
    tl_nn_tdesc_t in, out;
    TL_TRY(tl_nn_prep_counts(p, 1, max_in, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &in, NULL));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    if (in.type != out.type) {
        return TL_NN_ERR_UNSUPPORTED_TYPE;
    }
    if (in.type != TL_TT_INT8 && in.type != TL_TT_INT32 && in.type != TL_TT_FLOAT32) {
        return TL_NN_ERR_UNSUPPORTED_TYPE;
    }
    if (in.elems != out.elems) {
        int32_t dims[TL_NN_MAX_DIMS];
        if (p->builtin == TL_OP_RESHAPE) {
            TL_TRY(reshape_dims(p, &in, &out, dims));
        } else if (p->builtin == TL_OP_EXPAND_DIMS) {
            TL_TRY(expand_dims(p, &in, &out, dims));
        } else {
            TL_TRY(squeeze_dims(p, &in, &out, dims));
        }
        TL_TRY(tl_nn_prep_set_shape(p, &out, dims));
        if (in.elems != out.elems) {
            return TL_NN_ERR_BAD_SHAPE;
        }
    }
    p->kernel = TL_NN_K_ALIAS;
    return TL_NN_OK;
}

tl_nn_status_t tl_nn_prep_reshape(tl_nn_prep_t *p)
{
    return alias_prep(p, 2);
}

tl_nn_status_t tl_nn_prep_squeeze(tl_nn_prep_t *p)
{
    return alias_prep(p, 1);
}

tl_nn_status_t tl_nn_prep_expand_dims(tl_nn_prep_t *p)
{
    TL_TRY(tl_nn_prep_counts(p, 2, 2, 1));
    return alias_prep(p, 2);
}
