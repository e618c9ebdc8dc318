/*
 * platform_host.h - controls of the host (POSIX) board port that only exist on the PC:
 * where CLI output goes, virtual reboots, and what the core asked of the "hardware"
 * (used by theraloop-host and by the unit tests; the core never includes this file).
 *
 * Virtual reboots: on the host, tl_platform_reset() and tl_platform_trigger_fault() return.
 * They record the reason the next boot will report; the program that drives the core
 * (theraloop-host's main loop) picks it up with tl_host_take_reboot() and boots again with
 * tl_host_boot() + tl_app_init().
 */
#ifndef THERALOOP_PLATFORM_HOST_H
#define THERALOOP_PLATFORM_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "theraloop/fault.h"
#include "theraloop/platform.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Start a (virtual) run: uptime restarts at 0 and tl_platform_reset_reason() reports
 * `reason`. The fault record of the previous run stays visible only if reason is
 * TL_RESET_FAULT. Before the first call the platform behaves as after a power-on boot. */
void tl_host_boot(tl_reset_reason_t reason);

/* If the core requested a reset or raised a (simulated) fault since the last boot, return
 * true once and store the reason the next boot should report. */
bool tl_host_take_reboot(tl_reset_reason_t *reason);

/* CLI output goes to this file descriptor (default 1, stdout). Writes wait up to one
 * second for a full pipe/pty to drain, then the rest is dropped (counted). */
void tl_host_set_cli_fd(int fd);

/* Or to a function (tests, fuzzers). NULL restores output to the file descriptor. */
typedef void (*tl_host_cli_sink_fn)(void *ctx, const uint8_t *data, size_t len);
void tl_host_set_cli_sink(tl_host_cli_sink_fn fn, void *ctx);

/* Bytes of CLI output dropped because the descriptor did not drain (or failed). */
uint64_t tl_host_cli_dropped(void);

/* What the core did to the "hardware" since the process started. */
typedef struct {
    uint32_t resets;          /* tl_platform_reset() calls */
    uint32_t stim_safe;       /* tl_platform_stim_safe() calls */
    uint32_t fault_triggers;  /* tl_platform_trigger_fault() calls */
    uint32_t last_fault_kind; /* kind passed to the last tl_platform_trigger_fault() */
    uint32_t stim_bytes;      /* bytes given to tl_platform_stim_write() */
    uint32_t stim_dropped;    /* of those, not delivered (safe state, nobody reading) */
} tl_host_counters_t;
void tl_host_counters(tl_host_counters_t *out);

/* Where tl_platform_stim_write() bytes go: a file descriptor (theraloop-host --stim-pty;
 * default -1: dropped and counted) or a function (tests). After tl_platform_stim_safe()
 * they are dropped until the next tl_host_boot(), as the device kills its USART3. */
void tl_host_set_stim_fd(int fd);
void tl_host_set_stim_sink(tl_host_cli_sink_fn fn, void *ctx);

/* Simulation time: with the virtual clock on, tl_platform_uptime_ms() returns a counter
 * that only tl_host_advance_ms() moves (starting at 0), so software-in-the-loop runs are
 * deterministic and as fast as the CPU allows. Off (the default): CLOCK_MONOTONIC. */
void tl_host_use_virtual_clock(bool on);
void tl_host_advance_ms(uint32_t ms);

/* State of the stimulator's hardware enable line (tl_platform_stim_enable). */
bool tl_host_stim_enabled(void);

/* Set (or with NULL, clear) the fault record tl_platform_last_fault() reports. */
void tl_host_set_fault_record(const tl_fault_record_t *rec);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_PLATFORM_HOST_H */
