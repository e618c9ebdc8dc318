/*
 * sigmoid_common.c - shared prepare/eval of LOGISTIC and TANH (int8).
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* load-time code: size over speed */
#endif
#include "sigmoid_common.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* Use a 256-entry table when the tensor has more elements than that. */
#define LUT_MIN_ELEMS 256u

tl_nn_status_t tl_nn_sigmoid_prep(tl_nn_prep_t *p, uint8_t kernel, bool require_zp_m128,
                                  int8_t (*fn)(const tl_nn_sigmoid_params_t *, int8_t))
{
    tl_nn_tdesc_t in, out;
    TL_TRY(tl_nn_prep_counts(p, 1, 1, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &in, NULL));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    TL_TRY(tl_nn_req_int8(&in));
    TL_TRY(tl_nn_req_int8(&out));
    TL_TRY(tl_nn_shape_like(p, &out, &in));
    if (require_zp_m128 && out.zero_point != -128) {
        return TL_NN_ERR_BAD_QUANTIZATION;
    }
    /* frexp(input_scale * 2^(31 - 4)); multiplier = round(q * 2^31) */
    int e;
    double q = tl_q_frexp((double)in.scale * (double)(INT32_C(1) << 27), &e);
    double mr = tl_q_round(q * 2147483648.0);
    if (!(mr < 2147483648.0) || e < 0 || e > 30) {
        return TL_NN_ERR_BAD_QUANTIZATION;
    }
    uint32_t off;
    tl_nn_sigmoid_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    P->in = tl_nn_tix(&in);
    P->out = tl_nn_tix(&out);
    P->elems = in.elems;
    P->in_zp = in.zero_point;
    P->mult = (int32_t)mr;
    P->left_shift = e;
    /* CalculateInputRadius(4, e, 31) = floor(15 * 2^27 / 2^e) */
    P->radius = (int32_t)((INT64_C(15) << 27) >> e);
    if (in.elems > LUT_MIN_ELEMS) {
        uint32_t lut_off;
        int8_t *lut = tl_nn_prep_alloc(p, 256u, &lut_off);
        if (lut == NULL) {
            return TL_NN_ERR_ARENA_TOO_SMALL;
        }
        for (int32_t v = -128; v <= 127; ++v) {
            lut[(uint8_t)(int8_t)v] = fn(P, (int8_t)v);
        }
        P->lut_off = lut_off;
    }
    p->kernel = kernel;
    p->params_off = off;
    return TL_NN_OK;
}

void tl_nn_sigmoid_eval(const tl_nn_ctx_t *c, const void *params,
                        int8_t (*fn)(const tl_nn_sigmoid_params_t *, int8_t))
{
    const tl_nn_sigmoid_params_t *P = params;
    const int8_t *in = tl_nn_ptr(c, P->in);
    int8_t *out = tl_nn_ptr(c, P->out);
    if (P->lut_off != 0) {
        const int8_t *lut = tl_nn_arena_at(c, P->lut_off);
        for (uint32_t i = 0; i < P->elems; ++i) {
            out[i] = lut[(uint8_t)in[i]];
        }
        return;
    }
    for (uint32_t i = 0; i < P->elems; ++i) {
        out[i] = fn(P, in[i]);
    }
}
