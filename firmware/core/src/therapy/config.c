/*
 * config.c - the therapy configuration: field table, defaults, validation, get/set.
 */
#include <string.h>

#include "strbuf.h"
#include "theraloop/therapy/config.h"

#define U TL_CFG_TYPE_U32
#define I TL_CFG_TYPE_I32
#define F(fld, type, grp, mn, mx, df, unit, choices, help)                                     \
    {#fld, (uint16_t)offsetof(tl_therapy_config_t, fld), (uint8_t)(type), (uint8_t)(grp),     \
     (int64_t)(mn), (int64_t)(mx), (int64_t)(df), unit, choices, help}

#define HOUR_MS 3600000
#define LIM TL_CFG_GROUP_LIMITS
#define PRG TL_CFG_GROUP_PROGRAM
#define FBK TL_CFG_GROUP_FALLBACK
#define ADA TL_CFG_GROUP_ADAPTIVE
#define RSP TL_CFG_GROUP_RESPONSIVE

static const tl_cfg_field_t k_fields[] = {
    F(amplitude_min_ua, U, LIM, 0, TL_STIM_AMPLITUDE_ABS_MAX_UA, 0, "uA", NULL,
      "lowest amplitude any setting may be programmed to"),
    F(amplitude_max_ua, U, LIM, 0, TL_STIM_AMPLITUDE_ABS_MAX_UA, 3000, "uA", NULL,
      "highest amplitude ever delivered"),
    F(pulse_width_min_us, U, LIM, TL_STIM_PULSE_WIDTH_ABS_MIN_US, TL_STIM_PULSE_WIDTH_ABS_MAX_US,
      30, "us", NULL, "shortest pulse width (per phase)"),
    F(pulse_width_max_us, U, LIM, TL_STIM_PULSE_WIDTH_ABS_MIN_US, TL_STIM_PULSE_WIDTH_ABS_MAX_US,
      120, "us", NULL, "longest pulse width (per phase)"),
    F(rate_min_dhz, U, LIM, TL_STIM_RATE_ABS_MIN_DHZ, TL_STIM_RATE_ABS_MAX_DHZ, 100, "0.1 Hz",
      NULL, "lowest pulse rate"),
    F(rate_max_dhz, U, LIM, TL_STIM_RATE_ABS_MIN_DHZ, TL_STIM_RATE_ABS_MAX_DHZ, 2500, "0.1 Hz",
      NULL, "highest pulse rate"),
    F(slew_max_ua_per_s, U, LIM, 1, 1000000, 2000, "uA/s", NULL,
      "fastest amplitude change, up or down, outside the instant safety transitions"),
    F(electrode_area_um2, U, LIM, TL_STIM_ELECTRODE_ABS_MIN_UM2, TL_STIM_ELECTRODE_ABS_MAX_UM2,
      6000000, "um2", NULL, "geometric area of the stimulating contact (6 mm2 = 6000000)"),
    F(charge_density_max_cuc_cm2, U, LIM, 1, TL_STIM_CHARGE_DENSITY_ABS_MAX_CUC, 3000,
      "0.01 uC/cm2/phase", NULL, "charge-density ceiling (at most 30.00)"),
    F(charge_max_nc, U, LIM, 1, 25500, 1000, "nC/phase", NULL, "charge-per-phase ceiling"),
    F(shannon_k_max_milli, I, LIM, -9999, TL_STIM_SHANNON_K_ABS_MAX_MILLI, 1750, "0.001", NULL,
      "largest Shannon k allowed for the worst case (at most 1.850)"),

    F(waveform, U, PRG, 0, TL_WAVEFORM_COUNT - 1, TL_WAVEFORM_BIPHASIC_ACTIVE, "",
      "biphasic_active|biphasic_passive", "charge-balanced biphasic pulse shape"),
    F(interphase_gap_us, U, PRG, 0, TL_STIM_IPG_ABS_MAX_US, 0, "us", NULL,
      "gap between the two phases"),
    F(pulse_width_us, U, PRG, TL_STIM_PULSE_WIDTH_ABS_MIN_US, TL_STIM_PULSE_WIDTH_ABS_MAX_US, 60,
      "us", NULL, "pulse width of open loop, adaptive and suspend stimulation"),
    F(rate_dhz, U, PRG, TL_STIM_RATE_ABS_MIN_DHZ, TL_STIM_RATE_ABS_MAX_DHZ, 1300, "0.1 Hz", NULL,
      "rate of open loop, adaptive and suspend stimulation"),
    F(policy, U, PRG, 0, TL_POLICY_COUNT - 1, TL_POLICY_OPEN_LOOP, "",
      "open_loop|adaptive|responsive", "therapy policy"),
    F(open_loop_amplitude_ua, U, PRG, 0, TL_STIM_AMPLITUDE_ABS_MAX_UA, 1000, "uA", NULL,
      "amplitude of open-loop stimulation"),

    F(fallback_mode, U, FBK, 0, TL_FALLBACK_COUNT - 1, TL_FALLBACK_SUSPEND, "", "off|suspend",
      "what a sensor or model fault leads to"),
    F(suspend_amplitude_ua, U, FBK, 0, TL_STIM_AMPLITUDE_ABS_MAX_UA, 1000, "uA", NULL,
      "open-loop amplitude of the suspend fallback"),
    F(sensor_fault_hold_ms, U, FBK, 0, HOUR_MS, 2000, "ms", NULL,
      "sensor faults must stay clear this long before the policy resumes"),
    F(model_fault_hold_ms, U, FBK, 0, HOUR_MS, 5000, "ms", NULL,
      "model faults must stay clear this long before the policy resumes"),
    F(link_fault_hold_ms, U, FBK, 0, HOUR_MS, 1000, "ms", NULL,
      "stimulator link faults must stay clear this long before stimulation resumes"),
    F(stim_ack_timeout_ms, U, FBK, 0, 60000, 0, "ms", NULL,
      "stimulator must acknowledge a command within this time (0: acknowledgments not used)"),

    F(adaptive_mode, U, ADA, 0, TL_ADAPTIVE_MODE_COUNT - 1, TL_ADAPTIVE_SINGLE, "", "single|dual",
      "single or dual threshold"),
    F(adaptive_threshold_lower, I, ADA, INT32_MIN, INT32_MAX, 10000, "score", NULL,
      "dual: score below this ramps down to the lower amplitude"),
    F(adaptive_threshold_upper, I, ADA, INT32_MIN, INT32_MAX, 20000, "score", NULL,
      "score at or above this ramps up to the upper amplitude (the single threshold)"),
    F(adaptive_amplitude_lower_ua, U, ADA, 0, TL_STIM_AMPLITUDE_ABS_MAX_UA, 1000, "uA", NULL,
      "lower amplitude limit"),
    F(adaptive_amplitude_upper_ua, U, ADA, 0, TL_STIM_AMPLITUDE_ABS_MAX_UA, 2000, "uA", NULL,
      "upper amplitude limit"),
    F(adaptive_onset_ms, U, ADA, 0, HOUR_MS, 1000, "ms", NULL,
      "a rise into a higher zone must persist this long"),
    F(adaptive_termination_ms, U, ADA, 0, HOUR_MS, 5000, "ms", NULL,
      "a fall into a lower zone must persist this long"),
    F(adaptive_blanking_ms, U, ADA, 0, HOUR_MS, 1000, "ms", NULL,
      "score ignored for this long after each zone change"),
    F(adaptive_startup_ms, U, ADA, 0, HOUR_MS, 5000, "ms", NULL,
      "score ignored (lower amplitude) for this long after start"),
    F(adaptive_ramp_up_ms, U, ADA, 0, HOUR_MS, 2000, "ms", NULL,
      "time to ramp from the lower to the upper amplitude"),
    F(adaptive_ramp_down_ms, U, ADA, 0, HOUR_MS, 4000, "ms", NULL,
      "time to ramp from the upper to the lower amplitude"),

    F(responsive_threshold, I, RSP, INT32_MIN, INT32_MAX, 20000, "score", NULL,
      "score at or above this is a detection"),
    F(responsive_onset_ms, U, RSP, 0, HOUR_MS, 250, "ms", NULL,
      "a detection must persist this long to trigger a burst"),
    F(burst_amplitude_ua, U, RSP, 0, TL_STIM_AMPLITUDE_ABS_MAX_UA, 1000, "uA", NULL,
      "burst amplitude"),
    F(burst_pulse_width_us, U, RSP, TL_STIM_PULSE_WIDTH_ABS_MIN_US,
      TL_STIM_PULSE_WIDTH_ABS_MAX_US, 120, "us", NULL, "burst pulse width"),
    F(burst_rate_dhz, U, RSP, TL_STIM_RATE_ABS_MIN_DHZ, TL_STIM_RATE_ABS_MAX_DHZ, 2000, "0.1 Hz",
      NULL, "burst pulse rate"),
    F(burst_duration_ms, U, RSP, 10, 60000, 1000, "ms", NULL, "burst duration"),
    F(responsive_max_bursts_per_episode, U, RSP, 1, 16, 5, "", NULL,
      "bursts allowed in one episode"),
    F(responsive_refractory_ms, U, RSP, 0, HOUR_MS, 1000, "ms", NULL,
      "no burst for this long after the end of a burst"),
    F(responsive_episode_end_ms, U, RSP, 0, HOUR_MS, 5000, "ms", NULL,
      "an episode ends when no detection for this long"),
    F(responsive_max_bursts_per_day, U, RSP, 1, 100000, 1000, "", NULL,
      "bursts allowed in any 24 h (rolling window, 1 h buckets)"),
};

#define FIELD_COUNT (sizeof k_fields / sizeof k_fields[0])

/* Every field of the struct is in the table exactly once. */
_Static_assert(sizeof(tl_therapy_config_t) == 44u * 4u, "update the field table");

const char *tl_therapy_cfg_err_name(tl_therapy_cfg_err_t err)
{
    switch (err) {
    case TL_THERAPY_CFG_OK:
        return "ok";
    case TL_THERAPY_CFG_ERR_ARG:
        return "arg";
    case TL_THERAPY_CFG_ERR_UNKNOWN_FIELD:
        return "unknown_field";
    case TL_THERAPY_CFG_ERR_RANGE:
        return "range";
    case TL_THERAPY_CFG_ERR_ORDER:
        return "order";
    case TL_THERAPY_CFG_ERR_CHARGE:
        return "charge";
    case TL_THERAPY_CFG_ERR_CHARGE_DENSITY:
        return "charge_density";
    case TL_THERAPY_CFG_ERR_SHANNON:
        return "shannon";
    case TL_THERAPY_CFG_ERR_OUTSIDE_LIMITS:
        return "outside_limits";
    case TL_THERAPY_CFG_ERR_RAMP:
        return "ramp";
    case TL_THERAPY_CFG_ERR_BURST_SLEW:
        return "burst_slew";
    case TL_THERAPY_CFG_ERR_TIMING:
        return "timing";
    case TL_THERAPY_CFG_ERR_THRESHOLDS:
        return "thresholds";
    case TL_THERAPY_CFG_ERR_CHOICE:
        return "choice";
    }
    return "unknown";
}

const char *tl_cfg_group_name(uint32_t group)
{
    static const char *const k_names[] = {"limits", "program", "fallback", "adaptive",
                                          "responsive"};
    return group < sizeof k_names / sizeof k_names[0] ? k_names[group] : "unknown";
}

size_t tl_therapy_config_field_count(void)
{
    return FIELD_COUNT;
}

const tl_cfg_field_t *tl_therapy_config_field(size_t index)
{
    return index < FIELD_COUNT ? &k_fields[index] : NULL;
}

int32_t tl_therapy_config_find(const char *name, size_t name_len)
{
    if (name == NULL) {
        return -1;
    }
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        const char *n = k_fields[i].name;
        if (strlen(n) == name_len && memcmp(n, name, name_len) == 0) {
            return (int32_t)i;
        }
    }
    return -1;
}

static int64_t field_read(const tl_therapy_config_t *cfg, const tl_cfg_field_t *f)
{
    const uint8_t *base = (const uint8_t *)cfg + f->offset;
    if (f->type == TL_CFG_TYPE_I32) {
        int32_t v;
        memcpy(&v, base, sizeof v);
        return v;
    }
    uint32_t v;
    memcpy(&v, base, sizeof v);
    return v;
}

static void field_write(tl_therapy_config_t *cfg, const tl_cfg_field_t *f, int64_t value)
{
    uint8_t *base = (uint8_t *)cfg + f->offset;
    if (f->type == TL_CFG_TYPE_I32) {
        int32_t v = (int32_t)value;
        memcpy(base, &v, sizeof v);
    } else {
        uint32_t v = (uint32_t)value;
        memcpy(base, &v, sizeof v);
    }
}

void tl_therapy_config_defaults(tl_therapy_config_t *cfg)
{
    if (cfg == NULL) {
        return;
    }
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        field_write(cfg, &k_fields[i], k_fields[i].def);
    }
}

bool tl_therapy_config_get(const tl_therapy_config_t *cfg, size_t index, int64_t *value)
{
    if (cfg == NULL || value == NULL || index >= FIELD_COUNT) {
        return false;
    }
    *value = field_read(cfg, &k_fields[index]);
    return true;
}

/* ---- validation -------------------------------------------------------------------- */

static int32_t index_of_offset(size_t offset)
{
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        if (k_fields[i].offset == offset) {
            return (int32_t)i;
        }
    }
    return -1;
}

#define FIELD_INDEX(fld) index_of_offset(offsetof(tl_therapy_config_t, fld))

/* Start a failure report naming a field: "<field> ...". */
static tl_therapy_cfg_err_t fail(tl_therapy_check_t *check, tl_therapy_cfg_err_t err,
                                 int32_t field)
{
    check->err = err;
    check->field = field;
    return err;
}

static void sb_field(tl_strbuf_t *sb, int32_t field)
{
    if (field >= 0 && (size_t)field < FIELD_COUNT) {
        tl_sb_str(sb, k_fields[field].name);
    }
}

static void sb_unit(tl_strbuf_t *sb, int32_t field)
{
    if (field >= 0 && (size_t)field < FIELD_COUNT && k_fields[field].unit[0] != '\0') {
        tl_sb_str(sb, " ");
        tl_sb_str(sb, k_fields[field].unit);
    }
}

static tl_therapy_cfg_err_t check_range(size_t i, int64_t value, tl_therapy_check_t *check,
                                        tl_strbuf_t *sb)
{
    const tl_cfg_field_t *f = &k_fields[i];
    if (value >= f->min && value <= f->max) {
        return TL_THERAPY_CFG_OK;
    }
    sb_field(sb, (int32_t)i);
    tl_sb_str(sb, " = ");
    tl_sb_i64(sb, value);
    tl_sb_str(sb, " outside ");
    tl_sb_i64(sb, f->min);
    tl_sb_str(sb, "..");
    tl_sb_i64(sb, f->max);
    sb_unit(sb, (int32_t)i);
    return fail(check, TL_THERAPY_CFG_ERR_RANGE, (int32_t)i);
}

/* `lo_field` <= `hi_field`, reported on lo_field. */
static tl_therapy_cfg_err_t check_order(int64_t lo, int64_t hi, int32_t lo_field,
                                        int32_t hi_field, tl_therapy_cfg_err_t err,
                                        tl_therapy_check_t *check, tl_strbuf_t *sb)
{
    if (lo <= hi) {
        return TL_THERAPY_CFG_OK;
    }
    sb_field(sb, lo_field);
    tl_sb_str(sb, " ");
    tl_sb_i64(sb, lo);
    tl_sb_str(sb, " above ");
    sb_field(sb, hi_field);
    tl_sb_str(sb, " ");
    tl_sb_i64(sb, hi);
    return fail(check, err, lo_field);
}

/* A programmed value must lie within [lo, hi] (the hard limits of lo_f/hi_f). */
static tl_therapy_cfg_err_t check_within(uint32_t value, int32_t field, uint32_t lo,
                                         uint32_t hi, tl_therapy_check_t *check,
                                         tl_strbuf_t *sb)
{
    if (value >= lo && value <= hi) {
        return TL_THERAPY_CFG_OK;
    }
    sb_field(sb, field);
    tl_sb_str(sb, " ");
    tl_sb_i64(sb, value);
    tl_sb_str(sb, " outside the limits ");
    tl_sb_i64(sb, lo);
    tl_sb_str(sb, "..");
    tl_sb_i64(sb, hi);
    sb_unit(sb, field);
    return fail(check, TL_THERAPY_CFG_ERR_OUTSIDE_LIMITS, field);
}

/* A biphasic pulse (2 x pulse width + gap) must fit in one period of `rate`. */
static tl_therapy_cfg_err_t check_timing(uint32_t pw, uint32_t gap, uint32_t rate,
                                         int32_t field, tl_therapy_check_t *check,
                                         tl_strbuf_t *sb)
{
    uint32_t period = tl_stim_period_us(rate);
    if (2u * pw + gap <= period) {
        return TL_THERAPY_CFG_OK;
    }
    sb_field(sb, field);
    tl_sb_str(sb, ": 2 x ");
    tl_sb_i64(sb, pw);
    tl_sb_str(sb, " us + ");
    tl_sb_i64(sb, gap);
    tl_sb_str(sb, " us gap does not fit the ");
    tl_sb_i64(sb, period);
    tl_sb_str(sb, " us period at ");
    tl_sb_fixed(sb, rate, 1);
    tl_sb_str(sb, " Hz");
    return fail(check, TL_THERAPY_CFG_ERR_TIMING, field);
}

/* Ramping `span_ua` in `ramp_ms` must not be faster than the slew limit. */
static tl_therapy_cfg_err_t check_ramp(uint32_t span_ua, uint32_t ramp_ms, uint32_t slew,
                                       int32_t field, tl_therapy_check_t *check,
                                       tl_strbuf_t *sb)
{
    if ((uint64_t)span_ua * 1000u <= (uint64_t)slew * ramp_ms) {
        return TL_THERAPY_CFG_OK;
    }
    sb_field(sb, field);
    tl_sb_str(sb, " ");
    tl_sb_i64(sb, ramp_ms);
    tl_sb_str(sb, " ms too fast for slew_max_ua_per_s ");
    tl_sb_i64(sb, slew);
    tl_sb_str(sb, ": ");
    tl_sb_i64(sb, span_ua);
    tl_sb_str(sb, " uA needs at least ");
    tl_sb_i64(sb, (int64_t)(((uint64_t)span_ua * 1000u + slew - 1u) / slew));
    tl_sb_str(sb, " ms");
    return fail(check, TL_THERAPY_CFG_ERR_RAMP, field);
}

static tl_therapy_cfg_err_t check_limits(const tl_therapy_config_t *c, tl_therapy_check_t *check,
                                         tl_strbuf_t *sb)
{
    tl_therapy_cfg_err_t e;
    if ((e = check_order(c->amplitude_min_ua, c->amplitude_max_ua, FIELD_INDEX(amplitude_min_ua),
                         FIELD_INDEX(amplitude_max_ua), TL_THERAPY_CFG_ERR_ORDER, check, sb)) ||
        (e = check_order(c->pulse_width_min_us, c->pulse_width_max_us,
                         FIELD_INDEX(pulse_width_min_us), FIELD_INDEX(pulse_width_max_us),
                         TL_THERAPY_CFG_ERR_ORDER, check, sb)) ||
        (e = check_order(c->rate_min_dhz, c->rate_max_dhz, FIELD_INDEX(rate_min_dhz),
                         FIELD_INDEX(rate_max_dhz), TL_THERAPY_CFG_ERR_ORDER, check, sb))) {
        return e;
    }

    /* The worst case the hard limits allow: the supervisor never delivers more than
     * amplitude_max_ua at more than pulse_width_max_us. */
    uint32_t q = tl_stim_charge_pc(c->amplitude_max_ua, c->pulse_width_max_us);
    uint32_t d = tl_stim_density_cuc(c->amplitude_max_ua, c->pulse_width_max_us,
                                     c->electrode_area_um2);
    int32_t k = tl_stim_shannon_k_milli(c->amplitude_max_ua, c->pulse_width_max_us,
                                        c->electrode_area_um2);
    if (check != NULL) {
        check->worst_charge_pc = q;
        check->worst_density_cuc = d;
        check->worst_shannon_k_milli = k;
    }
    int32_t amax = FIELD_INDEX(amplitude_max_ua);
    if ((uint64_t)q > (uint64_t)c->charge_max_nc * 1000u) {
        sb_field(sb, amax);
        tl_sb_str(sb, " above the charge-per-phase limit at pulse_width_max_us ");
        tl_sb_i64(sb, c->pulse_width_max_us);
        tl_sb_str(sb, ": ");
        tl_sb_fixed(sb, q / 100u, 1);
        tl_sb_str(sb, " nC > ");
        tl_sb_i64(sb, c->charge_max_nc);
        tl_sb_str(sb, " nC");
        return fail(check, TL_THERAPY_CFG_ERR_CHARGE, amax);
    }
    if (!tl_stim_density_within(c->amplitude_max_ua, c->pulse_width_max_us, c->electrode_area_um2,
                                c->charge_density_max_cuc_cm2)) {
        sb_field(sb, amax);
        tl_sb_str(sb, " above the charge-density limit at pulse_width_max_us ");
        tl_sb_i64(sb, c->pulse_width_max_us);
        tl_sb_str(sb, ": ");
        tl_sb_fixed(sb, d, 2);
        tl_sb_str(sb, " uC/cm2/phase > ");
        tl_sb_fixed(sb, c->charge_density_max_cuc_cm2, 2);
        return fail(check, TL_THERAPY_CFG_ERR_CHARGE_DENSITY, amax);
    }
    if (q > 0u && k > c->shannon_k_max_milli) {
        sb_field(sb, amax);
        tl_sb_str(sb, " above the Shannon limit at pulse_width_max_us ");
        tl_sb_i64(sb, c->pulse_width_max_us);
        tl_sb_str(sb, ": k ");
        tl_sb_fixed(sb, k, 3);
        tl_sb_str(sb, " > ");
        tl_sb_fixed(sb, c->shannon_k_max_milli, 3);
        return fail(check, TL_THERAPY_CFG_ERR_SHANNON, amax);
    }
    return check_timing(c->pulse_width_max_us, c->interphase_gap_us, c->rate_max_dhz,
                        FIELD_INDEX(pulse_width_max_us), check, sb);
}

static tl_therapy_cfg_err_t check_program(const tl_therapy_config_t *c, tl_therapy_check_t *check,
                                          tl_strbuf_t *sb)
{
    tl_therapy_cfg_err_t e;
    if ((e = check_within(c->pulse_width_us, FIELD_INDEX(pulse_width_us), c->pulse_width_min_us,
                          c->pulse_width_max_us, check, sb)) ||
        (e = check_within(c->rate_dhz, FIELD_INDEX(rate_dhz), c->rate_min_dhz, c->rate_max_dhz,
                          check, sb))) {
        return e;
    }
    if (c->fallback_mode == TL_FALLBACK_SUSPEND &&
        (e = check_within(c->suspend_amplitude_ua, FIELD_INDEX(suspend_amplitude_ua),
                          c->amplitude_min_ua, c->amplitude_max_ua, check, sb))) {
        return e;
    }
    return TL_THERAPY_CFG_OK;
}

static tl_therapy_cfg_err_t check_adaptive(const tl_therapy_config_t *c,
                                           tl_therapy_check_t *check, tl_strbuf_t *sb)
{
    tl_therapy_cfg_err_t e;
    int32_t lo = FIELD_INDEX(adaptive_amplitude_lower_ua);
    int32_t hi = FIELD_INDEX(adaptive_amplitude_upper_ua);
    if ((e = check_within(c->adaptive_amplitude_lower_ua, lo, c->amplitude_min_ua,
                          c->amplitude_max_ua, check, sb)) ||
        (e = check_within(c->adaptive_amplitude_upper_ua, hi, c->amplitude_min_ua,
                          c->amplitude_max_ua, check, sb)) ||
        (e = check_order(c->adaptive_amplitude_lower_ua, c->adaptive_amplitude_upper_ua, lo, hi,
                         TL_THERAPY_CFG_ERR_ORDER, check, sb))) {
        return e;
    }
    if (c->adaptive_mode == TL_ADAPTIVE_DUAL &&
        (e = check_order(c->adaptive_threshold_lower, c->adaptive_threshold_upper,
                         FIELD_INDEX(adaptive_threshold_lower),
                         FIELD_INDEX(adaptive_threshold_upper), TL_THERAPY_CFG_ERR_THRESHOLDS,
                         check, sb))) {
        return e;
    }
    uint32_t span = c->adaptive_amplitude_upper_ua - c->adaptive_amplitude_lower_ua;
    if ((e = check_ramp(span, c->adaptive_ramp_up_ms, c->slew_max_ua_per_s,
                        FIELD_INDEX(adaptive_ramp_up_ms), check, sb)) ||
        (e = check_ramp(span, c->adaptive_ramp_down_ms, c->slew_max_ua_per_s,
                        FIELD_INDEX(adaptive_ramp_down_ms), check, sb))) {
        return e;
    }
    return TL_THERAPY_CFG_OK;
}

static tl_therapy_cfg_err_t check_responsive(const tl_therapy_config_t *c,
                                             tl_therapy_check_t *check, tl_strbuf_t *sb)
{
    tl_therapy_cfg_err_t e;
    if ((e = check_within(c->burst_amplitude_ua, FIELD_INDEX(burst_amplitude_ua),
                          c->amplitude_min_ua, c->amplitude_max_ua, check, sb)) ||
        (e = check_within(c->burst_pulse_width_us, FIELD_INDEX(burst_pulse_width_us),
                          c->pulse_width_min_us, c->pulse_width_max_us, check, sb)) ||
        (e = check_within(c->burst_rate_dhz, FIELD_INDEX(burst_rate_dhz), c->rate_min_dhz,
                          c->rate_max_dhz, check, sb))) {
        return e;
    }
    /* The slew-limited rise to the burst amplitude must take at most half the burst. */
    uint64_t rise_x1000 = (uint64_t)c->burst_amplitude_ua * 1000u; /* ms x slew */
    if (rise_x1000 * 2u > (uint64_t)c->slew_max_ua_per_s * c->burst_duration_ms) {
        int32_t f = FIELD_INDEX(burst_duration_ms);
        sb_field(sb, f);
        tl_sb_str(sb, " ");
        tl_sb_i64(sb, c->burst_duration_ms);
        tl_sb_str(sb, " too short for slew_max_ua_per_s ");
        tl_sb_i64(sb, c->slew_max_ua_per_s);
        tl_sb_str(sb, ": ");
        tl_sb_i64(sb, c->burst_amplitude_ua);
        tl_sb_str(sb, " uA takes ");
        tl_sb_i64(sb, (int64_t)((rise_x1000 + c->slew_max_ua_per_s - 1u) / c->slew_max_ua_per_s));
        tl_sb_str(sb, " ms, more than half the burst");
        return fail(check, TL_THERAPY_CFG_ERR_BURST_SLEW, f);
    }
    return TL_THERAPY_CFG_OK;
}

tl_therapy_cfg_err_t tl_therapy_config_validate(const tl_therapy_config_t *cfg,
                                                tl_therapy_check_t *check)
{
    tl_therapy_check_t scratch;
    if (check == NULL) {
        check = &scratch;
    }
    memset(check, 0, sizeof *check);
    check->field = -1;
    check->worst_shannon_k_milli = INT32_MIN;
    tl_strbuf_t sb;
    tl_sb_init(&sb, check->why, sizeof check->why);
    if (cfg == NULL) {
        tl_sb_str(&sb, "no configuration");
        check->err = TL_THERAPY_CFG_ERR_ARG;
        return check->err;
    }
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        tl_therapy_cfg_err_t e = check_range(i, field_read(cfg, &k_fields[i]), check, &sb);
        if (e != TL_THERAPY_CFG_OK) {
            return e;
        }
    }
    tl_therapy_cfg_err_t e = check_limits(cfg, check, &sb);
    if (e == TL_THERAPY_CFG_OK) {
        e = check_program(cfg, check, &sb);
    }
    if (e == TL_THERAPY_CFG_OK) {
        switch (cfg->policy) {
        case TL_POLICY_OPEN_LOOP:
            e = check_within(cfg->open_loop_amplitude_ua, FIELD_INDEX(open_loop_amplitude_ua),
                             cfg->amplitude_min_ua, cfg->amplitude_max_ua, check, &sb);
            break;
        case TL_POLICY_ADAPTIVE:
            e = check_adaptive(cfg, check, &sb);
            break;
        default: /* range-checked above: TL_POLICY_RESPONSIVE */
            e = check_responsive(cfg, check, &sb);
            break;
        }
    }
    if (e == TL_THERAPY_CFG_OK) {
        check->err = TL_THERAPY_CFG_OK;
        check->field = -1;
        tl_sb_init(&sb, check->why, sizeof check->why);
        tl_sb_str(&sb, "ok");
    }
    return e;
}

tl_therapy_cfg_err_t tl_therapy_config_put(tl_therapy_config_t *cfg, size_t index, int64_t value,
                                           tl_therapy_check_t *check)
{
    tl_therapy_check_t scratch;
    if (check == NULL) {
        check = &scratch;
    }
    memset(check, 0, sizeof *check);
    check->field = -1;
    check->worst_shannon_k_milli = INT32_MIN;
    tl_strbuf_t sb;
    tl_sb_init(&sb, check->why, sizeof check->why);
    if (cfg == NULL || index >= FIELD_COUNT) {
        tl_sb_str(&sb, cfg == NULL ? "no configuration" : "no such field");
        check->err = cfg == NULL ? TL_THERAPY_CFG_ERR_ARG : TL_THERAPY_CFG_ERR_UNKNOWN_FIELD;
        return check->err;
    }
    tl_therapy_cfg_err_t e = check_range(index, value, check, &sb);
    if (e != TL_THERAPY_CFG_OK) {
        return e;
    }
    field_write(cfg, &k_fields[index], value);
    check->err = TL_THERAPY_CFG_OK;
    tl_sb_str(&sb, "ok");
    return TL_THERAPY_CFG_OK;
}

tl_therapy_cfg_err_t tl_therapy_config_set(tl_therapy_config_t *cfg, const char *name,
                                           size_t name_len, int64_t value,
                                           tl_therapy_check_t *check)
{
    tl_therapy_check_t scratch;
    if (check == NULL) {
        check = &scratch;
    }
    int32_t index = tl_therapy_config_find(name, name_len);
    if (cfg == NULL || index < 0) {
        memset(check, 0, sizeof *check);
        check->field = -1;
        check->worst_shannon_k_milli = INT32_MIN;
        tl_strbuf_t sb;
        tl_sb_init(&sb, check->why, sizeof check->why);
        if (cfg == NULL) {
            tl_sb_str(&sb, "no configuration");
            check->err = TL_THERAPY_CFG_ERR_ARG;
        } else {
            tl_sb_str(&sb, "unknown field ");
            /* Quote at most 32 bytes of the untrusted name, printable ASCII only. */
            for (size_t i = 0; name != NULL && i < name_len && i < 32u; i++) {
                char c[2] = {(name[i] >= 0x20 && name[i] < 0x7F) ? name[i] : '?', '\0'};
                tl_sb_str(&sb, c);
            }
            check->err = TL_THERAPY_CFG_ERR_UNKNOWN_FIELD;
        }
        return check->err;
    }
    tl_therapy_config_t copy = *cfg;
    tl_therapy_cfg_err_t e = tl_therapy_config_put(&copy, (size_t)index, value, check);
    if (e != TL_THERAPY_CFG_OK) {
        return e;
    }
    e = tl_therapy_config_validate(&copy, check);
    if (e == TL_THERAPY_CFG_OK) {
        *cfg = copy;
    }
    return e;
}

/* Walk "a|b|c": the n-th name (start, length). */
static bool choice_at(const char *choices, size_t n, const char **start, size_t *len)
{
    const char *p = choices;
    size_t i = 0;
    while (p != NULL && *p != '\0') {
        const char *end = p;
        while (*end != '\0' && *end != '|') {
            end++;
        }
        if (i == n) {
            *start = p;
            *len = (size_t)(end - p);
            return true;
        }
        i++;
        p = *end == '|' ? end + 1 : end;
    }
    return false;
}

tl_therapy_cfg_err_t tl_therapy_config_choice_value(size_t index, const char *choice,
                                                    size_t choice_len, int64_t *value)
{
    if (index >= FIELD_COUNT || choice == NULL || value == NULL) {
        return TL_THERAPY_CFG_ERR_ARG;
    }
    const char *choices = k_fields[index].choices;
    if (choices == NULL) {
        return TL_THERAPY_CFG_ERR_CHOICE;
    }
    const char *s;
    size_t len;
    for (size_t n = 0; choice_at(choices, n, &s, &len); n++) {
        if (len == choice_len && memcmp(s, choice, len) == 0) {
            *value = (int64_t)n;
            return TL_THERAPY_CFG_OK;
        }
    }
    return TL_THERAPY_CFG_ERR_CHOICE;
}

size_t tl_therapy_config_choice_name(size_t index, int64_t value, char *out, size_t cap)
{
    if (index >= FIELD_COUNT || out == NULL || cap == 0u || value < 0) {
        return 0;
    }
    const char *s;
    size_t len;
    if (k_fields[index].choices == NULL ||
        !choice_at(k_fields[index].choices, (size_t)value, &s, &len)) {
        out[0] = '\0';
        return 0;
    }
    if (len >= cap) {
        len = cap - 1u;
    }
    memcpy(out, s, len);
    out[len] = '\0';
    return len;
}
