/*
 * sigmoid_common.h - shared parameters of LOGISTIC and TANH (int8).
 *
 * TFLM: the input (minus its zero point) is rescaled into Q4.27 by a multiplier from
 * frexp(input_scale * 2^27); inputs beyond the radius CalculateInputRadius(4, shift)
 * saturate. For int8 the 256 possible inputs are tabulated at load when the tensor is
 * larger than the table, so the run time is one lookup per element.
 */
#ifndef TL_NN_SIGMOID_COMMON_H
#define TL_NN_SIGMOID_COMMON_H

#include "op_common.h"

typedef struct {
    uint16_t in, out;
    uint32_t elems;
    int32_t in_zp, mult, left_shift, radius;
    uint32_t lut_off; /* 0: no table */
} tl_nn_sigmoid_params_t;

/* Validate and fill params; `fn` computes one output from one input (for the table). */
tl_nn_status_t tl_nn_sigmoid_prep(tl_nn_prep_t *p, uint8_t kernel, bool require_zp_m128,
                                  int8_t (*fn)(const tl_nn_sigmoid_params_t *, int8_t));
void tl_nn_sigmoid_eval(const tl_nn_ctx_t *c, const void *params,
                        int8_t (*fn)(const tl_nn_sigmoid_params_t *, int8_t));

#endif /* TL_NN_SIGMOID_COMMON_H */
