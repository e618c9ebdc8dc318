/*
 * Record rings (event log, telemetry): sequence numbers, "since N" reads, overrun counts,
 * readers ahead of the producer, wrap of the sequence counter; and the therapy object
 * feeding both once per step.
 */
#include <string.h>

#include "theraloop/therapy/therapy.h"
#include "tl_test.h"

typedef struct {
    uint32_t seq;
    uint32_t value;
} rec_t;

static void test_ring_since_and_overrun(void)
{
    rec_t storage[8];
    rec_t out[16];
    tl_record_ring_t r;
    TL_EXPECT(!tl_record_ring_init(&r, storage, 3, 8));  /* size not a multiple of 4 */
    TL_EXPECT(!tl_record_ring_init(&r, storage, 8, 0));  /* no capacity */
    TL_EXPECT(!tl_record_ring_init(&r, NULL, 8, 8));
    TL_EXPECT(tl_record_ring_init(&r, storage, sizeof(rec_t), 8));
    tl_ring_read_t res = tl_record_ring_read(&r, 0, out, 16);
    TL_EXPECT_EQ(res.count, 0);
    TL_EXPECT_EQ(res.next_seq, 0);
    for (uint32_t i = 0; i < 5; i++) {
        rec_t rec = {0xFFFFFFFFu, 100u + i};
        TL_EXPECT_EQ(tl_record_ring_push(&r, &rec), i);
    }
    res = tl_record_ring_read(&r, 2, out, 16);
    TL_EXPECT_EQ(res.count, 3);
    TL_EXPECT_EQ(res.lost, 0);
    TL_EXPECT_EQ(res.next_seq, 5);
    TL_EXPECT_EQ(out[0].seq, 2);
    TL_EXPECT_EQ(out[0].value, 102);
    TL_EXPECT_EQ(out[2].seq, 4);
    /* 20 records into 8 slots: a reader at 0 lost 12. */
    for (uint32_t i = 5; i < 20; i++) {
        rec_t rec = {0, 100u + i};
        tl_record_ring_push(&r, &rec);
    }
    res = tl_record_ring_read(&r, 0, out, 16);
    TL_EXPECT_EQ(res.lost, 12);
    TL_EXPECT_EQ(res.count, 8);
    TL_EXPECT_EQ(out[0].seq, 12);
    TL_EXPECT_EQ(out[7].value, 119);
    TL_EXPECT_EQ(res.next_seq, 20);
    /* Paged reads. */
    res = tl_record_ring_read(&r, 14, out, 2);
    TL_EXPECT_EQ(res.count, 2);
    TL_EXPECT_EQ(res.next_seq, 16);
    /* Up to date: nothing, no loss. */
    res = tl_record_ring_read(&r, 20, out, 16);
    TL_EXPECT_EQ(res.count, 0);
    TL_EXPECT_EQ(res.lost, 0);
    TL_EXPECT_EQ(res.future, 0);
    /* A reader ahead of the producer (the device restarted): told so, and where to go. */
    res = tl_record_ring_read(&r, 1000, out, 16);
    TL_EXPECT_EQ(res.future, 1);
    TL_EXPECT_EQ(res.count, 0);
    TL_EXPECT_EQ(res.next_seq, 12);
    TL_EXPECT_EQ(tl_record_ring_oldest(&r), 12);
    tl_record_ring_clear(&r);
    res = tl_record_ring_read(&r, 12, out, 16);
    TL_EXPECT_EQ(res.lost, 8);
    TL_EXPECT_EQ(res.count, 0);
}

static void test_ring_sequence_wraps(void)
{
    rec_t storage[8];
    rec_t out[8];
    tl_record_ring_t r;
    TL_EXPECT(tl_record_ring_init(&r, storage, sizeof(rec_t), 8));
    r.next_seq = UINT32_MAX - 2u; /* as if 4 billion records had gone by */
    for (uint32_t i = 0; i < 6; i++) {
        rec_t rec = {0, i};
        tl_record_ring_push(&r, &rec);
    }
    TL_EXPECT_EQ(r.next_seq, 3);
    tl_ring_read_t res = tl_record_ring_read(&r, UINT32_MAX - 1u, out, 8);
    TL_EXPECT_EQ(res.count, 5);
    TL_EXPECT_EQ(res.lost, 0);
    TL_EXPECT_EQ(out[0].value, 1);
    TL_EXPECT_EQ(out[1].seq, UINT32_MAX);
    TL_EXPECT_EQ(out[2].seq, 0);
    TL_EXPECT_EQ(res.next_seq, 3);
}

static tl_event_t g_events[16];
static tl_telemetry_record_t g_records[32];

static void test_therapy_feeds_log_and_telemetry(void)
{
    tl_event_log_t log;
    tl_telemetry_t tele;
    tl_therapy_t th;
    TL_EXPECT(tl_event_log_init(&log, g_events, 16));
    TL_EXPECT(tl_telemetry_init(&tele, g_records, 32));
    tl_therapy_init(&th, &log, &tele);
    static const uint8_t hash[8] = {0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3};
    tl_therapy_set_model_hash(&th, hash);

    tl_therapy_config_t cfg;
    tl_therapy_config_defaults(&cfg);
    cfg.policy = TL_POLICY_ADAPTIVE;
    cfg.adaptive_startup_ms = 0;
    tl_therapy_check_t check;
    /* refused first: nothing applied, and the refusal is in the log */
    cfg.adaptive_ramp_up_ms = 1;
    TL_EXPECT_EQ(tl_therapy_configure(&th, &cfg, 0, &check), TL_THERAPY_CFG_ERR_RAMP);
    TL_EXPECT_EQ(th.configured, 0);
    cfg.adaptive_ramp_up_ms = 2000;
    TL_EXPECT_EQ(tl_therapy_configure(&th, &cfg, 0, &check), TL_THERAPY_CFG_OK);
    TL_EXPECT_EQ(tl_therapy_command(&th, TL_CMD_START, 0, NULL), TL_SUP_CMD_OK);
    for (uint32_t i = 0; i < 40; i++) {
        tl_therapy_input_t in;
        memset(&in, 0, sizeof in);
        in.now_ms = i * 10u;
        in.score = 50000;
        in.score_valid = 1;
        in.model_class = 2;
        in.n_features = 6; /* more than fit: 4 kept */
        for (int32_t f = 0; f < 4; f++) {
            in.features[f] = (int32_t)i * 10 + f;
        }
        tl_supervisor_output_t out;
        tl_therapy_step(&th, &in, &out);
    }
    tl_telemetry_record_t recs[40];
    tl_ring_read_t res = tl_telemetry_read(&tele, 0, recs, 40);
    TL_EXPECT_EQ(res.lost, 8);
    TL_EXPECT_EQ(res.count, 32);
    TL_EXPECT_EQ(recs[0].seq, 8);
    TL_EXPECT_EQ(recs[0].step, 8);
    TL_EXPECT_EQ(recs[0].time_ms, 80);
    TL_EXPECT_EQ(recs[0].features[3], 83);
    TL_EXPECT_EQ(recs[0].n_features, 4);
    TL_EXPECT_EQ(recs[0].model_class, 2);
    TL_EXPECT_EQ(recs[0].score, 50000);
    TL_EXPECT_EQ(recs[0].therapy_state, TL_THERAPY_RUNNING);
    TL_EXPECT_EQ(recs[0].mode, TL_SUP_MODE_POLICY);
    TL_EXPECT_EQ(recs[0].enabled, 1);
    TL_EXPECT_EQ(recs[0].pulse_width_us, 60);
    /* onset 1000 ms has not passed: still LOW, at (ramping towards) the lower amplitude */
    TL_EXPECT_EQ(recs[31].policy_state, TL_PSTATE_ADAPTIVE_LOW);
    TL_EXPECT_EQ(recs[31].amplitude_ua, 780); /* 2 mA/s from 0 for 390 ms */
    TL_EXPECT_EQ(recs[31].target_ua, 1000);

    tl_event_t evs[16];
    res = tl_event_log_read(&log, 0, evs, 16);
    TL_EXPECT_EQ(res.lost, 0);
    TL_EXPECT(res.count >= 4u);
    TL_EXPECT_EQ(evs[0].type, TL_EVENT_CONFIG_REFUSED);
    TL_EXPECT_EQ(evs[0].aux, TL_THERAPY_CFG_ERR_RAMP);
    TL_EXPECT_EQ(evs[1].type, TL_EVENT_CONFIG);
    TL_EXPECT_EQ(evs[1].detail, TL_POLICY_ADAPTIVE);
    TL_EXPECT_EQ(evs[2].type, TL_EVENT_COMMAND);
    TL_EXPECT_EQ(evs[3].type, TL_EVENT_THERAPY);
    TL_EXPECT_EQ(evs[3].after.amplitude_ua, 1000);
    TL_EXPECT_MEM_EQ(evs[3].model_hash, hash, 8);
    TL_EXPECT_EQ(tl_therapy_sizeof(TL_SIZEOF_EVENT), 52);
    TL_EXPECT_EQ(tl_therapy_sizeof(TL_SIZEOF_TELEMETRY_RECORD), 52);
    TL_EXPECT_EQ(tl_therapy_sizeof(99), 0);
    TL_EXPECT(strcmp(tl_event_type_name(TL_EVENT_FAULT), "fault") == 0);
    TL_EXPECT(strcmp(tl_reason_name(TL_REASON_RECOVERED), "recovered") == 0);
    TL_EXPECT(strcmp(tl_sup_mode_name(TL_SUP_MODE_LINK_SAFE), "link_safe") == 0);
    TL_EXPECT(strcmp(tl_therapy_state_name(TL_THERAPY_PAUSED), "paused") == 0);
    TL_EXPECT(strcmp(tl_therapy_cmd_name(TL_CMD_RESUME), "resume") == 0);
}

static void test_resume_restarts_the_policy(void)
{
    tl_therapy_t th;
    tl_therapy_init(&th, NULL, NULL);
    tl_therapy_config_t cfg;
    tl_therapy_config_defaults(&cfg);
    cfg.policy = TL_POLICY_ADAPTIVE;
    cfg.adaptive_startup_ms = 500;
    TL_EXPECT_EQ(tl_therapy_configure(&th, &cfg, 0, NULL), TL_THERAPY_CFG_OK);
    TL_EXPECT_EQ(tl_therapy_command(&th, TL_CMD_START, 0, NULL), TL_SUP_CMD_OK);
    tl_therapy_input_t in;
    memset(&in, 0, sizeof in);
    tl_supervisor_output_t out;
    for (uint32_t t = 0; t <= 600; t += 10) {
        in.now_ms = t;
        tl_therapy_step(&th, &in, &out);
    }
    TL_EXPECT_EQ(th.last_request.state, TL_PSTATE_ADAPTIVE_LOW);
    tl_therapy_command(&th, TL_CMD_PAUSE, 605, &out);
    TL_EXPECT_EQ(out.stim.amplitude_ua, 0);
    in.now_ms = 610;
    tl_therapy_step(&th, &in, &out);
    TL_EXPECT_EQ(th.last_request.state, TL_PSTATE_NONE); /* the policy is not stepped */
    tl_therapy_command(&th, TL_CMD_RESUME, 615, &out);
    in.now_ms = 620;
    tl_therapy_step(&th, &in, &out);
    TL_EXPECT_EQ(th.last_request.state, TL_PSTATE_ADAPTIVE_STARTUP);
    TL_EXPECT_EQ(th.last_request.event, TL_PEVENT_START);
}

static void test_reconfiguring_keeps_the_daily_count(void)
{
    tl_therapy_t th;
    tl_therapy_init(&th, NULL, NULL);
    tl_therapy_config_t cfg;
    tl_therapy_config_defaults(&cfg);
    cfg.policy = TL_POLICY_RESPONSIVE;
    cfg.responsive_onset_ms = 0;
    cfg.responsive_max_bursts_per_day = 3;
    cfg.responsive_max_bursts_per_episode = 16;
    cfg.responsive_refractory_ms = 0;
    TL_EXPECT_EQ(tl_therapy_configure(&th, &cfg, 0, NULL), TL_THERAPY_CFG_OK);
    tl_therapy_command(&th, TL_CMD_START, 0, NULL);
    tl_therapy_input_t in;
    memset(&in, 0, sizeof in);
    in.score = 30000;
    in.score_valid = 1;
    for (uint32_t t = 0; t < 10000; t += 10) {
        in.now_ms = t;
        tl_therapy_step(&th, &in, NULL);
    }
    TL_EXPECT_EQ(tl_responsive_day_count(&th.policy.u.responsive), 3);
    cfg.burst_amplitude_ua = 900; /* a clinician tweak */
    TL_EXPECT_EQ(tl_therapy_configure(&th, &cfg, 10000, NULL), TL_THERAPY_CFG_OK);
    TL_EXPECT_EQ(tl_responsive_day_count(&th.policy.u.responsive), 3);
    TL_EXPECT_EQ(th.policy.u.responsive.burst_ua, 900);
    cfg.policy = TL_POLICY_OPEN_LOOP;
    TL_EXPECT_EQ(tl_therapy_configure(&th, &cfg, 10010, NULL), TL_THERAPY_CFG_OK);
    cfg.policy = TL_POLICY_RESPONSIVE;
    TL_EXPECT_EQ(tl_therapy_configure(&th, &cfg, 10020, NULL), TL_THERAPY_CFG_OK);
    TL_EXPECT_EQ(tl_responsive_day_count(&th.policy.u.responsive), 0);
}

int main(void)
{
    TL_RUN(test_ring_since_and_overrun);
    TL_RUN(test_ring_sequence_wraps);
    TL_RUN(test_therapy_feeds_log_and_telemetry);
    TL_RUN(test_resume_restarts_the_policy);
    TL_RUN(test_reconfiguring_keeps_the_daily_count);
    return tl_test_summary();
}
