/*
 * dot.h - int8 inner products, the hot loops of CONV_2D and FULLY_CONNECTED.
 *
 * Each function adds exact int32 sums of x[k] * w[k] (k < len) to its accumulators.
 * Two implementations with identical results: portable C, and (when the compiler targets
 * a core with the DSP extension, e.g. Cortex-M4, and TL_NN_PORTABLE is not defined)
 * SXTB16 + SMLAD, which handles four int8 products in four instructions per operand pair.
 * len <= TL_NN_MAX_ACCUM_DEPTH keeps every partial sum inside int32.
 */
#ifndef TL_NN_DOT_H
#define TL_NN_DOT_H

#include <stdbool.h>
#include <stdint.h>

#include <string.h>

#if defined(__ARM_FEATURE_DSP) && !defined(TL_NN_PORTABLE)
#define TL_NN_DSP 1
#include <arm_acle.h>
#else
#define TL_NN_DSP 0
#endif

/*
 * tl_nn_dot_1x1(x, w, len, s):            s[0] += x . w
 * tl_nn_dot_1x2(x, w0, w1, len, s):       s[j] += x . w_j        (one row, two filters)
 * tl_nn_dot_2x2(x0, x1, w0, w1, len, s):  s[2i + j] += x_i . w_j (two rows, two filters)
 * Inline so the accumulators stay in registers in the kernels' loops.
 */
#if TL_NN_DSP

static inline uint32_t tl_nn_ld32(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v); /* unaligned LDR is fine on ARMv7-M */
    return v;
}

/* Sign-extend bytes 0 and 2 (even) and bytes 1 and 3 (odd) into 16-bit lanes. */
static inline int32_t tl_nn_sx_even(uint32_t v)
{
    return __sxtb16((int32_t)v);
}
static inline int32_t tl_nn_sx_odd(uint32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static inline int32_t tl_nn_dot_wadd(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline void tl_nn_dot_1x1(const int8_t *x, const int8_t *w, uint32_t len,
                                 int32_t *s)
{
    int32_t a = 0;
    uint32_t n4 = len >> 2;
    while (n4--) {
        uint32_t xv = tl_nn_ld32(x);
        uint32_t wv = tl_nn_ld32(w);
        x += 4;
        w += 4;
        a = __smlad(tl_nn_sx_even(xv), tl_nn_sx_even(wv), a);
        a = __smlad(tl_nn_sx_odd(xv), tl_nn_sx_odd(wv), a);
    }
    for (len &= 3u; len != 0; --len) {
        a += (int32_t)*x++ * (int32_t)*w++;
    }
    s[0] = tl_nn_dot_wadd(s[0], a);
}

static inline void tl_nn_dot_1x2(const int8_t *x, const int8_t *w0, const int8_t *w1,
                                 uint32_t len, int32_t *s)
{
    int32_t a0 = 0, a1 = 0;
    uint32_t n4 = len >> 2;
    if (n4 != 0) {
        /* 4 int8 pairs per filter per iteration: 15 instructions for 8 MACs */
        uint32_t t0, t1, t2, t3;
        __asm__ volatile("1:\n\t"
                         "ldr    %[t0], [%[x]], #4\n\t"
                         "ldr    %[t1], [%[w0]], #4\n\t"
                         "sxtb16 %[t2], %[t0]\n\t"
                         "sxtb16 %[t0], %[t0], ror #8\n\t"
                         "sxtb16 %[t3], %[t1]\n\t"
                         "sxtb16 %[t1], %[t1], ror #8\n\t"
                         "smlad  %[a0], %[t2], %[t3], %[a0]\n\t"
                         "smlad  %[a0], %[t0], %[t1], %[a0]\n\t"
                         "ldr    %[t1], [%[w1]], #4\n\t"
                         "sxtb16 %[t3], %[t1]\n\t"
                         "sxtb16 %[t1], %[t1], ror #8\n\t"
                         "smlad  %[a1], %[t2], %[t3], %[a1]\n\t"
                         "smlad  %[a1], %[t0], %[t1], %[a1]\n\t"
                         "subs   %[n], %[n], #1\n\t"
                         "bne    1b"
                         : [x] "+r"(x), [w0] "+r"(w0), [w1] "+r"(w1), [n] "+r"(n4),
                           [a0] "+r"(a0), [a1] "+r"(a1), [t0] "=&r"(t0), [t1] "=&r"(t1),
                           [t2] "=&r"(t2), [t3] "=&r"(t3)
                         :
                         : "cc", "memory");
    }
    for (len &= 3u; len != 0; --len) {
        int32_t xv = *x++;
        a0 += xv * *w0++;
        a1 += xv * *w1++;
    }
    s[0] = tl_nn_dot_wadd(s[0], a0);
    s[1] = tl_nn_dot_wadd(s[1], a1);
}

static inline void tl_nn_dot_2x2(const int8_t *x0, const int8_t *x1, const int8_t *w0,
                                 const int8_t *w1, uint32_t len, int32_t *s)
{
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    uint32_t n4 = len >> 2;
    if (n4 != 0) {
        /* 4 int8 pairs per row per filter per iteration: 23 instructions for 16 MACs.
         * Fourteen registers are live, so the end of the loop is compared through memory. */
        const int8_t *end = x0 + 4u * n4;
        int32_t x0e, x0o, x1e, x1o, we, t;
        __asm__ volatile("1:\n\t"
                         "ldr    %[t], [%[x0]], #4\n\t"
                         "sxtb16 %[x0e], %[t]\n\t"
                         "sxtb16 %[x0o], %[t], ror #8\n\t"
                         "ldr    %[t], [%[x1]], #4\n\t"
                         "sxtb16 %[x1e], %[t]\n\t"
                         "sxtb16 %[x1o], %[t], ror #8\n\t"
                         "ldr    %[t], [%[w0]], #4\n\t"
                         "sxtb16 %[we], %[t]\n\t"
                         "sxtb16 %[t], %[t], ror #8\n\t"
                         "smlad  %[a00], %[x0e], %[we], %[a00]\n\t"
                         "smlad  %[a00], %[x0o], %[t], %[a00]\n\t"
                         "smlad  %[a10], %[x1e], %[we], %[a10]\n\t"
                         "smlad  %[a10], %[x1o], %[t], %[a10]\n\t"
                         "ldr    %[t], [%[w1]], #4\n\t"
                         "sxtb16 %[we], %[t]\n\t"
                         "sxtb16 %[t], %[t], ror #8\n\t"
                         "smlad  %[a01], %[x0e], %[we], %[a01]\n\t"
                         "smlad  %[a01], %[x0o], %[t], %[a01]\n\t"
                         "smlad  %[a11], %[x1e], %[we], %[a11]\n\t"
                         "smlad  %[a11], %[x1o], %[t], %[a11]\n\t"
                         "ldr    %[t], %[end]\n\t"
                         "cmp    %[x0], %[t]\n\t"
                         "bne    1b"
                         : [x0] "+r"(x0), [x1] "+r"(x1), [w0] "+r"(w0), [w1] "+r"(w1),
                           [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11),
                           [x0e] "=&r"(x0e), [x0o] "=&r"(x0o), [x1e] "=&r"(x1e),
                           [x1o] "=&r"(x1o), [we] "=&r"(we), [t] "=&r"(t)
                         : [end] "m"(end)
                         : "cc", "memory");
    }
    for (len &= 3u; len != 0; --len) {
        int32_t xa = *x0++, xb = *x1++;
        int32_t wa = *w0++, wb = *w1++;
        a00 += xa * wa;
        a01 += xa * wb;
        a10 += xb * wa;
        a11 += xb * wb;
    }
    s[0] = tl_nn_dot_wadd(s[0], a00);
    s[1] = tl_nn_dot_wadd(s[1], a01);
    s[2] = tl_nn_dot_wadd(s[2], a10);
    s[3] = tl_nn_dot_wadd(s[3], a11);
}

#else /* portable C */

static inline void tl_nn_dot_1x1(const int8_t *x, const int8_t *w, uint32_t len,
                                 int32_t *s)
{
    int32_t a = 0;
    for (uint32_t k = 0; k < len; ++k) {
        a += (int32_t)x[k] * (int32_t)w[k];
    }
    s[0] = (int32_t)((uint32_t)s[0] + (uint32_t)a);
}

static inline void tl_nn_dot_1x2(const int8_t *x, const int8_t *w0, const int8_t *w1,
                                 uint32_t len, int32_t *s)
{
    int32_t a0 = 0, a1 = 0;
    for (uint32_t k = 0; k < len; ++k) {
        int32_t xv = x[k];
        a0 += xv * w0[k];
        a1 += xv * w1[k];
    }
    s[0] = (int32_t)((uint32_t)s[0] + (uint32_t)a0);
    s[1] = (int32_t)((uint32_t)s[1] + (uint32_t)a1);
}

static inline void tl_nn_dot_2x2(const int8_t *x0, const int8_t *x1, const int8_t *w0,
                                 const int8_t *w1, uint32_t len, int32_t *s)
{
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    for (uint32_t k = 0; k < len; ++k) {
        int32_t xa = x0[k], xb = x1[k];
        int32_t wa = w0[k], wb = w1[k];
        a00 += xa * wa;
        a01 += xa * wb;
        a10 += xb * wa;
        a11 += xb * wb;
    }
    s[0] = (int32_t)((uint32_t)s[0] + (uint32_t)a00);
    s[1] = (int32_t)((uint32_t)s[1] + (uint32_t)a01);
    s[2] = (int32_t)((uint32_t)s[2] + (uint32_t)a10);
    s[3] = (int32_t)((uint32_t)s[3] + (uint32_t)a11);
}

#endif

/* Out-of-line copies for the less frequent paths (keeps the inlined hot loops few). */
void tl_nn_dot_1x1_call(const int8_t *x, const int8_t *w, uint32_t len, int32_t *s);
void tl_nn_dot_1x2_call(const int8_t *x, const int8_t *w0, const int8_t *w1, uint32_t len,
                        int32_t *s);
void tl_nn_dot_2x2_call(const int8_t *x0, const int8_t *x1, const int8_t *w0, const int8_t *w1,
                        uint32_t len, int32_t *s);

/* Whether the DSP implementation was compiled in. */
bool tl_nn_dot_uses_dsp(void);

#endif /* TL_NN_DOT_H */
