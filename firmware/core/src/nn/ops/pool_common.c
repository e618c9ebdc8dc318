/*
 * pool_common.c - validation shared by MAX_POOL_2D and AVERAGE_POOL_2D.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* load-time code: size over speed */
#endif
#include "pool_common.h"

tl_nn_status_t tl_nn_pool_prep(tl_nn_prep_t *p, uint8_t kernel)
{
    tl_nn_tdesc_t in, out;
    TL_TRY(tl_nn_prep_counts(p, 1, 1, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &in, NULL));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    TL_TRY(tl_nn_req_int8(&in));
    TL_TRY(tl_nn_req_int8(&out));
    uint8_t padding, act;
    int32_t sw, sh, fw, fh;
    TL_TRY(tl_nn_opt_u8(p, 0, TL_PAD_SAME, &padding));
    TL_TRY(tl_nn_opt_i32(p, 1, 0, &sw));
    TL_TRY(tl_nn_opt_i32(p, 2, 0, &sh));
    TL_TRY(tl_nn_opt_i32(p, 3, 0, &fw));
    TL_TRY(tl_nn_opt_i32(p, 4, 0, &fh));
    TL_TRY(tl_nn_opt_u8(p, 5, TL_ACT_NONE, &act));
    if (fw < 1 || fh < 1 || fw > 0xFFFF || fh > 0xFFFF) {
        return TL_NN_ERR_UNSUPPORTED_PARAM;
    }
    int32_t oh, ow, ph, pw;
    TL_TRY(tl_nn_window(p, padding, &in, &out, in.ndim == 4 ? in.dims[3] : 0, fh, fw, sh, sw, 1,
                        1, &oh, &ow, &ph, &pw));
    uint32_t off;
    tl_nn_pool_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    P->in = tl_nn_tix(&in);
    P->out = tl_nn_tix(&out);
    P->batches = in.dims[0];
    P->in_h = in.dims[1];
    P->in_w = in.dims[2];
    P->depth = in.dims[3];
    P->out_h = oh;
    P->out_w = ow;
    P->f_h = fh;
    P->f_w = fw;
    P->stride_h = sh;
    P->stride_w = sw;
    P->pad_h = ph;
    P->pad_w = pw;
    /* every window must cover at least one input pixel (TFLM fails at run time) */
    if ((int64_t)(oh - 1) * sh - P->pad_h >= in.dims[1] ||
        (int64_t)(ow - 1) * sw - P->pad_w >= in.dims[2] || fh <= P->pad_h || fw <= P->pad_w) {
        return TL_NN_ERR_UNSUPPORTED_PARAM;
    }
    TL_TRY(tl_nn_act_range(act, &out, &P->act_min, &P->act_max));
    p->kernel = kernel;
    p->params_off = off;
    return TL_NN_OK;
}
