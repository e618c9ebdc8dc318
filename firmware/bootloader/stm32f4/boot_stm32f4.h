/*
 * boot_stm32f4.h - the STM32F4 bootloader's entry points (boot_main.c).
 */
#ifndef TL_BOOT_STM32F4_H
#define TL_BOOT_STM32F4_H

/* Called by Reset_Handler once .data/.bss are set up. */
__attribute__((noreturn)) void tl_boot_main(void);

/* SysTick: counts 2^24-tick wraps for the cycle counter of the check timing. */
void tl_boot_systick_handler(void);

#endif /* TL_BOOT_STM32F4_H */
