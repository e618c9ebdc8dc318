/*
 * board.h - private interfaces between the files of the stm32f4 board port.
 *
 * Nothing here is visible to the portable core; the core sees only platform.h.
 */
#ifndef TL_STM32F4_BOARD_H
#define TL_STM32F4_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "theraloop/fault.h"
#include "theraloop/platform.h"

/* ---- build options (set by CMakeLists.txt) -------------------------------------- */

#ifndef TL_STM32F4_HSE_HZ
#define TL_STM32F4_HSE_HZ 8000000u /* STM32F4-Discovery; Netduino Plus 2 has 25 MHz */
#endif
/* USART1 (CLI) pins: 0 = PA9/PA10 (default), 1 = PB6/PB7. */
#ifndef TL_STM32F4_CLI_PINS_PB6_PB7
#define TL_STM32F4_CLI_PINS_PB6_PB7 0
#endif

/* ---- clocks (clock.c) ------------------------------------------------------------ */

typedef enum {
    TL_STM32_CLK_HSI = 0,      /* 16 MHz internal RC: HSE or PLL failed to start */
    TL_STM32_CLK_HSE_PLL = 1,  /* HSE -> PLL -> 168 MHz (normal on silicon) */
    TL_STM32_CLK_EMULATED = 2, /* RCC not modelled (QEMU): fixed 168 MHz virtual clock */
} tl_stm32_clk_src_t;

typedef struct {
    uint32_t sysclk_hz; /* = HCLK = core clock (AHB prescaler is 1) */
    uint32_t apb1_hz;
    uint32_t apb2_hz;
    tl_stm32_clk_src_t source;
} tl_stm32_clocks_t;

/* Set once by tl_stm32_clock_init() at reset; read-only afterwards. */
extern tl_stm32_clocks_t tl_stm32_clocks;

/* Bring the clock tree up (bounded waits, falls back to HSI; detects QEMU). */
void tl_stm32_clock_init(void);
const char *tl_stm32_clock_source_name(tl_stm32_clk_src_t src);

/* ---- time base (systick.c) -------------------------------------------------------- */

/* Start the 1 kHz SysTick from tl_stm32_clocks.sysclk_hz. */
void tl_stm32_systick_init(void);

/* ---- GPIO (gpio.c) ------------------------------------------------------------------ */

typedef enum {
    TL_GPIO_PORT_A = 0,
    TL_GPIO_PORT_B = 1,
    TL_GPIO_PORT_C = 2,
    TL_GPIO_PORT_D = 3,
} tl_gpio_port_t;

typedef struct {
    uint8_t port; /* tl_gpio_port_t */
    uint8_t pin;  /* 0..15 */
} tl_gpio_pin_t;

void tl_gpio_clock_enable(tl_gpio_port_t port);
/* Alternate function `af`, push-pull, high speed; pull-up when `pull_up`. */
void tl_gpio_config_af(tl_gpio_pin_t p, uint32_t af, bool pull_up);
/* Push-pull output, driven to `level` before the pin switches to output. */
void tl_gpio_config_output(tl_gpio_pin_t p, bool level);
void tl_gpio_write(tl_gpio_pin_t p, bool level);

/* STIM_EN: stimulator enable line, active high, driven low = safe (PB0). The board
 * must also have an external pull-down so it is low while the MCU is in reset. */
#define TL_STM32F4_STIM_EN_PIN ((tl_gpio_pin_t){TL_GPIO_PORT_B, 0})

/* ---- USART driver (usart.c) --------------------------------------------------------- */

typedef enum {
    TL_STM32_USART1 = 0, /* CLI / management (SMP) */
    TL_STM32_USART2 = 1, /* sensor front end (AFE) link */
    TL_STM32_USART3 = 2, /* stimulator link */
    TL_STM32_USART_COUNT = 3,
} tl_stm32_usart_id_t;

#define TL_STM32_USART_CLI TL_STM32_USART1
#define TL_STM32_USART_AFE TL_STM32_USART2
#define TL_STM32_USART_STIM TL_STM32_USART3
#define TL_STM32_USART_DEFAULT_BAUD 115200u

typedef enum {
    TL_STM32_USART_OK = 0,
    TL_STM32_USART_EINVAL = -1, /* unknown instance */
    TL_STM32_USART_EBAUD = -2,  /* baud rate not reachable from the APB clock */
} tl_stm32_usart_err_t;

typedef struct {
    uint32_t rx_bytes;    /* bytes received and queued */
    uint32_t rx_overflow; /* received bytes dropped: RX ring full */
    uint32_t rx_overrun;  /* hardware overruns (ORE): at least one byte lost */
    uint32_t rx_framing;  /* bytes dropped with a framing error (FE) */
    uint32_t rx_parity;   /* bytes dropped with a parity error (PE) */
    uint32_t rx_noise;    /* bytes kept despite noise detection (NF) */
    uint32_t tx_bytes;    /* bytes handed to the data register */
    uint32_t tx_dropped;  /* bytes not queued (TX killed, or ring full in an ISR) */
} tl_stm32_usart_stats_t;

/* Clocks, pins, 8N1 at `baud`, ring buffers, NVIC. Re-initialising an instance
 * empties its rings and re-arms a transmitter killed by tl_stm32_usart_tx_kill. */
tl_stm32_usart_err_t tl_stm32_usart_init(tl_stm32_usart_id_t id, uint32_t baud);

/* Writers: the TX ring of a port has a single producer, the thread (main loop).
 * Non-blocking: queue up to `len` bytes, returns how many were queued (all of them,
 * discarded and counted in tx_dropped, when the transmitter is killed). */
size_t tl_stm32_usart_write(tl_stm32_usart_id_t id, const uint8_t *data, size_t len);
/* Queue all bytes, sleeping (WFI) while the TX ring is full. Called in handler mode,
 * or with interrupts masked once the ring is full, it cannot wait for the TX
 * interrupt: those bytes are dropped and counted instead (never a deadlock). */
void tl_stm32_usart_write_all(tl_stm32_usart_id_t id, const uint8_t *data, size_t len);
/* Non-blocking: take up to `max` received bytes. */
size_t tl_stm32_usart_read(tl_stm32_usart_id_t id, uint8_t *buf, size_t max);
size_t tl_stm32_usart_rx_available(tl_stm32_usart_id_t id);
/* True when the TX ring is empty and the last stop bit has left the pin. */
bool tl_stm32_usart_tx_idle(tl_stm32_usart_id_t id);
/* Wait (bounded by `max_ms` of uptime and by an iteration limit) for tx_idle. */
bool tl_stm32_usart_flush(tl_stm32_usart_id_t id, uint32_t max_ms);
/* Fault-safe: stop transmitting now (TE and TXEIE off, TX pin driven idle-high as a
 * GPIO). Latched: later writes are dropped until tl_stm32_usart_init. Any context. */
void tl_stm32_usart_tx_kill(tl_stm32_usart_id_t id);
void tl_stm32_usart_get_stats(tl_stm32_usart_id_t id, tl_stm32_usart_stats_t *out);

/* ---- faults and reset bookkeeping (fault.c) ------------------------------------------ */

/* Decide the reset reason and take over a valid fault record from no-init RAM;
 * called once at boot, before anything can fault or request a reset. */
void tl_stm32_reset_bookkeeping_init(void);
/* RCC_CSR as read at boot, before clearing (0 under QEMU). For diagnostics. */
uint32_t tl_stm32_reset_flags(void);
/* Enable MemManage/Bus/Usage faults and divide-by-zero trapping. */
void tl_stm32_fault_init(void);
/* Record `reason` for the next boot and reset the chip (SYSRESETREQ). */
__attribute__((noreturn)) void tl_stm32_system_reset(tl_reset_reason_t reason);
/* C half of the fault handlers (called from the naked assembly stubs). */
/* Body of a naked fault stub: pass the exception frame (MSP or PSP, chosen by
 * EXC_RETURN bit 2), EXC_RETURN and the tl_fault_kind_t (a decimal string) to
 * tl_stm32_fault_entry. Basic asm only, as required in naked functions. */
#define TL_STM32_FAULT_STUB(kind_str)                                                  \
    __asm volatile("tst lr, #4\n\t"                                                     \
                   "ite eq\n\t"                                                         \
                   "mrseq r0, msp\n\t"                                                  \
                   "mrsne r0, psp\n\t"                                                  \
                   "mov r1, lr\n\t"                                                     \
                   "movs r2, #" kind_str "\n\t"                                         \
                   "b tl_stm32_fault_entry\n\t")
__attribute__((noreturn)) void tl_stm32_fault_entry(const uint32_t *frame, uint32_t exc_return,
                                                    uint32_t kind);

/* ---- board bring-up (board.c) ------------------------------------------------------- */

/* Everything main() needs before tl_app_init(): safe stimulator state, fault
 * handling, SysTick, USARTs. Clocks are already up (Reset_Handler). */
void tl_stm32_board_init(void);
/* Race-free idle: sleep until the next interrupt unless CLI input is pending. */
void tl_stm32_idle(void);

/* ---- linker symbols ------------------------------------------------------------------- */

extern uint32_t __stack_top;
extern uint32_t __ram_start;
extern uint32_t __ram_end;
extern uint32_t __ccm_start;
extern uint32_t __ccm_end;
extern const uint8_t __build_id_note_start[];
extern const uint8_t __build_id_note_end[];

#endif /* TL_STM32F4_BOARD_H */
