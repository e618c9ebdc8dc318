/*
 * Charge, charge density and Shannon k in integer arithmetic.
 */
#include "theraloop/therapy/units.h"
#include "tl_test.h"

static void test_charge_per_phase_is_exact(void)
{
    TL_EXPECT_EQ(tl_stim_charge_pc(3000, 60), 180000);     /* 3 mA x 60 us = 180 nC */
    TL_EXPECT_EQ(tl_stim_charge_pc(25500, 1000), 25500000); /* hardware maximum */
    TL_EXPECT_EQ(tl_stim_charge_pc(0, 450), 0);
}

static void test_density_of_typical_contacts(void)
{
    /* DBS: 3 mA, 60 us on 0.06 cm2 = 3.00 uC/cm2/phase. */
    TL_EXPECT_EQ(tl_stim_density_cuc(3000, 60, 6000000), 300);
    /* RNS: 12 mA, 160 us on 0.08 cm2 = 24.00 uC/cm2/phase (below its 25 limit). */
    TL_EXPECT_EQ(tl_stim_density_cuc(12000, 160, 8000000), 2400);
    /* Rounded up, never down: 1 uA x 10 us on 1 cm2 = 0.001 -> 0.01. */
    TL_EXPECT_EQ(tl_stim_density_cuc(1, 10, 100000000), 1);
    TL_EXPECT_EQ(tl_stim_density_cuc(1, 10, 0), UINT32_MAX);
}

static void test_density_limit_is_exact_at_the_boundary(void)
{
    /* 30.00 uC/cm2 on 6 mm2 at 100 us: exactly 18 mA. */
    TL_EXPECT(tl_stim_density_within(18000, 100, 6000000, 3000));
    TL_EXPECT(!tl_stim_density_within(18001, 100, 6000000, 3000));
    TL_EXPECT(!tl_stim_density_within(1, 1, 0, 3000));
    TL_EXPECT(tl_stim_density_within(0, 1000, 10000, 1));
}

static void test_log10_fixed_point(void)
{
    TL_EXPECT_EQ(tl_log10_q20(1), 0);
    int64_t one = (int64_t)1 << 20;
    int64_t l10 = tl_log10_q20(10);
    int64_t l1e6 = tl_log10_q20(1000000);
    TL_EXPECT(l10 > one - 16 && l10 < one + 16);
    TL_EXPECT(l1e6 > 6 * one - 64 && l1e6 < 6 * one + 64);
    int64_t big = tl_log10_q20(UINT64_MAX); /* 19.2659... */
    TL_EXPECT(big > (int64_t)(19.2659 * 1048576) - 200 && big < (int64_t)(19.2660 * 1048576));
}

static void test_shannon_k(void)
{
    /* Reference values from k = log10(Q uC) + log10(D uC/cm2) in double precision. */
    int32_t k = tl_stim_shannon_k_milli(3000, 60, 6000000);
    TL_EXPECT(k >= -269 && k <= -267);
    k = tl_stim_shannon_k_milli(12000, 160, 8000000);
    TL_EXPECT(k >= 1663 && k <= 1665);
    k = tl_stim_shannon_k_milli(3000, 120, 6000000);
    TL_EXPECT(k >= 333 && k <= 335);
    k = tl_stim_shannon_k_milli(25500, 1000, 10000);
    TL_EXPECT(k >= 6812 && k <= 6814);
    k = tl_stim_shannon_k_milli(1, 10, 100000000);
    TL_EXPECT(k >= -10001 && k <= -9999);
    TL_EXPECT_EQ(tl_stim_shannon_k_milli(0, 60, 6000000), INT32_MIN);
    TL_EXPECT_EQ(tl_stim_shannon_k_milli(100, 60, 0), INT32_MIN);
}

static void test_period(void)
{
    TL_EXPECT_EQ(tl_stim_period_us(1300), 7692); /* 130 Hz */
    TL_EXPECT_EQ(tl_stim_period_us(10000), 1000);
    TL_EXPECT_EQ(tl_stim_period_us(0), UINT32_MAX);
}

int main(void)
{
    TL_RUN(test_charge_per_phase_is_exact);
    TL_RUN(test_density_of_typical_contacts);
    TL_RUN(test_density_limit_is_exact_at_the_boundary);
    TL_RUN(test_log10_fixed_point);
    TL_RUN(test_shannon_k);
    TL_RUN(test_period);
    return tl_test_summary();
}
