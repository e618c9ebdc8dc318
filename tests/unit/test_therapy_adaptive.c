/*
 * Adaptive policy timing semantics: onset, termination, blanking, startup delay, ramps,
 * single and dual threshold, hold.
 */
#include <string.h>

#include "theraloop/therapy/policy.h"
#include "tl_test.h"

static tl_therapy_config_t base_config(void)
{
    tl_therapy_config_t cfg;
    tl_therapy_config_defaults(&cfg);
    cfg.policy = TL_POLICY_ADAPTIVE;
    cfg.slew_max_ua_per_s = 100000;
    cfg.adaptive_mode = TL_ADAPTIVE_SINGLE;
    cfg.adaptive_threshold_lower = 100;
    cfg.adaptive_threshold_upper = 200;
    cfg.adaptive_amplitude_lower_ua = 1000;
    cfg.adaptive_amplitude_upper_ua = 2000;
    cfg.adaptive_onset_ms = 300;
    cfg.adaptive_termination_ms = 500;
    cfg.adaptive_blanking_ms = 0;
    cfg.adaptive_startup_ms = 0;
    cfg.adaptive_ramp_up_ms = 1000;
    cfg.adaptive_ramp_down_ms = 2000;
    return cfg;
}

static tl_adaptive_t g_p;
static tl_policy_output_t g_out;

static void start(const tl_therapy_config_t *cfg)
{
    TL_EXPECT_EQ(tl_therapy_config_validate(cfg, NULL), TL_THERAPY_CFG_OK);
    tl_adaptive_init(&g_p, cfg);
}

static void step(uint32_t t, int32_t score)
{
    tl_policy_input_t in;
    memset(&in, 0, sizeof in);
    in.now_ms = t;
    in.score = score;
    in.score_valid = 1;
    tl_adaptive_step(&g_p, &in, &g_out);
}

/* Steps every `hop` ms over [from, to) with a constant score; returns the time of the
 * first step with `event` (UINT32_MAX if none). */
static uint32_t run(uint32_t from, uint32_t to, uint32_t hop, int32_t score, uint8_t event)
{
    uint32_t seen = UINT32_MAX;
    for (uint32_t t = from; t < to; t += hop) {
        step(t, score);
        if (g_out.event == event && seen == UINT32_MAX) {
            seen = t;
        }
    }
    return seen;
}

static void test_single_threshold_onset_and_ramp_up(void)
{
    tl_therapy_config_t cfg = base_config();
    start(&cfg);
    step(0, 0);
    TL_EXPECT_EQ(g_out.event, TL_PEVENT_START);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_ADAPTIVE_LOW);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 1000);
    TL_EXPECT_EQ(g_out.stim.enabled, 1);
    TL_EXPECT_EQ(g_out.stim.pulse_width_us, cfg.pulse_width_us);
    TL_EXPECT_EQ(g_out.stim.rate_dhz, cfg.rate_dhz);
    /* Score at the threshold (>=) from t=10: the rise must persist 300 ms. */
    TL_EXPECT_EQ(run(10, 320, 10, 200, TL_PEVENT_ZONE_UP), 310);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_ADAPTIVE_HIGH);
    /* The ramp starts with the next step: lower -> upper in exactly 1000 ms. */
    step(310, 200); /* same time again: dt 0, no movement */
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 1000);
    TL_EXPECT_EQ(g_out.target_ua, 2000);
    (void)run(320, 820, 10, 200, TL_PEVENT_NONE);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 1500); /* t = 810: 500 ms into the ramp */
    (void)run(820, 1320, 10, 200, TL_PEVENT_NONE);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 2000); /* t = 1310 */
    step(1320, 200);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 2000);
}

static void test_onset_restarts_when_interrupted(void)
{
    tl_therapy_config_t cfg = base_config();
    start(&cfg);
    TL_EXPECT_EQ(run(0, 290, 10, 500, TL_PEVENT_ZONE_UP), UINT32_MAX); /* 280 ms held */
    step(290, 199);                                                    /* one step below */
    TL_EXPECT_EQ(run(300, 600, 10, 500, TL_PEVENT_ZONE_UP), UINT32_MAX); /* 290 ms held */
    TL_EXPECT_EQ(run(600, 700, 10, 500, TL_PEVENT_ZONE_UP), 600);
    /* A missing score breaks persistence the same way. */
    tl_policy_input_t in = {.now_ms = 700, .score = -1000, .score_valid = 0};
    tl_adaptive_step(&g_p, &in, &g_out);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_ADAPTIVE_HIGH);
}

static void test_termination_and_ramp_down(void)
{
    tl_therapy_config_t cfg = base_config();
    cfg.adaptive_onset_ms = 0;
    start(&cfg);
    TL_EXPECT_EQ(run(0, 10, 10, 1000, TL_PEVENT_ZONE_UP), 0); /* onset 0: first step */
    (void)run(10, 1100, 10, 1000, TL_PEVENT_NONE);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 2000);
    /* Below the threshold from t=1100: the fall must persist 500 ms. */
    TL_EXPECT_EQ(run(1100, 1700, 10, 0, TL_PEVENT_ZONE_DOWN), 1600);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_ADAPTIVE_LOW);
    TL_EXPECT_EQ(g_out.target_ua, 1000);
    /* Ramp down takes 2000 ms for the whole span. */
    (void)run(1700, 2610, 10, 0, TL_PEVENT_NONE);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 1500); /* t = 2600: 1000 ms of 2000 */
    (void)run(2610, 3610, 10, 0, TL_PEVENT_NONE);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 1000);
}

static void test_blanking_ignores_the_score_after_a_change(void)
{
    tl_therapy_config_t cfg = base_config();
    cfg.adaptive_onset_ms = 0;
    cfg.adaptive_termination_ms = 0;
    cfg.adaptive_blanking_ms = 400;
    start(&cfg);
    TL_EXPECT_EQ(run(0, 10, 10, 1000, TL_PEVENT_ZONE_UP), 0);
    /* Low scores during the 400 ms blanking are ignored... */
    TL_EXPECT_EQ(run(10, 400, 10, 0, TL_PEVENT_ZONE_DOWN), UINT32_MAX);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_ADAPTIVE_HIGH);
    /* ...and looked at again once it is over (termination 0: at once). */
    TL_EXPECT_EQ(run(400, 420, 10, 0, TL_PEVENT_ZONE_DOWN), 400);
    /* The blanking restarts with that change. */
    TL_EXPECT_EQ(run(420, 800, 10, 1000, TL_PEVENT_ZONE_UP), UINT32_MAX);
    TL_EXPECT_EQ(run(800, 810, 10, 1000, TL_PEVENT_ZONE_UP), 800);
}

static void test_startup_delay(void)
{
    tl_therapy_config_t cfg = base_config();
    cfg.adaptive_startup_ms = 1000;
    start(&cfg);
    step(0, 1000);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_ADAPTIVE_STARTUP);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 1000);
    TL_EXPECT_EQ(run(10, 1000, 10, 1000, TL_PEVENT_ZONE_UP), UINT32_MAX);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_ADAPTIVE_STARTUP);
    step(1000, 1000);
    TL_EXPECT_EQ(g_out.event, TL_PEVENT_STARTUP_DONE);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_ADAPTIVE_LOW);
    /* Persistence counts from the end of the startup delay. */
    TL_EXPECT_EQ(run(1010, 1400, 10, 1000, TL_PEVENT_ZONE_UP), 1300);
    /* reset: startup again, back at the lower amplitude */
    tl_adaptive_reset(&g_p);
    step(5000, 1000);
    TL_EXPECT_EQ(g_out.event, TL_PEVENT_START);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_ADAPTIVE_STARTUP);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 1000);
}

static void test_dual_threshold_holds_between(void)
{
    tl_therapy_config_t cfg = base_config();
    cfg.adaptive_mode = TL_ADAPTIVE_DUAL;
    cfg.adaptive_onset_ms = 0;
    cfg.adaptive_termination_ms = 0;
    start(&cfg);
    step(0, 150);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_ADAPTIVE_MID); /* starts holding the lower amplitude */
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 1000);
    /* Above upper: ramp up. */
    TL_EXPECT_EQ(run(10, 20, 10, 200, TL_PEVENT_ZONE_UP), 10);
    (void)run(20, 410, 10, 300, TL_PEVENT_NONE);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 1390); /* t = 400: 390 ms into the ramp */
    /* Between the thresholds: hold what has been reached. */
    TL_EXPECT_EQ(run(410, 420, 10, 150, TL_PEVENT_ZONE_DOWN), 410);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_ADAPTIVE_MID);
    uint16_t held = g_out.stim.amplitude_ua;
    TL_EXPECT_EQ(held, 1400); /* the ramp up to t = 410, then hold */
    TL_EXPECT_EQ(g_out.target_ua, held);
    (void)run(420, 2000, 10, 100, TL_PEVENT_NONE); /* lower threshold itself is "between" */
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, held);
    /* Below lower: ramp down to the lower amplitude (400 uA at 0.5 uA/ms = 800 ms). */
    TL_EXPECT_EQ(run(2000, 2010, 10, 99, TL_PEVENT_ZONE_DOWN), 2000);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_ADAPTIVE_LOW);
    (void)run(2010, 2800, 10, 99, TL_PEVENT_NONE);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 1005); /* t = 2790 */
    (void)run(2800, 2820, 10, 99, TL_PEVENT_NONE);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 1000);
}

static void test_ramp_is_exact_with_uneven_steps(void)
{
    tl_therapy_config_t cfg = base_config();
    cfg.adaptive_onset_ms = 0;
    cfg.adaptive_ramp_up_ms = 3000;
    start(&cfg);
    step(0, 1000); /* zone up at t = 0 */
    for (uint32_t k = 1; k <= 430; k++) {
        step(7u * k, 1000);
        uint32_t expected = 1000u + (1000u * 7u * k) / 3000u;
        if (expected > 2000u) {
            expected = 2000u;
        }
        TL_EXPECT_EQ(g_out.stim.amplitude_ua, expected);
    }
}

static void test_lower_limit_zero_means_off(void)
{
    tl_therapy_config_t cfg = base_config();
    cfg.adaptive_amplitude_lower_ua = 0;
    cfg.adaptive_onset_ms = 0;
    start(&cfg);
    step(0, 0);
    TL_EXPECT_EQ(g_out.stim.enabled, 0);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 0);
    step(10, 500);
    TL_EXPECT_EQ(g_out.target_ua, 2000);
    step(20, 500);
    TL_EXPECT_EQ(g_out.stim.enabled, 1);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 20);
}

static void test_open_loop_and_dispatch(void)
{
    tl_therapy_config_t cfg;
    tl_therapy_config_defaults(&cfg);
    tl_policy_t p;
    tl_policy_output_t out;
    tl_policy_input_t in = {.now_ms = 5, .score = 0, .score_valid = 1};
    TL_EXPECT_EQ(tl_policy_init(&p, &cfg), TL_THERAPY_CFG_OK);
    tl_policy_step(&p, &in, &out);
    TL_EXPECT_EQ(out.event, TL_PEVENT_START);
    TL_EXPECT_EQ(out.state, TL_PSTATE_OPEN_LOOP);
    TL_EXPECT_EQ(out.stim.amplitude_ua, 1000);
    TL_EXPECT_EQ(out.stim.pulse_width_us, 60);
    TL_EXPECT_EQ(out.stim.rate_dhz, 1300);
    in.now_ms = 15;
    tl_policy_step(&p, &in, &out);
    TL_EXPECT_EQ(out.event, TL_PEVENT_NONE);
    TL_EXPECT_EQ(out.stim.amplitude_ua, 1000);
    /* An invalid configuration leaves the policy unconfigured: no stimulation request. */
    cfg.amplitude_max_ua = 26000;
    TL_EXPECT_EQ(tl_policy_init(&p, &cfg), TL_THERAPY_CFG_ERR_RANGE);
    tl_policy_step(&p, &in, &out);
    TL_EXPECT_EQ(out.stim.enabled, 0);
    TL_EXPECT_EQ(out.stim.amplitude_ua, 0);
    TL_EXPECT_EQ(out.state, TL_PSTATE_NONE);
    TL_EXPECT(strcmp(tl_policy_state_name(TL_PSTATE_ADAPTIVE_MID), "mid") == 0);
    TL_EXPECT(strcmp(tl_policy_event_name(TL_PEVENT_LIMIT_DAY), "limit_day") == 0);
    TL_EXPECT(strcmp(tl_policy_kind_name(TL_POLICY_RESPONSIVE), "responsive") == 0);
}

int main(void)
{
    TL_RUN(test_single_threshold_onset_and_ramp_up);
    TL_RUN(test_onset_restarts_when_interrupted);
    TL_RUN(test_termination_and_ramp_down);
    TL_RUN(test_blanking_ignores_the_score_after_a_change);
    TL_RUN(test_startup_delay);
    TL_RUN(test_dual_threshold_holds_between);
    TL_RUN(test_ramp_is_exact_with_uneven_steps);
    TL_RUN(test_lower_limit_zero_means_off);
    TL_RUN(test_open_loop_and_dispatch);
    return tl_test_summary();
}
