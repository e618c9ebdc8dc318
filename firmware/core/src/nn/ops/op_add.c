/*
 * op_add.c - ADD (int8, broadcasting): TFLM reference_integer_ops::Add. Both inputs are
 * shifted left by 20, rescaled to twice the larger input scale, summed, rescaled to the
 * output; every multiplier < 1 (QuantizeMultiplierSmallerThanOneExp).
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* simple data movement / element-wise: size first */
#endif
#include "binary_common.h"
#include "ops.h"

typedef struct {
    tl_nn_bcast_t bc;
    int32_t in1_zp, in2_zp, out_zp;
    int32_t m1, s1, m2, s2, mo, so;
    int32_t act_min, act_max;
} add_params_t;

static void add_row(const void *params, const int8_t *a, int32_t sa, const int8_t *b, int32_t sb,
                    int8_t *o, int32_t n)
{
    const add_params_t *P = params;
    for (int32_t i = 0; i < n; ++i) {
        const int32_t x1 = tl_q_wshl((int32_t)a[(size_t)i * sa] - P->in1_zp, 20);
        const int32_t x2 = tl_q_wshl((int32_t)b[(size_t)i * sb] - P->in2_zp, 20);
        const int32_t y1 = tl_q_mbqm(x1, P->m1, P->s1);
        const int32_t y2 = tl_q_mbqm(x2, P->m2, P->s2);
        const int32_t sum = tl_q_wadd(y1, y2);
        const int32_t v = tl_q_wadd(tl_q_mbqm(sum, P->mo, P->so), P->out_zp);
        o[i] = (int8_t)tl_q_clamp(v, P->act_min, P->act_max);
    }
}

void tl_nn_eval_add(const tl_nn_ctx_t *c, const void *params)
{
    const add_params_t *P = params;
    tl_nn_bcast_run(c, &P->bc, params, add_row);
}

static tl_nn_status_t smaller_than_one(double real, int32_t *m, int32_t *s)
{
    if (!(real > 0.0 && real < 1.0)) {
        return TL_NN_ERR_BAD_QUANTIZATION;
    }
    TL_TRY(tl_nn_multiplier(real, m, s));
    return *s <= 0 ? TL_NN_OK : TL_NN_ERR_BAD_QUANTIZATION;
}

tl_nn_status_t tl_nn_prep_add(tl_nn_prep_t *p)
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
    add_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    TL_TRY(tl_nn_bcast_prep(&a, &b, &out, &P->bc));
    P->in1_zp = a.zero_point;
    P->in2_zp = b.zero_point;
    P->out_zp = out.zero_point;
    const float max_scale = a.scale > b.scale ? a.scale : b.scale;
    const double twice_max = 2.0 * (double)max_scale;
    TL_TRY(smaller_than_one((double)a.scale / twice_max, &P->m1, &P->s1));
    TL_TRY(smaller_than_one((double)b.scale / twice_max, &P->m2, &P->s2));
    TL_TRY(smaller_than_one(twice_max / ((double)(1 << 20) * (double)out.scale), &P->mo, &P->so));
    TL_TRY(tl_nn_act_range(act, &out, &P->act_min, &P->act_max));
    p->kernel = TL_NN_K_ADD;
    p->params_off = off;
    return TL_NN_OK;
}
