/* The application wiring on the host board: serial frames in through tl_app_cli_input,
 * framed responses out through tl_platform_cli_write (lines of at most 127 bytes), the
 * deferred reset in tl_app_poll, and the host port's CLI output to a file descriptor. */
#define _XOPEN_SOURCE 700

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "platform_host.h"
#include "smp_test_util.h"
#include "smp_vectors.h"
#include "theraloop/app.h"
#include "theraloop/smp.h"
#include "theraloop/version.h"
#include "tl_test.h"

static byte_capture_t g_cap;

static void boot(void)
{
    memset(&g_cap, 0, sizeof(g_cap));
    tl_host_set_cli_sink(byte_capture_write, &g_cap);
    tl_host_boot(TL_RESET_POWER_ON);
    tl_app_init();
    memset(&g_cap, 0, sizeof(g_cap)); /* drop the boot banner: tests read responses */
}

/* Decode the single response frame captured so far. */
static bool response(uint8_t *pkt, size_t *len, size_t *lines)
{
    size_t longest = 0;
    bool ok = ref_unframe(g_cap.data, g_cap.len, pkt, 4096, len, lines, &longest);
    TL_EXPECT(ok);
    TL_EXPECT(longest <= 127);
    return ok;
}

static void test_echo_round_trip(void)
{
    boot();
    /* arbitrary chunking of the input */
    size_t n = sizeof(k_echo_hello_frame);
    tl_app_cli_input(k_echo_hello_frame, 5);
    tl_app_cli_input(k_echo_hello_frame + 5, n - 5);
    uint8_t pkt[4096];
    size_t len = 0;
    size_t lines = 0;
    if (response(pkt, &len, &lines)) {
        const uint8_t want[] = {0x0b, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x00, 0xbf,
                                0x61, 'r',  0x65, 'h',  'e',  'l',  'l',  'o',  0xff};
        TL_EXPECT_EQ(len, sizeof(want));
        TL_EXPECT_MEM_EQ(pkt, want, sizeof(want));
        TL_EXPECT_EQ(lines, 1);
    }
}

static void test_echo_1k_multi_line(void)
{
    boot();
    tl_app_cli_input(k_echo_1k_frame, sizeof(k_echo_1k_frame));
    uint8_t pkt[4096];
    size_t len = 0;
    size_t lines = 0;
    if (response(pkt, &len, &lines)) {
        TL_EXPECT(lines > 10);
        TL_EXPECT_EQ(g_cap.writes, lines); /* one platform write per line */
        /* header + bf 61 'r' 79 04 00 <1024 chars> ff */
        TL_EXPECT_EQ(len, 8u + 6u + 1024u + 1u);
        TL_EXPECT_EQ(pkt[0], 0x0b);
        TL_EXPECT_MEM_EQ(pkt + 14, k_echo_1k_packet + 8 + 6, 1024);
    }
}

static void test_noise_gives_no_output(void)
{
    boot();
    const char *noise = "hello\r\n\x06\x07 AT+CMD\n\x04\x14 ZZZZ\n";
    tl_app_cli_input((const uint8_t *)noise, strlen(noise));
    tl_app_poll();
    TL_EXPECT_EQ(g_cap.len, 0);
}

static void test_reset_after_response(void)
{
    boot();
    uint8_t req[16];
    tl_smp_hdr_t h = {TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 0, 1, 0, 9, 5};
    tl_smp_hdr_encode(&h, req);
    req[8] = 0xa0;
    uint8_t wire[64];
    size_t n = ref_frame(req, 9, -1, -1, 124, wire, sizeof(wire));
    tl_host_counters_t before;
    tl_host_counters_t after;
    tl_host_counters(&before);
    tl_app_cli_input(wire, n);
    tl_host_counters(&after);
    TL_EXPECT_EQ(after.resets, before.resets);
    uint8_t pkt[4096];
    size_t len = 0;
    size_t lines = 0;
    if (response(pkt, &len, &lines)) {
        const uint8_t want[] = {0x0b, 0x00, 0x00, 0x02, 0x00, 0x00, 0x09, 0x05, 0xbf, 0xff};
        TL_EXPECT_EQ(len, sizeof(want));
        TL_EXPECT_MEM_EQ(pkt, want, sizeof(want));
    }
    tl_app_poll();
    tl_host_counters(&after);
    TL_EXPECT_EQ(after.resets, before.resets + 1);
    tl_reset_reason_t why;
    TL_EXPECT(tl_host_take_reboot(&why));
    TL_EXPECT_EQ(why, TL_RESET_SOFTWARE);
}

static void test_info_counts_frames(void)
{
    boot();
    const char *bad_line = "\x06\x09" "AA*A\n";
    tl_app_cli_input((const uint8_t *)bad_line, strlen(bad_line));
    tl_app_cli_input(k_params_frame, sizeof(k_params_frame));
    memset(&g_cap, 0, sizeof(g_cap));
    tl_app_cli_input(k_info_frame, sizeof(k_info_frame));
    uint8_t pkt[4096];
    size_t len = 0;
    size_t lines = 0;
    if (response(pkt, &len, &lines)) {
        /* smp_stats: frames_ok 2 (params, info), bad_base64 1 */
        const uint8_t stats[] = {0x69, 'f', 'r', 'a', 'm', 'e', 's', '_', 'o', 'k', 0x02,
                                 0x67, 'b', 'a', 'd', '_', 'c', 'r', 'c', 0x00,
                                 0x6a, 'b', 'a', 'd', '_', 'b', 'a', 's', 'e', '6', '4', 0x01};
        bool found = false;
        for (size_t i = 0; i + sizeof(stats) <= len; i++) {
            found = found || memcmp(pkt + i, stats, sizeof(stats)) == 0;
        }
        TL_EXPECT(found);
    }
}

static void test_init_resets_state(void)
{
    boot();
    /* half a packet, then a (virtual) reboot: the next frame is parsed from scratch */
    tl_app_cli_input(k_echo_1k_frame, 200);
    boot();
    tl_app_cli_input(k_echo_hello_frame, sizeof(k_echo_hello_frame));
    uint8_t pkt[4096];
    size_t len = 0;
    size_t lines = 0;
    TL_EXPECT(response(pkt, &len, &lines));
}

static void test_boot_banner(void)
{
    memset(&g_cap, 0, sizeof(g_cap));
    tl_host_set_cli_sink(byte_capture_write, &g_cap);
    tl_host_boot(TL_RESET_SOFTWARE);
    tl_app_init();
    /* one text line, outside any SMP frame, naming version, board and reset reason */
    const char *want = "theraloop " TL_VERSION_STRING " board=host reset=software build=";
    TL_EXPECT(g_cap.len > strlen(want) + 2u);
    TL_EXPECT_MEM_EQ(g_cap.data, want, strlen(want));
    TL_EXPECT_EQ(g_cap.data[g_cap.len - 1u], '\n');
    TL_EXPECT(g_cap.data[0] != 0x06 && g_cap.data[0] != 0x04);
}

static void test_cli_output_to_fd(void)
{
    int fds[2];
    TL_EXPECT_EQ(pipe(fds), 0);
    tl_host_set_cli_sink(NULL, NULL);
    tl_host_set_cli_fd(fds[1]);
    tl_host_boot(TL_RESET_POWER_ON);
    tl_app_init();
    { /* skip the boot banner line */
        uint8_t c = 0;
        while (read(fds[0], &c, 1) == 1 && c != '\n') {
        }
    }
    tl_app_cli_input(k_echo_hello_frame, sizeof(k_echo_hello_frame));
    uint8_t buf[256];
    ssize_t n = read(fds[0], buf, sizeof(buf));
    TL_EXPECT(n > 0);
    uint8_t pkt[4096];
    size_t len = 0;
    size_t lines = 0;
    size_t longest = 0;
    TL_EXPECT(ref_unframe(buf, (size_t)n, pkt, sizeof(pkt), &len, &lines, &longest));
    TL_EXPECT_EQ(len, 18);
    /* a reader that never drains: output is dropped after the timeout, not blocking forever */
    TL_EXPECT_EQ(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
    uint64_t dropped_before = tl_host_cli_dropped();
    static uint8_t fill[1 << 16];
    while (write(fds[1], fill, sizeof(fill)) > 0) {
    }
    tl_app_cli_input(k_echo_hello_frame, sizeof(k_echo_hello_frame));
    TL_EXPECT(tl_host_cli_dropped() > dropped_before);
    close(fds[0]);
    close(fds[1]);
    tl_host_set_cli_fd(1);
}

static void test_uptime_and_boot(void)
{
    tl_host_boot(TL_RESET_PIN);
    TL_EXPECT_EQ(tl_platform_reset_reason(), TL_RESET_PIN);
    uint32_t t0 = tl_platform_uptime_ms();
    TL_EXPECT(t0 < 1000);
    struct timespec pause = {0, 20000000};
    nanosleep(&pause, NULL);
    uint32_t t1 = tl_platform_uptime_ms();
    TL_EXPECT(t1 >= t0 + 15);
    const uint8_t *a = NULL;
    const uint8_t *b = NULL;
    TL_EXPECT_EQ(tl_platform_build_id(&a), 8);
    TL_EXPECT_EQ(tl_platform_build_id(&b), 8);
    TL_EXPECT(a != NULL && b != NULL && memcmp(a, b, 8) == 0);
    TL_EXPECT(strcmp(tl_platform_board_name(), "host") == 0);
    /* unknown fault kinds are ignored */
    tl_platform_trigger_fault(9);
    tl_reset_reason_t why;
    TL_EXPECT(!tl_host_take_reboot(&why));
}

int main(void)
{
    TL_RUN(test_echo_round_trip);
    TL_RUN(test_echo_1k_multi_line);
    TL_RUN(test_noise_gives_no_output);
    TL_RUN(test_reset_after_response);
    TL_RUN(test_info_counts_frames);
    TL_RUN(test_init_resets_state);
    TL_RUN(test_boot_banner);
    TL_RUN(test_cli_output_to_fd);
    TL_RUN(test_uptime_and_boot);
    return tl_test_summary();
}
