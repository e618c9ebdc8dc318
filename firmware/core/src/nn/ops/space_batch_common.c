/*
 * space_batch_common.c - operand decoding shared by SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* load time only: size first */
#endif
#include "space_batch_common.h"

tl_nn_status_t tl_nn_space_batch_prep(tl_nn_prep_t *p, tl_nn_space_batch_t *g,
                                      tl_nn_tdesc_t *out, int32_t *after_h, int32_t *after_w,
                                      bool *four)
{
    tl_nn_tdesc_t in, blk, amounts;
    TL_TRY(tl_nn_prep_counts(p, 3, 3, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &in, NULL));
    TL_TRY(tl_nn_prep_in(p, 1, &blk, NULL));
    TL_TRY(tl_nn_prep_in(p, 2, &amounts, NULL));
    TL_TRY(tl_nn_prep_out(p, 0, out));
    TL_TRY(tl_nn_req_int8(&in));
    TL_TRY(tl_nn_req_int8(out));
    if ((in.ndim != 3 && in.ndim != 4) || out->ndim != in.ndim) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    const uint32_t spatial = in.ndim - 2u;
    TL_TRY(tl_nn_req_const_i32(&blk, spatial));
    TL_TRY(tl_nn_req_const_i32(&amounts, 2u * spatial));
    *four = in.ndim == 4;
    g->in = tl_nn_tix(&in);
    g->out = tl_nn_tix(out);
    g->in_b = in.dims[0];
    g->in_h = in.dims[1];
    g->in_w = *four ? in.dims[2] : 1;
    g->depth = in.dims[in.ndim - 1];
    g->block_h = tl_nn_const_i32(&blk, 0);
    g->block_w = *four ? tl_nn_const_i32(&blk, 1) : 1;
    g->before_h = tl_nn_const_i32(&amounts, 0);
    *after_h = tl_nn_const_i32(&amounts, 1);
    g->before_w = *four ? tl_nn_const_i32(&amounts, 2) : 0;
    *after_w = *four ? tl_nn_const_i32(&amounts, 3) : 0;
    if (g->block_h < 1 || g->block_w < 1 || g->block_h > 0xFFFF || g->block_w > 0xFFFF ||
        g->before_h < 0 || g->before_h > 0xFFFF || *after_h < 0 || *after_h > 0xFFFF ||
        g->before_w < 0 || g->before_w > 0xFFFF || *after_w < 0 || *after_w > 0xFFFF) {
        return TL_NN_ERR_UNSUPPORTED_PARAM;
    }
    return TL_NN_OK;
}

tl_nn_status_t tl_nn_space_batch_set_out(tl_nn_prep_t *p, tl_nn_tdesc_t *out,
                                         const tl_nn_space_batch_t *g, bool four)
{
    const int32_t dims4[4] = {g->out_b, g->out_h, g->out_w, g->depth};
    const int32_t dims3[3] = {g->out_b, g->out_h, g->depth};
    return tl_nn_prep_set_shape(p, out, four ? dims4 : dims3);
}
