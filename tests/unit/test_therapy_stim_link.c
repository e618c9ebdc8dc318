/*
 * Stimulator link: frame encoding (golden bytes), the stream parser on garbage, split and
 * corrupted input, typed decoders, and the link monitor's fault bits.
 */
#include <string.h>

#include "theraloop/crc16.h"
#include "theraloop/therapy/stim_link.h"
#include "theraloop/therapy/supervisor.h"
#include "tl_test.h"

static tl_stim_params_t stim(uint16_t amp, uint16_t pw, uint16_t rate)
{
    tl_stim_params_t s;
    memset(&s, 0, sizeof s);
    s.amplitude_ua = amp;
    s.pulse_width_us = pw;
    s.rate_dhz = rate;
    s.interphase_gap_us = 20;
    s.waveform = TL_WAVEFORM_BIPHASIC_PASSIVE;
    s.enabled = amp > 0u;
    return s;
}

static void test_encode_set_golden(void)
{
    uint8_t buf[TL_STIM_MAX_FRAME];
    tl_stim_params_t s = stim(2500, 60, 1302);
    TL_EXPECT_EQ(tl_stim_encode_set(&s, 0x1234, buf, sizeof buf), TL_STIM_SET_FRAME_LEN);
    const uint8_t head[] = {0xAA, 0x53, 0x01, 0x01, 12,
                            0x34, 0x12,       /* seq */
                            0x03, 0x00,       /* enable | passive waveform << 1 */
                            0xC4, 0x09,       /* 2500 uA */
                            0x3C, 0x00,       /* 60 us */
                            0x16, 0x05,       /* 130.2 Hz */
                            0x14, 0x00};      /* 20 us gap */
    TL_EXPECT_MEM_EQ(buf, head, sizeof head);
    uint16_t crc = tl_crc16_xmodem(0, buf + 2, 15);
    TL_EXPECT_EQ(buf[17], crc >> 8);
    TL_EXPECT_EQ(buf[18], crc & 0xFF);
    TL_EXPECT_EQ(tl_stim_encode_set(&s, 1, buf, TL_STIM_SET_FRAME_LEN - 1u), 0);
    /* Disabled: amplitude forced to 0 on the wire. */
    s.enabled = 0;
    TL_EXPECT_EQ(tl_stim_encode_set(&s, 2, buf, sizeof buf), TL_STIM_SET_FRAME_LEN);
    TL_EXPECT_EQ(buf[7] & 1u, 0);
    TL_EXPECT_EQ(buf[9], 0);
    TL_EXPECT_EQ(buf[10], 0);
}

static uint32_t feed(tl_stim_parser_t *p, const uint8_t *data, size_t len, tl_stim_frame_t *frames,
                     uint32_t max)
{
    uint32_t n = 0;
    for (size_t i = 0; i < len; i++) {
        tl_stim_frame_t f;
        if (tl_stim_parser_feed(p, data[i], &f) && n < max) {
            frames[n++] = f;
        }
    }
    return n;
}

static void test_parser_finds_frames_in_garbage(void)
{
    uint8_t stream[256];
    size_t len = 0;
    const uint8_t garbage[] = {0x00, 0xAA, 0xAA, 0x53, 0x02, 0xFF, 0xAA, 0x53, 0x01, 0x01, 40};
    memcpy(stream + len, garbage, sizeof garbage); /* incl. bad version and oversize length */
    len += sizeof garbage;
    tl_stim_params_t s = stim(1000, 90, 1300);
    len += tl_stim_encode_set(&s, 7, stream + len, sizeof stream - len);
    size_t bad_at = len;
    len += tl_stim_encode_set(&s, 8, stream + len, sizeof stream - len);
    stream[bad_at + 10] ^= 0x40u; /* corrupt the second frame */
    tl_stim_status_frame_t st = {.ack_seq = 7, .status = TL_STIM_STATUS_OK, .output_active = 1,
                                 .delivered_ua = 1000, .impedance_ohm = 1200};
    len += tl_stim_encode_status(&st, stream + len, sizeof stream - len);
    /* a frame whose payload contains the sync bytes */
    tl_stim_params_t sync_like = stim(0x53AA, 0xAA53, 0x53AA);
    len += tl_stim_encode_set(&sync_like, 0xAA53, stream + len, sizeof stream - len);

    tl_stim_parser_t p;
    tl_stim_parser_init(&p);
    tl_stim_frame_t frames[8];
    uint32_t n = feed(&p, stream, len, frames, 8);
    TL_EXPECT_EQ(n, 3);
    tl_stim_command_t cmd;
    TL_EXPECT(tl_stim_decode_set(&frames[0], &cmd));
    TL_EXPECT_EQ(cmd.seq, 7);
    TL_EXPECT_EQ(cmd.stim.amplitude_ua, 1000);
    TL_EXPECT_EQ(cmd.stim.pulse_width_us, 90);
    TL_EXPECT_EQ(cmd.stim.rate_dhz, 1300);
    TL_EXPECT_EQ(cmd.stim.interphase_gap_us, 20);
    TL_EXPECT_EQ(cmd.stim.waveform, TL_WAVEFORM_BIPHASIC_PASSIVE);
    TL_EXPECT_EQ(cmd.stim.enabled, 1);
    tl_stim_status_frame_t got;
    TL_EXPECT(!tl_stim_decode_set(&frames[1], &cmd));
    TL_EXPECT(tl_stim_decode_status(&frames[1], &got));
    TL_EXPECT_MEM_EQ(&got, &st, sizeof st);
    TL_EXPECT(tl_stim_decode_set(&frames[2], &cmd));
    TL_EXPECT_EQ(cmd.seq, 0xAA53);
    TL_EXPECT_EQ(cmd.stim.pulse_width_us, 0xAA53);
    TL_EXPECT_EQ(p.stats.frames, 3);
    TL_EXPECT_EQ(p.stats.bad_crc, 1);
    TL_EXPECT_EQ(p.stats.bad_header, 2);
    TL_EXPECT(p.stats.discarded > 0u);
}

static void test_parser_byte_by_byte_equals_all_at_once(void)
{
    /* Every split point of a two-frame stream gives the same frames. */
    uint8_t stream[64];
    tl_stim_params_t s = stim(321, 60, 1000);
    size_t len = tl_stim_encode_set(&s, 1, stream, sizeof stream);
    len += tl_stim_encode_set(&s, 2, stream + len, sizeof stream - len);
    for (size_t cut = 0; cut <= len; cut++) {
        tl_stim_parser_t p;
        tl_stim_parser_init(&p);
        tl_stim_frame_t frames[4];
        uint32_t n = feed(&p, stream, cut, frames, 4);
        n += feed(&p, stream + cut, len - cut, frames + n, 4u - n);
        TL_EXPECT_EQ(n, 2);
        TL_EXPECT_EQ(frames[1].payload[0], 2);
    }
}

static void test_decoders_reject_malformed_payloads(void)
{
    uint8_t buf[TL_STIM_MAX_FRAME];
    tl_stim_params_t s = stim(500, 60, 1300);
    tl_stim_encode_set(&s, 3, buf, sizeof buf);
    tl_stim_frame_t f;
    memset(&f, 0, sizeof f);
    f.type = TL_STIM_TYPE_SET;
    f.version = 1;
    f.len = TL_STIM_SET_PAYLOAD;
    memcpy(f.payload, buf + 5, TL_STIM_SET_PAYLOAD);
    tl_stim_command_t cmd;
    TL_EXPECT(tl_stim_decode_set(&f, &cmd));
    f.payload[2] = 0x10; /* unknown flag */
    TL_EXPECT(!tl_stim_decode_set(&f, &cmd));
    f.payload[2] = 0x05; /* waveform 2 does not exist */
    TL_EXPECT(!tl_stim_decode_set(&f, &cmd));
    f.payload[2] = 0x00; /* disabled but amplitude 500 */
    TL_EXPECT(!tl_stim_decode_set(&f, &cmd));
    f.payload[2] = 0x01;
    f.payload[3] = 1; /* reserved */
    TL_EXPECT(!tl_stim_decode_set(&f, &cmd));
    f.payload[3] = 0;
    f.len = 11;
    TL_EXPECT(!tl_stim_decode_set(&f, &cmd));
    TL_EXPECT(!tl_stim_decode_set(NULL, &cmd));
    tl_stim_status_frame_t st;
    f.type = TL_STIM_TYPE_STATUS;
    f.len = TL_STIM_STATUS_PAYLOAD;
    f.payload[3] = 2; /* unknown flag */
    TL_EXPECT(!tl_stim_decode_status(&f, &st));
}

static void test_monitor(void)
{
    tl_stim_monitor_t m;
    tl_stim_monitor_init(&m, 100);
    TL_EXPECT_EQ(tl_stim_monitor_faults(&m, 0), 0);
    tl_stim_status_frame_t st = {.ack_seq = 0, .status = TL_STIM_STATUS_OK};
    /* an acknowledgment before anything was sent */
    tl_stim_monitor_status(&m, &st, 0);
    TL_EXPECT_EQ(tl_stim_monitor_faults(&m, 0), TL_TFAULT_LINK_NACK);
    TL_EXPECT_EQ(m.stats.bad_acks, 1);
    tl_stim_monitor_init(&m, 100);
    /* commands every 10 ms, acknowledged: no fault */
    uint16_t seq = 0;
    for (uint32_t t = 0; t < 500; t += 10) {
        tl_stim_monitor_sent(&m, seq, t);
        st.ack_seq = seq;
        tl_stim_monitor_status(&m, &st, t + 2);
        TL_EXPECT_EQ(tl_stim_monitor_faults(&m, t + 5), 0);
        seq++;
    }
    /* the stimulator goes quiet: a timeout after 100 ms without progress */
    uint32_t t = 500;
    for (; t <= 600; t += 10) {
        tl_stim_monitor_sent(&m, seq++, t);
        TL_EXPECT_EQ(tl_stim_monitor_faults(&m, t), 0);
    }
    tl_stim_monitor_sent(&m, seq++, t);
    TL_EXPECT_EQ(tl_stim_monitor_faults(&m, t), TL_TFAULT_LINK_TIMEOUT);
    TL_EXPECT_EQ(m.stats.timeouts, 1);
    /* it answers again */
    st.ack_seq = (uint16_t)(seq - 1u);
    tl_stim_monitor_status(&m, &st, t + 1);
    TL_EXPECT_EQ(tl_stim_monitor_faults(&m, t + 2), 0);
    /* rejected / device faults, cleared by the next good status */
    tl_stim_monitor_sent(&m, seq, t + 10);
    st.ack_seq = seq;
    st.status = TL_STIM_STATUS_OUT_OF_RANGE;
    tl_stim_monitor_status(&m, &st, t + 11);
    TL_EXPECT_EQ(tl_stim_monitor_faults(&m, t + 12), TL_TFAULT_LINK_NACK);
    st.status = TL_STIM_STATUS_COMPLIANCE;
    tl_stim_monitor_status(&m, &st, t + 13);
    TL_EXPECT_EQ(tl_stim_monitor_faults(&m, t + 14), TL_TFAULT_LINK_DEVICE);
    st.status = TL_STIM_STATUS_OK;
    tl_stim_monitor_status(&m, &st, t + 15);
    TL_EXPECT_EQ(tl_stim_monitor_faults(&m, t + 16), 0);
    /* an acknowledgment of a command never sent (ahead of the last one) */
    st.ack_seq = (uint16_t)(seq + 5u);
    tl_stim_monitor_status(&m, &st, t + 17);
    TL_EXPECT_EQ(tl_stim_monitor_faults(&m, t + 18), TL_TFAULT_LINK_NACK);
    /* timeout 0: acknowledgments are not expected */
    tl_stim_monitor_init(&m, 0);
    tl_stim_monitor_sent(&m, 1, 0);
    TL_EXPECT_EQ(tl_stim_monitor_faults(&m, 1000000), 0);
}

int main(void)
{
    TL_RUN(test_encode_set_golden);
    TL_RUN(test_parser_finds_frames_in_garbage);
    TL_RUN(test_parser_byte_by_byte_equals_all_at_once);
    TL_RUN(test_decoders_reject_malformed_payloads);
    TL_RUN(test_monitor);
    return tl_test_summary();
}
