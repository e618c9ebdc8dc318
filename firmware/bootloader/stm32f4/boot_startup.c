/*
 * boot_startup.c - the bootloader's vector table and reset handler.
 *
 * Only the 16 Cortex-M4 system exceptions: the bootloader enables no peripheral
 * interrupt. Reset_Handler enables the FPU (the code is built for the hard-float ABI),
 * copies .data and zeroes .bss (all in the top 16 KiB of SRAM, bootloader.ld) and calls
 * tl_boot_main(). A fault stops in a loop: the bootloader has nothing safer to do, and
 * a reset loop would only hide it (a debugger sees the stopped core).
 */
#include <stdint.h>

#include "boot_stm32f4.h"
#include "stm32f4_regs.h"

typedef void (*tl_boot_isr_t)(void);

extern uint32_t __stack_top;
extern uint32_t __data_start[];
extern uint32_t __data_end[];
extern const uint32_t __data_load_start[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];

__attribute__((noreturn)) void Reset_Handler(void);
void tl_boot_fault_handler(void);

__attribute__((noreturn)) void Reset_Handler(void)
{
    TL_SCB->CPACR |= TL_SCB_CPACR_CP10_CP11_FULL;
    tl_dsb();
    tl_isb();
    volatile uint32_t *dst = __data_start;
    const volatile uint32_t *src = __data_load_start;
    while (dst < __data_end) {
        *dst++ = *src++;
    }
    for (volatile uint32_t *p = __bss_start; p < __bss_end; p++) {
        *p = 0u;
    }
    tl_boot_main();
}

void tl_boot_fault_handler(void)
{
    tl_irq_disable();
    for (;;) {
    }
}

__attribute__((section(".isr_vector"), used)) const tl_boot_isr_t tl_boot_vectors[16] = {
    (tl_boot_isr_t)(uintptr_t)&__stack_top,
    Reset_Handler,
    tl_boot_fault_handler, /* NMI */
    tl_boot_fault_handler, /* HardFault */
    tl_boot_fault_handler, /* MemManage */
    tl_boot_fault_handler, /* BusFault */
    tl_boot_fault_handler, /* UsageFault */
    0,
    0,
    0,
    0,
    tl_boot_fault_handler, /* SVC */
    tl_boot_fault_handler, /* DebugMon */
    0,
    tl_boot_fault_handler, /* PendSV */
    tl_boot_systick_handler,
};
