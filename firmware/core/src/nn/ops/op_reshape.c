/*
 * op_reshape.c - RESHAPE, SQUEEZE and EXPAND_DIMS: same bytes, new shape. The output
 * shares the input's memory (the planner treats them as one tensor), so they cost no
 * time and no arena. The shape operands are not read at run time: the output shape in
 * the file is static and is checked here.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* simple data movement / element-wise: size first */
#endif
#include "op_common.h"
#include "ops.h"

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
        return TL_NN_ERR_BAD_SHAPE;
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
