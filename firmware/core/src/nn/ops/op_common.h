/*
 * op_common.h - validation helpers for operator prepare functions and small helpers
 * shared by kernels. Each operator lives in its own op_<name>.c.
 */
#ifndef TL_NN_OP_COMMON_H
#define TL_NN_OP_COMMON_H

#include <string.h>

#include "../nn_internal.h"
#include "../quant.h"

/* Tensor index that fits the 16-bit fields of op params (validated by the loader). */
static inline uint16_t tl_nn_tix(const tl_nn_tdesc_t *d)
{
    return (uint16_t)d->index;
}

/* int8 activation with valid per-tensor quantization (scale > 0, zero point in range). */
tl_nn_status_t tl_nn_req_int8(const tl_nn_tdesc_t *d);
/* Exact type (UNSUPPORTED_TYPE otherwise). */
tl_nn_status_t tl_nn_req_type(const tl_nn_tdesc_t *d, uint8_t type);
/* Constant int32 tensor with `elems` elements (pass 0 for any count). */
tl_nn_status_t tl_nn_req_const_i32(const tl_nn_tdesc_t *d, uint32_t elems);
/* Element i of a constant int32 tensor. */
int32_t tl_nn_const_i32(const tl_nn_tdesc_t *d, uint32_t i);

bool tl_nn_same_shape(const tl_nn_tdesc_t *a, const tl_nn_tdesc_t *b);

/* Fused activation option -> int8 clamp range (UNSUPPORTED_PARAM / BAD_QUANTIZATION). */
tl_nn_status_t tl_nn_act_range(uint8_t act, const tl_nn_tdesc_t *out, int32_t *lo,
                               int32_t *hi);

/* Quantized multiplier for a real value (BAD_QUANTIZATION if not representable). */
tl_nn_status_t tl_nn_multiplier(double real, int32_t *m, int32_t *shift);

/* TFLite ComputeOutSize / ComputePadding (dilation 1 for pooling). */
int32_t tl_nn_out_size(uint8_t padding, int32_t in, int32_t filter, int32_t stride,
                       int32_t dilation);
int32_t tl_nn_padding(int32_t stride, int32_t dilation, int32_t in, int32_t filter,
                      int32_t out);

/* Effective filter extent (k - 1) * d + 1 within the engine's index arithmetic (2^20). */
static inline bool tl_nn_filter_ok(int32_t k, int32_t d)
{
    return k >= 1 && d >= 1 && (int64_t)(k - 1) * d + 1 <= (INT64_C(1) << 20);
}

/* Truncating 64-bit division (C semantics) for d > 0, without pulling in libgcc's 64-bit
 * divide; load-time only. */
int64_t tl_nn_sdiv64(int64_t n, int64_t d);
static inline int64_t tl_nn_smod64(int64_t n, int64_t d)
{
    return n - tl_nn_sdiv64(n, d) * d;
}

/*
 * Sliding-window geometry shared by CONV_2D, DEPTHWISE_CONV_2D and the pools: checks the
 * options (strides/dilations >= 1, padding SAME/VALID, effective filter within limits),
 * gives the 4-D `out` the shape [N, oh, ow, out_c] computed from the 4-D `in` (see
 * tl_nn_prep_set_shape), and returns the output size and TFLite's top/left padding.
 */
tl_nn_status_t tl_nn_window(tl_nn_prep_t *p, uint8_t padding, const tl_nn_tdesc_t *in,
                            tl_nn_tdesc_t *out, int32_t out_c, int32_t kh, int32_t kw,
                            int32_t sh, int32_t sw, int32_t dh, int32_t dw, int32_t *oh,
                            int32_t *ow, int32_t *ph, int32_t *pw);

/* Give `out` the shape of `in` (element-wise unary operators). With a different rank the
 * element counts must agree and the file's shape stays. */
tl_nn_status_t tl_nn_shape_like(tl_nn_prep_t *p, tl_nn_tdesc_t *out, const tl_nn_tdesc_t *in);

/* Read an int32 from possibly unaligned constant data. */
static inline int32_t tl_nn_rd_i32(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Builtin option fields (schema defaults when the options table or field is absent).
 * MALFORMED when the field is broken. */
tl_nn_status_t tl_nn_opt_u8(const tl_nn_prep_t *p, uint16_t id, uint8_t def, uint8_t *out);
tl_nn_status_t tl_nn_opt_i32(const tl_nn_prep_t *p, uint16_t id, int32_t def, int32_t *out);
tl_nn_status_t tl_nn_opt_f32(const tl_nn_prep_t *p, uint16_t id, float def, float *out);

#endif /* TL_NN_OP_COMMON_H */
