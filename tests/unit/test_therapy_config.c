/*
 * Therapy configuration: defaults, field table, validation with reasons, get/set by name.
 */
#include <string.h>

#include "theraloop/therapy/config.h"
#include "tl_test.h"

#define SET(cfg, name, value, check)                                                      \
    tl_therapy_config_set((cfg), (name), strlen(name), (value), (check))

static int32_t idx(const char *name)
{
    return tl_therapy_config_find(name, strlen(name));
}

static void test_defaults_are_valid_and_report_the_worst_case(void)
{
    tl_therapy_config_t cfg;
    tl_therapy_check_t check;
    tl_therapy_config_defaults(&cfg);
    TL_EXPECT_EQ(tl_therapy_config_validate(&cfg, &check), TL_THERAPY_CFG_OK);
    TL_EXPECT_EQ(check.field, -1);
    TL_EXPECT(strcmp(check.why, "ok") == 0);
    /* 3 mA x 120 us on 6 mm2 */
    TL_EXPECT_EQ(check.worst_charge_pc, 360000);
    TL_EXPECT_EQ(check.worst_density_cuc, 600);
    TL_EXPECT(check.worst_shannon_k_milli >= 333 && check.worst_shannon_k_milli <= 335);
    TL_EXPECT_EQ(cfg.policy, TL_POLICY_OPEN_LOOP);
    /* Every policy's defaults are valid too, so switching policy alone works. */
    for (uint32_t p = 0; p < TL_POLICY_COUNT; p++) {
        cfg.policy = p;
        TL_EXPECT_EQ(tl_therapy_config_validate(&cfg, &check), TL_THERAPY_CFG_OK);
    }
}

static void test_field_table_is_consistent(void)
{
    size_t n = tl_therapy_config_field_count();
    TL_EXPECT_EQ(n * 4u, sizeof(tl_therapy_config_t));
    uint8_t covered[sizeof(tl_therapy_config_t)] = {0};
    tl_therapy_config_t cfg;
    tl_therapy_config_defaults(&cfg);
    for (size_t i = 0; i < n; i++) {
        const tl_cfg_field_t *f = tl_therapy_config_field(i);
        TL_EXPECT(f != NULL);
        TL_EXPECT_EQ(idx(f->name), (int64_t)i);
        TL_EXPECT(f->min <= f->def && f->def <= f->max);
        TL_EXPECT(f->offset % 4u == 0u && f->offset + 4u <= sizeof cfg);
        TL_EXPECT_EQ(covered[f->offset], 0);
        covered[f->offset] = 1;
        int64_t v = 0;
        TL_EXPECT(tl_therapy_config_get(&cfg, i, &v));
        TL_EXPECT_EQ(v, f->def);
        TL_EXPECT(f->help != NULL && f->help[0] != '\0');
    }
    TL_EXPECT(tl_therapy_config_field(n) == NULL);
    TL_EXPECT_EQ(tl_therapy_config_find("nope", 4), -1);
    TL_EXPECT_EQ(tl_therapy_config_find(NULL, 0), -1);
    /* A prefix of a name is not the name. */
    TL_EXPECT_EQ(tl_therapy_config_find("amplitude_max", 13), -1);
}

static void expect_refused(tl_therapy_config_t *cfg, tl_therapy_cfg_err_t err, const char *field,
                           const char *why)
{
    tl_therapy_check_t check;
    tl_therapy_cfg_err_t got = tl_therapy_config_validate(cfg, &check);
    TL_EXPECT_EQ(got, err);
    TL_EXPECT_EQ(check.err, err);
    TL_EXPECT_EQ(check.field, idx(field));
    if (strcmp(check.why, why) != 0) {
        printf("  why: \"%s\"\n  expected: \"%s\"\n", check.why, why);
        TL_EXPECT(0);
    }
}

static void test_range_and_order(void)
{
    tl_therapy_config_t cfg;
    tl_therapy_config_defaults(&cfg);
    cfg.amplitude_max_ua = 30000;
    expect_refused(&cfg, TL_THERAPY_CFG_ERR_RANGE, "amplitude_max_ua",
                   "amplitude_max_ua = 30000 outside 0..25500 uA");
    tl_therapy_config_defaults(&cfg);
    cfg.charge_density_max_cuc_cm2 = 3001; /* the ceiling itself cannot go above 30 */
    expect_refused(&cfg, TL_THERAPY_CFG_ERR_RANGE, "charge_density_max_cuc_cm2",
                   "charge_density_max_cuc_cm2 = 3001 outside 1..3000 0.01 uC/cm2/phase");
    tl_therapy_config_defaults(&cfg);
    cfg.shannon_k_max_milli = 1851;
    expect_refused(&cfg, TL_THERAPY_CFG_ERR_RANGE, "shannon_k_max_milli",
                   "shannon_k_max_milli = 1851 outside -9999..1850 0.001");
    tl_therapy_config_defaults(&cfg);
    cfg.amplitude_min_ua = 3500;
    expect_refused(&cfg, TL_THERAPY_CFG_ERR_ORDER, "amplitude_min_ua",
                   "amplitude_min_ua 3500 above amplitude_max_ua 3000");
    tl_therapy_config_defaults(&cfg);
    cfg.rate_min_dhz = 3000;
    expect_refused(&cfg, TL_THERAPY_CFG_ERR_ORDER, "rate_min_dhz",
                   "rate_min_dhz 3000 above rate_max_dhz 2500");
}

static void test_charge_limits(void)
{
    tl_therapy_config_t cfg;
    tl_therapy_config_defaults(&cfg);
    cfg.pulse_width_max_us = 450;
    cfg.amplitude_max_ua = 10000;
    expect_refused(&cfg, TL_THERAPY_CFG_ERR_CHARGE, "amplitude_max_ua",
                   "amplitude_max_ua above the charge-per-phase limit at pulse_width_max_us "
                   "450: 4500.0 nC > 1000 nC");
    cfg.charge_max_nc = 25500;
    expect_refused(&cfg, TL_THERAPY_CFG_ERR_CHARGE_DENSITY, "amplitude_max_ua",
                   "amplitude_max_ua above the charge-density limit at pulse_width_max_us "
                   "450: 75.00 uC/cm2/phase > 30.00");
    /* Exactly 30.00 passes the density check: 4 mA x 450 us on 6 mm2. */
    cfg.amplitude_max_ua = 4000;
    cfg.shannon_k_max_milli = 1850;
    tl_therapy_check_t check;
    TL_EXPECT_EQ(tl_therapy_config_validate(&cfg, &check), TL_THERAPY_CFG_OK);
    TL_EXPECT_EQ(check.worst_density_cuc, 3000);
    cfg.amplitude_max_ua = 4001;
    TL_EXPECT_EQ(tl_therapy_config_validate(&cfg, &check), TL_THERAPY_CFG_ERR_CHARGE_DENSITY);
    /* A stricter clinician ceiling (RNS: 25 uC/cm2/phase). */
    cfg.amplitude_max_ua = 4000;
    cfg.charge_density_max_cuc_cm2 = 2500;
    TL_EXPECT_EQ(tl_therapy_config_validate(&cfg, &check), TL_THERAPY_CFG_ERR_CHARGE_DENSITY);
}

static void test_shannon_limit(void)
{
    tl_therapy_config_t cfg;
    tl_therapy_config_defaults(&cfg);
    cfg.charge_max_nc = 25500;
    cfg.amplitude_max_ua = 10000;
    cfg.pulse_width_max_us = 200;
    cfg.electrode_area_um2 = 7000000; /* 28.57 uC/cm2, 2 uC: k = 1.757 */
    expect_refused(&cfg, TL_THERAPY_CFG_ERR_SHANNON, "amplitude_max_ua",
                   "amplitude_max_ua above the Shannon limit at pulse_width_max_us 200: "
                   "k 1.757 > 1.750");
    cfg.shannon_k_max_milli = 1850;
    TL_EXPECT_EQ(tl_therapy_config_validate(&cfg, NULL), TL_THERAPY_CFG_OK);
}

static void test_programmed_settings_inside_limits(void)
{
    tl_therapy_config_t cfg;
    tl_therapy_config_defaults(&cfg);
    cfg.pulse_width_us = 200;
    expect_refused(&cfg, TL_THERAPY_CFG_ERR_OUTSIDE_LIMITS, "pulse_width_us",
                   "pulse_width_us 200 outside the limits 30..120 us");
    tl_therapy_config_defaults(&cfg);
    cfg.open_loop_amplitude_ua = 3001;
    expect_refused(&cfg, TL_THERAPY_CFG_ERR_OUTSIDE_LIMITS, "open_loop_amplitude_ua",
                   "open_loop_amplitude_ua 3001 outside the limits 0..3000 uA");
    /* The suspend amplitude only matters when the fallback suspends. */
    tl_therapy_config_defaults(&cfg);
    cfg.suspend_amplitude_ua = 5000;
    TL_EXPECT_EQ(tl_therapy_config_validate(&cfg, NULL), TL_THERAPY_CFG_ERR_OUTSIDE_LIMITS);
    cfg.fallback_mode = TL_FALLBACK_OFF;
    TL_EXPECT_EQ(tl_therapy_config_validate(&cfg, NULL), TL_THERAPY_CFG_OK);
    /* An inactive policy's block is only range-checked... */
    tl_therapy_config_defaults(&cfg);
    cfg.burst_amplitude_ua = 9000;
    TL_EXPECT_EQ(tl_therapy_config_validate(&cfg, NULL), TL_THERAPY_CFG_OK);
    /* ...and checked against the limits when selected. */
    cfg.policy = TL_POLICY_RESPONSIVE;
    expect_refused(&cfg, TL_THERAPY_CFG_ERR_OUTSIDE_LIMITS, "burst_amplitude_ua",
                   "burst_amplitude_ua 9000 outside the limits 0..3000 uA");
}

static void test_adaptive_rules(void)
{
    tl_therapy_config_t cfg;
    tl_therapy_config_defaults(&cfg);
    cfg.policy = TL_POLICY_ADAPTIVE;
    cfg.adaptive_ramp_up_ms = 100; /* 1000 uA in 100 ms = 10 mA/s > 2 mA/s */
    expect_refused(&cfg, TL_THERAPY_CFG_ERR_RAMP, "adaptive_ramp_up_ms",
                   "adaptive_ramp_up_ms 100 ms too fast for slew_max_ua_per_s 2000: 1000 uA "
                   "needs at least 500 ms");
    cfg.adaptive_ramp_up_ms = 500; /* exactly the slew limit */
    TL_EXPECT_EQ(tl_therapy_config_validate(&cfg, NULL), TL_THERAPY_CFG_OK);
    cfg.adaptive_ramp_down_ms = 0;
    TL_EXPECT_EQ(tl_therapy_config_validate(&cfg, NULL), TL_THERAPY_CFG_ERR_RAMP);
    tl_therapy_config_defaults(&cfg);
    cfg.policy = TL_POLICY_ADAPTIVE;
    cfg.adaptive_amplitude_lower_ua = 2500;
    expect_refused(&cfg, TL_THERAPY_CFG_ERR_ORDER, "adaptive_amplitude_lower_ua",
                   "adaptive_amplitude_lower_ua 2500 above adaptive_amplitude_upper_ua 2000");
    tl_therapy_config_defaults(&cfg);
    cfg.policy = TL_POLICY_ADAPTIVE;
    cfg.adaptive_threshold_lower = 30000;
    TL_EXPECT_EQ(tl_therapy_config_validate(&cfg, NULL), TL_THERAPY_CFG_OK); /* single */
    cfg.adaptive_mode = TL_ADAPTIVE_DUAL;
    expect_refused(&cfg, TL_THERAPY_CFG_ERR_THRESHOLDS, "adaptive_threshold_lower",
                   "adaptive_threshold_lower 30000 above adaptive_threshold_upper 20000");
    /* Equal amplitudes need no ramp time at all. */
    tl_therapy_config_defaults(&cfg);
    cfg.policy = TL_POLICY_ADAPTIVE;
    cfg.adaptive_amplitude_lower_ua = 2000;
    cfg.adaptive_ramp_up_ms = 0;
    cfg.adaptive_ramp_down_ms = 0;
    TL_EXPECT_EQ(tl_therapy_config_validate(&cfg, NULL), TL_THERAPY_CFG_OK);
}

static void test_responsive_and_timing_rules(void)
{
    tl_therapy_config_t cfg;
    tl_therapy_config_defaults(&cfg);
    cfg.policy = TL_POLICY_RESPONSIVE;
    cfg.burst_amplitude_ua = 2000;
    expect_refused(&cfg, TL_THERAPY_CFG_ERR_BURST_SLEW, "burst_duration_ms",
                   "burst_duration_ms 1000 too short for slew_max_ua_per_s 2000: 2000 uA takes "
                   "1000 ms, more than half the burst");
    cfg.slew_max_ua_per_s = 4000;
    TL_EXPECT_EQ(tl_therapy_config_validate(&cfg, NULL), TL_THERAPY_CFG_OK);

    tl_therapy_config_defaults(&cfg);
    cfg.amplitude_max_ua = 1000;
    cfg.open_loop_amplitude_ua = 500;
    cfg.suspend_amplitude_ua = 500;
    cfg.rate_max_dhz = 10000;    /* 1 kHz: 1000 us period */
    cfg.pulse_width_max_us = 600; /* 2 x 600 us does not fit */
    expect_refused(&cfg, TL_THERAPY_CFG_ERR_TIMING, "pulse_width_max_us",
                   "pulse_width_max_us: 2 x 600 us + 0 us gap does not fit the 1000 us period "
                   "at 1000.0 Hz");
    cfg.pulse_width_max_us = 450;
    cfg.interphase_gap_us = 100;
    TL_EXPECT_EQ(tl_therapy_config_validate(&cfg, NULL), TL_THERAPY_CFG_OK);
    cfg.interphase_gap_us = 101;
    TL_EXPECT_EQ(tl_therapy_config_validate(&cfg, NULL), TL_THERAPY_CFG_ERR_TIMING);
}

static void test_set_by_name_is_atomic(void)
{
    tl_therapy_config_t cfg;
    tl_therapy_config_t before;
    tl_therapy_check_t check;
    tl_therapy_config_defaults(&cfg);
    TL_EXPECT_EQ(SET(&cfg, "amplitude_max_ua", 2500, &check), TL_THERAPY_CFG_OK);
    TL_EXPECT_EQ(cfg.amplitude_max_ua, 2500);
    before = cfg;
    /* Refused: unsafe with the other fields as they are; nothing changes. */
    TL_EXPECT_EQ(SET(&cfg, "pulse_width_max_us", 1000, &check), TL_THERAPY_CFG_ERR_CHARGE);
    TL_EXPECT_MEM_EQ(&cfg, &before, sizeof cfg);
    TL_EXPECT_EQ(SET(&cfg, "open_loop_amplitude_ua", -1, &check), TL_THERAPY_CFG_ERR_RANGE);
    TL_EXPECT(strcmp(check.why, "open_loop_amplitude_ua = -1 outside 0..25500 uA") == 0);
    TL_EXPECT_EQ(SET(&cfg, "adaptive_threshold_lower", -5, &check), TL_THERAPY_CFG_OK);
    TL_EXPECT_EQ(cfg.adaptive_threshold_lower, -5);
    TL_EXPECT_EQ(SET(&cfg, "adaptive_threshold_lower", (int64_t)INT32_MAX + 1, &check),
                 TL_THERAPY_CFG_ERR_RANGE);
    TL_EXPECT_EQ(SET(&cfg, "no_such\x01" "field", 1, &check), TL_THERAPY_CFG_ERR_UNKNOWN_FIELD);
    TL_EXPECT(strcmp(check.why, "unknown field no_such?field") == 0);
    TL_EXPECT_EQ(tl_therapy_config_set(NULL, "policy", 6, 1, &check), TL_THERAPY_CFG_ERR_ARG);
    /* put: range only, for batches validated afterwards */
    TL_EXPECT_EQ(tl_therapy_config_put(&cfg, (size_t)idx("pulse_width_max_us"), 1000, &check),
                 TL_THERAPY_CFG_OK);
    TL_EXPECT_EQ(tl_therapy_config_put(&cfg, (size_t)idx("amplitude_max_ua"), 1000, &check),
                 TL_THERAPY_CFG_OK);
    TL_EXPECT_EQ(tl_therapy_config_put(&cfg, (size_t)idx("open_loop_amplitude_ua"), 1000, &check),
                 TL_THERAPY_CFG_OK);
    TL_EXPECT_EQ(tl_therapy_config_put(&cfg, (size_t)idx("suspend_amplitude_ua"), 1000, &check),
                 TL_THERAPY_CFG_OK);
    TL_EXPECT_EQ(tl_therapy_config_validate(&cfg, &check), TL_THERAPY_CFG_OK);
    TL_EXPECT_EQ(tl_therapy_config_put(&cfg, 999, 1, &check), TL_THERAPY_CFG_ERR_UNKNOWN_FIELD);
}

static void test_choices(void)
{
    int64_t v = -1;
    size_t policy = (size_t)idx("policy");
    TL_EXPECT_EQ(tl_therapy_config_choice_value(policy, "adaptive", 8, &v), TL_THERAPY_CFG_OK);
    TL_EXPECT_EQ(v, TL_POLICY_ADAPTIVE);
    TL_EXPECT_EQ(tl_therapy_config_choice_value(policy, "responsive", 10, &v), TL_THERAPY_CFG_OK);
    TL_EXPECT_EQ(v, TL_POLICY_RESPONSIVE);
    TL_EXPECT_EQ(tl_therapy_config_choice_value(policy, "adapt", 5, &v),
                 TL_THERAPY_CFG_ERR_CHOICE);
    TL_EXPECT_EQ(tl_therapy_config_choice_value((size_t)idx("amplitude_max_ua"), "x", 1, &v),
                 TL_THERAPY_CFG_ERR_CHOICE);
    char name[16];
    TL_EXPECT_EQ(tl_therapy_config_choice_name(policy, 0, name, sizeof name), 9);
    TL_EXPECT(strcmp(name, "open_loop") == 0);
    TL_EXPECT_EQ(tl_therapy_config_choice_name((size_t)idx("fallback_mode"), 1, name, sizeof name),
                 7);
    TL_EXPECT(strcmp(name, "suspend") == 0);
    TL_EXPECT_EQ(tl_therapy_config_choice_name(policy, 3, name, sizeof name), 0);
    TL_EXPECT_EQ(tl_therapy_config_choice_name(policy, 2, name, 4), 3); /* truncated */
    TL_EXPECT(strcmp(name, "res") == 0);
}

int main(void)
{
    TL_RUN(test_defaults_are_valid_and_report_the_worst_case);
    TL_RUN(test_field_table_is_consistent);
    TL_RUN(test_range_and_order);
    TL_RUN(test_charge_limits);
    TL_RUN(test_shannon_limit);
    TL_RUN(test_programmed_settings_inside_limits);
    TL_RUN(test_adaptive_rules);
    TL_RUN(test_responsive_and_timing_rules);
    TL_RUN(test_set_by_name_is_atomic);
    TL_RUN(test_choices);
    return tl_test_summary();
}
