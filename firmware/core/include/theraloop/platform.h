/*
 * platform.h - the services a board port provides to the portable core.
 *
 * The core never includes a board header; every board port (firmware/boards/<name>/)
 * implements exactly these functions. Keep this interface small: it is the only
 * thing the core knows about the hardware.
 */
#ifndef THERALOOP_PLATFORM_H
#define THERALOOP_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "theraloop/fault.h"
#include "theraloop/storage/storage.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why the device last started. Reported by `theraloop info`. */
typedef enum {
    TL_RESET_UNKNOWN = 0,
    TL_RESET_POWER_ON = 1, /* cold start: no record of a previous run */
    TL_RESET_PIN = 2,      /* external reset line (NRST) */
    TL_RESET_SOFTWARE = 3, /* requested reset (SMP os reset, update) */
    TL_RESET_WATCHDOG = 4, /* independent or window watchdog */
    TL_RESET_FAULT = 5,    /* fault handler stored a record and reset */
    TL_RESET_BROWNOUT = 6, /* supply dropped below the brown-out threshold */
} tl_reset_reason_t;

/* Stable lower-case name of a reset reason ("software", "fault", ...). */
const char *tl_reset_reason_name(tl_reset_reason_t reason);

/* Milliseconds since boot (1 kHz time base). Wraps after ~49 days. */
uint32_t tl_platform_uptime_ms(void);

/* Queue bytes for the management (CLI) serial port. Blocks (sleeping, not spinning
 * on the data register) until everything is queued; transmission is interrupt-driven. */
void tl_platform_cli_write(const uint8_t *data, size_t len);

/* Flush pending output, then reset the device. Records TL_RESET_SOFTWARE as the
 * reason for the next boot. Does not return on hardware. */
void tl_platform_reset(void);

/* Why the current run started (decided once at boot). */
tl_reset_reason_t tl_platform_reset_reason(void);

/* The fault record left by the previous run's fault handler, if any.
 * Returns false when there is none. */
bool tl_platform_last_fault(tl_fault_record_t *out);

/* Board name, e.g. "stm32f4" or "host". */
const char *tl_platform_board_name(void);

/* Image build id (GNU build-id bytes on firmware; a content hash on the host).
 * Sets *id to point at `len` bytes and returns len (0 if unknown). */
size_t tl_platform_build_id(const uint8_t **id);

/* Queue bytes (a framed command, therapy/stim_link.h) for the stimulator link (USART3
 * on stm32f4). Never blocks for long: once the stimulator is in its safe state
 * (tl_platform_stim_safe) the bytes are dropped. */
void tl_platform_stim_write(const uint8_t *data, size_t len);

/* A free-running cycle counter for timing the control loop (wraps; take differences of
 * intervals shorter than the wrap) and its rate. stm32f4: SysTick based (core clock
 * cycles; DWT CYCCNT reads 0 under QEMU). Host: nanoseconds of CLOCK_MONOTONIC, or of
 * the virtual clock in software-in-the-loop runs (where a step then takes 0 cycles). */
uint32_t tl_platform_cycles(void);
uint32_t tl_platform_cycles_hz(void);

/* The stimulator's hardware enable line (STIM_EN on the STM32F4 board). The control loop
 * raises it just before it sends a command that turns stimulation on and lowers it right
 * after a command that turns stimulation off, so an idle or paused device has its output
 * stage disabled in hardware, not only by command. tl_platform_stim_safe() lowers it too. */
void tl_platform_stim_enable(bool on);

/* Drive the stimulator output to its safe state (off, outputs disabled).
 * Must be callable from any context, including fault handlers. */
void tl_platform_stim_safe(void);

/* Diagnostic used by the `theraloop` group's fault-test command: deliberately raise a
 * CPU fault of the given kind so that the fault path (stimulator safe state, fault
 * record, reset, reason "fault" on the next boot) can be exercised end to end.
 * Does not return on hardware for a known kind; unknown kinds are ignored (returns). */
typedef enum {
    TL_FAULT_TRIGGER_BUS_READ = 1,   /* load from an unmapped address (bus fault) */
    TL_FAULT_TRIGGER_UNDEF_INSN = 2, /* undefined instruction (usage fault) */
    TL_FAULT_TRIGGER_DIV_ZERO = 3,   /* integer divide by zero (usage fault) */
} tl_fault_trigger_t;
void tl_platform_trigger_fault(uint32_t kind);

/* The board's persistent storage device (storage/storage.h) for the configuration store
 * and model slots, or NULL if this board/run has none. The same device on every call;
 * the backend (STM32F4 flash controller, semihosting flash file under QEMU, RAM on the
 * host) is chosen by the board at the first call. See docs/storage.md for the layout. */
const tl_storage_t *tl_platform_storage(void);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_PLATFORM_H */
