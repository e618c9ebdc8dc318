/*
 * startup.c - STM32F405/407 vector table and reset handler.
 *
 * Reset_Handler: set MSP, enable the FPU, copy .data, zero .bss (not .noinit),
 * bring up the clocks, point VTOR at our table, then main(). Every interrupt that
 * the port does not handle is a weak alias of Default_Handler, which treats an
 * unexpected interrupt as a fault (stimulator safe, record, reset).
 */
#include <stdint.h>

#include "board.h"
#include "stm32f4_regs.h"

typedef void (*tl_isr_t)(void);

typedef struct {
    uint32_t *initial_sp;
    tl_isr_t handlers[15u + TL_IRQ_COUNT];
} tl_vector_table_t;

int main(void);
__attribute__((noreturn)) void Reset_Handler(void);
void tl_stm32_reset_c(void);
void Default_Handler(void);

/* Core exceptions. The fault handlers are defined in fault.c, SysTick in systick.c. */
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void HardFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("Default_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

/* STM32F405/407 interrupts 0..81 (RM0090, table 61). */
#define TL_WEAK_IRQ(name) void name(void) __attribute__((weak, alias("Default_Handler")))
TL_WEAK_IRQ(WWDG_IRQHandler);
TL_WEAK_IRQ(PVD_IRQHandler);
TL_WEAK_IRQ(TAMP_STAMP_IRQHandler);
TL_WEAK_IRQ(RTC_WKUP_IRQHandler);
TL_WEAK_IRQ(FLASH_IRQHandler);
TL_WEAK_IRQ(RCC_IRQHandler);
TL_WEAK_IRQ(EXTI0_IRQHandler);
TL_WEAK_IRQ(EXTI1_IRQHandler);
TL_WEAK_IRQ(EXTI2_IRQHandler);
TL_WEAK_IRQ(EXTI3_IRQHandler);
TL_WEAK_IRQ(EXTI4_IRQHandler);
TL_WEAK_IRQ(DMA1_Stream0_IRQHandler);
TL_WEAK_IRQ(DMA1_Stream1_IRQHandler);
TL_WEAK_IRQ(DMA1_Stream2_IRQHandler);
TL_WEAK_IRQ(DMA1_Stream3_IRQHandler);
TL_WEAK_IRQ(DMA1_Stream4_IRQHandler);
TL_WEAK_IRQ(DMA1_Stream5_IRQHandler);
TL_WEAK_IRQ(DMA1_Stream6_IRQHandler);
TL_WEAK_IRQ(ADC_IRQHandler);
TL_WEAK_IRQ(CAN1_TX_IRQHandler);
TL_WEAK_IRQ(CAN1_RX0_IRQHandler);
TL_WEAK_IRQ(CAN1_RX1_IRQHandler);
TL_WEAK_IRQ(CAN1_SCE_IRQHandler);
TL_WEAK_IRQ(EXTI9_5_IRQHandler);
TL_WEAK_IRQ(TIM1_BRK_TIM9_IRQHandler);
TL_WEAK_IRQ(TIM1_UP_TIM10_IRQHandler);
TL_WEAK_IRQ(TIM1_TRG_COM_TIM11_IRQHandler);
TL_WEAK_IRQ(TIM1_CC_IRQHandler);
TL_WEAK_IRQ(TIM2_IRQHandler);
TL_WEAK_IRQ(TIM3_IRQHandler);
TL_WEAK_IRQ(TIM4_IRQHandler);
TL_WEAK_IRQ(I2C1_EV_IRQHandler);
TL_WEAK_IRQ(I2C1_ER_IRQHandler);
TL_WEAK_IRQ(I2C2_EV_IRQHandler);
TL_WEAK_IRQ(I2C2_ER_IRQHandler);
TL_WEAK_IRQ(SPI1_IRQHandler);
TL_WEAK_IRQ(SPI2_IRQHandler);
TL_WEAK_IRQ(USART1_IRQHandler);
TL_WEAK_IRQ(USART2_IRQHandler);
TL_WEAK_IRQ(USART3_IRQHandler);
TL_WEAK_IRQ(EXTI15_10_IRQHandler);
TL_WEAK_IRQ(RTC_Alarm_IRQHandler);
TL_WEAK_IRQ(OTG_FS_WKUP_IRQHandler);
TL_WEAK_IRQ(TIM8_BRK_TIM12_IRQHandler);
TL_WEAK_IRQ(TIM8_UP_TIM13_IRQHandler);
TL_WEAK_IRQ(TIM8_TRG_COM_TIM14_IRQHandler);
TL_WEAK_IRQ(TIM8_CC_IRQHandler);
TL_WEAK_IRQ(DMA1_Stream7_IRQHandler);
TL_WEAK_IRQ(FSMC_IRQHandler);
TL_WEAK_IRQ(SDIO_IRQHandler);
TL_WEAK_IRQ(TIM5_IRQHandler);
TL_WEAK_IRQ(SPI3_IRQHandler);
TL_WEAK_IRQ(UART4_IRQHandler);
TL_WEAK_IRQ(UART5_IRQHandler);
TL_WEAK_IRQ(TIM6_DAC_IRQHandler);
TL_WEAK_IRQ(TIM7_IRQHandler);
TL_WEAK_IRQ(DMA2_Stream0_IRQHandler);
TL_WEAK_IRQ(DMA2_Stream1_IRQHandler);
TL_WEAK_IRQ(DMA2_Stream2_IRQHandler);
TL_WEAK_IRQ(DMA2_Stream3_IRQHandler);
TL_WEAK_IRQ(DMA2_Stream4_IRQHandler);
TL_WEAK_IRQ(ETH_IRQHandler);
TL_WEAK_IRQ(ETH_WKUP_IRQHandler);
TL_WEAK_IRQ(CAN2_TX_IRQHandler);
TL_WEAK_IRQ(CAN2_RX0_IRQHandler);
TL_WEAK_IRQ(CAN2_RX1_IRQHandler);
TL_WEAK_IRQ(CAN2_SCE_IRQHandler);
TL_WEAK_IRQ(OTG_FS_IRQHandler);
TL_WEAK_IRQ(DMA2_Stream5_IRQHandler);
TL_WEAK_IRQ(DMA2_Stream6_IRQHandler);
TL_WEAK_IRQ(DMA2_Stream7_IRQHandler);
TL_WEAK_IRQ(USART6_IRQHandler);
TL_WEAK_IRQ(I2C3_EV_IRQHandler);
TL_WEAK_IRQ(I2C3_ER_IRQHandler);
TL_WEAK_IRQ(OTG_HS_EP1_OUT_IRQHandler);
TL_WEAK_IRQ(OTG_HS_EP1_IN_IRQHandler);
TL_WEAK_IRQ(OTG_HS_WKUP_IRQHandler);
TL_WEAK_IRQ(OTG_HS_IRQHandler);
TL_WEAK_IRQ(DCMI_IRQHandler);
TL_WEAK_IRQ(CRYP_IRQHandler);
TL_WEAK_IRQ(HASH_RNG_IRQHandler);
TL_WEAK_IRQ(FPU_IRQHandler);

__attribute__((section(".isr_vector"), used)) const tl_vector_table_t tl_stm32_vectors = {
    .initial_sp = &__stack_top,
    .handlers = {
        Reset_Handler, NMI_Handler, HardFault_Handler, MemManage_Handler,
        BusFault_Handler, UsageFault_Handler, 0, 0, 0, 0, SVC_Handler,
        DebugMon_Handler, 0, PendSV_Handler, SysTick_Handler,
        /* IRQ 0.. */
        WWDG_IRQHandler, PVD_IRQHandler, TAMP_STAMP_IRQHandler, RTC_WKUP_IRQHandler,
        FLASH_IRQHandler, RCC_IRQHandler, EXTI0_IRQHandler, EXTI1_IRQHandler,
        EXTI2_IRQHandler, EXTI3_IRQHandler, EXTI4_IRQHandler, DMA1_Stream0_IRQHandler,
        DMA1_Stream1_IRQHandler, DMA1_Stream2_IRQHandler, DMA1_Stream3_IRQHandler,
        DMA1_Stream4_IRQHandler, DMA1_Stream5_IRQHandler, DMA1_Stream6_IRQHandler,
        ADC_IRQHandler, CAN1_TX_IRQHandler, CAN1_RX0_IRQHandler, CAN1_RX1_IRQHandler,
        CAN1_SCE_IRQHandler, EXTI9_5_IRQHandler, TIM1_BRK_TIM9_IRQHandler,
        TIM1_UP_TIM10_IRQHandler, TIM1_TRG_COM_TIM11_IRQHandler, TIM1_CC_IRQHandler,
        TIM2_IRQHandler, TIM3_IRQHandler, TIM4_IRQHandler, I2C1_EV_IRQHandler,
        I2C1_ER_IRQHandler, I2C2_EV_IRQHandler, I2C2_ER_IRQHandler, SPI1_IRQHandler,
        SPI2_IRQHandler, USART1_IRQHandler, USART2_IRQHandler, USART3_IRQHandler,
        EXTI15_10_IRQHandler, RTC_Alarm_IRQHandler, OTG_FS_WKUP_IRQHandler,
        TIM8_BRK_TIM12_IRQHandler, TIM8_UP_TIM13_IRQHandler,
        TIM8_TRG_COM_TIM14_IRQHandler, TIM8_CC_IRQHandler, DMA1_Stream7_IRQHandler,
        FSMC_IRQHandler, SDIO_IRQHandler, TIM5_IRQHandler, SPI3_IRQHandler,
        UART4_IRQHandler, UART5_IRQHandler, TIM6_DAC_IRQHandler, TIM7_IRQHandler,
        DMA2_Stream0_IRQHandler, DMA2_Stream1_IRQHandler, DMA2_Stream2_IRQHandler,
        DMA2_Stream3_IRQHandler, DMA2_Stream4_IRQHandler, ETH_IRQHandler,
        ETH_WKUP_IRQHandler, CAN2_TX_IRQHandler, CAN2_RX0_IRQHandler,
        CAN2_RX1_IRQHandler, CAN2_SCE_IRQHandler, OTG_FS_IRQHandler,
        DMA2_Stream5_IRQHandler, DMA2_Stream6_IRQHandler, DMA2_Stream7_IRQHandler,
        USART6_IRQHandler, I2C3_EV_IRQHandler, I2C3_ER_IRQHandler,
        OTG_HS_EP1_OUT_IRQHandler, OTG_HS_EP1_IN_IRQHandler, OTG_HS_WKUP_IRQHandler,
        OTG_HS_IRQHandler, DCMI_IRQHandler, CRYP_IRQHandler, HASH_RNG_IRQHandler,
        FPU_IRQHandler,
    },
};
_Static_assert(sizeof(tl_vector_table_t) == 4u * (16u + TL_IRQ_COUNT), "vector table size");

/* An interrupt nobody handles: treat it as a fault (the device must not keep
 * running with an interrupt source it does not understand). Recorded as kind
 * "hard" with HFSR = CFSR = 0, which a real HardFault never has (HFSR.FORCED or
 * HFSR.VECTTBL is always set), so the record stays distinguishable. */
__attribute__((naked)) void Default_Handler(void)
{
    TL_STM32_FAULT_STUB("1");
}

/* Set MSP explicitly (a bootloader may jump here with another stack), then C. */
__attribute__((naked, noreturn)) void Reset_Handler(void)
{
    __asm volatile("ldr r0, =__stack_top\n\t"
                   "msr msp, r0\n\t"
                   "b tl_stm32_reset_c\n\t"
                   ".ltorg");
}

extern uint32_t __data_start[];
extern uint32_t __data_end[];
extern const uint32_t __data_load_start[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];
extern uint32_t __ccmbss_start[];
extern uint32_t __ccmbss_end[];

/* Runs before .data/.bss exist: no globals are read until they are initialised.
 * Word loops through volatile pointers so that the compiler cannot turn them into
 * library calls. */
__attribute__((noreturn, used)) void tl_stm32_reset_c(void)
{
    /* FPU first: the compiler may use FP registers anywhere with -mfloat-abi=hard. */
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
    for (volatile uint32_t *p = __ccmbss_start; p < __ccmbss_end; p++) {
        *p = 0u;
    }

    TL_SCB->VTOR = (uint32_t)(uintptr_t)&tl_stm32_vectors;
    tl_dsb();
    tl_isb();

    tl_stm32_clock_init();
    (void)main();
    /* main() never returns; if it did, treat it like a fault-free software reset. */
    tl_stm32_system_reset(TL_RESET_SOFTWARE);
}
