/* SMP serial transport: receiving frames sent by smpclient (vectors generated with the
 * Python smp package), resynchronisation after every kind of damage, and the encoder
 * matching smp.packet.encode byte for byte. */
#include "smp_test_util.h"
#include "smp_vectors.h"
#include "theraloop/smp_serial.h"
#include "tl_test.h"

#define CAP TL_SMP_BUF_SIZE

static uint8_t g_buf[CAP];
static tl_smp_serial_rx_t g_rx;
static tl_smp_stats_t g_stats;

/* Packets the receiver produced. */
static uint8_t g_pkts[8][CAP];
static size_t g_pkt_len[8];
static size_t g_npkts;

static void rx_setup(void)
{
    memset(&g_stats, 0, sizeof(g_stats));
    tl_smp_serial_rx_init(&g_rx, g_buf, sizeof(g_buf), &g_stats);
    g_npkts = 0;
}

static void feed(const uint8_t *data, size_t len)
{
    while (len > 0) {
        const uint8_t *pkt = NULL;
        size_t n = 0;
        size_t used = tl_smp_serial_rx_feed(&g_rx, data, len, &pkt, &n);
        TL_EXPECT(used > 0 && used <= len);
        if (pkt != NULL) {
            if (g_npkts < 8) {
                memcpy(g_pkts[g_npkts], pkt, n);
                g_pkt_len[g_npkts] = n;
            }
            g_npkts++;
        } else {
            TL_EXPECT_EQ(used, len); /* without a packet, everything is consumed */
        }
        data += used;
        len -= used;
    }
}

static void feed_str(const char *s)
{
    feed((const uint8_t *)s, strlen(s));
}

static bool got_packet(size_t i, const uint8_t *want, size_t n)
{
    return g_npkts > i && g_pkt_len[i] == n && memcmp(g_pkts[i], want, n) == 0;
}

static void expect_stats(uint32_t ok, uint32_t crc, uint32_t b64, uint32_t over, uint32_t drop)
{
    TL_EXPECT_EQ(g_stats.frames_ok, ok);
    TL_EXPECT_EQ(g_stats.bad_crc, crc);
    TL_EXPECT_EQ(g_stats.bad_base64, b64);
    TL_EXPECT_EQ(g_stats.oversize, over);
    TL_EXPECT_EQ(g_stats.dropped, drop);
}

static size_t count_lines(const uint8_t *wire, size_t n)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++) {
        lines += (wire[i] == '\n');
    }
    return lines;
}

static void test_single_frame(void)
{
    rx_setup();
    TL_EXPECT_EQ(count_lines(k_echo_hello_frame, sizeof(k_echo_hello_frame)), 1);
    feed(k_echo_hello_frame, sizeof(k_echo_hello_frame));
    TL_EXPECT_EQ(g_npkts, 1);
    TL_EXPECT(got_packet(0, k_echo_hello_packet, sizeof(k_echo_hello_packet)));
    expect_stats(1, 0, 0, 0, 0);
}

static void test_multi_frame_1k(void)
{
    rx_setup();
    TL_EXPECT(count_lines(k_echo_1k_frame, sizeof(k_echo_1k_frame)) > 5);
    feed(k_echo_1k_frame, sizeof(k_echo_1k_frame));
    TL_EXPECT_EQ(g_npkts, 1);
    TL_EXPECT(got_packet(0, k_echo_1k_packet, sizeof(k_echo_1k_packet)));
    expect_stats(1, 0, 0, 0, 0);
}

static void test_split_at_every_byte(void)
{
    const uint8_t *f = k_echo_1k_frame;
    size_t n = sizeof(k_echo_1k_frame);
    for (size_t split = 0; split <= n; split++) {
        rx_setup();
        feed(f, split);
        feed(f + split, n - split);
        TL_EXPECT_EQ(g_npkts, 1);
        TL_EXPECT(got_packet(0, k_echo_1k_packet, sizeof(k_echo_1k_packet)));
    }
    rx_setup();
    for (size_t i = 0; i < n; i++) {
        feed(f + i, 1);
    }
    TL_EXPECT(got_packet(0, k_echo_1k_packet, sizeof(k_echo_1k_packet)));
}

static void test_back_to_back_in_one_chunk(void)
{
    static uint8_t wire[8192];
    size_t n = 0;
    memcpy(wire + n, k_echo_hello_frame, sizeof(k_echo_hello_frame));
    n += sizeof(k_echo_hello_frame);
    memcpy(wire + n, k_echo_1k_frame, sizeof(k_echo_1k_frame));
    n += sizeof(k_echo_1k_frame);
    memcpy(wire + n, k_echo_hello_frame, sizeof(k_echo_hello_frame));
    n += sizeof(k_echo_hello_frame);
    rx_setup();
    feed(wire, n);
    TL_EXPECT_EQ(g_npkts, 3);
    TL_EXPECT(got_packet(0, k_echo_hello_packet, sizeof(k_echo_hello_packet)));
    TL_EXPECT(got_packet(1, k_echo_1k_packet, sizeof(k_echo_1k_packet)));
    TL_EXPECT(got_packet(2, k_echo_hello_packet, sizeof(k_echo_hello_packet)));
    expect_stats(3, 0, 0, 0, 0);
}

static void test_noise_between_frames(void)
{
    rx_setup();
    feed_str("theraloop 0.1.0 boot banner\r\n");
    feed(k_echo_hello_frame, sizeof(k_echo_hello_frame));
    /* console text with lone marker bytes and newlines */
    feed_str("log: \x06 x \x04 y \x09\x14 ==== AAAA\n\n\x06\x06");
    feed(k_echo_hello_frame, sizeof(k_echo_hello_frame));
    feed_str("trailing text without newline");
    TL_EXPECT_EQ(g_npkts, 2);
    TL_EXPECT(got_packet(0, k_echo_hello_packet, sizeof(k_echo_hello_packet)));
    TL_EXPECT(got_packet(1, k_echo_hello_packet, sizeof(k_echo_hello_packet)));
    expect_stats(2, 0, 0, 0, 0);
}

static void test_console_line_between_fragments(void)
{
    /* Like Zephyr, a console line between the lines of one packet does not break it. */
    const uint8_t *f = k_echo_1k_frame;
    const uint8_t *nl = memchr(f, '\n', sizeof(k_echo_1k_frame));
    size_t first = (size_t)(nl - f) + 1u;
    rx_setup();
    feed(f, first);
    feed_str("[00:00:01] something logged\n");
    feed(f + first, sizeof(k_echo_1k_frame) - first);
    TL_EXPECT(got_packet(0, k_echo_1k_packet, sizeof(k_echo_1k_packet)));
}

static void test_crlf_and_long_lines(void)
{
    static uint8_t wire[4096];
    /* Every line ends in "\r\n". */
    rx_setup();
    size_t n = ref_frame(k_echo_1k_packet, sizeof(k_echo_1k_packet), -1, -1, 124, wire,
                         sizeof(wire));
    for (size_t i = 0; i < n; i++) {
        if (wire[i] == '\n') {
            feed_str("\r");
        }
        feed(&wire[i], 1);
    }
    TL_EXPECT(got_packet(0, k_echo_1k_packet, sizeof(k_echo_1k_packet)));
    /* Lines longer than 127 bytes (here 400 characters, and the whole frame in one line). */
    size_t widths[] = {128, 400, 4000};
    for (size_t w = 0; w < 3; w++) {
        rx_setup();
        n = ref_frame(k_echo_1k_packet, sizeof(k_echo_1k_packet), -1, -1, widths[w], wire,
                      sizeof(wire));
        TL_EXPECT(n > 0);
        feed(wire, n);
        TL_EXPECT(got_packet(0, k_echo_1k_packet, sizeof(k_echo_1k_packet)));
        expect_stats(1, 0, 0, 0, 0);
    }
}

static void test_bad_crc_dropped_then_recovers(void)
{
    static uint8_t wire[512];
    size_t n = ref_frame(k_echo_hello_packet, sizeof(k_echo_hello_packet), -1,
                         (long)(ref_crc16(k_echo_hello_packet, sizeof(k_echo_hello_packet)) ^ 1u),
                         124, wire, sizeof(wire));
    rx_setup();
    feed(wire, n);
    TL_EXPECT_EQ(g_npkts, 0);
    expect_stats(0, 1, 0, 0, 0);
    /* one flipped payload bit in the multi-line frame */
    static uint8_t packet[2048];
    memcpy(packet, k_echo_1k_packet, sizeof(k_echo_1k_packet));
    static uint8_t wire2[4096];
    size_t n2 = ref_frame(packet, sizeof(k_echo_1k_packet), -1, -1, 124, wire2, sizeof(wire2));
    packet[500] ^= 0x10;
    static uint8_t wire3[4096];
    size_t n3 = ref_frame(packet, sizeof(k_echo_1k_packet), -1,
                          (long)ref_crc16(k_echo_1k_packet, sizeof(k_echo_1k_packet)), 124, wire3,
                          sizeof(wire3));
    feed(wire3, n3);
    expect_stats(0, 2, 0, 0, 0);
    feed(wire2, n2);
    TL_EXPECT(got_packet(0, k_echo_1k_packet, sizeof(k_echo_1k_packet)));
    expect_stats(1, 2, 0, 0, 0);
}

static void test_bad_base64_dropped_then_recovers(void)
{
    static uint8_t wire[4096];
    /* a character outside the alphabet in the second line */
    memcpy(wire, k_echo_1k_frame, sizeof(k_echo_1k_frame));
    const uint8_t *nl = memchr(wire, '\n', sizeof(k_echo_1k_frame));
    size_t second = (size_t)(nl - wire) + 1u;
    wire[second + 10] = '*';
    rx_setup();
    feed(wire, sizeof(k_echo_1k_frame));
    TL_EXPECT_EQ(g_npkts, 0);
    expect_stats(0, 0, 1, 0, 0); /* the remaining continuation lines are ignored */
    feed(k_echo_hello_frame, sizeof(k_echo_hello_frame));
    TL_EXPECT(got_packet(0, k_echo_hello_packet, sizeof(k_echo_hello_packet)));
    expect_stats(1, 0, 1, 0, 0);

    /* a line that does not end on a group of four */
    rx_setup();
    feed_str("\x06\x09" "AAoAA\n");
    expect_stats(0, 0, 1, 0, 0);
    /* padding in the middle of a line */
    feed_str("\x06\x09" "AB==AAAA\n");
    expect_stats(0, 0, 2, 0, 0);
    feed(k_echo_hello_frame, sizeof(k_echo_hello_frame));
    TL_EXPECT_EQ(g_npkts, 1);
}

static void test_oversize_dropped(void)
{
    static uint8_t big[CAP + 8];
    static uint8_t wire[4096];
    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (uint8_t)(i * 13u);
    }
    /* The largest packet that fits: buf_size - 4 (what smpclient sends at most). */
    rx_setup();
    size_t n = ref_frame(big, CAP - 4, -1, -1, 124, wire, sizeof(wire));
    feed(wire, n);
    TL_EXPECT(got_packet(0, big, CAP - 4));
    expect_stats(1, 0, 0, 0, 0);
    /* One byte more is refused as soon as the length field is decoded... */
    n = ref_frame(big, CAP - 3, -1, -1, 124, wire, sizeof(wire));
    feed(wire, n);
    TL_EXPECT_EQ(g_npkts, 1);
    expect_stats(1, 0, 0, 1, 0);
    /* ...as is a lying length field, whatever follows. */
    n = ref_frame(big, 100, 60000, -1, 124, wire, sizeof(wire));
    feed(wire, n);
    expect_stats(1, 0, 0, 2, 0);
    feed(k_echo_hello_frame, sizeof(k_echo_hello_frame));
    TL_EXPECT_EQ(g_npkts, 2);
    TL_EXPECT(got_packet(1, k_echo_hello_packet, sizeof(k_echo_hello_packet)));
}

static void test_length_mismatch_dropped(void)
{
    static uint8_t wire[512];
    /* length field smaller than the data */
    size_t n = ref_frame(k_echo_hello_packet, sizeof(k_echo_hello_packet),
                         (long)sizeof(k_echo_hello_packet), -1, 124, wire, sizeof(wire));
    rx_setup();
    feed(wire, n);
    TL_EXPECT_EQ(g_npkts, 0);
    expect_stats(0, 0, 0, 0, 1);
    /* length field below the CRC size, and a start line without data */
    n = ref_frame(k_echo_hello_packet, 0, 1, -1, 124, wire, sizeof(wire));
    feed(wire, n);
    expect_stats(0, 0, 0, 0, 2);
    feed_str("\x06\x09\n");
    expect_stats(0, 0, 0, 0, 3);
    /* length field larger than the data: waits for more, then a new start cuts it off */
    n = ref_frame(k_echo_hello_packet, sizeof(k_echo_hello_packet),
                  (long)sizeof(k_echo_hello_packet) + 10, -1, 124, wire, sizeof(wire));
    feed(wire, n);
    TL_EXPECT_EQ(g_npkts, 0);
    feed(k_echo_hello_frame, sizeof(k_echo_hello_frame));
    TL_EXPECT(got_packet(0, k_echo_hello_packet, sizeof(k_echo_hello_packet)));
    expect_stats(1, 0, 0, 0, 4);
}

static void test_truncated_then_new_start(void)
{
    /* The first 3 lines of the 1 KiB frame, then a complete frame. */
    const uint8_t *f = k_echo_1k_frame;
    size_t cut = 0;
    for (int lines = 0; lines < 3; lines++) {
        cut += (size_t)((const uint8_t *)memchr(f + cut, '\n', sizeof(k_echo_1k_frame) - cut) -
                        (f + cut)) + 1u;
    }
    rx_setup();
    feed(f, cut);
    feed(k_echo_hello_frame, sizeof(k_echo_hello_frame));
    TL_EXPECT_EQ(g_npkts, 1);
    TL_EXPECT(got_packet(0, k_echo_hello_packet, sizeof(k_echo_hello_packet)));
    expect_stats(1, 0, 0, 0, 1);
    /* Cut in the middle of a line (no newline): the start marker still resynchronises. */
    rx_setup();
    feed(f, cut + 20);
    feed(k_echo_hello_frame, sizeof(k_echo_hello_frame));
    TL_EXPECT(got_packet(0, k_echo_hello_packet, sizeof(k_echo_hello_packet)));
    TL_EXPECT_EQ(g_stats.frames_ok, 1);
}

static void test_continuation_without_start_ignored(void)
{
    rx_setup();
    feed_str("\x04\x14" "AAAAAAAA\n");
    feed(k_echo_hello_frame, sizeof(k_echo_hello_frame));
    TL_EXPECT(got_packet(0, k_echo_hello_packet, sizeof(k_echo_hello_packet)));
    expect_stats(1, 0, 0, 0, 0);
}

static void test_tiny_buffer_accepts_nothing(void)
{
    uint8_t small[4];
    tl_smp_serial_rx_t rx;
    tl_smp_serial_rx_init(&rx, small, sizeof(small), NULL);
    const uint8_t *pkt = NULL;
    size_t n = 0;
    size_t off = 0;
    while (off < sizeof(k_echo_hello_frame)) {
        off += tl_smp_serial_rx_feed(&rx, k_echo_hello_frame + off,
                                     sizeof(k_echo_hello_frame) - off, &pkt, &n);
        TL_EXPECT(pkt == NULL);
    }
    TL_EXPECT(rx.own_stats.oversize > 0);
}

static void test_encode_matches_python(void)
{
    static uint8_t pkt[2048];
    static byte_capture_t cap;
    for (size_t v = 0; v < sizeof(k_encode_vectors) / sizeof(k_encode_vectors[0]); v++) {
        const encode_vector_t *vec = &k_encode_vectors[v];
        for (size_t i = 0; i < vec->pkt_len; i++) {
            pkt[i] = (uint8_t)((i * 7u + 3u) & 0xFFu);
        }
        memset(&cap, 0, sizeof(cap));
        TL_EXPECT_EQ(tl_smp_serial_encode(pkt, vec->pkt_len, byte_capture_write, &cap),
                     TL_SMP_SERIAL_OK);
        TL_EXPECT_EQ(cap.len, vec->frame_len);
        TL_EXPECT_MEM_EQ(cap.data, vec->frame, vec->frame_len);
        /* one write per line, each line at most 127 bytes */
        TL_EXPECT_EQ(cap.writes, count_lines(cap.data, cap.len));
        uint8_t back[2048];
        size_t back_len = 0;
        size_t lines = 0;
        size_t longest = 0;
        TL_EXPECT(ref_unframe(cap.data, cap.len, back, sizeof(back), &back_len, &lines,
                              &longest));
        TL_EXPECT(longest <= TL_SMP_SERIAL_MAX_LINE);
        TL_EXPECT_EQ(back_len, vec->pkt_len);
        TL_EXPECT_MEM_EQ(back, pkt, vec->pkt_len);
    }
}

static void test_encode_then_receive(void)
{
    static byte_capture_t cap;
    memset(&cap, 0, sizeof(cap));
    TL_EXPECT_EQ(tl_smp_serial_encode(k_echo_1k_packet, sizeof(k_echo_1k_packet),
                                      byte_capture_write, &cap),
                 TL_SMP_SERIAL_OK);
    rx_setup();
    feed(cap.data, cap.len);
    TL_EXPECT(got_packet(0, k_echo_1k_packet, sizeof(k_echo_1k_packet)));
    TL_EXPECT_EQ(tl_smp_serial_encode(k_echo_1k_packet, TL_SMP_SERIAL_MAX_PACKET + 1u, NULL,
                                      NULL),
                 TL_SMP_SERIAL_ERR_TOO_LONG);
}

int main(void)
{
    TL_RUN(test_single_frame);
    TL_RUN(test_multi_frame_1k);
    TL_RUN(test_split_at_every_byte);
    TL_RUN(test_back_to_back_in_one_chunk);
    TL_RUN(test_noise_between_frames);
    TL_RUN(test_console_line_between_fragments);
    TL_RUN(test_crlf_and_long_lines);
    TL_RUN(test_bad_crc_dropped_then_recovers);
    TL_RUN(test_bad_base64_dropped_then_recovers);
    TL_RUN(test_oversize_dropped);
    TL_RUN(test_length_mismatch_dropped);
    TL_RUN(test_truncated_then_new_start);
    TL_RUN(test_continuation_without_start_ignored);
    TL_RUN(test_tiny_buffer_accepts_nothing);
    TL_RUN(test_encode_matches_python);
    TL_RUN(test_encode_then_receive);
    return tl_test_summary();
}
