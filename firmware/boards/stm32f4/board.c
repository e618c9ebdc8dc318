/*
 * board.c - STM32F4 board bring-up and the idle primitive used by main().
 */
#include "board.h"
#include "stm32f4_regs.h"

void tl_stm32_board_init(void)
{
    /* First: decide why we started and take over a fault record before anything
     * else can overwrite the no-init block. */
    tl_stm32_reset_bookkeeping_init();
    tl_stm32_fault_init();
    /* Stimulator held off from the first instruction that can touch a pin. */
    tl_platform_stim_safe();
    tl_stm32_systick_init();
    (void)tl_stm32_usart_init(TL_STM32_USART_CLI, TL_STM32_USART_DEFAULT_BAUD);
    (void)tl_stm32_usart_init(TL_STM32_USART_AFE, TL_STM32_USART_DEFAULT_BAUD);
    (void)tl_stm32_usart_init(TL_STM32_USART_STIM, TL_STM32_USART_DEFAULT_BAUD);
    tl_irq_enable();
}

void tl_stm32_idle(void)
{
    /* Masked check-then-sleep: an interrupt that arrives after the check still ends
     * the WFI (it is pending), and is taken right after cpsie. The SysTick interrupt
     * wakes the loop every millisecond for its timeouts (AFE dropout). */
    tl_irq_disable();
    if (tl_stm32_usart_rx_available(TL_STM32_USART_CLI) == 0u &&
        tl_stm32_usart_rx_available(TL_STM32_USART_AFE) == 0u &&
        tl_stm32_usart_rx_available(TL_STM32_USART_STIM) == 0u) {
        tl_wfi();
    }
    tl_irq_enable();
}
