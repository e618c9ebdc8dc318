/*
 * binary_common.h - numpy-style broadcasting shared by ADD and MUL.
 *
 * At load the two input shapes are right-aligned against the output shape, size-1
 * output dimensions are dropped and adjacent dimensions with the same broadcast pattern
 * are merged; at run time an odometer walks the outer dimensions and hands each
 * innermost row (input steps 0 or 1) to the operator's row function.
 */
#ifndef TL_NN_BINARY_COMMON_H
#define TL_NN_BINARY_COMMON_H

#include "op_common.h"

typedef struct {
    uint16_t in1, in2, out;
    uint8_t ndim, pad_;
    int32_t dims[TL_NN_MAX_DIMS];
    int32_t s1[TL_NN_MAX_DIMS];
    int32_t s2[TL_NN_MAX_DIMS];
} tl_nn_bcast_t;

/* Check that out = broadcast(a, b) and fill the iteration plan. */
tl_nn_status_t tl_nn_bcast_prep(const tl_nn_tdesc_t *a, const tl_nn_tdesc_t *b,
                                const tl_nn_tdesc_t *out, tl_nn_bcast_t *bc);

typedef void (*tl_nn_row_fn)(const void *params, const int8_t *a, int32_t sa, const int8_t *b,
                             int32_t sb, int8_t *o, int32_t n);

void tl_nn_bcast_run(const tl_nn_ctx_t *c, const tl_nn_bcast_t *bc, const void *params,
                     tl_nn_row_fn row);

#endif /* TL_NN_BINARY_COMMON_H */
