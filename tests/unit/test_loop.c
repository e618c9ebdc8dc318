/*
 * test_loop.c - the control loop: sample clock, one step per hop, stimulator frames,
 * sensor faults (saturation, lead-off, flatline, gaps, silence), model faults (no model,
 * injected overrun), commands, atomic settings, stimulator link faults and the latch.
 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "data/loop_mlp.c"
#include "platform_host.h"
#include "theraloop/afe_link.h"
#include "theraloop/loop/loop.h"
#include "theraloop/loop/settings.h"
#include "tl_test.h"

#define MAX_STEPS 4096
#define MAX_STIM (64 * 1024)

static tl_loop_t g_loop;
static uint8_t g_stim[MAX_STIM];
static size_t g_stim_len;
static tl_telemetry_record_t g_rec[MAX_STEPS];
static uint8_t g_silence[MAX_STEPS];
static size_t g_steps;
static uint16_t g_seq;

static void out_fn(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    if (g_stim_len + len <= sizeof g_stim) {
        memcpy(g_stim + g_stim_len, data, len);
    }
    g_stim_len += len;
}

static void step_fn(void *ctx, const tl_loop_step_info_t *info)
{
    (void)ctx;
    if (g_steps < MAX_STEPS) {
        g_rec[g_steps] = *info->rec;
        g_silence[g_steps] = info->silence;
    }
    g_steps++;
}

/* A loop with the built-in pipeline and no model (whatever factory models this build has). */
static void fresh(void)
{
    tl_host_use_virtual_clock(true);
    tl_model_source_ram_update(NULL, NULL);
    g_stim_len = 0;
    g_steps = 0;
    g_seq = 0;
    tl_loop_init(&g_loop, out_fn, NULL);
    tl_loop_set_step_hook(&g_loop, step_fn, NULL);
    tl_loop_config_t cfg;
    tl_loop_config_defaults(&cfg);
    TL_EXPECT_EQ(tl_loop_configure(&g_loop, &cfg, NULL), TL_LOOP_CFG_OK);
    g_stim_len = 0;
}

static tl_set_err_t set(const char *name, int64_t value)
{
    tl_setting_t s;
    memset(&s, 0, sizeof s);
    s.name = name;
    s.name_len = strlen(name);
    s.value = value;
    tl_set_result_t r;
    return tl_settings_apply(&g_loop, &s, 1, &r);
}

static tl_set_err_t set_text(const char *name, const char *text)
{
    tl_setting_t s;
    memset(&s, 0, sizeof s);
    s.name = name;
    s.name_len = strlen(name);
    s.text = text;
    s.text_len = strlen(text);
    s.is_text = 1;
    tl_set_result_t r;
    return tl_settings_apply(&g_loop, &s, 1, &r);
}

/* Feed frames x channels samples as AFE blocks of `block` samples per channel. */
static void feed(const int16_t *x, size_t frames, uint8_t channels, uint8_t block, uint8_t flags)
{
    uint8_t buf[TL_AFE_MAX_FRAME];
    uint16_t rate = (uint16_t)tl_loop_config(&g_loop)->afe_rate_hz;
    while (frames > 0u) {
        uint8_t n = frames < block ? (uint8_t)frames : block;
        size_t len = tl_afe_encode(buf, sizeof buf, g_seq++, flags, rate, channels, n, x);
        TL_EXPECT(len > 0u);
        tl_loop_afe_input(&g_loop, buf, len);
        x += (size_t)n * channels;
        frames -= n;
    }
}

static int16_t g_x[20000];

static void noise(size_t n, int amp, unsigned seed)
{
    srand(seed);
    for (size_t i = 0; i < n; i++) {
        g_x[i] = (int16_t)((rand() % (2 * amp + 1)) - amp);
    }
}

/* Parse the captured stimulator stream into STIM_SET commands. */
static size_t stim_commands(tl_stim_command_t *out, size_t max)
{
    tl_stim_parser_t p;
    tl_stim_parser_init(&p);
    size_t n = 0;
    for (size_t i = 0; i < g_stim_len && i < sizeof g_stim; i++) {
        tl_stim_frame_t f;
        if (tl_stim_parser_feed(&p, g_stim[i], &f) && n < max) {
            TL_EXPECT(tl_stim_decode_set(&f, &out[n]));
            n++;
        }
    }
    TL_EXPECT_EQ(p.stats.bad_crc, 0);
    TL_EXPECT_EQ(p.stats.discarded, 0);
    return n;
}

static tl_stim_command_t g_cmds[MAX_STEPS + 16];

static void test_clock_steps_and_frames(void)
{
    fresh();
    TL_EXPECT_EQ(tl_loop_command(&g_loop, TL_CMD_START), TL_SUP_CMD_OK);
    noise(1000, 300, 1);
    feed(g_x, 1000, 1, 7, 0); /* 1000 samples at 1000 Hz, hop 20: 50 steps */
    TL_EXPECT_EQ(g_steps, 50);
    TL_EXPECT_EQ(tl_loop_now_ms(&g_loop), 1000);
    for (size_t i = 0; i < g_steps; i++) {
        TL_EXPECT_EQ(g_rec[i].time_ms, 20u * (uint32_t)(i + 1u));
        TL_EXPECT_EQ(g_rec[i].step, i);
    }
    size_t n = stim_commands(g_cmds, MAX_STEPS);
    TL_EXPECT_EQ(n, 51); /* the start command's frame + one per step */
    for (size_t i = 1; i < n; i++) {
        TL_EXPECT_EQ((uint16_t)(g_cmds[i].seq - g_cmds[i - 1].seq), 1);
    }
    /* open loop at the slew limit: 2000 uA/s, so 1000 uA after 0.5 s, then steady */
    TL_EXPECT_EQ(g_cmds[n - 1].stim.amplitude_ua, 1000);
    TL_EXPECT_EQ(g_cmds[n - 1].stim.enabled, 1);
    TL_EXPECT_EQ(tl_loop_counters(&g_loop)->steps, 50);
    TL_EXPECT_EQ(tl_loop_stage(&g_loop, TL_STAGE_STEP)->count, 50);
}

/* The output depends on the samples only, not on how they are cut into AFE blocks. */
static void test_block_size_does_not_matter(void)
{
    static uint8_t first[MAX_STIM];
    size_t first_len = 0;
    static const uint8_t blocks[] = {1, 7, 20, 33, 255};
    noise(3000, 2000, 9);
    for (size_t b = 0; b < sizeof blocks; b++) {
        fresh();
        TL_EXPECT_EQ(set_text("policy", "open_loop"), TL_SET_OK);
        TL_EXPECT_EQ(tl_loop_command(&g_loop, TL_CMD_START), TL_SUP_CMD_OK);
        feed(g_x, 3000, 1, blocks[b], 0);
        if (b == 0) {
            memcpy(first, g_stim, g_stim_len);
            first_len = g_stim_len;
        } else {
            TL_EXPECT_EQ(g_stim_len, first_len);
            TL_EXPECT_MEM_EQ(g_stim, first, first_len);
        }
    }
}

static void test_afe_flags(void)
{
    fresh();
    noise(400, 300, 2);
    feed(g_x, 100, 1, 20, 0);
    feed(g_x + 100, 20, 1, 20, TL_AFE_FLAG_SATURATED);
    feed(g_x + 120, 40, 1, 20, 0);
    feed(g_x + 160, 10, 1, 10, TL_AFE_FLAG_LEAD_OFF); /* half a hop */
    feed(g_x + 170, 30, 1, 10, 0);
    TL_EXPECT_EQ(g_steps, 10);
    TL_EXPECT_EQ(g_rec[4].faults & TL_TFAULT_SATURATION, 0);
    TL_EXPECT(g_rec[5].faults & TL_TFAULT_SATURATION);
    TL_EXPECT_EQ(g_rec[6].faults & TL_TFAULT_SATURATION, 0);
    TL_EXPECT(g_rec[8].faults & TL_LOOP_FAULT_LEAD_OFF); /* the hop that held its samples */
    TL_EXPECT_EQ(g_rec[9].faults & TL_LOOP_FAULT_LEAD_OFF, 0);
}

static void test_flatline(void)
{
    fresh();
    TL_EXPECT_EQ(set("flatline_ms", 100), TL_SET_OK);
    noise(200, 300, 3);
    for (size_t i = 200; i < 600; i++) {
        g_x[i] = 17; /* stuck */
    }
    noise(0, 0, 0);
    feed(g_x, 200, 1, 20, 0);
    size_t before = g_steps;
    for (size_t i = 0; i < 400; i++) {
        g_x[i] = 17;
    }
    feed(g_x, 400, 1, 20, 0);
    /* unchanged for 100 samples (100 ms) after the first stuck sample: from the step
     * ending at sample 300 (the first stuck sample repeats the run's start value) */
    size_t first = 0;
    for (size_t i = before; i < g_steps; i++) {
        if (g_rec[i].faults & TL_TFAULT_FLATLINE) {
            first = i;
            break;
        }
    }
    TL_EXPECT(first > before);
    TL_EXPECT_EQ(g_rec[first].time_ms, 320);
    TL_EXPECT(g_rec[g_steps - 1].faults & TL_TFAULT_FLATLINE);
    noise(40, 300, 4);
    feed(g_x, 40, 1, 20, 0);
    TL_EXPECT_EQ(g_rec[g_steps - 1].faults & TL_TFAULT_FLATLINE, 0);
}

static void test_gap_is_a_dropout_until_the_window_refills(void)
{
    fresh();
    noise(2000, 300, 5);
    feed(g_x, 600, 1, 20, 0); /* window (500 ms) full */
    TL_EXPECT_EQ(g_rec[g_steps - 1].faults & TL_TFAULT_DROPOUT, 0);
    g_seq += 3; /* three blocks lost */
    size_t at = g_steps;
    feed(g_x + 600, 1000, 1, 20, 0);
    TL_EXPECT(g_rec[at].faults & TL_TFAULT_DROPOUT);
    /* 25 hops to refill the window after the feature reset */
    TL_EXPECT(g_rec[at + 23].faults & TL_TFAULT_DROPOUT);
    TL_EXPECT_EQ(g_rec[at + 24].faults & TL_TFAULT_DROPOUT, 0);
    TL_EXPECT_EQ(tl_loop_afe_stats(&g_loop)->missing_blocks, 3);
    TL_EXPECT_EQ(tl_loop_counters(&g_loop)->gaps, 1);
    /* the lost samples are not counted by the clock */
    TL_EXPECT_EQ(tl_loop_now_ms(&g_loop), 1600);
}

static void test_silence_steps(void)
{
    fresh();
    noise(600, 300, 6);
    feed(g_x, 600, 1, 20, 0);
    size_t n = g_steps;
    /* therapy off: silence is not acted on */
    for (int i = 0; i < 500; i++) {
        tl_host_advance_ms(1);
        tl_loop_poll(&g_loop);
    }
    TL_EXPECT_EQ(g_steps, n);
    TL_EXPECT_EQ(tl_loop_command(&g_loop, TL_CMD_START), TL_SUP_CMD_OK);
    /* the dropout timeout (200 ms) counts from the start command */
    for (int i = 0; i < 199; i++) {
        tl_host_advance_ms(1);
        tl_loop_poll(&g_loop);
    }
    TL_EXPECT_EQ(g_steps, n);
    tl_host_advance_ms(1);
    tl_loop_poll(&g_loop);
    TL_EXPECT_EQ(g_steps, n + 1);
    TL_EXPECT(g_silence[n]);
    TL_EXPECT(g_rec[n].faults & TL_TFAULT_DROPOUT);
    TL_EXPECT_EQ(g_rec[n].time_ms, 620); /* the clock goes on by one hop */
    for (int i = 0; i < 100; i++) {
        tl_host_advance_ms(1);
        tl_loop_poll(&g_loop);
    }
    TL_EXPECT_EQ(g_steps, n + 6); /* one per hop (20 ms) of uptime */
    TL_EXPECT_EQ(g_rec[g_steps - 1].mode, TL_SUP_MODE_FALLBACK);
    /* data again: a dropout until the window refilled */
    feed(g_x, 40, 1, 20, 0);
    TL_EXPECT(g_rec[g_steps - 1].faults & TL_TFAULT_DROPOUT);
    TL_EXPECT_EQ(g_silence[g_steps - 1], 0);
}

static void test_adaptive_without_model_falls_back(void)
{
    fresh();
    TL_EXPECT_EQ(set_text("policy", "adaptive"), TL_SET_OK);
    TL_EXPECT_EQ(tl_loop_command(&g_loop, TL_CMD_START), TL_SUP_CMD_OK);
    noise(200, 300, 7);
    feed(g_x, 200, 1, 20, 0);
    TL_EXPECT(g_rec[0].faults & TL_TFAULT_MODEL_LOAD);
    TL_EXPECT_EQ(g_rec[0].mode, TL_SUP_MODE_FALLBACK);
    TL_EXPECT_EQ(tl_loop_model_step(&g_loop)->err, TL_MODEL_ERR_NONE);
    /* open loop needs no model: no fault */
    TL_EXPECT_EQ(set_text("policy", "open_loop"), TL_SET_OK);
    feed(g_x, 20, 1, 20, 0);
    TL_EXPECT_EQ(g_rec[g_steps - 1].faults & TL_TFAULT_MODEL_LOAD, 0);
}

static alignas(16) uint8_t g_arena[8192];
static tl_nn_model_t g_mlp;

static void use_ram_mlp(void)
{
    TL_EXPECT_EQ(tl_nn_load(&g_mlp, loop_mlp_info.data, loop_mlp_info.size, g_arena,
                            sizeof g_arena),
                 TL_NN_OK);
    tl_model_source_ram_update(&g_mlp, loop_mlp_info.sha256);
    /* 4 channels x 4 bands = the model's 16 inputs */
    tl_setting_t s[6];
    memset(s, 0, sizeof s);
    const char *names[] = {"model", "afe_channels", "line_length", "area", "score_class",
                           "artifact_class"};
    int64_t values[] = {TL_MODEL_SRC_RAM, 4, 0, 0, 1, 2};
    for (int i = 0; i < 6; i++) {
        s[i].name = names[i];
        s[i].name_len = strlen(names[i]);
        s[i].value = values[i];
    }
    tl_set_result_t r;
    TL_EXPECT_EQ(tl_settings_apply(&g_loop, s, 6, &r), TL_SET_OK);
}

static void test_ram_model_runs_and_rebinds(void)
{
    fresh();
    use_ram_mlp();
    TL_EXPECT(tl_model_step_bound(tl_loop_model_step(&g_loop)));
    noise(4 * 1000, 500, 8);
    feed(g_x, 1000, 4, 10, 0);
    TL_EXPECT_EQ(g_rec[23].score_valid, 0); /* warm-up: window not full */
    TL_EXPECT_EQ(tl_loop_counters(&g_loop)->inferences, 26); /* steps 25..50 */
    int valid = 0;
    for (size_t i = 24; i < g_steps; i++) {
        valid += g_rec[i].score_valid;
        TL_EXPECT(g_rec[i].score_valid || g_rec[i].model_class == 2);
    }
    TL_EXPECT(valid > 0);
    /* the hash of the model is stamped into the events */
    TL_EXPECT_EQ(tl_loop_command(&g_loop, TL_CMD_START), TL_SUP_CMD_OK);
    tl_event_t ev;
    tl_ring_read_t rr = tl_event_log_read(tl_loop_event_log(&g_loop),
                                          tl_loop_event_log(&g_loop)->ring.next_seq - 1u, &ev, 1);
    TL_EXPECT_EQ(rr.count, 1);
    TL_EXPECT_MEM_EQ(ev.model_hash, loop_mlp_info.sha256, TL_MODEL_HASH_LEN);
    /* the RAM model goes away: the next inference finds no model */
    tl_model_source_ram_update(NULL, NULL);
    TL_EXPECT_EQ(set_text("policy", "adaptive"), TL_SET_OK);
    feed(g_x, 20, 4, 10, 0);
    TL_EXPECT(g_rec[g_steps - 1].faults & TL_TFAULT_MODEL_LOAD);
    TL_EXPECT(!tl_model_step_bound(tl_loop_model_step(&g_loop)));
    /* a pipeline that does not fit the model: refused binding, with the reason */
    use_ram_mlp();
    TL_EXPECT_EQ(set("area", 1), TL_SET_OK);
    TL_EXPECT_EQ(tl_loop_model_step(&g_loop)->err, TL_MODEL_ERR_INPUT_SIZE);
    feed(g_x, 20, 4, 10, 0);
    TL_EXPECT(g_rec[g_steps - 1].faults & TL_TFAULT_MODEL_LOAD);
}

static void test_injected_overrun_falls_back_next_step(void)
{
    fresh();
    TL_EXPECT_EQ(tl_loop_command(&g_loop, TL_CMD_START), TL_SUP_CMD_OK);
    noise(6000, 300, 10);
    feed(g_x, 600, 1, 20, 0);
    TL_EXPECT_EQ(g_rec[g_steps - 1].mode, TL_SUP_MODE_POLICY);
    TL_EXPECT_EQ(set("debug_overrun", 1), TL_SET_OK);
    size_t at = g_steps;
    feed(g_x, 60, 1, 20, 0);
    TL_EXPECT_EQ(g_rec[at].faults & TL_TFAULT_MODEL_DEADLINE, 0); /* this step overran */
    TL_EXPECT(g_rec[at + 1].faults & TL_TFAULT_MODEL_DEADLINE);   /* fallback at the next */
    TL_EXPECT_EQ(g_rec[at + 1].mode, TL_SUP_MODE_FALLBACK);
    TL_EXPECT_EQ(tl_loop_counters(&g_loop)->overruns, 3);
    TL_EXPECT_EQ(set("debug_overrun", 0), TL_SET_OK);
    feed(g_x, 20 * 260, 1, 20, 0); /* model_fault_hold_ms 5000 after the last overrun */
    TL_EXPECT_EQ(g_rec[g_steps - 1].faults, 0);
    TL_EXPECT_EQ(g_rec[g_steps - 1].mode, TL_SUP_MODE_POLICY);
}

static void test_pause_takes_effect_in_the_call(void)
{
    fresh();
    TL_EXPECT(!tl_host_stim_enabled());
    TL_EXPECT_EQ(tl_loop_command(&g_loop, TL_CMD_START), TL_SUP_CMD_OK);
    noise(1200, 300, 11);
    feed(g_x, 1200, 1, 20, 0);
    size_t n = stim_commands(g_cmds, MAX_STEPS);
    TL_EXPECT(g_cmds[n - 1].stim.amplitude_ua > 0);
    TL_EXPECT(tl_host_stim_enabled()); /* hardware enable follows the "on" commands */
    TL_EXPECT_EQ(tl_loop_command(&g_loop, TL_CMD_PAUSE), TL_SUP_CMD_OK);
    TL_EXPECT(!tl_host_stim_enabled()); /* and drops with the pause */
    size_t m = stim_commands(g_cmds, MAX_STEPS);
    TL_EXPECT_EQ(m, n + 1); /* sent inside the command, before any further sample */
    TL_EXPECT_EQ(g_cmds[m - 1].stim.enabled, 0);
    TL_EXPECT_EQ(g_cmds[m - 1].stim.amplitude_ua, 0);
    TL_EXPECT_EQ(tl_loop_command(&g_loop, TL_CMD_PAUSE), TL_SUP_CMD_ERR_STATE);
    feed(g_x, 100, 1, 20, 0);
    TL_EXPECT_EQ(g_rec[g_steps - 1].enabled, 0);
    TL_EXPECT_EQ(tl_loop_command(&g_loop, TL_CMD_RESUME), TL_SUP_CMD_OK);
    feed(g_x, 100, 1, 20, 0);
    TL_EXPECT(g_rec[g_steps - 1].amplitude_ua > 0);
}

static void test_settings_are_atomic(void)
{
    fresh();
    tl_setting_t s[3];
    memset(s, 0, sizeof s);
    s[0].name = "open_loop_amplitude_ua";
    s[0].name_len = strlen(s[0].name);
    s[0].value = 1500;
    s[1].name = "hop_samples";
    s[1].name_len = strlen(s[1].name);
    s[1].value = 10;
    s[2].name = "amplitude_max_ua";
    s[2].name_len = strlen(s[2].name);
    s[2].value = 20000; /* far above the charge-density limit */
    tl_set_result_t r;
    TL_EXPECT_EQ(tl_settings_apply(&g_loop, s, 3, &r), TL_SET_ERR_THERAPY);
    TL_EXPECT(strlen(r.why) > 0u);
    TL_EXPECT_EQ(tl_loop_therapy_config(&g_loop)->open_loop_amplitude_ua, 1000);
    TL_EXPECT_EQ(tl_loop_config(&g_loop)->hop_samples, 20);
    /* a loop field out of range */
    s[2].name = "window_hops";
    s[2].name_len = strlen(s[2].name);
    s[2].value = 500;
    TL_EXPECT_EQ(tl_settings_apply(&g_loop, s, 3, &r), TL_SET_ERR_LOOP);
    TL_EXPECT_EQ(r.cfg_err, TL_LOOP_CFG_ERR_RANGE);
    /* a whole-pipeline error: window longer than the feature stage can hold */
    s[2].value = 64;
    s[1].value = 100;
    TL_EXPECT_EQ(tl_settings_apply(&g_loop, s, 3, &r), TL_SET_ERR_LOOP);
    TL_EXPECT_EQ(r.cfg_err, TL_LOOP_CFG_ERR_FEATURES);
    TL_EXPECT_EQ(tl_loop_config(&g_loop)->hop_samples, 20);
    /* unknown, repeated, wrong choice */
    TL_EXPECT_EQ(set("no_such_field", 1), TL_SET_ERR_UNKNOWN_KEY);
    s[1] = s[0];
    TL_EXPECT_EQ(tl_settings_apply(&g_loop, s, 2, &r), TL_SET_ERR_BAD_VALUE);
    TL_EXPECT_EQ(set_text("policy", "aggressive"), TL_SET_ERR_BAD_VALUE);
    TL_EXPECT_EQ(set_text("model", "no_such_model"), TL_SET_ERR_BAD_VALUE);
    TL_EXPECT_EQ(set_text("hop_samples", "twenty"), TL_SET_ERR_BAD_VALUE);
    TL_EXPECT_EQ(set_text("pipeline", "raw"), TL_SET_OK);
    TL_EXPECT_EQ(set("raw_len", 0), TL_SET_ERR_LOOP); /* raw pipeline needs a raw window */
    /* accepted: both applied */
    s[0].value = 1500;
    s[1].name = "hop_samples";
    s[1].name_len = strlen(s[1].name);
    s[1].value = 10;
    TL_EXPECT_EQ(tl_settings_apply(&g_loop, s, 2, &r), TL_SET_OK);
    TL_EXPECT_EQ(tl_loop_therapy_config(&g_loop)->open_loop_amplitude_ua, 1500);
    TL_EXPECT_EQ(tl_loop_config(&g_loop)->hop_samples, 10);
    /* the namespace */
    TL_EXPECT_EQ(tl_settings_find("policy", 6), 15);
    TL_EXPECT(tl_settings_find("afe_rate_hz", 11) >= 44);
    int64_t v;
    const char *choice;
    TL_EXPECT(tl_settings_get(&g_loop, (size_t)tl_settings_find("pipeline", 8), &v, &choice));
    TL_EXPECT(choice != NULL && strcmp(choice, "raw") == 0);
}

static void test_lower_limit_cuts_output_at_once(void)
{
    fresh();
    TL_EXPECT_EQ(tl_loop_command(&g_loop, TL_CMD_START), TL_SUP_CMD_OK);
    noise(1000, 300, 12);
    feed(g_x, 1000, 1, 20, 0);
    size_t n = stim_commands(g_cmds, MAX_STEPS);
    TL_EXPECT_EQ(g_cmds[n - 1].stim.amplitude_ua, 1000);
    tl_setting_t s[3];
    memset(s, 0, sizeof s);
    s[0].name = "amplitude_max_ua";
    s[0].name_len = strlen(s[0].name);
    s[0].value = 800;
    s[1].name = "open_loop_amplitude_ua";
    s[1].name_len = strlen(s[1].name);
    s[1].value = 800;
    s[2].name = "suspend_amplitude_ua";
    s[2].name_len = strlen(s[2].name);
    s[2].value = 500;
    tl_set_result_t r;
    TL_EXPECT_EQ(tl_settings_apply(&g_loop, s, 3, &r), TL_SET_OK);
    size_t m = stim_commands(g_cmds, MAX_STEPS);
    TL_EXPECT_EQ(m, n + 1);
    TL_EXPECT_EQ(g_cmds[m - 1].stim.amplitude_ua, 800);
}

static void test_stim_link_fault_and_latch(void)
{
    fresh();
    TL_EXPECT_EQ(tl_loop_command(&g_loop, TL_CMD_START), TL_SUP_CMD_OK);
    noise(2000, 300, 13);
    feed(g_x, 400, 1, 20, 0);
    tl_stim_status_frame_t st = {.ack_seq = 3, .status = TL_STIM_STATUS_HW_FAULT};
    uint8_t buf[TL_STIM_MAX_FRAME];
    size_t len = tl_stim_encode_status(&st, buf, sizeof buf);
    tl_loop_stim_input(&g_loop, buf, len);
    feed(g_x, 20, 1, 20, 0);
    TL_EXPECT(g_rec[g_steps - 1].faults & TL_TFAULT_LINK_DEVICE);
    TL_EXPECT_EQ(g_rec[g_steps - 1].mode, TL_SUP_MODE_LINK_SAFE);
    TL_EXPECT_EQ(g_rec[g_steps - 1].enabled, 0);
    tl_host_counters_t before;
    tl_host_counters(&before);
    for (int i = 0; i < 10050; i++) { /* stim_latch_ms */
        tl_host_advance_ms(1);
        tl_loop_poll(&g_loop);
        if (i % 20 == 0) {
            feed(g_x, 20, 1, 20, 0);
        }
    }
    tl_host_counters_t after;
    tl_host_counters(&after);
    TL_EXPECT_EQ(after.stim_safe, before.stim_safe + 1u);
    TL_EXPECT_EQ(tl_loop_counters(&g_loop)->stim_latches, 1);
    /* garbage on the link is counted, not acted on */
    uint8_t junk[300];
    for (size_t i = 0; i < sizeof junk; i++) {
        junk[i] = (uint8_t)(i * 37u + 0xAAu);
    }
    tl_loop_stim_input(&g_loop, junk, sizeof junk);
    TL_EXPECT(tl_loop_stim_parser_stats(&g_loop)->discarded > 0u);
    tl_host_boot(TL_RESET_POWER_ON); /* the host's latched safe state ends with a boot */
}

static void test_garbage_on_the_afe_link(void)
{
    fresh();
    TL_EXPECT_EQ(tl_loop_command(&g_loop, TL_CMD_START), TL_SUP_CMD_OK);
    srand(14);
    uint8_t junk[4096];
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < sizeof junk; i++) {
            junk[i] = (uint8_t)rand();
            if (rand() % 50 == 0) {
                junk[i] = TL_AFE_SYNC0;
            }
        }
        tl_loop_afe_input(&g_loop, junk, sizeof junk);
    }
    noise(200, 300, 15);
    feed(g_x, 200, 1, 20, 0);
    TL_EXPECT(g_steps >= 10u);
    TL_EXPECT(tl_loop_afe_stats(&g_loop)->bytes_discarded > 0u);
    /* frames of another rate are counted and dropped */
    uint8_t buf[TL_AFE_MAX_FRAME];
    size_t len = tl_afe_encode(buf, sizeof buf, g_seq++, 0, 500, 1, 20, g_x);
    size_t n = g_steps;
    tl_loop_afe_input(&g_loop, buf, len);
    TL_EXPECT_EQ(g_steps, n);
    TL_EXPECT_EQ(tl_loop_afe_stats(&g_loop)->config_mismatch, 1);
}

int main(void)
{
    TL_RUN(test_clock_steps_and_frames);
    TL_RUN(test_block_size_does_not_matter);
    TL_RUN(test_afe_flags);
    TL_RUN(test_flatline);
    TL_RUN(test_gap_is_a_dropout_until_the_window_refills);
    TL_RUN(test_silence_steps);
    TL_RUN(test_adaptive_without_model_falls_back);
    TL_RUN(test_ram_model_runs_and_rebinds);
    TL_RUN(test_injected_overrun_falls_back_next_step);
    TL_RUN(test_pause_takes_effect_in_the_call);
    TL_RUN(test_settings_are_atomic);
    TL_RUN(test_lower_limit_cuts_output_at_once);
    TL_RUN(test_stim_link_fault_and_latch);
    TL_RUN(test_garbage_on_the_afe_link);
    return tl_test_summary();
}
