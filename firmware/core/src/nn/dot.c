/*
 * dot.c - helpers of the inner products (the inner products themselves are in dot.h).
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2") /* kernels: speed, without -O3's code growth */
#endif
#include "dot.h"

void tl_nn_dot_1x1_call(const int8_t *x, const int8_t *w, uint32_t len, int32_t *s)
{
    tl_nn_dot_1x1(x, w, len, s);
}

void tl_nn_dot_1x2_call(const int8_t *x, const int8_t *w0, const int8_t *w1, uint32_t len,
                        int32_t *s)
{
    tl_nn_dot_1x2(x, w0, w1, len, s);
}

void tl_nn_dot_2x2_call(const int8_t *x0, const int8_t *x1, const int8_t *w0, const int8_t *w1,
                        uint32_t len, int32_t *s)
{
    tl_nn_dot_2x2(x0, x1, w0, w1, len, s);
}

bool tl_nn_dot_uses_dsp(void)
{
    return TL_NN_DSP != 0;
}
