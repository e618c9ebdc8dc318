/*
 * Responsive policy timing semantics: onset, burst duration, refractory period, bursts per
 * episode, episode end, rolling daily limit, sensing blanked during a burst.
 */
#include <string.h>

#include "theraloop/therapy/policy.h"
#include "tl_test.h"

#define HOUR 3600000u

static tl_therapy_config_t base_config(void)
{
    tl_therapy_config_t cfg;
    tl_therapy_config_defaults(&cfg);
    cfg.policy = TL_POLICY_RESPONSIVE;
    cfg.slew_max_ua_per_s = 20000;
    cfg.responsive_threshold = 100;
    cfg.responsive_onset_ms = 50;
    cfg.burst_amplitude_ua = 1000;
    cfg.burst_pulse_width_us = 100;
    cfg.burst_rate_dhz = 2000;
    cfg.burst_duration_ms = 200;
    cfg.responsive_max_bursts_per_episode = 3;
    cfg.responsive_refractory_ms = 300;
    cfg.responsive_episode_end_ms = 1000;
    cfg.responsive_max_bursts_per_day = 5;
    return cfg;
}

static tl_responsive_t g_p;
static tl_policy_output_t g_out;
static uint32_t g_bursts;

static void start(const tl_therapy_config_t *cfg)
{
    TL_EXPECT_EQ(tl_therapy_config_validate(cfg, NULL), TL_THERAPY_CFG_OK);
    tl_responsive_init(&g_p, cfg);
    g_bursts = 0;
}

static void step(uint32_t t, int32_t score)
{
    tl_policy_input_t in;
    memset(&in, 0, sizeof in);
    in.now_ms = t;
    in.score = score;
    in.score_valid = 1;
    tl_responsive_step(&g_p, &in, &g_out);
    if (g_out.event == TL_PEVENT_BURST_START) {
        g_bursts++;
    }
}

/* Steps every `hop` ms over [from, to); returns the first time `event` is seen. */
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

static void test_detection_burst_refractory(void)
{
    tl_therapy_config_t cfg = base_config();
    start(&cfg);
    step(0, 0);
    TL_EXPECT_EQ(g_out.event, TL_PEVENT_START);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_RESPONSIVE_IDLE);
    TL_EXPECT_EQ(g_out.stim.enabled, 0);
    /* Detection from t=10 must persist 50 ms: burst at t=60. */
    TL_EXPECT_EQ(run(10, 70, 10, 100, TL_PEVENT_BURST_START), 60);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_RESPONSIVE_BURST);
    TL_EXPECT_EQ(g_out.stim.enabled, 1);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 1000);
    TL_EXPECT_EQ(g_out.stim.pulse_width_us, 100);
    TL_EXPECT_EQ(g_out.stim.rate_dhz, 2000);
    TL_EXPECT_EQ(g_out.target_ua, 1000);
    /* 200 ms burst, even though the score drops (sensing is blanked during the burst). */
    TL_EXPECT_EQ(run(70, 270, 10, 0, TL_PEVENT_BURST_END), 260);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_RESPONSIVE_REFRACTORY);
    TL_EXPECT_EQ(g_out.stim.enabled, 0);
    TL_EXPECT_EQ(g_out.stim.amplitude_ua, 0);
    /* A detection during the refractory period waits for its end (t = 560). */
    TL_EXPECT_EQ(run(270, 560, 10, 500, TL_PEVENT_BURST_START), UINT32_MAX);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_RESPONSIVE_REFRACTORY);
    step(560, 500);
    TL_EXPECT_EQ(g_out.event, TL_PEVENT_BURST_START);
    TL_EXPECT_EQ(g_bursts, 2);
}

static void test_bursts_per_episode_and_episode_end(void)
{
    tl_therapy_config_t cfg = base_config();
    start(&cfg);
    /* Detection held: bursts at 50, 550, 1050 (3 per episode), then limited. */
    uint32_t limited = run(0, 3000, 10, 500, TL_PEVENT_LIMIT_EPISODE);
    TL_EXPECT_EQ(g_bursts, 3);
    TL_EXPECT_EQ(limited, 1550);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_RESPONSIVE_LIMITED);
    TL_EXPECT_EQ(g_out.stim.enabled, 0);
    /* Absent for less than episode_end: still the same episode. */
    TL_EXPECT_EQ(run(3000, 3990, 10, 0, TL_PEVENT_EPISODE_END), UINT32_MAX);
    TL_EXPECT_EQ(run(3990, 4060, 10, 500, TL_PEVENT_BURST_START), UINT32_MAX);
    /* Absent for episode_end: the episode ends... */
    TL_EXPECT_EQ(run(4060, 5100, 10, 0, TL_PEVENT_EPISODE_END), 5060);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_RESPONSIVE_IDLE);
    /* ...and a new detection gets a burst again. */
    TL_EXPECT_EQ(run(5100, 5200, 10, 500, TL_PEVENT_BURST_START), 5150);
    TL_EXPECT_EQ(g_bursts, 4);
}

static void test_daily_limit_is_a_rolling_window(void)
{
    tl_therapy_config_t cfg = base_config();
    cfg.responsive_max_bursts_per_episode = 16;
    start(&cfg);
    /* Five bursts in the first seconds, then the day's limit. */
    TL_EXPECT_EQ(run(0, 5000, 10, 500, TL_PEVENT_LIMIT_DAY), 2550);
    TL_EXPECT_EQ(g_bursts, 5);
    TL_EXPECT_EQ(tl_responsive_day_count(&g_p), 5);
    /* Still counted 24 h later (quiet night, one step a second)... */
    (void)run(5000, 24u * HOUR + 5000u, 1000, 0, TL_PEVENT_NONE);
    TL_EXPECT_EQ(run(24u * HOUR + 5000u, 24u * HOUR + 6000u, 10, 500, TL_PEVENT_BURST_START),
                 UINT32_MAX);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_RESPONSIVE_LIMITED);
    TL_EXPECT_EQ(tl_responsive_day_count(&g_p), 5);
    /* ...and released within 25 h (the bursts were in the first hour bucket). */
    (void)run(24u * HOUR + 6000u, 25u * HOUR, 1000, 0, TL_PEVENT_NONE);
    TL_EXPECT_EQ(tl_responsive_day_count(&g_p), 5);
    step(25u * HOUR, 0);
    TL_EXPECT_EQ(tl_responsive_day_count(&g_p), 0);
    uint32_t again = run(25u * HOUR + 10u, 25u * HOUR + 200u, 10, 500, TL_PEVENT_BURST_START);
    TL_EXPECT(again != UINT32_MAX);
    TL_EXPECT_EQ(g_bursts, 6);
}

static void test_reset_keeps_the_daily_count(void)
{
    tl_therapy_config_t cfg = base_config();
    cfg.responsive_max_bursts_per_episode = 16;
    start(&cfg);
    (void)run(0, 5000, 10, 500, TL_PEVENT_NONE);
    TL_EXPECT_EQ(g_bursts, 5);
    tl_responsive_reset(&g_p);
    step(6000, 500);
    TL_EXPECT_EQ(g_out.event, TL_PEVENT_START);
    TL_EXPECT_EQ(run(6010, 7000, 10, 500, TL_PEVENT_BURST_START), UINT32_MAX);
    TL_EXPECT_EQ(tl_responsive_day_count(&g_p), 5);
    /* init() starts a fresh day. */
    tl_responsive_init(&g_p, &cfg);
    TL_EXPECT_EQ(tl_responsive_day_count(&g_p), 0);
}

static void test_onset_zero_and_invalid_scores(void)
{
    tl_therapy_config_t cfg = base_config();
    cfg.responsive_onset_ms = 0;
    start(&cfg);
    tl_policy_input_t in = {.now_ms = 0, .score = 1000, .score_valid = 0};
    tl_responsive_step(&g_p, &in, &g_out);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_RESPONSIVE_IDLE); /* invalid: no detection */
    step(10, 100);
    TL_EXPECT_EQ(g_out.event, TL_PEVENT_BURST_START); /* onset 0: first step */
}

static void test_burst_ends_on_time_with_coarse_steps(void)
{
    tl_therapy_config_t cfg = base_config();
    cfg.responsive_onset_ms = 0;
    cfg.responsive_refractory_ms = 0;
    start(&cfg);
    step(0, 100);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_RESPONSIVE_BURST);
    step(150, 100);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_RESPONSIVE_BURST);
    step(200, 100); /* 200 ms: over */
    TL_EXPECT_EQ(g_out.event, TL_PEVENT_BURST_END);
    /* Refractory 0: the next step can start the next burst (detection restarts). */
    step(210, 100);
    TL_EXPECT_EQ(g_out.event, TL_PEVENT_BURST_START);
}

static void test_clock_going_backwards_is_no_time(void)
{
    tl_therapy_config_t cfg = base_config();
    cfg.responsive_onset_ms = 0;
    start(&cfg);
    step(1000, 100);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_RESPONSIVE_BURST);
    step(900, 100); /* 100 ms back: not 49 days forward */
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_RESPONSIVE_BURST);
    step(1090, 100);
    TL_EXPECT_EQ(g_out.state, TL_PSTATE_RESPONSIVE_BURST);
    step(1100, 100); /* 200 ms of burst counted from t=900 */
    TL_EXPECT_EQ(g_out.event, TL_PEVENT_BURST_END);
}

int main(void)
{
    TL_RUN(test_detection_burst_refractory);
    TL_RUN(test_bursts_per_episode_and_episode_end);
    TL_RUN(test_daily_limit_is_a_rolling_window);
    TL_RUN(test_reset_keeps_the_daily_count);
    TL_RUN(test_onset_zero_and_invalid_scores);
    TL_RUN(test_burst_ends_on_time_with_coarse_steps);
    TL_RUN(test_clock_going_backwards_is_no_time);
    return tl_test_summary();
}
