/*
 * space_batch_common.h - geometry shared by SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND:
 * int8 3-D (NHC) or 4-D (NHWC) tensors, a constant block shape and constant paddings
 * (space to batch) or crops (batch to space), given as {before, after} per spatial axis.
 */
#ifndef TL_NN_SPACE_BATCH_COMMON_H
#define TL_NN_SPACE_BATCH_COMMON_H

#include <stdbool.h>

#include "op_common.h"

typedef struct {
    uint16_t in, out;
    int32_t in_b, in_h, in_w, depth, out_b, out_h, out_w;
    int32_t block_h, block_w;
    int32_t before_h, before_w; /* padding (space to batch) or crop (batch to space) */
} tl_nn_space_batch_t;

/* Read and check the three operands (input, block shape, paddings/crops) and the output;
 * fill `g` except out_b/out_h/out_w, the amounts after each axis, and whether the tensors
 * are 4-D. Every block and amount is 1..65535 / 0..65535 or UNSUPPORTED_PARAM. */
tl_nn_status_t tl_nn_space_batch_prep(tl_nn_prep_t *p, tl_nn_space_batch_t *g,
                                      tl_nn_tdesc_t *out, int32_t *after_h, int32_t *after_w,
                                      bool *four);

/* Record the output shape computed from the input (TensorFlow Lite's Prepare): the file's
 * may carry a placeholder batch of 1 (see op_space_to_batch.c). */
tl_nn_status_t tl_nn_space_batch_set_out(tl_nn_prep_t *p, tl_nn_tdesc_t *out,
                                         const tl_nn_space_batch_t *g, bool four);

#endif /* TL_NN_SPACE_BATCH_COMMON_H */
