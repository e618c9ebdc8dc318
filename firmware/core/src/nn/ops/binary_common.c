/*
 * binary_common.c - broadcasting plan and iteration for ADD and MUL.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* load-time code: size over speed */
#endif
#include "binary_common.h"

tl_nn_status_t tl_nn_bcast_prep(const tl_nn_tdesc_t *a, const tl_nn_tdesc_t *b,
                                const tl_nn_tdesc_t *out, tl_nn_bcast_t *bc)
{
    const int32_t n = out->ndim;
    if (a->ndim > n || b->ndim > n) {
        return TL_NN_ERR_BAD_SHAPE;
    }
    int32_t da[TL_NN_MAX_DIMS], db[TL_NN_MAX_DIMS];
    for (int32_t i = 0; i < n; ++i) {
        const int32_t ia = i - (n - a->ndim);
        const int32_t ib = i - (n - b->ndim);
        da[i] = ia >= 0 ? a->dims[ia] : 1;
        db[i] = ib >= 0 ? b->dims[ib] : 1;
        const int32_t o = out->dims[i];
        const int32_t expect = da[i] == 1 ? db[i] : da[i];
        if ((da[i] != 1 && db[i] != 1 && da[i] != db[i]) || o != expect) {
            return TL_NN_ERR_BAD_SHAPE;
        }
    }
    /* drop size-1 output dims, merge runs with the same broadcast pattern */
    int32_t m = 0;
    int32_t pat_prev = -1;
    int32_t dims[TL_NN_MAX_DIMS];
    int32_t pats[TL_NN_MAX_DIMS];
    for (int32_t i = 0; i < n; ++i) {
        const int32_t o = out->dims[i];
        if (o == 1) {
            continue;
        }
        const int32_t pat = (da[i] == 1 ? 1 : 0) | (db[i] == 1 ? 2 : 0);
        if (pat == pat_prev) {
            dims[m - 1] *= o;
        } else {
            dims[m] = o;
            pats[m] = pat;
            ++m;
            pat_prev = pat;
        }
    }
    if (m == 0) {
        dims[0] = 1;
        pats[0] = 0;
        m = 1;
    }
    bc->ndim = (uint8_t)m;
    int32_t sa = 1, sb = 1;
    for (int32_t i = m - 1; i >= 0; --i) {
        bc->dims[i] = dims[i];
        bc->s1[i] = (pats[i] & 1) ? 0 : sa;
        bc->s2[i] = (pats[i] & 2) ? 0 : sb;
        if (!(pats[i] & 1)) {
            sa *= dims[i];
        }
        if (!(pats[i] & 2)) {
            sb *= dims[i];
        }
    }
    bc->in1 = (uint16_t)a->index;
    bc->in2 = (uint16_t)b->index;
    bc->out = (uint16_t)out->index;
    return TL_NN_OK;
}

void tl_nn_bcast_run(const tl_nn_ctx_t *c, const tl_nn_bcast_t *bc, const void *params,
                     tl_nn_row_fn row)
{
    const int8_t *a = tl_nn_ptr(c, bc->in1);
    const int8_t *b = tl_nn_ptr(c, bc->in2);
    int8_t *o = tl_nn_ptr(c, bc->out);
    const int32_t n = bc->ndim;
    const int32_t inner = bc->dims[n - 1];
    int32_t idx[TL_NN_MAX_DIMS] = {0};
    for (;;) {
        size_t oa = 0, ob = 0;
        for (int32_t k = 0; k < n - 1; ++k) {
            oa += (size_t)idx[k] * bc->s1[k];
            ob += (size_t)idx[k] * bc->s2[k];
        }
        row(params, a + oa, bc->s1[n - 1], b + ob, bc->s2[n - 1], o, inner);
        o += inner;
        int32_t k = n - 2;
        while (k >= 0 && ++idx[k] == bc->dims[k]) {
            idx[k] = 0;
            --k;
        }
        if (k < 0) {
            return;
        }
    }
}
