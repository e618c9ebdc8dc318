/*
 * op_mean.c - MEAN over constant axes (int8).
 *
 * TFLM (reduce_common.cc) has two int8 paths:
 *  - input and output quantization identical: raw int8 sum / count, truncated (C division);
 *  - otherwise QuantizedMeanOrSum: (sum - zp_in * count) scaled by the in/out scale ratio
 *    with 1/count folded into the multiplier: shift = min(floor(log2 count), 32, 31 + s),
 *    m' = (m << shift) / count, s' = s - shift; then MultiplyByQuantizedMultiplier, + zp_out.
 * Adjacent dimensions of the same kind (kept / reduced) are merged at load, so a global
 * average over [1, H, W, C] runs as C strided sums of H*W values.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2") /* kernels: speed, without -O3's code growth */
#endif
#include "op_common.h"
#include "ops.h"

typedef struct {
    uint16_t in, out;
    uint8_t n_kept, n_red, same_quant, pad_;
    int32_t kept_dim[TL_NN_MAX_DIMS], kept_stride[TL_NN_MAX_DIMS];
    int32_t red_dim[TL_NN_MAX_DIMS], red_stride[TL_NN_MAX_DIMS];
    int32_t count, in_zp, out_zp, mult, shift;
} mean_params_t;

/* Sum of the reduced elements starting at x (odometer over the reduced dims; the last
 * one is the tight inner loop). */
static int32_t reduce_sum(const mean_params_t *P, const int8_t *x)
{
    const int32_t nr = P->n_red;
    if (nr == 0) {
        return x[0];
    }
    const int32_t inner_n = P->red_dim[nr - 1];
    const int32_t inner_s = P->red_stride[nr - 1];
    int32_t idx[TL_NN_MAX_DIMS] = {0};
    int32_t sum = 0;
    for (;;) {
        size_t off = 0;
        for (int32_t k = 0; k < nr - 1; ++k) {
            off += (size_t)idx[k] * P->red_stride[k];
        }
        const int8_t *p = x + off;
        for (int32_t i = 0; i < inner_n; ++i) {
            sum += p[(size_t)i * inner_s];
        }
        int32_t k = nr - 2;
        while (k >= 0 && ++idx[k] == P->red_dim[k]) {
            idx[k] = 0;
            --k;
        }
        if (k < 0) {
            return sum;
        }
    }
}

void tl_nn_eval_mean(const tl_nn_ctx_t *c, const void *params)
{
    const mean_params_t *P = params;
    const int8_t *in = tl_nn_ptr(c, P->in);
    int8_t *out = tl_nn_ptr(c, P->out);
    int32_t idx[TL_NN_MAX_DIMS] = {0};
    size_t o = 0;
    for (;;) {
        size_t base = 0;
        for (int32_t k = 0; k < P->n_kept; ++k) {
            base += (size_t)idx[k] * P->kept_stride[k];
        }
        const int32_t sum = reduce_sum(P, in + base);
        int32_t v;
        if (P->same_quant) {
            v = sum / P->count;
        } else {
            const int32_t shifted =
                (int32_t)(uint32_t)((int64_t)sum - (int64_t)P->in_zp * P->count);
            v = tl_q_clamp(tl_q_wadd(tl_q_mbqm(shifted, P->mult, P->shift), P->out_zp), -128,
                           127);
        }
        out[o++] = (int8_t)v;
        int32_t k = (int32_t)P->n_kept - 1;
        while (k >= 0 && ++idx[k] == P->kept_dim[k]) {
            idx[k] = 0;
            --k;
        }
        if (k < 0) {
            return;
        }
    }
}

tl_nn_status_t tl_nn_prep_mean(tl_nn_prep_t *p)
{
    tl_nn_tdesc_t in, axis, out;
    TL_TRY(tl_nn_prep_counts(p, 2, 2, 1));
    TL_TRY(tl_nn_prep_in(p, 0, &in, NULL));
    TL_TRY(tl_nn_prep_in(p, 1, &axis, NULL));
    TL_TRY(tl_nn_prep_out(p, 0, &out));
    TL_TRY(tl_nn_req_int8(&in));
    TL_TRY(tl_nn_req_int8(&out));
    TL_TRY(tl_nn_req_const_i32(&axis, 0));
    uint8_t keep_dims;
    TL_TRY(tl_nn_opt_u8(p, 0, 0, &keep_dims));

    const int32_t rank = in.ndim;
    bool reduced[TL_NN_MAX_DIMS] = {false};
    for (uint32_t i = 0; i < axis.elems; ++i) {
        int32_t a = tl_nn_const_i32(&axis, i);
        if (a < -rank || a >= rank) {
            return TL_NN_ERR_UNSUPPORTED_PARAM;
        }
        reduced[a < 0 ? a + rank : a] = true;
    }
    /* expected output shape */
    int32_t exp_dims[TL_NN_MAX_DIMS];
    int32_t exp_n = 0;
    uint32_t count = 1;
    for (int32_t d = 0; d < rank; ++d) {
        if (reduced[d]) {
            count *= (uint32_t)in.dims[d];
            if (keep_dims) {
                exp_dims[exp_n++] = 1;
            }
        } else {
            exp_dims[exp_n++] = in.dims[d];
        }
    }
    if (count > (UINT32_C(1) << 23)) {
        return TL_NN_ERR_TENSOR_TOO_LARGE; /* int32 sum of int8 values */
    }
    if (out.ndim != exp_n) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    for (int32_t d = 0; d < exp_n; ++d) {
        if (out.dims[d] != exp_dims[d]) {
            return TL_NN_ERR_BAD_SHAPE;
        }
    }

    uint32_t off;
    mean_params_t *P = tl_nn_prep_alloc(p, sizeof *P, &off);
    if (P == NULL) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    P->in = tl_nn_tix(&in);
    P->out = tl_nn_tix(&out);
    /* merge runs of kept / reduced dims (row-major strides), skipping size-1 dims */
    int32_t stride = 1;
    int32_t last_kind = -1;
    for (int32_t d = rank - 1; d >= 0; --d) {
        const int32_t n = in.dims[d];
        if (n != 1) {
            const int32_t kind = reduced[d] ? 1 : 0;
            int32_t *dims = kind ? P->red_dim : P->kept_dim;
            int32_t *strides = kind ? P->red_stride : P->kept_stride;
            uint8_t *cnt = kind ? &P->n_red : &P->n_kept;
            if (kind == last_kind) {
                dims[0] *= n; /* innermost entry is at index 0 while building */
            } else {
                for (int32_t k = *cnt; k > 0; --k) {
                    dims[k] = dims[k - 1];
                    strides[k] = strides[k - 1];
                }
                dims[0] = n;
                strides[0] = stride;
                ++*cnt;
            }
            last_kind = kind;
        }
        stride *= n;
    }
    /* each new (outer) run was inserted at index 0: index 0 is the outermost run */
    P->count = (int32_t)count;
    P->in_zp = in.zero_point;
    P->out_zp = out.zero_point;
    P->same_quant = (in.zero_point == out.zero_point && in.scale == out.scale) ? 1 : 0;
    if (!P->same_quant) {
        int32_t m, s;
        TL_TRY(tl_nn_multiplier((double)in.scale / (double)out.scale, &m, &s));
        int32_t sh = 0;
        while ((UINT64_C(1) << (sh + 1)) <= (uint64_t)count) {
            ++sh;
        }
        if (sh > 32) {
            sh = 32;
        }
        if (sh > 31 + s) {
            sh = 31 + s;
        }
        if (sh < 0) {
            return TL_NN_ERR_BAD_QUANTIZATION;
        }
        P->mult = (int32_t)tl_nn_sdiv64((int64_t)m << sh, (int64_t)count);
        P->shift = s - sh;
    }
    p->kernel = TL_NN_K_MEAN;
    p->params_off = off;
    return TL_NN_OK;
}
