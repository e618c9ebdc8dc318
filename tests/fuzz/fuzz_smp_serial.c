/*
 * fuzz_smp_serial.c - an arbitrary byte stream on the management serial port, through the
 * real application wiring (framing, SMP server, OS and theraloop groups, deferred actions)
 * on the host platform. Checks that every output line is a well-formed frame line of at
 * most 127 bytes (or the one-line text boot banner after a (re)boot); ASan/UBSan check
 * memory and undefined behaviour.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "platform_host.h"
#include "theraloop/app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int g_expect_banner;

static void check_line(void *ctx, const uint8_t *line, size_t len)
{
    (void)ctx;
    if (g_expect_banner) { /* "theraloop <version> board=..." then CRLF */
        g_expect_banner = 0;
        if (len < 12 || memcmp(line, "theraloop ", 10) != 0 || line[len - 1] != '\n') {
            abort();
        }
        return;
    }
    if (len < 3 || len > 127 || line[len - 1] != '\n') {
        abort();
    }
    if (!((line[0] == 0x06 && line[1] == 0x09) || (line[0] == 0x04 && line[1] == 0x14))) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tl_host_set_cli_sink(check_line, NULL);
    tl_host_boot(TL_RESET_POWER_ON);
    g_expect_banner = 1;
    tl_app_init();
    /* Deliver the input in uneven chunks (sizes taken from the input itself), polling in
     * between like the main loop does. */
    size_t off = 0;
    size_t step = 1;
    while (off < size) {
        size_t n = size - off < step ? size - off : step;
        tl_app_cli_input(data + off, n);
        tl_app_poll();
        tl_reset_reason_t why;
        if (tl_host_take_reboot(&why)) {
            tl_host_boot(why);
            g_expect_banner = 1;
            tl_app_init();
        }
        off += n;
        step = (size_t)data[off - 1] % 64u + 1u;
    }
    return 0;
}
