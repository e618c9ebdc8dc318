/*
 * op_batch_to_space.c - BATCH_TO_SPACE_ND (int8, 3-D or 4-D) with constant block shape
 * and crops.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* simple data movement / element-wise: size first */
#endif
#include "op_common.h"
#include "ops.h"

typedef struct {
    uint16_t in, out;
    int32_t in_b, in_h, in_w, depth, out_b, out_h, out_w;
    int32_t block_h, block_w, crop_top, crop_left;
} b2s_params_t;

void tl_nn_eval_batch_to_space(const tl_nn_ctx_t *c, const void *params)
{
    const b2s_params_t *P = params;
    const int8_t *in = tl_nn_ptr(c, P->in);
    int8_t *o = tl_nn_ptr(c, P->out);
    const size_t D = (size_t)P->depth;
    for (int32_t ib = 0; ib < P->in_b; ++ib) {
        const int32_t ob = ib % P->out_b;
        const int32_t spatial = ib / P->out_b;
        for (int32_t ih = 0; ih < P->in_h; ++ih) {
            const int32_t oh = ih * P->block_h + spatial / P->block_w - P->crop_top;
            if (oh < 0 || oh >= P->out_h) {
                continue;
            }
            for (int32_t iw = 0; iw < P->in_w; ++iw) {
                const int32_t ow = iw * P->block_w + spatial % P->block_w - P->crop_left;
                if (ow < 0 || ow >= P->out_w) {
                    continue;
                }
                memcpy(o + (((size_t)ob * P->out_h + oh) * P->out_w + ow) * D,
                       in + (((size_t)ib * P->in_h + ih) * P->in_w + iw) * D, D);
            }
        }
    }
}

tl_nn_status_t tl_nn_prep_batch_to_space(tl_nn_prep_t *p)
{
    tl_nn_tdesc_t in, blk, crops, out;
    TL_TRY(tl_nn_prep_counts(p, 3, 3, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &in, NULL));
    TL_TRY(tl_nn_prep_in(p, 1, &blk, NULL));
    TL_TRY(tl_nn_prep_in(p, 2, &crops, NULL));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    TL_TRY(tl_nn_req_int8(&in));
    TL_TRY(tl_nn_req_int8(&out));
    if ((in.ndim != 3 && in.ndim != 4) || out.ndim != in.ndim) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    const uint32_t spatial = in.ndim - 2u;
    TL_TRY(tl_nn_req_const_i32(&blk, spatial));
    TL_TRY(tl_nn_req_const_i32(&crops, 2u * spatial));
    uint32_t off;
    b2s_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    const bool four = in.ndim == 4;
    P->in = tl_nn_tix(&in);
    P->out = tl_nn_tix(&out);
    P->in_b = in.dims[0];
    P->in_h = in.dims[1];
    P->in_w = four ? in.dims[2] : 1;
    P->depth = in.dims[in.ndim - 1];
    P->block_h = tl_nn_const_i32(&blk, 0);
    P->block_w = four ? tl_nn_const_i32(&blk, 1) : 1;
    P->crop_top = tl_nn_const_i32(&crops, 0);
    const int32_t crop_bottom = tl_nn_const_i32(&crops, 1);
    P->crop_left = four ? tl_nn_const_i32(&crops, 2) : 0;
    const int32_t crop_right = four ? tl_nn_const_i32(&crops, 3) : 0;
    if (P->block_h < 1 || P->block_w < 1 || P->crop_top < 0 || crop_bottom < 0 ||
        P->crop_left < 0 || crop_right < 0 || P->block_h > 0xFFFF || P->block_w > 0xFFFF ||
        P->crop_top > 0xFFFF || crop_bottom > 0xFFFF || P->crop_left > 0xFFFF ||
        crop_right > 0xFFFF) {
        return TL_NN_ERR_UNSUPPORTED_PARAM;
    }
    const int64_t bb = (int64_t)P->block_h * P->block_w;
    const int64_t oh = (int64_t)P->in_h * P->block_h - P->crop_top - crop_bottom;
    const int64_t ow = (int64_t)P->in_w * P->block_w - P->crop_left - crop_right;
    if (tl_nn_smod64(P->in_b, bb) != 0 || oh < 1 || ow < 1 || oh > INT32_MAX || ow > INT32_MAX) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    /* the output shape follows from the input, as in op_space_to_batch.c */
    P->out_b = (int32_t)tl_nn_sdiv64(P->in_b, bb);
    P->out_h = (int32_t)oh;
    P->out_w = (int32_t)ow;
    const int32_t dims4[4] = {P->out_b, P->out_h, P->out_w, P->depth};
    const int32_t dims3[3] = {P->out_b, P->out_h, P->depth};
    TL_TRY(tl_nn_prep_set_shape(p, &out, four ? dims4 : dims3));
    p->kernel = TL_NN_K_BATCH_TO_SPACE;
    p->params_off = off;
    return TL_NN_OK;
}
