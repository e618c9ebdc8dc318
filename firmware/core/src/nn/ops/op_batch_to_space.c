/*
 * op_batch_to_space.c - BATCH_TO_SPACE_ND (int8, 3-D or 4-D) with constant block shape
 * and crops.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* simple data movement / element-wise: size first */
#endif
#include "ops.h"
#include "space_batch_common.h"

/* tl_nn_space_batch_t's before_h/before_w: the crop at the top/left. */

void tl_nn_eval_batch_to_space(const tl_nn_ctx_t *c, const void *params)
{
    const tl_nn_space_batch_t *P = params;
    const int8_t *in = tl_nn_ptr(c, P->in);
    int8_t *o = tl_nn_ptr(c, P->out);
    const size_t D = (size_t)P->depth;
    for (int32_t ib = 0; ib < P->in_b; ++ib) {
        const int32_t ob = ib % P->out_b;
        const int32_t spatial = ib / P->out_b;
        for (int32_t ih = 0; ih < P->in_h; ++ih) {
            const int32_t oh = ih * P->block_h + spatial / P->block_w - P->before_h;
            if (oh < 0 || oh >= P->out_h) {
                continue;
            }
            for (int32_t iw = 0; iw < P->in_w; ++iw) {
                const int32_t ow = iw * P->block_w + spatial % P->block_w - P->before_w;
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
    tl_nn_space_batch_t geo;
    tl_nn_space_batch_t *g = &geo;
    tl_nn_tdesc_t out;
    int32_t crop_bottom, crop_right;
    bool four;
    TL_TRY(tl_nn_space_batch_prep(p, g, &out, &crop_bottom, &crop_right, &four));
    uint32_t off;
    tl_nn_space_batch_t *P = tl_nn_prep_alloc(p, sizeof *P, &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    const int64_t bb = (int64_t)g->block_h * g->block_w;
    const int64_t oh = (int64_t)g->in_h * g->block_h - g->before_h - crop_bottom;
    const int64_t ow = (int64_t)g->in_w * g->block_w - g->before_w - crop_right;
    if (tl_nn_smod64(g->in_b, bb) != 0 || oh < 1 || ow < 1 || oh > INT32_MAX || ow > INT32_MAX) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    /* the output shape follows from the input, as in op_space_to_batch.c */
    g->out_b = (int32_t)tl_nn_sdiv64(g->in_b, bb);
    g->out_h = (int32_t)oh;
    g->out_w = (int32_t)ow;
    TL_TRY(tl_nn_space_batch_set_out(p, &out, g, four));
    *P = geo;
    p->kernel = TL_NN_K_BATCH_TO_SPACE;
    p->params_off = off;
    return TL_NN_OK;
}
