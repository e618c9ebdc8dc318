/*
 * op_space_to_batch.c - SPACE_TO_BATCH_ND (int8, 3-D NHC or 4-D NHWC input) with
 * constant block shape and paddings; padded positions hold the output zero point.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* simple data movement / element-wise: size first */
#endif
#include "ops.h"
#include "space_batch_common.h"

typedef struct {
    tl_nn_space_batch_t g; /* before_h/before_w: padding at the top/left */
    int32_t pad_value;
} s2b_params_t;

void tl_nn_eval_space_to_batch(const tl_nn_ctx_t *c, const void *params)
{
    const tl_nn_space_batch_t *P = &((const s2b_params_t *)params)->g;
    const int32_t pad_value = ((const s2b_params_t *)params)->pad_value;
    const int8_t *in = tl_nn_ptr(c, P->in);
    int8_t *o = tl_nn_ptr(c, P->out);
    const size_t D = (size_t)P->depth;
    for (int32_t ob = 0; ob < P->out_b; ++ob) {
        const int32_t ib = ob % P->in_b;
        const int32_t shift_w = (ob / P->in_b) % P->block_w;
        const int32_t shift_h = (ob / P->in_b) / P->block_w;
        for (int32_t oh = 0; oh < P->out_h; ++oh) {
            const int32_t ih = oh * P->block_h + shift_h - P->before_h;
            for (int32_t ow = 0; ow < P->out_w; ++ow) {
                const int32_t iw = ow * P->block_w + shift_w - P->before_w;
                int8_t *dst = o + (((size_t)ob * P->out_h + oh) * P->out_w + ow) * D;
                if (ih < 0 || ih >= P->in_h || iw < 0 || iw >= P->in_w) {
                    memset(dst, (uint8_t)(int8_t)pad_value, D);
                } else {
                    memcpy(dst, in + (((size_t)ib * P->in_h + ih) * P->in_w + iw) * D, D);
                }
            }
        }
    }
}

tl_nn_status_t tl_nn_prep_space_to_batch(tl_nn_prep_t *p)
{
    tl_nn_space_batch_t geo;
    tl_nn_space_batch_t *g = &geo;
    tl_nn_tdesc_t out;
    int32_t pad_bottom, pad_right;
    bool four;
    TL_TRY(tl_nn_space_batch_prep(p, g, &out, &pad_bottom, &pad_right, &four));
    uint32_t off;
    s2b_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    const int64_t ph = (int64_t)g->in_h + g->before_h + pad_bottom;
    const int64_t pw = (int64_t)g->in_w + g->before_w + pad_right;
    const int64_t ob = (int64_t)g->in_b * g->block_h * g->block_w;
    if (tl_nn_smod64(ph, g->block_h) != 0 || tl_nn_smod64(pw, g->block_w) != 0) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    if (ob > INT32_MAX) {
        return TL_NN_ERR_TENSOR_TOO_LARGE;
    }
    /* The output shape follows from the input (TensorFlow Lite's Prepare). The file's may
     * carry a placeholder batch of 1: with a dynamic batch the converter lowers a dilated
     * convolution to SPACE_TO_BATCH_ND -> CONV_2D -> BATCH_TO_SPACE_ND and cannot know it. */
    g->out_b = (int32_t)ob;
    g->out_h = (int32_t)tl_nn_sdiv64(ph, g->block_h);
    g->out_w = (int32_t)tl_nn_sdiv64(pw, g->block_w);
    TL_TRY(tl_nn_space_batch_set_out(p, &out, g, four));
    /* Padded positions hold the output zero point, the quantized 0.0 (TensorFlow Lite sets
     * SpaceToBatchParams::output_offset to it; TFLM leaves it uninitialized). */
    P->g = geo;
    P->pad_value = out.zero_point;
    p->kernel = TL_NN_K_SPACE_TO_BATCH;
    p->params_off = off;
    return TL_NN_OK;
}
