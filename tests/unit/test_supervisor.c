/*
 * Safety supervisor: lockout, commands (emergency pause within the call), slew limiting,
 * clamps, fault fallback with hysteresis, link-safe state, configuration changes,
 * run-time re-checks, and what it writes to the event log.
 */
#include <string.h>

#include "theraloop/therapy/supervisor.h"
#include "tl_test.h"

static tl_event_t g_events[64];
static tl_event_log_t g_log;
static tl_supervisor_t g_sup;
static tl_supervisor_output_t g_out;
static uint32_t g_seen; /* events read so far */

static tl_therapy_config_t config(void)
{
    tl_therapy_config_t cfg;
    tl_therapy_config_defaults(&cfg); /* open loop 1000 uA, suspend 1000 uA, slew 2000 uA/s */
    cfg.suspend_amplitude_ua = 500;
    cfg.sensor_fault_hold_ms = 100;
    cfg.model_fault_hold_ms = 200;
    cfg.link_fault_hold_ms = 50;
    return cfg;
}

static tl_policy_output_t request(uint32_t amp, uint32_t pw, uint32_t rate)
{
    tl_policy_output_t r;
    memset(&r, 0, sizeof r);
    r.stim.amplitude_ua = (uint16_t)amp;
    r.stim.pulse_width_us = (uint16_t)pw;
    r.stim.rate_dhz = (uint16_t)rate;
    r.stim.enabled = amp > 0u;
    r.target_ua = (uint16_t)amp;
    r.state = TL_PSTATE_OPEN_LOOP;
    return r;
}

static void setup(const tl_therapy_config_t *cfg)
{
    TL_EXPECT(tl_event_log_init(&g_log, g_events, 64));
    tl_supervisor_init(&g_sup, &g_log);
    g_seen = 0;
    if (cfg != NULL) {
        TL_EXPECT_EQ(tl_supervisor_configure(&g_sup, cfg, 0), TL_THERAPY_CFG_OK);
    }
}

static void step(uint32_t t, uint32_t faults, const tl_policy_output_t *req)
{
    tl_supervisor_step(&g_sup, t, faults, req, &g_out);
}

/* The next event in the log (type 0 when none). */
static tl_event_t next_event(void)
{
    tl_event_t ev;
    memset(&ev, 0, sizeof ev);
    tl_ring_read_t r = tl_event_log_read(&g_log, g_seen, &ev, 1);
    g_seen = r.next_seq;
    return ev;
}

/* Skip to the next event of `type`. */
static tl_event_t find_event(uint8_t type)
{
    for (;;) {
        tl_event_t ev = next_event();
        if (ev.type == type || ev.type == 0u) {
            return ev;
        }
    }
}

static void test_unconfigured_is_locked_out(void)
{
    setup(NULL);
    tl_policy_output_t req = request(1000, 60, 1300);
    TL_EXPECT_EQ(tl_supervisor_command(&g_sup, TL_CMD_START, 0, &g_out), TL_SUP_CMD_ERR_LOCKOUT);
    step(10, 0, &req);
    TL_EXPECT_EQ(g_out.mode, TL_SUP_MODE_LOCKOUT);
    TL_EXPECT_EQ(g_out.stim.enabled, 0);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 0);
    /* An invalid configuration is refused and recorded. */
    tl_therapy_config_t bad = config();
    bad.amplitude_max_ua = 26000;
    TL_EXPECT_EQ(tl_supervisor_configure(&g_sup, &bad, 20), TL_THERAPY_CFG_ERR_RANGE);
    tl_event_t ev = find_event(TL_EVENT_CONFIG_REFUSED);
    TL_EXPECT_EQ(ev.aux, TL_THERAPY_CFG_ERR_RANGE);
    TL_EXPECT_EQ(ev.detail, (uint32_t)tl_therapy_config_find("amplitude_max_ua", 16));
    TL_EXPECT_EQ(tl_supervisor_command(&g_sup, TL_CMD_START, 30, &g_out), TL_SUP_CMD_ERR_LOCKOUT);
}

static void test_start_ramps_at_the_slew_limit(void)
{
    tl_therapy_config_t cfg = config();
    setup(&cfg);
    tl_policy_output_t req = request(1000, 60, 1300);
    step(0, 0, &req);
    TL_EXPECT_EQ(g_out.stim.enabled, 0); /* off until started */
    TL_EXPECT_EQ(g_out.therapy_state, TL_THERAPY_OFF);
    TL_EXPECT_EQ(tl_supervisor_command(&g_sup, TL_CMD_START, 5, &g_out), TL_SUP_CMD_OK);
    TL_EXPECT_EQ(tl_supervisor_command(&g_sup, TL_CMD_START, 5, &g_out), TL_SUP_CMD_ERR_STATE);
    step(10, 0, &req);
    TL_EXPECT_EQ(g_out.therapy_state, TL_THERAPY_RUNNING);
    TL_EXPECT_EQ(g_out.mode, TL_SUP_MODE_POLICY);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 20); /* 2000 uA/s x 10 ms */
    TL_EXPECT_EQ(g_out.stim.enabled, 1);
    TL_EXPECT_EQ(g_out.stim.pulse_width_us, 60);
    TL_EXPECT_EQ(g_out.stim.rate_dhz, 1300);
    TL_EXPECT(g_out.clamps & TL_CLAMP_SLEW);
    TL_EXPECT_EQ(g_out.target_ua, 1000);
    for (uint32_t t = 20; t <= 500; t += 10) {
        step(t, 0, &req);
        TL_EXPECT_EQ(g_out.stim.amplitude_ua, (t - 0u) * 2u);
    }
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 1000);
    step(510, 0, &req);
    TL_EXPECT_EQ(g_out.clamps, 0);
    TL_EXPECT_EQ(g_out.changed, 0);
}

static void test_slow_slew_carries_the_remainder(void)
{
    tl_therapy_config_t cfg = config();
    cfg.slew_max_ua_per_s = 30; /* 0.3 uA per 10 ms step */
    cfg.adaptive_ramp_up_ms = 40000;
    cfg.adaptive_ramp_down_ms = 40000;
    setup(&cfg);
    tl_policy_output_t req = request(1000, 60, 1300);
    tl_supervisor_command(&g_sup, TL_CMD_START, 0, NULL);
    uint32_t prev = 0;
    for (uint32_t t = 0; t <= 10000; t += 10) {
        step(t, 0, &req);
        uint32_t a = g_out.stim.amplitude_ua;
        TL_EXPECT(a - prev <= 1u);
        /* never ahead of the exact ramp: a <= 30 uA/s x t */
        TL_EXPECT(a * 1000u <= 30u * t);
        prev = a;
    }
    TL_EXPECT_EQ(prev, 300); /* exactly 30 uA/s over 10 s */
}

static void test_pause_is_immediate_and_resume_ramps(void)
{
    tl_therapy_config_t cfg = config();
    setup(&cfg);
    tl_policy_output_t req = request(1000, 60, 1300);
    tl_supervisor_command(&g_sup, TL_CMD_START, 0, NULL);
    for (uint32_t t = 0; t <= 600; t += 10) {
        step(t, 0, &req);
    }
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 1000);
    /* The pause acts inside the command call. */
    TL_EXPECT_EQ(tl_supervisor_command(&g_sup, TL_CMD_PAUSE, 605, &g_out), TL_SUP_CMD_OK);
    TL_EXPECT_EQ(g_out.stim.enabled, 0);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 0);
    TL_EXPECT_EQ(g_out.therapy_state, TL_THERAPY_PAUSED);
    TL_EXPECT_EQ(g_out.changed, 1);
    step(610, 0, &req);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 0);
    TL_EXPECT_EQ(g_out.mode, TL_SUP_MODE_IDLE);
    TL_EXPECT_EQ(tl_supervisor_command(&g_sup, TL_CMD_PAUSE, 615, NULL), TL_SUP_CMD_ERR_STATE);
    TL_EXPECT_EQ(tl_supervisor_command(&g_sup, TL_CMD_START, 615, NULL), TL_SUP_CMD_ERR_STATE);
    TL_EXPECT_EQ(tl_supervisor_command(&g_sup, TL_CMD_RESUME, 620, NULL), TL_SUP_CMD_OK);
    step(630, 0, &req);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 40); /* from zero at the slew limit, 20 ms */
    TL_EXPECT_EQ(tl_supervisor_command(&g_sup, TL_CMD_RESUME, 635, NULL), TL_SUP_CMD_ERR_STATE);
    TL_EXPECT_EQ(tl_supervisor_command(&g_sup, 99, 635, NULL), TL_SUP_CMD_ERR_ARG);
    /* Stop: off at once, from any state. */
    TL_EXPECT_EQ(tl_supervisor_command(&g_sup, TL_CMD_STOP, 640, &g_out), TL_SUP_CMD_OK);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 0);
    TL_EXPECT_EQ(g_out.therapy_state, TL_THERAPY_OFF);
    step(650, 0, &req);
    TL_EXPECT_EQ(g_out.stim.enabled, 0);
}

static void ramp_to_with(uint32_t *t, uint32_t faults, const tl_policy_output_t *req,
                         uint32_t amp)
{
    for (uint32_t i = 0; i < 2000 && g_out.stim.amplitude_ua != amp; i++) {
        *t += 10;
        step(*t, faults, req);
    }
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, amp);
}

static void ramp_to(uint32_t *t, const tl_policy_output_t *req, uint32_t amp)
{
    for (uint32_t i = 0; i < 2000 && g_out.stim.amplitude_ua != amp; i++) {
        *t += 10;
        step(*t, 0, req);
    }
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, amp);
}

static void test_sensor_fault_fallback_with_hysteresis(void)
{
    tl_therapy_config_t cfg = config();
    setup(&cfg);
    tl_policy_output_t req = request(1000, 60, 1300);
    tl_supervisor_command(&g_sup, TL_CMD_START, 0, NULL);
    uint32_t t = 0;
    step(t, 0, &req);
    ramp_to(&t, &req, 1000);
    /* Saturation: fallback in the same step, ramping towards the suspend amplitude. */
    t += 10;
    step(t, TL_TFAULT_SATURATION, &req);
    TL_EXPECT_EQ(g_out.mode, TL_SUP_MODE_FALLBACK);
    TL_EXPECT_EQ(g_out.reason, TL_REASON_FAULT);
    TL_EXPECT_EQ(g_out.detail, TL_TFAULT_SATURATION);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 980);
    TL_EXPECT_EQ(g_out.target_ua, 500);
    ramp_to_with(&t, TL_TFAULT_SATURATION, &req, 500);
    TL_EXPECT_EQ(g_out.mode, TL_SUP_MODE_FALLBACK);
    /* Hysteresis: the fault must stay clear for sensor_fault_hold_ms = 100 ms. */
    t += 10;
    step(t, TL_TFAULT_FLATLINE | TL_TFAULT_ARTIFACT, &req);
    TL_EXPECT_EQ(g_out.mode, TL_SUP_MODE_FALLBACK);
    uint32_t cleared = t + 10;
    for (t = cleared; t < cleared + 100; t += 10) {
        step(t, 0, &req);
        TL_EXPECT_EQ(g_out.mode, TL_SUP_MODE_FALLBACK);
    }
    step(t, 0, &req); /* clear for 100 ms */
    TL_EXPECT_EQ(g_out.mode, TL_SUP_MODE_POLICY);
    TL_EXPECT_EQ(g_out.reason, TL_REASON_RECOVERED);
    /* A fault reappearing during the hold restarts it. */
    step(t += 10, TL_TFAULT_DROPOUT, &req);
    step(t += 10, 0, &req);
    step(t += 10, 0, &req);
    step(t += 10, TL_TFAULT_DROPOUT, &req);
    for (uint32_t i = 0; i < 10; i++) {
        step(t += 10, 0, &req);
        TL_EXPECT_EQ(g_out.mode, TL_SUP_MODE_FALLBACK);
    }
    step(t += 10, 0, &req);
    TL_EXPECT_EQ(g_out.mode, TL_SUP_MODE_POLICY);
    TL_EXPECT_EQ(g_sup.stats.fallback_entries, 2);
}

static void test_fallback_off_and_model_faults(void)
{
    tl_therapy_config_t cfg = config();
    cfg.fallback_mode = TL_FALLBACK_OFF;
    setup(&cfg);
    tl_policy_output_t req = request(1000, 60, 1300);
    tl_supervisor_command(&g_sup, TL_CMD_START, 0, NULL);
    uint32_t t = 0;
    step(t, 0, &req);
    ramp_to(&t, &req, 1000);
    step(t += 10, TL_TFAULT_MODEL_DEADLINE, &req);
    TL_EXPECT_EQ(g_out.mode, TL_SUP_MODE_FALLBACK);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 0); /* "off": at once */
    TL_EXPECT_EQ(g_out.stim.enabled, 0);
    TL_EXPECT_EQ(g_out.detail, TL_TFAULT_MODEL_DEADLINE);
    /* model_fault_hold_ms = 200 */
    for (uint32_t i = 0; i < 20; i++) {
        step(t += 10, 0, &req);
        TL_EXPECT_EQ(g_out.mode, TL_SUP_MODE_FALLBACK);
    }
    step(t += 10, 0, &req);
    TL_EXPECT_EQ(g_out.mode, TL_SUP_MODE_POLICY);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 20);
}

static void test_link_fault_is_off_at_once(void)
{
    tl_therapy_config_t cfg = config(); /* fallback suspend: not used for link faults */
    setup(&cfg);
    tl_policy_output_t req = request(1000, 60, 1300);
    tl_supervisor_command(&g_sup, TL_CMD_START, 0, NULL);
    uint32_t t = 0;
    step(t, 0, &req);
    ramp_to(&t, &req, 1000);
    step(t += 10, TL_TFAULT_LINK_TIMEOUT | TL_TFAULT_SATURATION, &req);
    TL_EXPECT_EQ(g_out.mode, TL_SUP_MODE_LINK_SAFE);
    TL_EXPECT_EQ(g_out.reason, TL_REASON_LINK);
    TL_EXPECT_EQ(g_out.detail, TL_TFAULT_LINK_TIMEOUT);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 0);
    /* link clears after 50 ms; the sensor fault (hold 100 ms) still holds the fallback */
    for (uint32_t i = 0; i < 5; i++) {
        step(t += 10, 0, &req);
        TL_EXPECT_EQ(g_out.mode, TL_SUP_MODE_LINK_SAFE);
    }
    step(t += 10, 0, &req);
    TL_EXPECT_EQ(g_out.mode, TL_SUP_MODE_FALLBACK);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 20); /* ramps up to the suspend amplitude */
    TL_EXPECT_EQ(g_sup.stats.link_safe_entries, 1);
}

static void test_clamps(void)
{
    tl_therapy_config_t cfg = config();
    cfg.slew_max_ua_per_s = 1000000;
    setup(&cfg);
    tl_supervisor_command(&g_sup, TL_CMD_START, 0, NULL);
    tl_policy_output_t req = request(5000, 500, 50);
    step(0, 0, &req);
    step(10, 0, &req);
    TL_EXPECT_EQ(g_out.reason, TL_REASON_CLAMP);
    TL_EXPECT_EQ(g_out.clamps, TL_CLAMP_AMPLITUDE | TL_CLAMP_PW_MAX | TL_CLAMP_RATE_MIN);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 3000);
    TL_EXPECT_EQ(g_out.stim.pulse_width_us, 120);
    TL_EXPECT_EQ(g_out.stim.rate_dhz, 100);
    req = request(100, 10, 9000);
    step(20, 0, &req);
    TL_EXPECT_EQ(g_out.clamps, TL_CLAMP_PW_MIN | TL_CLAMP_RATE_MAX);
    TL_EXPECT_EQ(g_out.stim.pulse_width_us, 30);
    TL_EXPECT_EQ(g_out.stim.rate_dhz, 2500);
    TL_EXPECT(g_sup.stats.clamp_steps >= 2);
    /* No request at all: off (slew-limited). */
    step(30, 0, NULL);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 0);
}

static void test_lowering_the_limit_while_running(void)
{
    tl_therapy_config_t cfg = config();
    setup(&cfg);
    tl_policy_output_t req = request(1000, 60, 1300);
    tl_supervisor_command(&g_sup, TL_CMD_START, 0, NULL);
    uint32_t t = 0;
    step(t, 0, &req);
    ramp_to(&t, &req, 1000);
    cfg.amplitude_max_ua = 600;
    cfg.open_loop_amplitude_ua = 600;
    cfg.suspend_amplitude_ua = 400;
    TL_EXPECT_EQ(tl_supervisor_configure(&g_sup, &cfg, t + 1), TL_THERAPY_CFG_OK);
    tl_supervisor_output(&g_sup, &g_out);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 600); /* at once */
    tl_event_t ev = find_event(TL_EVENT_THERAPY);
    while (ev.type != 0u && ev.reason != TL_REASON_CONFIG) {
        ev = find_event(TL_EVENT_THERAPY);
    }
    TL_EXPECT_EQ(ev.reason, TL_REASON_CONFIG);
    TL_EXPECT_EQ(ev.before.amplitude_ua, 1000);
    TL_EXPECT_EQ(ev.after.amplitude_ua, 600);
    step(t += 10, 0, &req);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 600);
    TL_EXPECT_EQ(g_out.reason, TL_REASON_CLAMP); /* the old policy still asks for 1000 */
}

static void test_runtime_recheck_locks_out(void)
{
    tl_therapy_config_t cfg = config();
    setup(&cfg);
    tl_policy_output_t req = request(1000, 60, 1300);
    tl_supervisor_command(&g_sup, TL_CMD_START, 0, NULL);
    uint32_t t = 0;
    step(t, 0, &req);
    ramp_to(&t, &req, 1000);
    /* Simulate corrupted limits in RAM: the output no longer satisfies them. */
    g_sup.charge_max_pc = 1000;
    step(t += 10, 0, &req);
    TL_EXPECT_EQ(g_out.mode, TL_SUP_MODE_LOCKOUT);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 0);
    TL_EXPECT_EQ(g_sup.stats.lockouts, 1);
    step(t += 10, 0, &req);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 0);
    /* Only a valid configuration clears it. */
    TL_EXPECT_EQ(tl_supervisor_command(&g_sup, TL_CMD_STOP, t, NULL), TL_SUP_CMD_OK);
    TL_EXPECT_EQ(tl_supervisor_command(&g_sup, TL_CMD_START, t, NULL), TL_SUP_CMD_ERR_LOCKOUT);
    TL_EXPECT_EQ(tl_supervisor_configure(&g_sup, &cfg, t), TL_THERAPY_CFG_OK);
    TL_EXPECT_EQ(tl_supervisor_command(&g_sup, TL_CMD_START, t, NULL), TL_SUP_CMD_OK);
    step(t += 10, 0, &req);
    TL_EXPECT_EQ(g_out.mode, TL_SUP_MODE_POLICY);
}

static void test_event_log_records_changes(void)
{
    tl_therapy_config_t cfg = config();
    setup(&cfg);
    static const uint8_t hash[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    tl_event_log_set_model_hash(&g_log, hash);
    tl_policy_output_t req = request(1000, 60, 1300);
    req.event = TL_PEVENT_START;
    step(0, 0, &req);
    tl_supervisor_command(&g_sup, TL_CMD_START, 5, NULL);
    step(10, 0, &req);
    req.event = TL_PEVENT_NONE;
    step(20, 0, &req);
    step(30, TL_TFAULT_DROPOUT, &req);
    step(40, TL_TFAULT_DROPOUT, &req);
    req.event = TL_PEVENT_STARTUP_DONE; /* a policy event without a target change */
    step(50, TL_TFAULT_DROPOUT, &req);

    tl_event_t ev = next_event();
    TL_EXPECT_EQ(ev.type, TL_EVENT_CONFIG);
    TL_EXPECT_EQ(ev.detail, TL_POLICY_OPEN_LOOP);
    TL_EXPECT(ev.aux == 334u || ev.aux == 333u || ev.aux == 335u); /* Shannon k x 1000 */
    ev = next_event();
    TL_EXPECT_EQ(ev.type, TL_EVENT_POLICY); /* start event while off: no target change */
    ev = next_event();
    TL_EXPECT_EQ(ev.type, TL_EVENT_COMMAND);
    TL_EXPECT_EQ(ev.detail, TL_CMD_START);
    TL_EXPECT_EQ(ev.aux, TL_SUP_CMD_OK);
    TL_EXPECT_EQ(ev.time_ms, 5);
    ev = next_event();
    TL_EXPECT_EQ(ev.type, TL_EVENT_THERAPY);
    TL_EXPECT_EQ(ev.reason, TL_REASON_COMMAND);
    TL_EXPECT_EQ(ev.detail, TL_CMD_START);
    TL_EXPECT_EQ(ev.time_ms, 10);
    TL_EXPECT_EQ(ev.before.enabled, 0);
    TL_EXPECT_EQ(ev.after.enabled, 1);
    TL_EXPECT_EQ(ev.after.amplitude_ua, 1000);
    TL_EXPECT_EQ(ev.after.pulse_width_us, 60);
    TL_EXPECT_MEM_EQ(ev.model_hash, hash, 8);
    TL_EXPECT_EQ(ev.therapy_state, TL_THERAPY_RUNNING);
    ev = next_event();
    TL_EXPECT_EQ(ev.type, TL_EVENT_FAULT);
    TL_EXPECT_EQ(ev.detail, TL_TFAULT_DROPOUT);
    TL_EXPECT_EQ(ev.aux, 0);
    ev = next_event();
    TL_EXPECT_EQ(ev.type, TL_EVENT_THERAPY);
    TL_EXPECT_EQ(ev.reason, TL_REASON_FAULT);
    TL_EXPECT_EQ(ev.detail, TL_TFAULT_DROPOUT);
    TL_EXPECT_EQ(ev.before.amplitude_ua, 40); /* delivered when it happened */
    TL_EXPECT_EQ(ev.after.amplitude_ua, 500);
    ev = next_event();
    TL_EXPECT_EQ(ev.type, TL_EVENT_POLICY);
    TL_EXPECT_EQ(ev.detail, TL_PEVENT_STARTUP_DONE);
    TL_EXPECT_EQ(next_event().type, 0); /* ramping steps are not events */
}

static void test_clock_glitches_do_not_make_jumps(void)
{
    tl_therapy_config_t cfg = config();
    setup(&cfg);
    tl_policy_output_t req = request(3000, 60, 1300);
    tl_supervisor_command(&g_sup, TL_CMD_START, 0, NULL);
    step(1000, 0, &req);
    step(1010, 0, &req);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 20);
    /* the clock goes back 5 ms: no time passed, not 49 days */
    step(1005, 0, &req);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 20);
    step(1015, 0, &req);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 40);
    /* a 10 s stall: one step moves at most slew x 1 s */
    step(11015, 0, &req);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 2040);
    step(11025, 0, &req);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 2060);
}

int main(void)
{
    TL_RUN(test_unconfigured_is_locked_out);
    TL_RUN(test_start_ramps_at_the_slew_limit);
    TL_RUN(test_slow_slew_carries_the_remainder);
    TL_RUN(test_pause_is_immediate_and_resume_ramps);
    TL_RUN(test_sensor_fault_fallback_with_hysteresis);
    TL_RUN(test_fallback_off_and_model_faults);
    TL_RUN(test_link_fault_is_off_at_once);
    TL_RUN(test_clamps);
    TL_RUN(test_lowering_the_limit_while_running);
    TL_RUN(test_runtime_recheck_locks_out);
    TL_RUN(test_event_log_records_changes);
    TL_RUN(test_clock_glitches_do_not_make_jumps);
    return tl_test_summary();
}
