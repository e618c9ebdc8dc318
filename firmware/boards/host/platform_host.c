/*
 * platform_host.c - platform.h on a POSIX PC (Linux, macOS): the board port that runs
 * the portable core in unit tests, fuzzers and theraloop-host. See platform_host.h.
 */
#define _XOPEN_SOURCE 700

#include "platform_host.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "theraloop/version.h"

/* Cortex-M fault status bits the simulated faults report, as the M4 would set them. */
#define CFSR_BUS_PRECISERR 0x00000200u
#define CFSR_BUS_BFARVALID 0x00008000u
#define CFSR_USAGE_UNDEFINSTR 0x00010000u
#define CFSR_USAGE_DIVBYZERO 0x02000000u
/* The address the simulated bus fault "read": the unmapped address the stm32f4 port reads. */
#define SIM_BUS_FAULT_ADDRESS 0x30000000u

#define CLI_WRITE_TIMEOUT_MS 1000

static struct {
    bool booted;
    struct timespec boot_time;
    tl_reset_reason_t reason;
    bool reboot_pending;
    tl_reset_reason_t next_reason;
    bool have_fault;
    tl_fault_record_t fault;
    int cli_fd;
    tl_host_cli_sink_fn sink;
    void *sink_ctx;
    uint64_t cli_dropped;
    tl_host_counters_t counters;
    bool virtual_clock;
    uint32_t virtual_ms;
    int stim_fd;
    tl_host_cli_sink_fn stim_sink;
    void *stim_sink_ctx;
    bool stim_safe;
    bool stim_enabled;
} g_host = {.cli_fd = 1, .stim_fd = -1};

static void now(struct timespec *ts)
{
    if (clock_gettime(CLOCK_MONOTONIC, ts) != 0) {
        ts->tv_sec = 0;
        ts->tv_nsec = 0;
    }
}

void tl_host_boot(tl_reset_reason_t reason)
{
    now(&g_host.boot_time);
    g_host.booted = true;
    g_host.reason = reason;
    g_host.stim_safe = false;
    g_host.stim_enabled = false;
    g_host.reboot_pending = false;
    if (reason != TL_RESET_FAULT) {
        g_host.have_fault = false;
    }
}

static void ensure_booted(void)
{
    if (!g_host.booted) {
        tl_host_boot(TL_RESET_POWER_ON);
    }
}

bool tl_host_take_reboot(tl_reset_reason_t *reason)
{
    if (!g_host.reboot_pending) {
        return false;
    }
    g_host.reboot_pending = false;
    *reason = g_host.next_reason;
    return true;
}

void tl_host_set_cli_fd(int fd)
{
    g_host.cli_fd = fd;
}

void tl_host_set_cli_sink(tl_host_cli_sink_fn fn, void *ctx)
{
    g_host.sink = fn;
    g_host.sink_ctx = ctx;
}

uint64_t tl_host_cli_dropped(void)
{
    return g_host.cli_dropped;
}

void tl_host_counters(tl_host_counters_t *out)
{
    *out = g_host.counters;
}

void tl_host_set_fault_record(const tl_fault_record_t *rec)
{
    if (rec == NULL) {
        g_host.have_fault = false;
        return;
    }
    g_host.fault = *rec;
    g_host.have_fault = true;
}

void tl_host_use_virtual_clock(bool on)
{
    g_host.virtual_clock = on;
    g_host.virtual_ms = 0;
}

void tl_host_advance_ms(uint32_t ms)
{
    g_host.virtual_ms += ms; /* wraps like the device's 32-bit tick */
}

uint32_t tl_platform_uptime_ms(void)
{
    ensure_booted();
    if (g_host.virtual_clock) {
        return g_host.virtual_ms;
    }
    struct timespec t;
    now(&t);
    int64_t ms = ((int64_t)t.tv_sec - (int64_t)g_host.boot_time.tv_sec) * 1000 +
                 ((int64_t)t.tv_nsec - (int64_t)g_host.boot_time.tv_nsec) / 1000000;
    return (uint32_t)(uint64_t)ms; /* wraps like the 1 kHz tick on the device */
}

void tl_platform_cli_write(const uint8_t *data, size_t len)
{
    if (g_host.sink != NULL) {
        g_host.sink(g_host.sink_ctx, data, len);
        return;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(g_host.cli_fd, data + done, len - done);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {.fd = g_host.cli_fd, .events = POLLOUT, .revents = 0};
            int r = poll(&p, 1, CLI_WRITE_TIMEOUT_MS);
            if (r > 0 || (r < 0 && errno == EINTR)) {
                continue;
            }
        }
        break; /* error, or nobody drains the descriptor */
    }
    g_host.cli_dropped += (uint64_t)(len - done);
}

void tl_host_set_stim_fd(int fd)
{
    g_host.stim_fd = fd;
}

void tl_host_set_stim_sink(tl_host_cli_sink_fn fn, void *ctx)
{
    g_host.stim_sink = fn;
    g_host.stim_sink_ctx = ctx;
}

void tl_platform_stim_write(const uint8_t *data, size_t len)
{
    g_host.counters.stim_bytes += (uint32_t)len;
    if (g_host.stim_safe) {
        g_host.counters.stim_dropped += (uint32_t)len; /* the link is off, as on the device */
        return;
    }
    if (g_host.stim_sink != NULL) {
        g_host.stim_sink(g_host.stim_sink_ctx, data, len);
        return;
    }
    size_t done = 0;
    while (g_host.stim_fd >= 0 && done < len) {
        ssize_t n = write(g_host.stim_fd, data + done, len - done);
        if (n > 0) {
            done += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            break; /* nobody reads the stimulator pty: the frames are lost, as on a wire */
        }
    }
    g_host.counters.stim_dropped += (uint32_t)(len - done);
}

uint32_t tl_platform_cycles(void)
{
    if (g_host.virtual_clock) {
        return g_host.virtual_ms * 1000000u; /* ns; a step takes no virtual time */
    }
    struct timespec t;
    now(&t);
    return (uint32_t)((uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec);
}

uint32_t tl_platform_cycles_hz(void)
{
    return 1000000000u;
}

void tl_platform_reset(void)
{
    g_host.counters.resets++;
    g_host.reboot_pending = true;
    g_host.next_reason = TL_RESET_SOFTWARE;
}

tl_reset_reason_t tl_platform_reset_reason(void)
{
    ensure_booted();
    return g_host.reason;
}

bool tl_platform_last_fault(tl_fault_record_t *out)
{
    if (!g_host.have_fault) {
        return false;
    }
    *out = g_host.fault;
    return true;
}

const char *tl_platform_board_name(void)
{
    return "host";
}

size_t tl_platform_build_id(const uint8_t **id)
{
    /* 64-bit FNV-1a of "<version> <source revision>": stable for a given source tree. */
    static uint8_t bytes[8];
    static bool ready;
    if (!ready) {
        static const char k_text[] = TL_VERSION_STRING " " TL_SOURCE_REVISION;
        uint64_t h = 0xcbf29ce484222325u;
        for (size_t i = 0; i + 1u < sizeof(k_text); i++) {
            h ^= (uint8_t)k_text[i];
            h *= 0x00000100000001b3u;
        }
        for (size_t i = 0; i < sizeof(bytes); i++) {
            bytes[i] = (uint8_t)(h >> (56u - 8u * i));
        }
        ready = true;
    }
    *id = bytes;
    return sizeof(bytes);
}

void tl_platform_stim_safe(void)
{
    g_host.counters.stim_safe++;
    g_host.stim_safe = true; /* latched until the next (virtual) boot, like USART3 TX */
}

void tl_platform_trigger_fault(uint32_t kind)
{
    /* The host does not crash: it records the fault a Cortex-M4 would take and asks for a
     * reboot whose reason is "fault", so tools see the same sequence as on the device. */
    g_host.counters.fault_triggers++;
    g_host.counters.last_fault_kind = kind;
    tl_fault_record_t rec;
    memset(&rec, 0, sizeof(rec));
    switch (kind) {
    case TL_FAULT_TRIGGER_BUS_READ:
        rec.kind = TL_FAULT_BUS;
        rec.cfsr = CFSR_BUS_PRECISERR | CFSR_BUS_BFARVALID;
        rec.bfar = SIM_BUS_FAULT_ADDRESS;
        break;
    case TL_FAULT_TRIGGER_UNDEF_INSN:
        rec.kind = TL_FAULT_USAGE;
        rec.cfsr = CFSR_USAGE_UNDEFINSTR;
        break;
    case TL_FAULT_TRIGGER_DIV_ZERO:
        rec.kind = TL_FAULT_USAGE;
        rec.cfsr = CFSR_USAGE_DIVBYZERO;
        break;
    default:
        return; /* unknown kinds are ignored, as on the device */
    }
    rec.uptime_ms = tl_platform_uptime_ms();
    g_host.fault = rec;
    g_host.have_fault = true;
    g_host.reboot_pending = true;
    g_host.next_reason = TL_RESET_FAULT;
}

void tl_platform_stim_enable(bool on)
{
    g_host.stim_enabled = on;
}

bool tl_host_stim_enabled(void)
{
    return g_host.stim_enabled;
}
