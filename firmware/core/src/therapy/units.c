/*
 * units.c - charge, charge density and Shannon k in integer arithmetic.
 */
#include "theraloop/therapy/units.h"

uint32_t tl_stim_charge_pc(uint32_t amplitude_ua, uint32_t pulse_width_us)
{
    uint64_t q = (uint64_t)amplitude_ua * pulse_width_us;
    return q > UINT32_MAX ? UINT32_MAX : (uint32_t)q;
}

uint32_t tl_stim_density_cuc(uint32_t amplitude_ua, uint32_t pulse_width_us, uint32_t area_um2)
{
    if (area_um2 == 0u) {
        return UINT32_MAX;
    }
    /* D[0.01 uC/cm2] = pC x 100 / um2 x 100 = pC x 10000 / um2 */
    uint64_t num = (uint64_t)amplitude_ua * pulse_width_us * 10000u;
    uint64_t d = (num + area_um2 - 1u) / area_um2;
    return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

bool tl_stim_density_within(uint32_t amplitude_ua, uint32_t pulse_width_us, uint32_t area_um2,
                            uint32_t max_cuc)
{
    if (area_um2 == 0u) {
        return false;
    }
    /* amplitude < 2^32, pulse width < 2^32: the product fits 64 bits only if we keep the
     * operands to the hardware ranges; clamp defensively so nothing can overflow. */
    if (amplitude_ua > 0xFFFFFu || pulse_width_us > 0xFFFFu) {
        return false;
    }
    uint64_t lhs = (uint64_t)amplitude_ua * pulse_width_us * 10000u;
    uint64_t rhs = (uint64_t)max_cuc * area_um2;
    return lhs <= rhs;
}

int64_t tl_log10_q20(uint64_t x)
{
    if (x == 0u) {
        return 0;
    }
    /* Integer part of log2. */
    int32_t n = 63;
    while ((x & ((uint64_t)1u << n)) == 0u) {
        n--;
    }
    /* Mantissa y in [1, 2) as Q31 in a uint64 (so y*y fits in 64 bits). */
    uint64_t y;
    if (n >= 31) {
        y = x >> (uint32_t)(n - 31);
    } else {
        y = x << (uint32_t)(31 - n);
    }
    uint64_t frac = 0; /* Q30 fractional part of log2 */
    for (uint32_t bit = 1; bit <= 30u; bit++) {
        y = (y * y) >> 31;
        if (y >= ((uint64_t)1u << 32)) {
            y >>= 1;
            frac |= (uint64_t)1u << (30u - bit);
        }
    }
    int64_t log2_q24 = ((int64_t)n << 24) + (int64_t)(frac >> 6);
    /* log10(2) in Q30. */
    const int64_t k_log10_2_q30 = 323228497;
    return (log2_q24 * k_log10_2_q30) >> 34; /* Q24 x Q30 = Q54 -> Q20 */
}

int32_t tl_stim_shannon_k_milli(uint32_t amplitude_ua, uint32_t pulse_width_us, uint32_t area_um2)
{
    uint64_t q_pc = (uint64_t)amplitude_ua * pulse_width_us;
    if (q_pc == 0u || area_um2 == 0u) {
        return INT32_MIN;
    }
    /* k = 2 log10(pC) - 4 - log10(um2) */
    int64_t k_q20 = 2 * tl_log10_q20(q_pc) - ((int64_t)4 << 20) - tl_log10_q20(area_um2);
    int64_t scaled = k_q20 * 1000;
    int64_t half = (int64_t)1 << 19;
    int64_t milli = scaled >= 0 ? (scaled + half) >> 20 : -((-scaled + half) >> 20);
    return (int32_t)milli;
}

uint32_t tl_stim_period_us(uint32_t rate_dhz)
{
    if (rate_dhz == 0u) {
        return UINT32_MAX;
    }
    return 10000000u / rate_dhz;
}
