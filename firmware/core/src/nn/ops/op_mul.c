/*
 * op_mul.c - MUL (int8, broadcasting): TFLM reference_integer_ops::Mul,
 * zp_out + MultiplyByQuantizedMultiplier((x1 - zp1) * (x2 - zp2), s1 * s2 / s_out).
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* simple data movement / element-wise: size first */
#endif
#include "binary_common.h"
#include "ops.h"

typedef struct {
    tl_nn_bcast_t bc;
    int32_t in1_zp, in2_zp, out_zp, mult, shift, act_min, act_max;
} mul_params_t;

static void mul_row(const void *params, const int8_t *a, int32_t sa, const int8_t *b, int32_t sb,
                    int8_t *o, int32_t n)
{
    const mul_params_t *P = params;
    for (int32_t i = 0; i < n; ++i) {
        const int32_t x1 = (int32_t)a[(size_t)i * sa] - P->in1_zp;
        const int32_t x2 = (int32_t)b[(size_t)i * sb] - P->in2_zp;
        const int32_t v = tl_q_wadd(P->out_zp, tl_q_mbqm(x1 * x2, P->mult, P->shift));
        o[i] = (int8_t)tl_q_clamp(v, P->act_min, P->act_max);
    }
}

void tl_nn_eval_mul(const tl_nn_ctx_t *c, const void *params)
{
    const mul_params_t *P = params;
    tl_nn_bcast_run(c, &P->bc, params, mul_row);
}

tl_nn_status_t tl_nn_prep_mul(tl_nn_prep_t *p)
{
    tl_nn_tdesc_t a, b, out;
    TL_TRY(tl_nn_prep_counts(p, 2, 2, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &a, NULL));
    TL_TRY(tl_nn_prep_in(p, 1, &b, NULL));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    TL_TRY(tl_nn_req_int8(&a));
    TL_TRY(tl_nn_req_int8(&b));
    TL_TRY(tl_nn_req_int8(&out));
    uint8_t act;
    TL_TRY(tl_nn_opt_u8(p, 0, TL_ACT_NONE, &act));
    uint32_t off;
    mul_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    TL_TRY(tl_nn_bcast_prep(&a, &b, &out, &P->bc));
    P->in1_zp = a.zero_point;
    P->in2_zp = b.zero_point;
    P->out_zp = out.zero_point;
    TL_TRY(tl_nn_multiplier((double)a.scale * (double)b.scale / (double)out.scale, &P->mult,
                            &P->shift));
    TL_TRY(tl_nn_act_range(act, &out, &P->act_min, &P->act_max));
    p->kernel = TL_NN_K_MUL;
    p->params_off = off;
    return TL_NN_OK;
}
