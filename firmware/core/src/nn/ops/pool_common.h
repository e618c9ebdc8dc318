/*
 * pool_common.h - parameters shared by MAX_POOL_2D and AVERAGE_POOL_2D.
 */
#ifndef TL_NN_POOL_COMMON_H
#define TL_NN_POOL_COMMON_H

#include "op_common.h"

typedef struct {
    uint16_t in, out;
    int32_t batches, in_h, in_w, depth, out_h, out_w;
    int32_t f_h, f_w, stride_h, stride_w, pad_h, pad_w;
    int32_t act_min, act_max;
} tl_nn_pool_params_t;

/* Validate a pooling op (int8, same quantization in and out) and fill its params. */
tl_nn_status_t tl_nn_pool_prep(tl_nn_prep_t *p, uint8_t kernel);

#endif /* TL_NN_POOL_COMMON_H */
