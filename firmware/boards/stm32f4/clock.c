/*
 * clock.c - STM32F405/407 clock tree: HSE -> PLL -> 168 MHz, APB1 42 MHz, APB2 84 MHz.
 *
 * Every wait on a ready flag is bounded by an iteration count; if the crystal or the
 * PLL does not come up, the chip stays on (or returns to) the 16 MHz HSI with flash
 * latency 0 and both APB buses at 16 MHz, and the firmware still runs.
 *
 * QEMU (netduinoplus2, 7.2) does not model the RCC: its registers read 0 and ignore
 * writes. Real silicon can never read RCC_CR == 0 (HSION|HSIRDY are set while the
 * core runs from HSI, and PLLON|PLLRDY while it runs from the PLL), so a zero CR
 * means "emulated": we leave the registers alone and use QEMU's fixed 168 MHz
 * SYSCLK, which is also what its SysTick counts.
 */
#include "board.h"
#include "stm32f4_regs.h"

#define TL_HSI_HZ 16000000u
#define TL_SYSCLK_TARGET_HZ 168000000u
#define TL_EMULATED_SYSCLK_HZ 168000000u

/* Bounds for the ready-flag loops, in iterations (each one is a few cycles at
 * 16 MHz HSI). HSE start-up: 65536 * ~6 cycles / 16 MHz ~ 25 ms, well over a
 * crystal's 2-10 ms; the PLL locks in ~100 us; a clock switch takes a few cycles. */
#define TL_HSE_READY_SPINS 65536u
#define TL_PLL_READY_SPINS 65536u
#define TL_SWITCH_SPINS 65536u

/* PLL: VCO input = HSE / M must be 1..2 MHz (2 MHz gives the lowest jitter);
 * VCO = input * N (must be 100..432 MHz); SYSCLK = VCO / P; USB/SDIO = VCO / Q = 48 MHz. */
#if (TL_STM32F4_HSE_HZ % 2000000u) == 0u
#define TL_PLL_VCO_IN_HZ 2000000u
#elif (TL_STM32F4_HSE_HZ % 1000000u) == 0u
#define TL_PLL_VCO_IN_HZ 1000000u
#else
#error "TL_STM32F4_HSE_HZ must be a whole number of MHz"
#endif
#define TL_PLL_M (TL_STM32F4_HSE_HZ / TL_PLL_VCO_IN_HZ)
#define TL_PLL_N (336000000u / TL_PLL_VCO_IN_HZ)
#define TL_PLL_P_DIV2 0u /* /2 -> 168 MHz */
#define TL_PLL_Q 7u      /* 336 / 7 = 48 MHz */
_Static_assert(TL_STM32F4_HSE_HZ >= 4000000u && TL_STM32F4_HSE_HZ <= 26000000u,
               "STM32F4 HSE crystal range is 4..26 MHz");
_Static_assert(TL_PLL_M >= 2u && TL_PLL_M <= 63u, "PLLM out of range");
_Static_assert(TL_PLL_N >= 50u && TL_PLL_N <= 432u, "PLLN out of range");

tl_stm32_clocks_t tl_stm32_clocks = {
    .sysclk_hz = TL_HSI_HZ,
    .apb1_hz = TL_HSI_HZ,
    .apb2_hz = TL_HSI_HZ,
    .source = TL_STM32_CLK_HSI,
};

static bool wait_set(volatile const uint32_t *reg, uint32_t mask, uint32_t value, uint32_t spins)
{
    for (uint32_t i = 0; i < spins; i++) {
        if ((*reg & mask) == value) {
            return true;
        }
    }
    return (*reg & mask) == value;
}

static void set_flash_latency(uint32_t ws)
{
    uint32_t acr = TL_FLASH->ACR;
    acr &= ~TL_FLASH_ACR_LATENCY_MASK;
    acr |= ws | TL_FLASH_ACR_PRFTEN | TL_FLASH_ACR_ICEN | TL_FLASH_ACR_DCEN;
    TL_FLASH->ACR = acr;
    /* The new latency must be in effect before the clock goes up (RM0090 3.5.1). */
    (void)wait_set(&TL_FLASH->ACR, TL_FLASH_ACR_LATENCY_MASK, ws, 16u);
}

/* Make HSI the system clock with all prescalers at 1 and the PLL off. */
static void run_from_hsi(void)
{
    TL_RCC->CR |= TL_RCC_CR_HSION;
    (void)wait_set(&TL_RCC->CR, TL_RCC_CR_HSIRDY, TL_RCC_CR_HSIRDY, TL_SWITCH_SPINS);
    uint32_t cfgr = TL_RCC->CFGR;
    cfgr &= ~TL_RCC_CFGR_SW_MASK;
    TL_RCC->CFGR = cfgr | TL_RCC_CFGR_SW_HSI;
    (void)wait_set(&TL_RCC->CFGR, TL_RCC_CFGR_SWS_MASK, TL_RCC_CFGR_SWS_HSI, TL_SWITCH_SPINS);
    cfgr = TL_RCC->CFGR;
    cfgr &= ~(TL_RCC_CFGR_HPRE_MASK | TL_RCC_CFGR_PPRE1_MASK | TL_RCC_CFGR_PPRE2_MASK);
    TL_RCC->CFGR = cfgr | TL_RCC_CFGR_HPRE_DIV1 | TL_RCC_CFGR_PPRE1_DIV1 | TL_RCC_CFGR_PPRE2_DIV1;
    TL_RCC->CR &= ~TL_RCC_CR_PLLON;
    (void)wait_set(&TL_RCC->CR, TL_RCC_CR_PLLRDY, 0u, TL_SWITCH_SPINS);
    /* Lower the flash latency only after the clock went down. */
    set_flash_latency(0u);
    tl_stm32_clocks.sysclk_hz = TL_HSI_HZ;
    tl_stm32_clocks.apb1_hz = TL_HSI_HZ;
    tl_stm32_clocks.apb2_hz = TL_HSI_HZ;
    tl_stm32_clocks.source = TL_STM32_CLK_HSI;
}

static bool start_hse_pll(void)
{
    /* Voltage scale 1 (the reset default on F405/407; needed for 168 MHz). */
    TL_RCC->APB1ENR |= TL_RCC_APB1ENR_PWREN;
    (void)TL_RCC->APB1ENR; /* read back: the clock must be on before PWR is written */
    TL_PWR->CR |= TL_PWR_CR_VOS;

    TL_RCC->CR |= TL_RCC_CR_HSEON;
    if (!wait_set(&TL_RCC->CR, TL_RCC_CR_HSERDY, TL_RCC_CR_HSERDY, TL_HSE_READY_SPINS)) {
        return false;
    }
    /* The PLL can only be configured while it is off. Reserved bits (e.g. bit 29,
     * reset value 1) keep their value. */
    uint32_t pll = TL_RCC->PLLCFGR & ~TL_RCC_PLLCFGR_FIELDS;
    pll |= ((uint32_t)TL_PLL_M << TL_RCC_PLLCFGR_M_POS) |
           ((uint32_t)TL_PLL_N << TL_RCC_PLLCFGR_N_POS) |
           ((uint32_t)TL_PLL_P_DIV2 << TL_RCC_PLLCFGR_P_POS) | TL_RCC_PLLCFGR_SRC_HSE |
           ((uint32_t)TL_PLL_Q << TL_RCC_PLLCFGR_Q_POS);
    TL_RCC->PLLCFGR = pll;
    TL_RCC->CR |= TL_RCC_CR_PLLON;
    if (!wait_set(&TL_RCC->CR, TL_RCC_CR_PLLRDY, TL_RCC_CR_PLLRDY, TL_PLL_READY_SPINS)) {
        return false;
    }
    /* 168 MHz at 2.7-3.6 V needs 5 wait states; raise it before the clock goes up. */
    set_flash_latency(5u);
    if ((TL_FLASH->ACR & TL_FLASH_ACR_LATENCY_MASK) != 5u) {
        return false;
    }
    uint32_t cfgr = TL_RCC->CFGR;
    cfgr &= ~(TL_RCC_CFGR_HPRE_MASK | TL_RCC_CFGR_PPRE1_MASK | TL_RCC_CFGR_PPRE2_MASK);
    cfgr |= TL_RCC_CFGR_HPRE_DIV1 | TL_RCC_CFGR_PPRE1_DIV4 | TL_RCC_CFGR_PPRE2_DIV2;
    TL_RCC->CFGR = cfgr;
    TL_RCC->CFGR = (cfgr & ~TL_RCC_CFGR_SW_MASK) | TL_RCC_CFGR_SW_PLL;
    if (!wait_set(&TL_RCC->CFGR, TL_RCC_CFGR_SWS_MASK, TL_RCC_CFGR_SWS_PLL, TL_SWITCH_SPINS)) {
        return false;
    }
    tl_stm32_clocks.sysclk_hz = TL_SYSCLK_TARGET_HZ;
    tl_stm32_clocks.apb1_hz = TL_SYSCLK_TARGET_HZ / 4u;
    tl_stm32_clocks.apb2_hz = TL_SYSCLK_TARGET_HZ / 2u;
    tl_stm32_clocks.source = TL_STM32_CLK_HSE_PLL;
    return true;
}

void tl_stm32_clock_init(void)
{
    if (TL_RCC->CR == 0u) {
        /* Emulator without an RCC model: fixed clock, same bus ratios as silicon so
         * that baud-rate divisors are computed the same way. */
        tl_stm32_clocks.sysclk_hz = TL_EMULATED_SYSCLK_HZ;
        tl_stm32_clocks.apb1_hz = TL_EMULATED_SYSCLK_HZ / 4u;
        tl_stm32_clocks.apb2_hz = TL_EMULATED_SYSCLK_HZ / 2u;
        tl_stm32_clocks.source = TL_STM32_CLK_EMULATED;
        return;
    }
    /* Start from a known state whatever ran before us (e.g. a bootloader on the PLL). */
    run_from_hsi();
    if (!start_hse_pll()) {
        run_from_hsi();
        TL_RCC->CR &= ~TL_RCC_CR_HSEON;
    }
}

const char *tl_stm32_clock_source_name(tl_stm32_clk_src_t src)
{
    switch (src) {
    case TL_STM32_CLK_HSI:
        return "hsi";
    case TL_STM32_CLK_HSE_PLL:
        return "hse-pll";
    case TL_STM32_CLK_EMULATED:
        return "emulated";
    }
    return "unknown";
}
