/*
 * mac_common.h - the per-output-channel stage shared by CONV_2D, DEPTHWISE_CONV_2D and
 * FULLY_CONNECTED: acc + bias', MultiplyByQuantizedMultiplier, + zero point, clamp.
 *
 * Kernels copy a channel's parameters into a local tl_nn_chq_t before writing outputs:
 * int8 stores may alias anything, so without the copy the compiler reloads every
 * parameter after every store.
 */
#ifndef TL_NN_MAC_COMMON_H
#define TL_NN_MAC_COMMON_H

#include "op_common.h"

typedef struct {
    int32_t mult;
    int32_t bias;
    uint32_t lshift;
    uint32_t rshift;
} tl_nn_chq_t;

typedef struct {
    int32_t zp;
    int32_t lo;
    int32_t hi;
} tl_nn_outq_t;

static inline tl_nn_chq_t tl_nn_chq(const int32_t *mult, const int32_t *bias,
                                    const int8_t *shift, int32_t c)
{
    tl_nn_chq_t q;
    q.mult = mult[c];
    q.bias = bias[c];
    q.lshift = tl_q_lshift(shift[c]);
    q.rshift = tl_q_rshift(shift[c]);
    return q;
}

static inline int8_t tl_nn_out8(tl_nn_chq_t q, tl_nn_outq_t o, int32_t acc)
{
    int32_t v = tl_q_mbqm_split(tl_q_wadd(acc, q.bias), q.mult, q.lshift, q.rshift);
    return (int8_t)tl_q_clamp(tl_q_wadd(v, o.zp), o.lo, o.hi);
}

/* Arena offsets of the per-output-channel arrays. */
typedef struct {
    uint32_t mult_off;
    uint32_t bias_off;
    uint32_t shift_off;
} tl_nn_chan_offs_t;

/*
 * Validate the weight/bias quantization of a MAC op and fill its per-channel arrays:
 * multiplier and shift of double(in_scale) * double(w_scale[c]) / double(out_scale)
 * (per-tensor weights broadcast scale[0]; FULLY_CONNECTED's per-tensor rule passes its
 * own multiplier in `pt`, else NULL), and bias[c] - zp_in * sum of channel c's weights
 * (weights w[c * ch_stride + k * k_stride], k < taps). `qdim` is the axis the weight
 * scales must run along when per-channel; `b` may be NULL (no bias).
 */
TL_NN_COLD tl_nn_status_t tl_nn_chan_params(tl_nn_prep_t *p, const tl_nn_tdesc_t *in,
                                            const tl_nn_tdesc_t *w, const tl_nn_tdesc_t *b,
                                            const tl_nn_tdesc_t *out, int32_t n_ch,
                                            int32_t qdim, uint32_t ch_stride, uint32_t k_stride,
                                            uint32_t taps, const int32_t *pt,
                                            tl_nn_chan_offs_t *offs);

/* Not inlined: the output stage for the less frequent paths. */
int8_t tl_nn_out8_call(tl_nn_chq_t q, tl_nn_outq_t o, int32_t acc);

#endif /* TL_NN_MAC_COMMON_H */
