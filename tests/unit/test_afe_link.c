/* AFE sample link: encoder/receiver round trip, resynchronisation after garbage and damaged
 * frames, sequence bookkeeping (gaps, duplicates, late blocks, wrap, restarts), header
 * checks, configuration mismatches and validation. */
#include <stdbool.h>
#include <string.h>

#include "theraloop/afe_link.h"
#include "theraloop/crc16.h"
#include "tl_test.h"

#define MAX_SEEN 64

typedef struct {
    size_t n;
    uint16_t seq[MAX_SEEN];
    uint16_t missing[MAX_SEEN];
    bool disc[MAX_SEEN];
    uint8_t flags[MAX_SEEN];
    uint16_t spc[MAX_SEEN];
    int16_t first[MAX_SEEN];
    int16_t last[MAX_SEEN];
} seen_t;

static void on_block(void *ctx, const tl_afe_block_t *b)
{
    seen_t *s = ctx;
    if (s->n >= MAX_SEEN) {
        return;
    }
    size_t total = (size_t)b->channels * b->samples_per_channel;
    s->seq[s->n] = b->seq;
    s->missing[s->n] = b->missing_before;
    s->disc[s->n] = b->discontinuity;
    s->flags[s->n] = b->flags;
    s->spc[s->n] = b->samples_per_channel;
    s->first[s->n] = b->samples[0];
    s->last[s->n] = b->samples[total - 1u];
    s->n++;
}

static tl_afe_rx_t g_rx;
static seen_t g_seen;

static void setup(uint16_t rate, uint8_t channels)
{
    memset(&g_seen, 0, sizeof(g_seen));
    tl_afe_config_t cfg = {.sample_rate_hz = rate, .channels = channels};
    TL_EXPECT_EQ(tl_afe_rx_init(&g_rx, &cfg, on_block, &g_seen), TL_AFE_OK);
}

/* A frame of `channels` x `spc` samples whose values encode seq and position. */
static size_t make_frame(uint8_t *out, uint16_t seq, uint8_t channels, uint8_t spc,
                         uint16_t rate, uint8_t flags)
{
    int16_t samples[TL_AFE_MAX_SAMPLES];
    size_t n = (size_t)channels * spc;
    for (size_t i = 0; i < n && i < TL_AFE_MAX_SAMPLES; i++) {
        samples[i] = (int16_t)((int32_t)seq * 7 - (int32_t)i * 301);
    }
    return tl_afe_encode(out, TL_AFE_MAX_FRAME, seq, flags, rate, channels, spc, samples);
}

static void feed_seq(uint16_t seq)
{
    uint8_t f[TL_AFE_MAX_FRAME];
    size_t n = make_frame(f, seq, 1, 8, 1000, 0);
    tl_afe_rx_feed(&g_rx, f, n);
}

static void test_config_validation(void)
{
    tl_afe_config_t ok = {.sample_rate_hz = 500, .channels = 4};
    TL_EXPECT_EQ(tl_afe_config_validate(&ok), TL_AFE_OK);
    TL_EXPECT_EQ(tl_afe_config_validate(NULL), TL_AFE_ERR_NULL);
    tl_afe_config_t bad_rate = {.sample_rate_hz = 400, .channels = 1};
    TL_EXPECT_EQ(tl_afe_config_validate(&bad_rate), TL_AFE_ERR_RATE);
    tl_afe_config_t zero_ch = {.sample_rate_hz = 250, .channels = 0};
    TL_EXPECT_EQ(tl_afe_config_validate(&zero_ch), TL_AFE_ERR_CHANNELS);
    tl_afe_config_t five_ch = {.sample_rate_hz = 250, .channels = 5};
    TL_EXPECT_EQ(tl_afe_config_validate(&five_ch), TL_AFE_ERR_CHANNELS);
    TL_EXPECT_EQ(tl_afe_rate_code(250), 1);
    TL_EXPECT_EQ(tl_afe_rate_code(500), 2);
    TL_EXPECT_EQ(tl_afe_rate_code(1000), 3);
    TL_EXPECT_EQ(tl_afe_rate_code(173), 0);
    TL_EXPECT_EQ(tl_afe_rate_hz(3), 1000);
    TL_EXPECT_EQ(tl_afe_rate_hz(0), 0);
    TL_EXPECT_EQ(tl_afe_rate_hz(4), 0);
    TL_EXPECT_EQ(tl_afe_rx_init(NULL, &ok, NULL, NULL), TL_AFE_ERR_NULL);
}

static void test_bad_config_receiver_discards(void)
{
    tl_afe_config_t bad = {.sample_rate_hz = 1000, .channels = 9};
    memset(&g_seen, 0, sizeof(g_seen));
    TL_EXPECT_EQ(tl_afe_rx_init(&g_rx, &bad, on_block, &g_seen), TL_AFE_ERR_CHANNELS);
    feed_seq(1);
    TL_EXPECT_EQ(g_seen.n, 0);
    TL_EXPECT_EQ(tl_afe_rx_stats(&g_rx)->blocks_ok, 0);
    TL_EXPECT(tl_afe_rx_stats(&g_rx)->bytes_discarded > 0);
}

static void test_frame_layout(void)
{
    /* Byte-exact check of the documented format. */
    const int16_t samples[4] = {1, -2, 0x1234, -32768};
    uint8_t f[32];
    size_t n = tl_afe_encode(f, sizeof(f), 0xBEEF, TL_AFE_FLAG_LEAD_OFF, 500, 2, 2, samples);
    TL_EXPECT_EQ(n, 11 + 8 + 2);
    const uint8_t head[9] = {0xA5, 0x5A, 1, 0x02, 0xEF, 0xBE, 2, 2, 2};
    TL_EXPECT_MEM_EQ(f, head, sizeof(head));
    uint16_t hcrc = tl_crc16_xmodem(0, f + 2, 7);
    TL_EXPECT_EQ(f[9], hcrc & 0xFF);
    TL_EXPECT_EQ(f[10], hcrc >> 8);
    const uint8_t payload[8] = {0x01, 0x00, 0xFE, 0xFF, 0x34, 0x12, 0x00, 0x80};
    TL_EXPECT_MEM_EQ(f + 11, payload, sizeof(payload));
    uint16_t crc = tl_crc16_xmodem(0, f + 2, 17);
    TL_EXPECT_EQ(f[19], crc & 0xFF);
    TL_EXPECT_EQ(f[20], crc >> 8);
}

static void test_encode_rejects_bad_arguments(void)
{
    int16_t s[TL_AFE_MAX_SAMPLES + 4] = {0};
    uint8_t f[TL_AFE_MAX_FRAME + 16];
    TL_EXPECT_EQ(tl_afe_encode(f, sizeof(f), 0, 0, 300, 1, 8, s), 0);
    TL_EXPECT_EQ(tl_afe_encode(f, sizeof(f), 0, 0, 250, 0, 8, s), 0);
    TL_EXPECT_EQ(tl_afe_encode(f, sizeof(f), 0, 0, 250, 5, 8, s), 0);
    TL_EXPECT_EQ(tl_afe_encode(f, sizeof(f), 0, 0, 250, 1, 0, s), 0);
    TL_EXPECT_EQ(tl_afe_encode(f, sizeof(f), 0, 0, 250, 2, 129, s), 0); /* 258 > 256 */
    TL_EXPECT_EQ(tl_afe_encode(f, sizeof(f), 0, 0x04, 250, 1, 8, s), 0);
    TL_EXPECT_EQ(tl_afe_encode(f, 20, 0, 0, 250, 1, 8, s), 0); /* cap < 29 */
    TL_EXPECT_EQ(tl_afe_encode(f, sizeof(f), 0, 0, 250, 1, 255, s), TL_AFE_MAX_FRAME - 2);
    TL_EXPECT_EQ(tl_afe_encode(f, sizeof(f), 0, 0, 250, 4, 64, s), TL_AFE_MAX_FRAME);
}

static void test_round_trip_all_shapes(void)
{
    static const uint16_t rates[3] = {250, 500, 1000};
    for (uint8_t ch = 1; ch <= 4; ch++) {
        for (size_t r = 0; r < 3; r++) {
            setup(rates[r], ch);
            uint8_t spc_list[4] = {1, 5, 32, ch == 1 ? 255 : (uint8_t)(TL_AFE_MAX_SAMPLES / ch)};
            for (uint16_t i = 0; i < 4; i++) {
                uint8_t f[TL_AFE_MAX_FRAME];
                size_t n = make_frame(f, i, ch, spc_list[i], rates[r], 0);
                TL_EXPECT(n > 0);
                tl_afe_rx_feed(&g_rx, f, n);
            }
            TL_EXPECT_EQ(g_seen.n, 4);
            for (uint16_t i = 0; i < 4 && i < g_seen.n; i++) {
                size_t total = (size_t)ch * spc_list[i];
                TL_EXPECT_EQ(g_seen.seq[i], i);
                TL_EXPECT_EQ(g_seen.spc[i], spc_list[i]);
                TL_EXPECT_EQ(g_seen.first[i], (int16_t)(i * 7));
                TL_EXPECT_EQ(g_seen.last[i], (int16_t)((int32_t)i * 7 - (int32_t)(total - 1) * 301));
            }
            TL_EXPECT_EQ(g_seen.disc[0], true);
            TL_EXPECT_EQ(tl_afe_rx_stats(&g_rx)->bytes_discarded, 0);
        }
    }
}

static void test_byte_at_a_time_equals_whole(void)
{
    uint8_t stream[4 * TL_AFE_MAX_FRAME];
    size_t len = 0;
    for (uint16_t i = 0; i < 4; i++) {
        len += make_frame(stream + len, (uint16_t)(100 + i), 2, 20, 500, 0);
    }
    setup(500, 2);
    for (size_t i = 0; i < len; i++) {
        tl_afe_rx_feed(&g_rx, stream + i, 1);
    }
    TL_EXPECT_EQ(g_seen.n, 4);
    TL_EXPECT_EQ(g_seen.seq[3], 103);
    TL_EXPECT_EQ(tl_afe_rx_stats(&g_rx)->bytes, len);
}

static void test_data_samples_and_flags(void)
{
    setup(250, 1);
    int16_t s[3] = {-1, 32767, -32768};
    uint8_t f[64];
    size_t n = tl_afe_encode(f, sizeof(f), 9, TL_AFE_FLAG_SATURATED | TL_AFE_FLAG_LEAD_OFF,
                             250, 1, 3, s);
    tl_afe_rx_feed(&g_rx, f, n);
    TL_EXPECT_EQ(g_seen.n, 1);
    TL_EXPECT_EQ(g_seen.first[0], -1);
    TL_EXPECT_EQ(g_seen.last[0], -32768);
    TL_EXPECT_EQ(g_seen.flags[0], TL_AFE_FLAG_SATURATED | TL_AFE_FLAG_LEAD_OFF);
    TL_EXPECT_EQ(tl_afe_rx_stats(&g_rx)->saturated, 1);
    TL_EXPECT_EQ(tl_afe_rx_stats(&g_rx)->lead_off, 1);
}

static void test_garbage_before_between_frames(void)
{
    setup(1000, 1);
    /* Garbage including sync-like bytes, a lone SYNC0 and a false sync pattern. */
    const uint8_t junk[] = {0x00, 0xA5, 0xA5, 0x5A, 0x01, 0xFF, 0x5A, 0xA5, 0x13, 0xA5};
    tl_afe_rx_feed(&g_rx, junk, sizeof(junk));
    feed_seq(1);
    tl_afe_rx_feed(&g_rx, junk, sizeof(junk));
    feed_seq(2);
    TL_EXPECT_EQ(g_seen.n, 2);
    TL_EXPECT_EQ(g_seen.seq[1], 2);
    TL_EXPECT_EQ(g_seen.missing[1], 0);
    const tl_afe_stats_t *st = tl_afe_rx_stats(&g_rx);
    TL_EXPECT_EQ(st->bytes_discarded, 2 * sizeof(junk));
    TL_EXPECT_EQ(st->blocks_ok, 2);
}

static void test_gap_counts_missing_blocks(void)
{
    setup(1000, 1);
    feed_seq(10);
    feed_seq(11);
    feed_seq(14); /* 12, 13 lost */
    feed_seq(15);
    feed_seq(20); /* 16..19 lost */
    TL_EXPECT_EQ(g_seen.n, 5);
    TL_EXPECT_EQ(g_seen.missing[2], 2);
    TL_EXPECT_EQ(g_seen.missing[3], 0);
    TL_EXPECT_EQ(g_seen.missing[4], 4);
    TL_EXPECT_EQ(g_seen.disc[0], true);
    TL_EXPECT_EQ(g_seen.disc[2], false);
    const tl_afe_stats_t *st = tl_afe_rx_stats(&g_rx);
    TL_EXPECT_EQ(st->gaps, 2);
    TL_EXPECT_EQ(st->missing_blocks, 6);
}

static void test_duplicates_and_late_blocks(void)
{
    setup(1000, 1);
    feed_seq(0);
    feed_seq(1);
    feed_seq(1); /* repeat of the last */
    feed_seq(3); /* 2 missing */
    feed_seq(2); /* late: dropped, counted out of order */
    feed_seq(2); /* and again: now a duplicate */
    feed_seq(0); /* an old block seen before: duplicate */
    feed_seq(4);
    TL_EXPECT_EQ(g_seen.n, 4);
    TL_EXPECT_EQ(g_seen.seq[3], 4);
    const tl_afe_stats_t *st = tl_afe_rx_stats(&g_rx);
    TL_EXPECT_EQ(st->duplicates, 3);
    TL_EXPECT_EQ(st->out_of_order, 1);
    TL_EXPECT_EQ(st->missing_blocks, 1);
    TL_EXPECT_EQ(st->restarts, 0);
}

static void test_history_limit_and_restart(void)
{
    setup(1000, 1);
    feed_seq(100);
    feed_seq(132); /* 31 missing; 100 now exactly 32 behind */
    feed_seq(100); /* remembered: duplicate */
    feed_seq(99);  /* 33 behind: beyond the history -> restart */
    TL_EXPECT_EQ(g_seen.n, 3);
    TL_EXPECT_EQ(g_seen.seq[2], 99);
    TL_EXPECT_EQ(g_seen.disc[2], true);
    const tl_afe_stats_t *st = tl_afe_rx_stats(&g_rx);
    TL_EXPECT_EQ(st->duplicates, 1);
    TL_EXPECT_EQ(st->restarts, 1);
    TL_EXPECT_EQ(st->missing_blocks, 31);
    /* After a restart the numbering continues from the new block. */
    feed_seq(100);
    TL_EXPECT_EQ(g_seen.n, 4);
    TL_EXPECT_EQ(g_seen.missing[3], 0);
}

static void test_sequence_wraps(void)
{
    setup(1000, 1);
    feed_seq(65534);
    feed_seq(65535);
    feed_seq(0);
    feed_seq(2);
    TL_EXPECT_EQ(g_seen.n, 4);
    TL_EXPECT_EQ(g_seen.missing[2], 0);
    TL_EXPECT_EQ(g_seen.missing[3], 1);
    TL_EXPECT_EQ(tl_afe_rx_stats(&g_rx)->restarts, 0);
    /* A jump of exactly 32768 ahead is still a gap. */
    feed_seq((uint16_t)(2u + 32768u));
    TL_EXPECT_EQ(g_seen.n, 5);
    TL_EXPECT_EQ(g_seen.missing[4], 32767);
}

static void test_reset_makes_discontinuity(void)
{
    setup(1000, 1);
    feed_seq(5);
    tl_afe_rx_reset(&g_rx);
    feed_seq(5); /* not a duplicate after reset */
    TL_EXPECT_EQ(g_seen.n, 2);
    TL_EXPECT_EQ(g_seen.disc[1], true);
    TL_EXPECT_EQ(tl_afe_rx_stats(&g_rx)->duplicates, 0);
    tl_afe_rx_clear_stats(&g_rx);
    TL_EXPECT_EQ(tl_afe_rx_stats(&g_rx)->blocks_ok, 0);
}

static void test_bad_crc_then_next_frame(void)
{
    setup(1000, 1);
    uint8_t f[TL_AFE_MAX_FRAME];
    size_t n = make_frame(f, 1, 1, 8, 1000, 0);
    f[n - 5] ^= 0x10; /* payload bit flip */
    tl_afe_rx_feed(&g_rx, f, n);
    feed_seq(2);
    TL_EXPECT_EQ(g_seen.n, 1);
    TL_EXPECT_EQ(g_seen.seq[0], 2);
    const tl_afe_stats_t *st = tl_afe_rx_stats(&g_rx);
    TL_EXPECT_EQ(st->bad_crc, 1);
    TL_EXPECT_EQ(st->bytes_discarded, n);
}

static void test_bad_header_fields(void)
{
    setup(1000, 1);
    uint8_t f[TL_AFE_MAX_FRAME];
    /* Header CRC mismatch (a flipped channel count). */
    size_t n = make_frame(f, 1, 1, 8, 1000, 0);
    f[6] = 2;
    tl_afe_rx_feed(&g_rx, f, n);
    /* Each field out of range, with a correct header CRC (and frame CRC). */
    static const struct {
        size_t off;
        uint8_t val;
    } cases[] = {{2, 2}, {3, 0x80}, {6, 0}, {6, 5}, {7, 0}, {8, 0}, {8, 4}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = make_frame(f, (uint16_t)(2 + i), 1, 8, 1000, 0);
        f[cases[i].off] = cases[i].val;
        uint16_t h = tl_crc16_xmodem(0, f + 2, 7);
        f[9] = (uint8_t)(h & 0xFF);
        f[10] = (uint8_t)(h >> 8);
        uint16_t c = tl_crc16_xmodem(0, f + 2, n - 4);
        f[n - 2] = (uint8_t)(c & 0xFF);
        f[n - 1] = (uint8_t)(c >> 8);
        tl_afe_rx_feed(&g_rx, f, n);
    }
    feed_seq(50);
    TL_EXPECT_EQ(g_seen.n, 1);
    TL_EXPECT_EQ(g_seen.seq[0], 50);
    TL_EXPECT_EQ(tl_afe_rx_stats(&g_rx)->bad_header, 8);
}

static void test_oversize_header_rejected_early(void)
{
    setup(1000, 4);
    /* A checksummed header announcing 4 x 65 = 260 samples, then a good frame right after
     * its 11 bytes: the good frame must not be swallowed as payload. */
    uint8_t hdr[TL_AFE_HEADER_SIZE] = {0xA5, 0x5A, 1, 0, 7, 0, 4, 65, 3, 0, 0};
    uint16_t h = tl_crc16_xmodem(0, hdr + 2, 7);
    hdr[9] = (uint8_t)(h & 0xFF);
    hdr[10] = (uint8_t)(h >> 8);
    tl_afe_rx_feed(&g_rx, hdr, sizeof(hdr));
    uint8_t f[TL_AFE_MAX_FRAME];
    size_t n = make_frame(f, 8, 4, 10, 1000, 0);
    tl_afe_rx_feed(&g_rx, f, n);
    TL_EXPECT_EQ(g_seen.n, 1);
    TL_EXPECT_EQ(tl_afe_rx_stats(&g_rx)->oversize, 1);
}

static void test_truncated_frame_does_not_lose_next(void)
{
    setup(1000, 1);
    uint8_t a[TL_AFE_MAX_FRAME];
    uint8_t b[TL_AFE_MAX_FRAME];
    size_t na = make_frame(a, 1, 1, 40, 1000, 0);
    size_t nb = make_frame(b, 2, 1, 40, 1000, 0);
    /* A UART that lost 3 bytes in the middle of frame 1: its claimed length reaches into
     * frame 2; frame 2 must still be delivered once frame 1's CRC fails. */
    tl_afe_rx_feed(&g_rx, a, 30);
    tl_afe_rx_feed(&g_rx, a + 33, na - 33);
    tl_afe_rx_feed(&g_rx, b, nb);
    feed_seq(3);
    TL_EXPECT_EQ(g_seen.n, 2);
    TL_EXPECT_EQ(g_seen.seq[0], 2);
    TL_EXPECT_EQ(g_seen.seq[1], 3);
    TL_EXPECT_EQ(tl_afe_rx_stats(&g_rx)->bad_crc, 1);
}

static void test_inflated_length_recovers_frames_inside(void)
{
    setup(1000, 1);
    /* A header with a valid CRC claiming 200 samples, followed by short good frames that
     * fit inside the claimed length: all of them are recovered by the rescan. */
    uint8_t hdr[TL_AFE_HEADER_SIZE] = {0xA5, 0x5A, 1, 0, 0, 0, 1, 200, 3, 0, 0};
    uint16_t h = tl_crc16_xmodem(0, hdr + 2, 7);
    hdr[9] = (uint8_t)(h & 0xFF);
    hdr[10] = (uint8_t)(h >> 8);
    tl_afe_rx_feed(&g_rx, hdr, sizeof(hdr));
    for (uint16_t s = 1; s <= 20; s++) {
        feed_seq(s); /* 29 bytes each: 580 > 413 claimed */
    }
    TL_EXPECT_EQ(g_seen.n, 20);
    TL_EXPECT_EQ(g_seen.seq[19], 20);
    TL_EXPECT_EQ(tl_afe_rx_stats(&g_rx)->bad_crc, 1);
    TL_EXPECT_EQ(tl_afe_rx_stats(&g_rx)->gaps, 0);
}

static void test_sync_pattern_inside_payload(void)
{
    setup(1000, 1);
    /* 0x5AA5 little-endian = A5 5A on the wire. */
    int16_t s[8] = {0x5AA5, 0x5AA5, 0x5AA5, 0x5AA5, 0x5AA5, 0x5AA5, 0x5AA5, 0x5AA5};
    uint8_t f[64];
    size_t n = tl_afe_encode(f, sizeof(f), 1, 0, 1000, 1, 8, s);
    tl_afe_rx_feed(&g_rx, f, n);
    f[n - 1] ^= 0xFF; /* now corrupt: the rescan meets false syncs in the payload */
    tl_afe_rx_feed(&g_rx, f, n);
    feed_seq(3);
    TL_EXPECT_EQ(g_seen.n, 2);
    TL_EXPECT_EQ(g_seen.first[0], 0x5AA5);
    TL_EXPECT_EQ(g_seen.seq[1], 3);
    TL_EXPECT_EQ(tl_afe_rx_stats(&g_rx)->bad_crc, 1);
}

static void test_config_mismatch_not_delivered(void)
{
    setup(500, 2);
    uint8_t f[TL_AFE_MAX_FRAME];
    size_t n = make_frame(f, 1, 1, 8, 500, 0); /* 1 channel */
    tl_afe_rx_feed(&g_rx, f, n);
    n = make_frame(f, 2, 2, 8, 1000, 0); /* wrong rate */
    tl_afe_rx_feed(&g_rx, f, n);
    n = make_frame(f, 3, 2, 8, 500, 0);
    tl_afe_rx_feed(&g_rx, f, n);
    TL_EXPECT_EQ(g_seen.n, 1);
    TL_EXPECT_EQ(g_seen.seq[0], 3);
    const tl_afe_stats_t *st = tl_afe_rx_stats(&g_rx);
    TL_EXPECT_EQ(st->config_mismatch, 2);
    TL_EXPECT_EQ(st->bytes_discarded, 0); /* valid frames, not garbage */
}

static void test_random_noise_never_delivers(void)
{
    setup(1000, 1);
    uint32_t x = 0x12345678u;
    uint8_t buf[1024];
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            x = x * 1664525u + 1013904223u;
            buf[i] = (uint8_t)(x >> 24);
            if ((x & 0xF00u) == 0u) {
                buf[i] = 0xA5; /* more sync candidates than chance gives */
            }
        }
        tl_afe_rx_feed(&g_rx, buf, sizeof(buf));
    }
    TL_EXPECT_EQ(g_seen.n, 0);
    const tl_afe_stats_t *st = tl_afe_rx_stats(&g_rx);
    /* Everything fed is discarded except a candidate still being assembled. */
    TL_EXPECT(st->bytes - st->bytes_discarded < TL_AFE_MAX_FRAME);
    /* A pending candidate is at most one maximum frame long: after that much good data
     * the receiver is back in step. */
    for (uint16_t seq = 7; seq < 7 + 30; seq++) {
        feed_seq(seq);
    }
    TL_EXPECT_EQ(g_seen.n >= 1 ? g_seen.seq[g_seen.n - 1] : 0, 36);
}

int main(void)
{
    TL_RUN(test_config_validation);
    TL_RUN(test_bad_config_receiver_discards);
    TL_RUN(test_frame_layout);
    TL_RUN(test_encode_rejects_bad_arguments);
    TL_RUN(test_round_trip_all_shapes);
    TL_RUN(test_byte_at_a_time_equals_whole);
    TL_RUN(test_data_samples_and_flags);
    TL_RUN(test_garbage_before_between_frames);
    TL_RUN(test_gap_counts_missing_blocks);
    TL_RUN(test_duplicates_and_late_blocks);
    TL_RUN(test_history_limit_and_restart);
    TL_RUN(test_sequence_wraps);
    TL_RUN(test_reset_makes_discontinuity);
    TL_RUN(test_bad_crc_then_next_frame);
    TL_RUN(test_bad_header_fields);
    TL_RUN(test_oversize_header_rejected_early);
    TL_RUN(test_truncated_frame_does_not_lose_next);
    TL_RUN(test_inflated_length_recovers_frames_inside);
    TL_RUN(test_sync_pattern_inside_payload);
    TL_RUN(test_config_mismatch_not_delivered);
    TL_RUN(test_random_noise_never_delivers);
    return tl_test_summary();
}
