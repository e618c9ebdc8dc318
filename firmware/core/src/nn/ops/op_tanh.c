/*
 * op_tanh.c - TANH (int8): TFLM reference_integer_ops::Tanh. Output in Q0.7 (the
 * output zero point is not applied, as in TFLM; the converter uses 0).
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* simple data movement / element-wise: size first */
#endif
#include "ops.h"
#include "sigmoid_common.h"

static int8_t tanh_one(const tl_nn_sigmoid_params_t *P, int8_t x)
{
    const int32_t input = (int32_t)x - P->in_zp;
    if (input <= -P->radius) {
        return -128;
    }
    if (input >= P->radius) {
        return 127;
    }
    const int32_t in_q4 = tl_q_mbqm(input, P->mult, P->left_shift);
    const int32_t out_q0 = tl_q_fp_tanh(in_q4, 4);
    const int32_t v = tl_q_rdbpot(out_q0, 31 - 7);
    return (int8_t)tl_q_clamp(v, -128, 127);
}

void tl_nn_eval_tanh(const tl_nn_ctx_t *c, const void *params)
{
    tl_nn_sigmoid_eval(c, params, tanh_one);
}

tl_nn_status_t tl_nn_prep_tanh(tl_nn_prep_t *p)
{
    return tl_nn_sigmoid_prep(p, TL_NN_K_TANH, false, tanh_one);
}
