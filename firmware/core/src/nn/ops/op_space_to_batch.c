/*
 * op_space_to_batch.c - SPACE_TO_BATCH_ND (int8, 3-D NHC or 4-D NHWC input) with
 * constant block shape and paddings; padded positions hold the output zero point.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* simple data movement / element-wise: size first */
#endif
#include "op_common.h"
#include "ops.h"

typedef struct {
    uint16_t in, out;
    int32_t in_b, in_h, in_w, depth, out_b, out_h, out_w;
    int32_t block_h, block_w, pad_top, pad_left;
    int32_t pad_value;
} s2b_params_t;

void tl_nn_eval_space_to_batch(const tl_nn_ctx_t *c, const void *params)
{
    const s2b_params_t *P = params;
    const int8_t *in = tl_nn_ptr(c, P->in);
    int8_t *o = tl_nn_ptr(c, P->out);
    const size_t D = (size_t)P->depth;
    for (int32_t ob = 0; ob < P->out_b; ++ob) {
        const int32_t ib = ob % P->in_b;
        const int32_t shift_w = (ob / P->in_b) % P->block_w;
        const int32_t shift_h = (ob / P->in_b) / P->block_w;
        for (int32_t oh = 0; oh < P->out_h; ++oh) {
            const int32_t ih = oh * P->block_h + shift_h - P->pad_top;
            for (int32_t ow = 0; ow < P->out_w; ++ow) {
                const int32_t iw = ow * P->block_w + shift_w - P->pad_left;
                int8_t *dst = o + (((size_t)ob * P->out_h + oh) * P->out_w + ow) * D;
                if (ih < 0 || ih >= P->in_h || iw < 0 || iw >= P->in_w) {
                    memset(dst, (uint8_t)(int8_t)P->pad_value, D);
                } else {
                    memcpy(dst, in + (((size_t)ib * P->in_h + ih) * P->in_w + iw) * D, D);
                }
            }
        }
    }
}

tl_nn_status_t tl_nn_prep_space_to_batch(tl_nn_prep_t *p)
{
    tl_nn_tdesc_t in, blk, pads, out;
    TL_TRY(tl_nn_prep_counts(p, 3, 3, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &in, NULL));
    TL_TRY(tl_nn_prep_in(p, 1, &blk, NULL));
    TL_TRY(tl_nn_prep_in(p, 2, &pads, NULL));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    TL_TRY(tl_nn_req_int8(&in));
    TL_TRY(tl_nn_req_int8(&out));
    if ((in.ndim != 3 && in.ndim != 4) || out.ndim != in.ndim) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    const uint32_t spatial = in.ndim - 2u;
    TL_TRY(tl_nn_req_const_i32(&blk, spatial));
    TL_TRY(tl_nn_req_const_i32(&pads, 2u * spatial));
    uint32_t off;
    s2b_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &off);
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
    P->pad_top = tl_nn_const_i32(&pads, 0);
    const int32_t pad_bottom = tl_nn_const_i32(&pads, 1);
    P->pad_left = four ? tl_nn_const_i32(&pads, 2) : 0;
    const int32_t pad_right = four ? tl_nn_const_i32(&pads, 3) : 0;
    if (P->block_h < 1 || P->block_w < 1 || P->pad_top < 0 || pad_bottom < 0 ||
        P->pad_left < 0 || pad_right < 0 || P->block_h > 0xFFFF || P->block_w > 0xFFFF ||
        P->pad_top > 0xFFFF || P->pad_left > 0xFFFF || pad_bottom > 0xFFFF || pad_right > 0xFFFF) {
        return TL_NN_ERR_UNSUPPORTED_PARAM;
    }
    const int64_t ph = (int64_t)P->in_h + P->pad_top + pad_bottom;
    const int64_t pw = (int64_t)P->in_w + P->pad_left + pad_right;
    const int64_t ob = (int64_t)P->in_b * P->block_h * P->block_w;
    if (tl_nn_smod64(ph, P->block_h) != 0 || tl_nn_smod64(pw, P->block_w) != 0) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    if (ob > INT32_MAX) {
        return TL_NN_ERR_TENSOR_TOO_LARGE;
    }
    /* The output shape follows from the input (TensorFlow Lite's Prepare). The file's may
     * carry a placeholder batch of 1: with a dynamic batch the converter lowers a dilated
     * convolution to SPACE_TO_BATCH_ND -> CONV_2D -> BATCH_TO_SPACE_ND and cannot know it. */
    P->out_b = (int32_t)ob;
    P->out_h = (int32_t)tl_nn_sdiv64(ph, P->block_h);
    P->out_w = (int32_t)tl_nn_sdiv64(pw, P->block_w);
    const int32_t dims4[4] = {P->out_b, P->out_h, P->out_w, P->depth};
    const int32_t dims3[3] = {P->out_b, P->out_h, P->depth};
    TL_TRY(tl_nn_prep_set_shape(p, &out, four ? dims4 : dims3));
    /* Padded positions hold the output zero point, the quantized 0.0 (TensorFlow Lite sets
     * SpaceToBatchParams::output_offset to it; TFLM leaves it uninitialized). */
    P->pad_value = out.zero_point;
    p->kernel = TL_NN_K_SPACE_TO_BATCH;
    p->params_off = off;
    return TL_NN_OK;
}
