/*
 * Fuzz the therapy configuration: arbitrary bytes as a whole configuration struct, or as a
 * sequence of set-by-name / put-by-index operations. Validation must never crash, and
 * everything it accepts must satisfy the safety constraints, checked here independently;
 * an accepted configuration then runs through policy + supervisor for a few hundred steps
 * with fuzz-chosen scores, faults and commands, and every output must stay within it.
 *
 * Input: byte 0 selects the mode (even: struct, odd: operations), the rest is its data.
 *   struct:      the bytes overlay tl_therapy_config_t (defaults where the input is short),
 *                then step data
 *   operations:  repeated [len u8][name: len bytes][value: 8 bytes LE]; len 0xFF means
 *                [index u8][value 8 bytes] via tl_therapy_config_put + validate
 */
#include <stdint.h>
#include <string.h>

#include "theraloop/therapy/therapy.h"

#define FUZZ_ASSERT(c)                                                                    \
    do {                                                                                  \
        if (!(c)) {                                                                       \
            __builtin_trap();                                                             \
        }                                                                                 \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t read_i64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    int64_t out;
    memcpy(&out, &v, sizeof out);
    return out;
}

/* Independent re-statement of what "safe" means for an accepted configuration. */
static void assert_safe(const tl_therapy_config_t *c)
{
    FUZZ_ASSERT(c->amplitude_min_ua <= c->amplitude_max_ua);
    FUZZ_ASSERT(c->amplitude_max_ua <= TL_STIM_AMPLITUDE_ABS_MAX_UA);
    FUZZ_ASSERT(c->pulse_width_min_us <= c->pulse_width_max_us);
    FUZZ_ASSERT(c->pulse_width_max_us <= TL_STIM_PULSE_WIDTH_ABS_MAX_US);
    FUZZ_ASSERT(c->rate_min_dhz >= 1u && c->rate_min_dhz <= c->rate_max_dhz);
    FUZZ_ASSERT(c->charge_density_max_cuc_cm2 <= TL_STIM_CHARGE_DENSITY_ABS_MAX_CUC);
    FUZZ_ASSERT(c->shannon_k_max_milli <= TL_STIM_SHANNON_K_ABS_MAX_MILLI);
    FUZZ_ASSERT(c->electrode_area_um2 > 0u);
    /* worst case: the largest amplitude at the longest pulse */
    uint64_t q = (uint64_t)c->amplitude_max_ua * c->pulse_width_max_us; /* pC */
    FUZZ_ASSERT(q <= (uint64_t)c->charge_max_nc * 1000u);
    /* density in uC/cm2 = q * 100 / area  <=  ceiling / 100, and <= 30 absolute */
    FUZZ_ASSERT(q * 10000u <= (uint64_t)c->charge_density_max_cuc_cm2 * c->electrode_area_um2);
    FUZZ_ASSERT(q * 10000u <= (uint64_t)3000u * c->electrode_area_um2);
    if (q > 0u) {
        FUZZ_ASSERT(tl_stim_shannon_k_milli(c->amplitude_max_ua, c->pulse_width_max_us,
                                            c->electrode_area_um2) <= c->shannon_k_max_milli);
    }
    FUZZ_ASSERT(2u * c->pulse_width_max_us + c->interphase_gap_us <=
                10000000u / c->rate_max_dhz);
    FUZZ_ASSERT(c->pulse_width_us >= c->pulse_width_min_us &&
                c->pulse_width_us <= c->pulse_width_max_us);
    FUZZ_ASSERT(c->rate_dhz >= c->rate_min_dhz && c->rate_dhz <= c->rate_max_dhz);
    FUZZ_ASSERT(c->policy < TL_POLICY_COUNT && c->fallback_mode < TL_FALLBACK_COUNT);
    FUZZ_ASSERT(c->waveform < TL_WAVEFORM_COUNT);
    if (c->fallback_mode == TL_FALLBACK_SUSPEND) {
        FUZZ_ASSERT(c->suspend_amplitude_ua >= c->amplitude_min_ua &&
                    c->suspend_amplitude_ua <= c->amplitude_max_ua);
    }
    if (c->policy == TL_POLICY_ADAPTIVE) {
        FUZZ_ASSERT(c->adaptive_amplitude_lower_ua <= c->adaptive_amplitude_upper_ua);
        FUZZ_ASSERT(c->adaptive_amplitude_upper_ua <= c->amplitude_max_ua);
        uint64_t span = c->adaptive_amplitude_upper_ua - c->adaptive_amplitude_lower_ua;
        FUZZ_ASSERT(span * 1000u <= (uint64_t)c->slew_max_ua_per_s * c->adaptive_ramp_up_ms);
        FUZZ_ASSERT(span * 1000u <= (uint64_t)c->slew_max_ua_per_s * c->adaptive_ramp_down_ms);
    }
    if (c->policy == TL_POLICY_RESPONSIVE) {
        FUZZ_ASSERT(c->burst_amplitude_ua <= c->amplitude_max_ua);
        FUZZ_ASSERT(c->burst_pulse_width_us <= c->pulse_width_max_us);
        FUZZ_ASSERT(c->responsive_max_bursts_per_episode >= 1u);
    }
    if (c->policy == TL_POLICY_OPEN_LOOP) {
        FUZZ_ASSERT(c->open_loop_amplitude_ua <= c->amplitude_max_ua);
    }
}

static tl_therapy_t g_th;

/* Run the accepted configuration for a while; outputs must stay inside it. */
static void exercise(const tl_therapy_config_t *c, const uint8_t *data, size_t size)
{
    tl_therapy_init(&g_th, NULL, NULL);
    FUZZ_ASSERT(tl_therapy_configure(&g_th, c, 0, NULL) == TL_THERAPY_CFG_OK);
    FUZZ_ASSERT(tl_therapy_command(&g_th, TL_CMD_START, 0, NULL) == TL_SUP_CMD_OK);
    uint32_t now = 0;
    size_t n = size / 4u;
    if (n > 400u) {
        n = 400u;
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = data + 4u * i;
        now += 1u + p[0];
        if (p[3] == 0xC3u) {
            (void)tl_therapy_command(&g_th, 1u + (p[2] & 3u), now, NULL);
        }
        tl_therapy_input_t in;
        memset(&in, 0, sizeof in);
        in.now_ms = now;
        in.score = (int32_t)((int8_t)p[1]) * 400;
        in.score_valid = (p[2] & 0x80u) == 0u;
        in.faults = (p[3] & 0xF0u) == 0xA0u ? (1u << (p[2] & 31u)) : 0u;
        tl_supervisor_output_t out;
        tl_therapy_step(&g_th, &in, &out);
        uint32_t a = out.stim.amplitude_ua;
        FUZZ_ASSERT(a <= c->amplitude_max_ua);
        FUZZ_ASSERT((a == 0u) == (out.stim.enabled == 0u));
        if (a > 0u) {
            FUZZ_ASSERT(out.therapy_state == TL_THERAPY_RUNNING);
            FUZZ_ASSERT(tl_stim_density_within(a, out.stim.pulse_width_us, c->electrode_area_um2,
                                               c->charge_density_max_cuc_cm2));
            FUZZ_ASSERT(tl_stim_charge_pc(a, out.stim.pulse_width_us) <= c->charge_max_nc * 1000u);
        }
        FUZZ_ASSERT(g_th.sup.stats.lockouts == 0u);
    }
}

static void fuzz_struct(const uint8_t *data, size_t size)
{
    tl_therapy_config_t cfg;
    tl_therapy_config_defaults(&cfg);
    size_t n = size < sizeof cfg ? size : sizeof cfg;
    memcpy(&cfg, data, n);
    tl_therapy_check_t check;
    tl_therapy_cfg_err_t err = tl_therapy_config_validate(&cfg, &check);
    FUZZ_ASSERT(memchr(check.why, '\0', sizeof check.why) != NULL);
    FUZZ_ASSERT(check.err == err);
    if (err == TL_THERAPY_CFG_OK) {
        FUZZ_ASSERT(check.field == -1);
        assert_safe(&cfg);
        exercise(&cfg, data + n, size - n);
    } else {
        FUZZ_ASSERT(check.field >= -1 && check.field < (int32_t)tl_therapy_config_field_count());
        FUZZ_ASSERT(check.why[0] != '\0');
    }
}

static void fuzz_operations(const uint8_t *data, size_t size)
{
    tl_therapy_config_t cfg;
    tl_therapy_config_defaults(&cfg);
    size_t pos = 0;
    while (pos < size) {
        uint8_t len = data[pos++];
        tl_therapy_check_t check;
        if (len == 0xFFu) {
            if (size - pos < 9u) {
                break;
            }
            size_t index = data[pos];
            int64_t value = read_i64(data + pos + 1u);
            pos += 9u;
            tl_therapy_config_t copy = cfg;
            if (tl_therapy_config_put(&copy, index, value, &check) == TL_THERAPY_CFG_OK) {
                int64_t back = 0;
                FUZZ_ASSERT(tl_therapy_config_get(&copy, index, &back) && back == value);
                if (tl_therapy_config_validate(&copy, &check) == TL_THERAPY_CFG_OK) {
                    cfg = copy;
                }
            }
            char name[24];
            (void)tl_therapy_config_choice_name(index, value, name, sizeof name);
            continue;
        }
        if (size - pos < (size_t)len + 8u) {
            break;
        }
        const char *name = (const char *)data + pos;
        int64_t value = read_i64(data + pos + len);
        tl_therapy_config_t before = cfg;
        tl_therapy_cfg_err_t err = tl_therapy_config_set(&cfg, name, len, value, &check);
        if (err != TL_THERAPY_CFG_OK) {
            FUZZ_ASSERT(memcmp(&before, &cfg, sizeof cfg) == 0); /* refused: unchanged */
        }
        int32_t idx = tl_therapy_config_find(name, len);
        if (idx >= 0) {
            int64_t choice;
            (void)tl_therapy_config_choice_value((size_t)idx, name, len, &choice);
        }
        pos += (size_t)len + 8u;
        /* whatever was accepted, the configuration stays valid and safe */
        FUZZ_ASSERT(tl_therapy_config_validate(&cfg, &check) == TL_THERAPY_CFG_OK);
        assert_safe(&cfg);
    }
    exercise(&cfg, data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0u) {
        return 0;
    }
    if ((data[0] & 1u) == 0u) {
        fuzz_struct(data + 1, size - 1u);
    } else {
        fuzz_operations(data + 1, size - 1u);
    }
    return 0;
}
