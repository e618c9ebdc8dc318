/*
 * Invariants of policy + supervisor over >= 10^6 random steps: random valid configurations
 * (all three policies), random scores, fault flags, operator commands, configuration
 * changes (valid and refused), uneven step times, and a uptime wrap-around. After every
 * step, checked against an independent model of the rules:
 *   - amplitude within [0, amplitude_max]; no pulses at amplitude 0
 *   - pulse width, rate, charge per phase, charge density (<= ceiling <= 30 uC/cm2/phase)
 *     and Shannon k within the configured limits whenever stimulating
 *   - |a(t1) - a(t0)| <= ceil(slew x (t1 - t0)) over every interval without a documented
 *     instant transition (to 0 for stop/pause/link fault/fallback off; down to a lowered
 *     amplitude_max on reconfiguration)
 *   - no stimulation while off or paused
 *   - the fallback (or link-safe state) from the very step a fault is presented, kept
 *     until the fault has been clear for its hold time; moving towards the suspend
 *     amplitude (or off at once)
 *   - in policy mode, moving towards the clamped request, never past it
 *   - all of the above even when the policy's state is corrupted (rogue requests)
 *   - no run-time lockout with a validated configuration
 * Seed: TL_SEED environment variable (default fixed), printed on failure.
 */
#include <stdlib.h>
#include <string.h>

#include "theraloop/therapy/therapy.h"
#include "tl_test.h"

#define CONFIGS 200u
#define STEPS_PER_CONFIG 5000u

static uint64_t g_rng;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (g_rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint32_t urange(uint32_t lo, uint32_t hi)
{
    if (hi <= lo) {
        return lo;
    }
    return lo + (uint32_t)(rnd() % ((uint64_t)hi - lo + 1u));
}

static int32_t srange(int32_t lo, int32_t hi)
{
    return (int32_t)((int64_t)lo + (int64_t)(rnd() % (uint64_t)((int64_t)hi - lo + 1)));
}

static bool chance(uint32_t per_million)
{
    return (rnd() % 1000000u) < per_million;
}

/* Log-uniform-ish: pick a decade then a value in it. */
static uint32_t lrange(uint32_t lo, uint32_t hi)
{
    uint32_t top = lo;
    uint32_t decades = 0;
    while (top < hi / 10u) {
        top *= 10u;
        decades++;
    }
    uint32_t d = urange(0, decades);
    uint32_t a = lo;
    for (uint32_t i = 0; i < d; i++) {
        a *= 10u;
    }
    uint32_t b = d == decades ? hi : a * 10u;
    return urange(a, b);
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* A random configuration that must validate (built to satisfy every rule). */
static tl_therapy_config_t random_config(void)
{
    for (;;) {
        tl_therapy_config_t c;
        tl_therapy_config_defaults(&c);
        c.electrode_area_um2 = lrange(10000, 20000000);
        c.charge_density_max_cuc_cm2 = urange(100, 3000);
        c.charge_max_nc = lrange(1, 25500);
        c.shannon_k_max_milli = srange(-2000, 1850);
        c.pulse_width_max_us = urange(20, 1000);
        c.pulse_width_min_us = urange(10, c.pulse_width_max_us);
        c.interphase_gap_us = chance(500000) ? 0u : urange(0, 200);
        uint32_t fit = 10000000u / (2u * c.pulse_width_max_us + c.interphase_gap_us);
        c.rate_max_dhz = urange(1, min_u32(10000, fit));
        c.rate_min_dhz = urange(1, c.rate_max_dhz);
        uint32_t cap = c.charge_max_nc * 1000u / c.pulse_width_max_us;
        uint64_t dcap = (uint64_t)c.charge_density_max_cuc_cm2 * c.electrode_area_um2 /
                        ((uint64_t)c.pulse_width_max_us * 10000u);
        cap = min_u32(cap, (uint32_t)(dcap > 25500u ? 25500u : dcap));
        c.amplitude_max_ua = urange(0, cap);
        while (c.amplitude_max_ua > 0u &&
               tl_stim_shannon_k_milli(c.amplitude_max_ua, c.pulse_width_max_us,
                                       c.electrode_area_um2) > c.shannon_k_max_milli) {
            c.amplitude_max_ua /= 2u;
        }
        c.amplitude_min_ua = chance(500000) ? 0u : urange(0, c.amplitude_max_ua / 2u);
        c.slew_max_ua_per_s = lrange(1, 1000000);
        c.waveform = urange(0, 1);
        c.pulse_width_us = urange(c.pulse_width_min_us, c.pulse_width_max_us);
        c.rate_dhz = urange(c.rate_min_dhz, c.rate_max_dhz);
        c.policy = urange(0, 2);
        c.open_loop_amplitude_ua = urange(c.amplitude_min_ua, c.amplitude_max_ua);
        c.fallback_mode = urange(0, 1);
        c.suspend_amplitude_ua = urange(c.amplitude_min_ua, c.amplitude_max_ua);
        c.sensor_fault_hold_ms = urange(0, 2000);
        c.model_fault_hold_ms = urange(0, 2000);
        c.link_fault_hold_ms = urange(0, 2000);
        /* adaptive */
        c.adaptive_mode = urange(0, 1);
        c.adaptive_threshold_lower = srange(-500, 500);
        c.adaptive_threshold_upper = srange(c.adaptive_threshold_lower, 600);
        uint32_t lo = urange(c.amplitude_min_ua, c.amplitude_max_ua);
        uint32_t hi = urange(lo, c.amplitude_max_ua);
        /* keep the ramps possible within an hour at this slew */
        uint64_t max_span = (uint64_t)c.slew_max_ua_per_s * 3600u;
        if (hi - lo > max_span) {
            hi = lo + (uint32_t)max_span;
        }
        c.adaptive_amplitude_lower_ua = lo;
        c.adaptive_amplitude_upper_ua = hi;
        uint32_t min_ramp = (uint32_t)(((uint64_t)(hi - lo) * 1000u + c.slew_max_ua_per_s - 1u) /
                                       c.slew_max_ua_per_s);
        c.adaptive_ramp_up_ms = urange(min_ramp, min_ramp + 3000u);
        c.adaptive_ramp_down_ms = urange(min_ramp, min_ramp + 3000u);
        c.adaptive_onset_ms = urange(0, 500);
        c.adaptive_termination_ms = urange(0, 1000);
        c.adaptive_blanking_ms = urange(0, 500);
        c.adaptive_startup_ms = urange(0, 1000);
        /* responsive */
        c.responsive_threshold = srange(-300, 300);
        c.responsive_onset_ms = urange(0, 200);
        c.burst_duration_ms = urange(10, 3000);
        uint64_t reach = (uint64_t)c.slew_max_ua_per_s * c.burst_duration_ms / 2000u;
        c.burst_amplitude_ua = urange(min_u32(c.amplitude_min_ua, (uint32_t)reach),
                                      min_u32(c.amplitude_max_ua, (uint32_t)min_u32(reach, 25500)));
        c.burst_pulse_width_us = urange(c.pulse_width_min_us, c.pulse_width_max_us);
        c.burst_rate_dhz = urange(c.rate_min_dhz, c.rate_max_dhz);
        c.responsive_max_bursts_per_episode = urange(1, 6);
        c.responsive_refractory_ms = urange(0, 1000);
        c.responsive_episode_end_ms = urange(0, 3000);
        c.responsive_max_bursts_per_day = urange(1, 200);
        if (tl_therapy_config_validate(&c, NULL) == TL_THERAPY_CFG_OK) {
            return c;
        }
        /* e.g. a burst amplitude below amplitude_min that the slew cannot reach: redraw */
    }
}

/* ---- the reference model ------------------------------------------------------------ */

static const uint32_t k_masks[3] = {TL_TFAULT_SENSOR_MASK, TL_TFAULT_MODEL_MASK,
                                    TL_TFAULT_LINK_MASK};

typedef struct {
    tl_therapy_config_t cfg;
    uint8_t state; /* tl_therapy_state_t */
    uint8_t active[3];
    uint8_t had[3];
    uint32_t clear[3];
    uint64_t t;    /* time without wrap-around */
    uint32_t amp;  /* previous amplitude */
    bool seg;      /* a slew segment is open */
    int64_t min_up;   /* min over the segment of 1000 a - slew t */
    int64_t min_down; /* min over the segment of -1000 a - slew t */
} model_t;

static uint64_t g_checks;
static uint64_t g_fallback_steps;
static uint64_t g_instant;
static uint64_t g_rogue;
static uint64_t g_policy_steps[TL_POLICY_COUNT];
static uint64_t g_policy_events[16];

static void model_faults(model_t *m, uint32_t faults, uint32_t dt)
{
    uint32_t holds[3] = {m->cfg.sensor_fault_hold_ms, m->cfg.model_fault_hold_ms,
                         m->cfg.link_fault_hold_ms};
    for (uint32_t i = 0; i < 3; i++) {
        uint32_t bits = faults & k_masks[i];
        if (bits != 0u) {
            m->active[i] = 1;
            m->clear[i] = 0;
        } else if (m->active[i]) {
            m->clear[i] = m->had[i] ? 0u : (m->clear[i] + dt > m->clear[i] ? m->clear[i] + dt
                                                                           : UINT32_MAX);
            if (m->clear[i] >= holds[i]) {
                m->active[i] = 0;
            }
        }
        m->had[i] = bits != 0u;
    }
}

static void seg_reset(model_t *m, uint32_t a)
{
    int64_t s = m->cfg.slew_max_ua_per_s;
    m->seg = true;
    m->min_up = 1000 * (int64_t)a - s * (int64_t)m->t;
    m->min_down = -1000 * (int64_t)a - s * (int64_t)m->t;
}

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        g_checks++;                                                                       \
        if (!(cond)) {                                                                    \
            printf("seed %llu config %u step %u t=%llu: ", (unsigned long long)seed, ci, k, \
                   (unsigned long long)m.t);                                              \
            TL_EXPECT(cond);                                                              \
            return;                                                                       \
        }                                                                                 \
    } while (0)

static tl_therapy_t g_th;

static void run_invariants(void)
{
    uint64_t seed = 0x7E4A9C0FFEEull;
    const char *env = getenv("TL_SEED");
    if (env != NULL) {
        seed = strtoull(env, NULL, 0);
    }
    g_rng = seed;
    tl_therapy_init(&g_th, NULL, NULL);
    model_t m;
    memset(&m, 0, sizeof m);
    uint32_t now = UINT32_MAX - 5000000u; /* wraps around after a few configurations */
    uint32_t fault_steps = 0;
    uint32_t fault_bits = 0;
    int32_t score = 0;

    for (uint32_t ci = 0; ci < CONFIGS; ci++) {
        uint32_t k = 0;
        tl_therapy_config_t cfg = random_config();
        tl_therapy_check_t check;
        uint32_t before_amp = m.amp;
        CHECK(tl_therapy_configure(&g_th, &cfg, now, &check) == TL_THERAPY_CFG_OK);
        m.cfg = cfg;
        /* reconfiguring may cut the output down to the new maximum, nothing else */
        CHECK(g_th.sup.out.amplitude_ua == (before_amp > cfg.amplitude_max_ua
                                                 ? cfg.amplitude_max_ua
                                                 : before_amp));
        m.amp = g_th.sup.out.amplitude_ua;
        seg_reset(&m, m.amp);
        if (m.state == TL_THERAPY_OFF) {
            CHECK(tl_therapy_command(&g_th, TL_CMD_START, now, NULL) == TL_SUP_CMD_OK);
            m.state = TL_THERAPY_RUNNING;
        }
        for (k = 0; k < STEPS_PER_CONFIG; k++) {
            /* time: mostly a regular hop, sometimes uneven, rarely a long gap */
            uint32_t dt = chance(990000) ? urange(1, 50) : urange(51, 20000);
            now += dt;
            m.t += dt;
            /* operator commands (some invalid for the state) */
            bool instant_ok = false;
            if (chance(2000)) {
                uint32_t cmd = urange(1, 5);
                tl_supervisor_output_t cout;
                tl_sup_cmd_result_t res = tl_therapy_command(&g_th, cmd, now, &cout);
                tl_sup_cmd_result_t want = TL_SUP_CMD_OK;
                switch (cmd) {
                case TL_CMD_START:
                    want = m.state == TL_THERAPY_OFF ? TL_SUP_CMD_OK : TL_SUP_CMD_ERR_STATE;
                    break;
                case TL_CMD_STOP:
                    break;
                case TL_CMD_PAUSE:
                    want = m.state == TL_THERAPY_RUNNING ? TL_SUP_CMD_OK : TL_SUP_CMD_ERR_STATE;
                    break;
                case TL_CMD_RESUME:
                    want = m.state == TL_THERAPY_PAUSED ? TL_SUP_CMD_OK : TL_SUP_CMD_ERR_STATE;
                    break;
                default:
                    want = TL_SUP_CMD_ERR_ARG;
                    break;
                }
                CHECK(res == want);
                if (res == TL_SUP_CMD_OK) {
                    m.state = cmd == TL_CMD_STOP    ? TL_THERAPY_OFF
                              : cmd == TL_CMD_PAUSE ? TL_THERAPY_PAUSED
                                                    : TL_THERAPY_RUNNING;
                }
                if (res == TL_SUP_CMD_OK && (cmd == TL_CMD_STOP || cmd == TL_CMD_PAUSE)) {
                    /* stop and pause act inside the call: an instant transition to 0 */
                    CHECK(cout.stim.amplitude_ua == 0u && cout.stim.enabled == 0u);
                    CHECK(g_th.sup.out.amplitude_ua == 0u);
                    if (m.amp != 0u) {
                        g_instant++;
                    }
                    m.amp = 0;
                    seg_reset(&m, 0);
                }
            }
            if (m.state == TL_THERAPY_OFF && chance(20000)) {
                CHECK(tl_therapy_command(&g_th, TL_CMD_START, now, NULL) == TL_SUP_CMD_OK);
                m.state = TL_THERAPY_RUNNING;
            }
            if (m.state == TL_THERAPY_PAUSED && chance(20000)) {
                CHECK(tl_therapy_command(&g_th, TL_CMD_RESUME, now, NULL) == TL_SUP_CMD_OK);
                m.state = TL_THERAPY_RUNNING;
            }
            /* an unsafe configuration is refused and changes nothing */
            if (chance(300)) {
                tl_therapy_config_t bad = m.cfg;
                bad.amplitude_max_ua = 25500;
                bad.pulse_width_max_us = 1000;
                bad.charge_max_nc = 25500;
                bad.electrode_area_um2 = urange(10000, 8000000);
                CHECK(tl_therapy_configure(&g_th, &bad, now, &check) != TL_THERAPY_CFG_OK);
                CHECK(memcmp(&g_th.cfg, &m.cfg, sizeof m.cfg) == 0);
            }
            /* a rogue policy (memory corruption, a bug): the supervisor must still hold */
            if (chance(400)) {
                tl_policy_t *pol = &g_th.policy;
                uint16_t big = (uint16_t)urange(0, 65535);
                switch (pol->kind) {
                case TL_POLICY_OPEN_LOOP:
                    pol->u.open_loop.amplitude_ua = big;
                    pol->u.open_loop.prog.pulse_width_us = (uint16_t)urange(0, 65535);
                    pol->u.open_loop.prog.rate_dhz = (uint16_t)urange(0, 65535);
                    break;
                case TL_POLICY_ADAPTIVE:
                    pol->u.adaptive.amp_upper = big;
                    pol->u.adaptive.target = big;
                    pol->u.adaptive.prog.pulse_width_us = (uint16_t)urange(0, 65535);
                    break;
                default:
                    pol->u.responsive.burst_ua = big;
                    pol->u.responsive.burst.pulse_width_us = (uint16_t)urange(0, 65535);
                    pol->u.responsive.burst.rate_dhz = (uint16_t)urange(0, 65535);
                    break;
                }
                g_rogue++;
            }
            /* scores around the thresholds, sometimes missing */
            if (chance(50000)) {
                score = srange(-700, 700);
            } else {
                score += srange(-40, 40);
                score = score > 2000 ? 2000 : score < -2000 ? -2000 : score;
            }
            /* faults come in episodes of random length and kind */
            if (fault_steps == 0u && chance(3000)) {
                fault_steps = urange(1, 300);
                static const uint32_t k_kinds[] = {
                    TL_TFAULT_SATURATION, TL_TFAULT_FLATLINE,        TL_TFAULT_DROPOUT,
                    TL_TFAULT_ARTIFACT,   TL_TFAULT_MODEL_LOAD,      TL_TFAULT_MODEL_INFERENCE,
                    TL_TFAULT_MODEL_DEADLINE, TL_TFAULT_LINK_TIMEOUT, TL_TFAULT_LINK_NACK,
                    TL_TFAULT_LINK_DEVICE, 1u << 30 /* unknown: treated as sensor */};
                fault_bits = k_kinds[urange(0, 10)];
                if (chance(200000)) {
                    fault_bits |= k_kinds[urange(0, 10)];
                }
            }
            uint32_t faults = 0;
            if (fault_steps > 0u) {
                fault_steps--;
                faults = chance(900000) ? fault_bits : 0u; /* flickering */
            }
            model_faults(&m, faults, dt);

            tl_therapy_input_t in;
            memset(&in, 0, sizeof in);
            in.now_ms = now;
            in.score = score;
            in.score_valid = chance(990000) ? 1u : 0u;
            in.faults = faults;
            tl_supervisor_output_t out;
            tl_therapy_step(&g_th, &in, &out);

            const tl_therapy_config_t *c = &m.cfg;
            uint32_t a = out.stim.amplitude_ua;
            /* amplitude and pulse limits */
            CHECK(a <= c->amplitude_max_ua);
            CHECK((a == 0u) == (out.stim.enabled == 0u));
            if (a > 0u) {
                uint32_t pw = out.stim.pulse_width_us;
                uint32_t rate = out.stim.rate_dhz;
                CHECK(pw >= c->pulse_width_min_us && pw <= c->pulse_width_max_us);
                CHECK(rate >= c->rate_min_dhz && rate <= c->rate_max_dhz);
                CHECK(tl_stim_charge_pc(a, pw) <= c->charge_max_nc * 1000u);
                CHECK(tl_stim_density_within(a, pw, c->electrode_area_um2,
                                             c->charge_density_max_cuc_cm2));
                CHECK(tl_stim_density_within(a, pw, c->electrode_area_um2,
                                             TL_STIM_CHARGE_DENSITY_ABS_MAX_CUC));
                CHECK(tl_stim_shannon_k_milli(a, pw, c->electrode_area_um2) <=
                      c->shannon_k_max_milli);
                CHECK(2u * pw + out.stim.interphase_gap_us <= tl_stim_period_us(rate));
                CHECK(out.stim.interphase_gap_us == c->interphase_gap_us);
                CHECK(out.stim.waveform == c->waveform);
            }
            /* state and mode */
            CHECK(out.therapy_state == m.state);
            uint8_t want_mode = m.state != TL_THERAPY_RUNNING ? TL_SUP_MODE_IDLE
                                : m.active[2]                 ? TL_SUP_MODE_LINK_SAFE
                                : (m.active[0] || m.active[1]) ? TL_SUP_MODE_FALLBACK
                                                               : TL_SUP_MODE_POLICY;
            CHECK(out.mode == want_mode);
            if (m.state != TL_THERAPY_RUNNING || want_mode == TL_SUP_MODE_LINK_SAFE) {
                CHECK(a == 0u);
                instant_ok = true;
            }
            if (want_mode == TL_SUP_MODE_FALLBACK) {
                g_fallback_steps++;
                if (c->fallback_mode == TL_FALLBACK_OFF) {
                    CHECK(a == 0u);
                    instant_ok = true;
                } else {
                    uint32_t s = c->suspend_amplitude_ua;
                    /* towards the suspend amplitude, never past it */
                    CHECK((m.amp <= s && a >= m.amp && a <= s) ||
                          (m.amp >= s && a <= m.amp && a >= s));
                    if (a > 0u && s > 0u) { /* (ramping down to 0 keeps the pulse shape) */
                        CHECK(out.stim.pulse_width_us == c->pulse_width_us);
                        CHECK(out.stim.rate_dhz == c->rate_dhz);
                    }
                }
            }
            if (want_mode == TL_SUP_MODE_POLICY) {
                const tl_policy_output_t *r = &g_th.last_request;
                g_policy_steps[c->policy]++;
                g_policy_events[r->event & 15u]++;
                uint32_t want = r->stim.enabled ? r->stim.amplitude_ua : 0u;
                want = want > c->amplitude_max_ua ? c->amplitude_max_ua : want;
                CHECK((m.amp <= want && a >= m.amp && a <= want) ||
                      (m.amp >= want && a <= m.amp && a >= want));
            }
            /* slew over every interval of the current segment */
            int64_t s = c->slew_max_ua_per_s;
            int64_t up = 1000 * (int64_t)a - s * (int64_t)m.t;
            int64_t down = -1000 * (int64_t)a - s * (int64_t)m.t;
            bool within = up <= m.min_up + 999 && down <= m.min_down + 999;
            if (!within) {
                CHECK(instant_ok && a == 0u && a < m.amp);
                g_instant++;
                seg_reset(&m, a);
            } else {
                m.min_up = up < m.min_up ? up : m.min_up;
                m.min_down = down < m.min_down ? down : m.min_down;
            }
            CHECK(g_th.sup.stats.lockouts == 0u);
            m.amp = a;
        }
    }
    printf("%llu checks over %u steps (%llu in fallback, %llu instant drops), seed %llu\n",
           (unsigned long long)g_checks, CONFIGS * STEPS_PER_CONFIG,
           (unsigned long long)g_fallback_steps, (unsigned long long)g_instant,
           (unsigned long long)seed);
    printf("policy-mode steps: open loop %llu, adaptive %llu, responsive %llu; zone changes "
           "%llu, bursts %llu, limits %llu\n",
           (unsigned long long)g_policy_steps[0], (unsigned long long)g_policy_steps[1],
           (unsigned long long)g_policy_steps[2],
           (unsigned long long)(g_policy_events[TL_PEVENT_ZONE_UP] +
                                g_policy_events[TL_PEVENT_ZONE_DOWN]),
           (unsigned long long)g_policy_events[TL_PEVENT_BURST_START],
           (unsigned long long)(g_policy_events[TL_PEVENT_LIMIT_EPISODE] +
                                g_policy_events[TL_PEVENT_LIMIT_DAY]));
    printf("rogue policy requests injected: %llu\n", (unsigned long long)g_rogue);
    /* the run must have exercised what it claims to check */
    TL_EXPECT(g_fallback_steps > 10000u);
    TL_EXPECT(g_instant > 100u);
    for (uint32_t p = 0; p < TL_POLICY_COUNT; p++) {
        TL_EXPECT(g_policy_steps[p] > 50000u);
    }
    TL_EXPECT(g_policy_events[TL_PEVENT_ZONE_UP] > 100u);
    TL_EXPECT(g_policy_events[TL_PEVENT_BURST_START] > 100u);
    TL_EXPECT(g_policy_events[TL_PEVENT_LIMIT_EPISODE] + g_policy_events[TL_PEVENT_LIMIT_DAY] >
              10u);
}

int main(void)
{
    TL_RUN(run_invariants);
    return tl_test_summary();
}
