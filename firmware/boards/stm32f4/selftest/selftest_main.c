/*
 * selftest_main.c - board bring-up image: the stm32f4 port without the application.
 *
 * Built as theraloop_board_selftest.elf next to the firmware. It exercises exactly
 * the board services through the CLI USART, line by line (LF-terminated):
 *
 *   ping              -> "pong"
 *   echo <text>       -> "<text>"
 *   len <bytes>       -> "len <n> sum <sum of bytes mod 2^32>"   (bulk RX)
 *   bulk <n>          -> n bytes 'A'..'Z' repeated, then "\r\nEND" (bulk TX)
 *   info              -> the boot report (reset reason, fault record, clocks, build id)
 *   uptime            -> "uptime <ms>"
 *   stats             -> CLI USART counters
 *   fault <kind>      -> tl_platform_trigger_fault(kind)
 *   irq <n>           -> enable and pend IRQ n, which has no handler (Default_Handler)
 *   stimsafe          -> tl_platform_stim_safe(), then "stimsafe cr1=<USART3 CR1>
 *                        queued=<n> dropped=<n>" after trying to send on the stim link
 *   reset             -> tl_platform_reset()
 *   exit <code>       -> semihosting exit (only with -semihosting-config enable=on)
 *
 * Every reply line ends with "\r\n". Output is written with tl_platform_cli_write,
 * i.e. through the interrupt-driven TX ring.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "semihost.h"
#include "stm32f4_regs.h"

#define LINE_MAX 4096u

static char s_line[LINE_MAX];
static size_t s_line_len;
static bool s_line_overflow;

static void out(const char *s)
{
    tl_platform_cli_write((const uint8_t *)s, strlen(s));
}

static void out_u32(uint32_t v)
{
    char buf[11];
    size_t i = sizeof buf;
    buf[--i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    out(&buf[i]);
}

static void out_hex32(uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[11] = "0x";
    for (unsigned i = 0; i < 8u; i++) {
        buf[2u + i] = digits[(v >> (28u - 4u * i)) & 0xFu];
    }
    buf[10] = '\0';
    out(buf);
}

static bool parse_u32(const char *s, uint32_t *v)
{
    uint32_t acc = 0;
    if (*s == '\0') {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || acc > (UINT32_MAX - 9u) / 10u) {
            return false;
        }
        acc = acc * 10u + (uint32_t)(*s - '0');
    }
    *v = acc;
    return true;
}

static void report(void)
{
    static const char digits[] = "0123456789abcdef";
    tl_fault_record_t f;
    out("BOOT reason=");
    out_u32((uint32_t)tl_platform_reset_reason());
    out(" board=");
    out(tl_platform_board_name());
    out(" clk=");
    out(tl_stm32_clock_source_name(tl_stm32_clocks.source));
    out(" sysclk=");
    out_u32(tl_stm32_clocks.sysclk_hz);
    out(" rcc_csr=");
    out_hex32(tl_stm32_reset_flags());
    out(" build_id=");
    const uint8_t *id;
    size_t n = tl_platform_build_id(&id);
    for (size_t i = 0; i < n; i++) {
        char hx[3] = {digits[id[i] >> 4], digits[id[i] & 15u], '\0'};
        out(hx);
    }
    if (tl_platform_last_fault(&f)) {
        out(" fault=1 kind=");
        out_u32(f.kind);
        out(" pc=");
        out_hex32(f.pc);
        out(" lr=");
        out_hex32(f.lr);
        out(" xpsr=");
        out_hex32(f.xpsr);
        out(" sp=");
        out_hex32(f.sp);
        out(" cfsr=");
        out_hex32(f.cfsr);
        out(" hfsr=");
        out_hex32(f.hfsr);
        out(" bfar=");
        out_hex32(f.bfar);
        out(" mmfar=");
        out_hex32(f.mmfar);
        out(" uptime=");
        out_u32(f.uptime_ms);
    } else {
        out(" fault=0");
    }
    out("\r\n");
}

static void bulk(uint32_t n)
{
    uint8_t chunk[64];
    uint32_t pos = 0;
    while (pos < n) {
        uint32_t k = n - pos < sizeof chunk ? n - pos : (uint32_t)sizeof chunk;
        for (uint32_t i = 0; i < k; i++) {
            chunk[i] = (uint8_t)('A' + (pos + i) % 26u);
        }
        tl_platform_cli_write(chunk, k);
        pos += k;
    }
    out("\r\nEND\r\n");
}

static void command(char *line)
{
    char *arg = strchr(line, ' ');
    if (arg != NULL) {
        *arg++ = '\0';
    } else {
        arg = line + strlen(line);
    }
    uint32_t v = 0;
    if (strcmp(line, "ping") == 0) {
        out("pong\r\n");
    } else if (strcmp(line, "echo") == 0) {
        out(arg);
        out("\r\n");
    } else if (strcmp(line, "len") == 0) {
        uint32_t sum = 0;
        size_t len = strlen(arg);
        for (size_t i = 0; i < len; i++) {
            sum += (uint8_t)arg[i];
        }
        out("len ");
        out_u32((uint32_t)len);
        out(" sum ");
        out_u32(sum);
        out("\r\n");
    } else if (strcmp(line, "bulk") == 0 && parse_u32(arg, &v)) {
        bulk(v);
    } else if (strcmp(line, "info") == 0) {
        report();
    } else if (strcmp(line, "uptime") == 0) {
        out("uptime ");
        out_u32(tl_platform_uptime_ms());
        out("\r\n");
    } else if (strcmp(line, "stats") == 0) {
        tl_stm32_usart_stats_t st;
        tl_stm32_usart_get_stats(TL_STM32_USART_CLI, &st);
        out("stats rx=");
        out_u32(st.rx_bytes);
        out(" rx_overflow=");
        out_u32(st.rx_overflow);
        out(" rx_overrun=");
        out_u32(st.rx_overrun);
        out(" rx_framing=");
        out_u32(st.rx_framing);
        out(" tx=");
        out_u32(st.tx_bytes);
        out(" tx_dropped=");
        out_u32(st.tx_dropped);
        out("\r\n");
    } else if (strcmp(line, "fault") == 0 && parse_u32(arg, &v)) {
        out("faulting\r\n");
        (void)tl_stm32_usart_flush(TL_STM32_USART_CLI, 100u);
        tl_platform_trigger_fault(v);
        out("no fault\r\n");
    } else if (strcmp(line, "irq") == 0 && parse_u32(arg, &v) && v < TL_IRQ_COUNT) {
        out("pending\r\n");
        (void)tl_stm32_usart_flush(TL_STM32_USART_CLI, 100u);
        tl_nvic_set_priority(v, 7u);
        tl_nvic_enable(v);
        tl_nvic_set_pending(v);
        tl_dsb();
        tl_isb();
        out("no interrupt\r\n");
    } else if (strcmp(line, "stimsafe") == 0) {
        tl_platform_stim_safe();
        static const uint8_t cmd[4] = {0xA5, 0x01, 0x02, 0x03};
        size_t queued = tl_stm32_usart_write(TL_STM32_USART_STIM, cmd, sizeof cmd);
        tl_stm32_usart_stats_t st;
        tl_stm32_usart_get_stats(TL_STM32_USART_STIM, &st);
        out("stimsafe cr1=");
        out_hex32(TL_USART3->CR1);
        out(" queued=");
        out_u32((uint32_t)queued);
        out(" dropped=");
        out_u32(st.tx_dropped);
        out(" tx=");
        out_u32(st.tx_bytes);
        out("\r\n");
    } else if (strcmp(line, "reset") == 0) {
        out("resetting\r\n");
        tl_platform_reset();
    } else if (strcmp(line, "exit") == 0 && parse_u32(arg, &v)) {
        (void)tl_stm32_usart_flush(TL_STM32_USART_CLI, 100u);
        tl_semihost_exit(v);
    } else {
        out("error unknown command\r\n");
    }
}

static void feed(const uint8_t *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = (char)data[i];
        if (c == '\r') {
            continue;
        }
        if (c == '\n') {
            if (s_line_overflow) {
                out("error line too long\r\n");
            } else {
                s_line[s_line_len] = '\0';
                command(s_line);
            }
            s_line_len = 0;
            s_line_overflow = false;
        } else if (s_line_len < LINE_MAX - 1u) {
            s_line[s_line_len++] = c;
        } else {
            s_line_overflow = true;
        }
    }
}

int main(void)
{
    static uint8_t rx[128];
    tl_stm32_board_init();
    report();
    for (;;) {
        size_t n;
        while ((n = tl_stm32_usart_read(TL_STM32_USART_CLI, rx, sizeof rx)) > 0u) {
            feed(rx, n);
        }
        tl_stm32_idle();
    }
}
