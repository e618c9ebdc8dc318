/*
 * boot_main.c - the STM32F4 bootloader (docs/bootloader.md): runs the portable boot core
 * (boot_core.h) on the board's storage device, prints short lines on USART1 (polled,
 * 115200 8N1 at the reset-default 16 MHz HSI), and starts the application in fw_primary.
 *
 * Left as at reset for the application: the clock tree (never touched), RCC_CSR (the
 * reset flags: the application reads them), USART1 and its pins (reset and clock gated
 * again), SysTick (stopped, nothing pending), PRIMASK (0; no interrupt source enabled).
 * Changed: VTOR (the application's table), MSP (its initial stack pointer), CPACR (FPU
 * enabled, as the application's own startup does), and SRAM from 0x2001C000 (bootloader.ld).
 */
#include <stdbool.h>
#include <stdint.h>

#include "boot_core.h"
#include "boot_stm32f4.h"
#include "flash.h"
#include "stm32f4_regs.h"
#include "theraloop/platform.h"
#include "theraloop/update/signing_key.h"

#define BOOT_BAUD 115200u
#define HSI_HZ 16000000u
#define USART_AF 7u

#define SCB_ICSR_PENDSTCLR (1UL << 25)
#define SCB_ICSR_PENDSTSET (1UL << 26)

#if TL_STM32F4_CLI_PINS_PB6_PB7
#define TX_PORT 1u /* GPIOB */
#define TX_PIN 6u
#else
#define TX_PORT 0u /* GPIOA */
#define TX_PIN 9u
#endif

/* ---- polled USART1 output ---- */

static uint32_t s_gpio_moder, s_gpio_afr, s_gpio_ospeedr;
static bool s_gpio_clock_was_on;

static void uart_init(void)
{
    tl_gpio_regs_t *g = TL_GPIO(TX_PORT);
    uint32_t bit = TL_RCC_AHB1ENR_GPIOAEN << TX_PORT;
    s_gpio_clock_was_on = (TL_RCC->AHB1ENR & bit) != 0u;
    TL_RCC->AHB1ENR |= bit;
    (void)TL_RCC->AHB1ENR;
    s_gpio_moder = g->MODER;
    s_gpio_afr = g->AFR[TX_PIN >> 3];
    s_gpio_ospeedr = g->OSPEEDR;
    uint32_t af_shift = (TX_PIN & 7u) * 4u;
    g->AFR[TX_PIN >> 3] = (s_gpio_afr & ~(0xFUL << af_shift)) | (USART_AF << af_shift);
    g->OSPEEDR = (s_gpio_ospeedr & ~(3UL << (TX_PIN * 2u))) | (2UL << (TX_PIN * 2u));
    g->MODER = (s_gpio_moder & ~(3UL << (TX_PIN * 2u))) | (2UL << (TX_PIN * 2u));

    TL_RCC->APB2ENR |= TL_RCC_APB2ENR_USART1EN;
    (void)TL_RCC->APB2ENR;
    TL_USART1->CR1 = 0u;
    TL_USART1->CR2 = 0u;
    TL_USART1->CR3 = 0u;
    TL_USART1->BRR = (HSI_HZ + BOOT_BAUD / 2u) / BOOT_BAUD;
    TL_USART1->CR1 = TL_USART_CR1_UE | TL_USART_CR1_TE;
}

static void uart_putc(char c)
{
    while ((TL_USART1->SR & TL_USART_SR_TXE) == 0u) {
    }
    TL_USART1->DR = (uint8_t)c;
}

static void uart_puts(const char *s)
{
    while (*s != '\0') {
        uart_putc(*s++);
    }
}

/* Wait until the last byte has left, then give USART1 and its pin back in reset state. */
static void uart_release(void)
{
    while ((TL_USART1->SR & TL_USART_SR_TC) == 0u) {
    }
    TL_USART1->CR1 = 0u;
    TL_RCC->APB2RSTR |= TL_RCC_APB2ENR_USART1EN; /* same bit position in RSTR and ENR */
    TL_RCC->APB2RSTR &= ~TL_RCC_APB2ENR_USART1EN;
    TL_RCC->APB2ENR &= ~TL_RCC_APB2ENR_USART1EN;
    tl_gpio_regs_t *g = TL_GPIO(TX_PORT);
    g->MODER = s_gpio_moder;
    g->OSPEEDR = s_gpio_ospeedr;
    g->AFR[TX_PIN >> 3] = s_gpio_afr;
    if (!s_gpio_clock_was_on) {
        TL_RCC->AHB1ENR &= ~(TL_RCC_AHB1ENR_GPIOAEN << TX_PORT);
    }
}

static void log_line(void *ctx, const char *line)
{
    (void)ctx;
    uart_puts(line);
    uart_puts("\r\n");
}

/* ---- cycle counter: SysTick at the processor clock, wraps counted in its interrupt ---- */

static volatile uint32_t s_wraps;

void tl_boot_systick_handler(void)
{
    s_wraps++;
}

static void cycles_start(void)
{
    TL_SYSTICK->CSR = 0u;
    TL_SYSTICK->RVR = TL_SYSTICK_RVR_MAX;
    TL_SYSTICK->CVR = 0u;
    TL_SYSTICK->CSR = TL_SYSTICK_CSR_ENABLE | TL_SYSTICK_CSR_TICKINT | TL_SYSTICK_CSR_CLKSOURCE_CPU;
    tl_irq_enable();
}

static uint32_t cycles_now(void *ctx)
{
    (void)ctx;
    /* With interrupts masked the wrap count is stable; a wrap the handler has not counted
     * yet shows as a pending SysTick, and the counter is read again after seeing it so
     * that value and count belong to the same period. */
    tl_irq_disable();
    uint32_t v = TL_SYSTICK->CVR;
    uint32_t w = s_wraps;
    if ((TL_SCB->ICSR & SCB_ICSR_PENDSTSET) != 0u) {
        v = TL_SYSTICK->CVR;
        w++;
    }
    tl_irq_enable();
    return (w << 24) + (TL_SYSTICK_RVR_MAX - v);
}

static void cycles_stop(void)
{
    tl_irq_disable();
    TL_SYSTICK->CSR = 0u;
    TL_SYSTICK->RVR = 0u;
    TL_SYSTICK->CVR = 0u;
    TL_SCB->ICSR = SCB_ICSR_PENDSTCLR;
}

/* ---- start the application ---- */

static void put_hex(uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    uart_puts("0x");
    for (int i = 7; i >= 0; i--) {
        uart_putc(digits[(v >> (4 * i)) & 0xFu]);
    }
}

__attribute__((noreturn)) static void halt(void)
{
    cycles_stop();
    for (;;) {
        tl_wfi();
    }
}

__attribute__((noreturn)) static void jump(uint32_t vtor)
{
    const volatile uint32_t *vt = (const volatile uint32_t *)vtor;
    uint32_t sp = vt[0];
    uint32_t pc = vt[1];
    /* signed and checked, but still: a stack in SRAM or CCM, an entry in the slot, Thumb */
    bool sp_ok = (sp > 0x20000000u && sp <= 0x20020000u) || (sp > 0x10000000u && sp <= 0x10010000u);
    bool pc_ok = (pc & 1u) != 0u && pc > vtor && pc < TL_STM32F4_FLASH_BASE + 0x60000u;
    if (!sp_ok || !pc_ok) {
        uart_puts("boot: bad vector table\r\n");
        halt();
    }
    uart_puts("boot: jump ");
    put_hex(vtor);
    uart_puts("\r\n");
    uart_release();
    cycles_stop();
    TL_SCB->VTOR = vtor;
    tl_dsb();
    tl_isb();
    /* MSP from the table, CONTROL to its reset value (no FP context, MSP, privileged),
     * PRIMASK back to its reset value 0 (no interrupt source is enabled), then branch. */
    __asm volatile("msr msp, %0\n\t"
                   "msr control, %2\n\t"
                   "isb\n\t"
                   "cpsie i\n\t"
                   "bx %1\n\t"
                   :
                   : "r"(sp), "r"(pc), "r"(0u)
                   : "memory");
    for (;;) {
    }
}

static tl_sysstate_t s_state;

__attribute__((noreturn)) void tl_boot_main(void)
{
    uart_init();
    cycles_start();
    const tl_storage_t *dev = tl_platform_storage();
    if (dev == NULL) {
        uart_puts("boot: no storage\r\n");
        halt();
    }
    tl_img_policy_t policy = {tl_signing_pubkey, tl_signing_key_hash, TL_IMG_KIND_FIRMWARE, 0u};
    tl_boot_hooks_t hooks = {log_line, cycles_now, NULL};
    static tl_boot_outcome_t out;
    if (tl_boot_run(dev, &s_state, &policy, &hooks, &out) != TL_BOOT_ACTION_JUMP) {
        halt();
    }
    jump(TL_STM32F4_FLASH_BASE + out.vector_off);
}
