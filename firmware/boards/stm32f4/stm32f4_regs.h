/*
 * stm32f4_regs.h - the STM32F405/407 and Cortex-M4 registers this board port uses.
 *
 * Board-private (never included by the core). Written from the reference manuals
 * (ST RM0090, ARM DDI0403 ARMv7-M ARM); deliberately small: only what the port
 * touches, each block a typed struct whose layout is checked at compile time.
 */
#ifndef TL_STM32F4_REGS_H
#define TL_STM32F4_REGS_H

#include <stddef.h>
#include <stdint.h>

#define TL_REG32 volatile uint32_t

/* ---- Cortex-M4 system control space ------------------------------------------ */

typedef struct {
    TL_REG32 CPUID; /* 0x00 */
    TL_REG32 ICSR;  /* 0x04 */
    TL_REG32 VTOR;  /* 0x08 */
    TL_REG32 AIRCR; /* 0x0C */
    TL_REG32 SCR;   /* 0x10 */
    TL_REG32 CCR;   /* 0x14 */
    TL_REG32 SHPR[3]; /* 0x18..0x20: system handler priorities (byte per handler 4..15) */
    TL_REG32 SHCSR; /* 0x24 */
    TL_REG32 CFSR;  /* 0x28 */
    TL_REG32 HFSR;  /* 0x2C */
    TL_REG32 DFSR;  /* 0x30 */
    TL_REG32 MMFAR; /* 0x34 */
    TL_REG32 BFAR;  /* 0x38 */
    TL_REG32 AFSR;  /* 0x3C */
    uint32_t reserved0[18];
    TL_REG32 CPACR; /* 0x88 */
} tl_scb_regs_t;
_Static_assert(offsetof(tl_scb_regs_t, SHCSR) == 0x24, "SCB layout");
_Static_assert(offsetof(tl_scb_regs_t, CPACR) == 0x88, "SCB layout");
#define TL_SCB ((tl_scb_regs_t *)0xE000ED00UL)

#define TL_SCB_AIRCR_VECTKEY (0x05FAUL << 16)
#define TL_SCB_AIRCR_PRIGROUP_MASK (7UL << 8)
#define TL_SCB_AIRCR_SYSRESETREQ (1UL << 2)
#define TL_SCB_SCR_SLEEPDEEP (1UL << 2)
#define TL_SCB_CCR_DIV_0_TRP (1UL << 4)
#define TL_SCB_CCR_STKALIGN (1UL << 9)
#define TL_SCB_SHCSR_MEMFAULTENA (1UL << 16)
#define TL_SCB_SHCSR_BUSFAULTENA (1UL << 17)
#define TL_SCB_SHCSR_USGFAULTENA (1UL << 18)
#define TL_SCB_CPACR_CP10_CP11_FULL (0xFUL << 20)

typedef struct {
    TL_REG32 CSR;   /* 0x00 */
    TL_REG32 RVR;   /* 0x04 */
    TL_REG32 CVR;   /* 0x08 */
    TL_REG32 CALIB; /* 0x0C */
} tl_systick_regs_t;
#define TL_SYSTICK ((tl_systick_regs_t *)0xE000E010UL)
#define TL_SYSTICK_CSR_ENABLE (1UL << 0)
#define TL_SYSTICK_CSR_TICKINT (1UL << 1)
#define TL_SYSTICK_CSR_CLKSOURCE_CPU (1UL << 2)
#define TL_SYSTICK_RVR_MAX 0x00FFFFFFUL

typedef struct {
    TL_REG32 ISER[8]; /* 0x000 */
    uint32_t reserved0[24];
    TL_REG32 ICER[8]; /* 0x080 */
    uint32_t reserved1[24];
    TL_REG32 ISPR[8]; /* 0x100 */
    uint32_t reserved2[24];
    TL_REG32 ICPR[8]; /* 0x180 */
    uint32_t reserved3[24];
    TL_REG32 IABR[8]; /* 0x200 */
    uint32_t reserved4[56];
    volatile uint8_t IPR[240]; /* 0x300 */
} tl_nvic_regs_t;
_Static_assert(offsetof(tl_nvic_regs_t, IPR) == 0x300, "NVIC layout");
#define TL_NVIC ((tl_nvic_regs_t *)0xE000E100UL)
/* The STM32F4 implements the top 4 bits of each 8-bit priority field. */
#define TL_NVIC_PRIO_BITS 4u

/* System handler numbers (exception number) used with SHPR. */
#define TL_EXC_MEMMANAGE 4u
#define TL_EXC_BUSFAULT 5u
#define TL_EXC_USAGEFAULT 6u
#define TL_EXC_SYSTICK 15u

/* CFSR fields (MMFSR [7:0], BFSR [15:8], UFSR [31:16]). */
#define TL_CFSR_MMARVALID (1UL << 7)
#define TL_CFSR_BFARVALID (1UL << 15)

/* ---- STM32F4 peripherals ----------------------------------------------------- */

typedef struct {
    TL_REG32 CR;         /* 0x00 */
    TL_REG32 PLLCFGR;    /* 0x04 */
    TL_REG32 CFGR;       /* 0x08 */
    TL_REG32 CIR;        /* 0x0C */
    TL_REG32 AHB1RSTR;   /* 0x10 */
    TL_REG32 AHB2RSTR;   /* 0x14 */
    TL_REG32 AHB3RSTR;   /* 0x18 */
    uint32_t reserved0;  /* 0x1C */
    TL_REG32 APB1RSTR;   /* 0x20 */
    TL_REG32 APB2RSTR;   /* 0x24 */
    uint32_t reserved1[2];
    TL_REG32 AHB1ENR;    /* 0x30 */
    TL_REG32 AHB2ENR;    /* 0x34 */
    TL_REG32 AHB3ENR;    /* 0x38 */
    uint32_t reserved2;  /* 0x3C */
    TL_REG32 APB1ENR;    /* 0x40 */
    TL_REG32 APB2ENR;    /* 0x44 */
    uint32_t reserved3[2];
    TL_REG32 AHB1LPENR;  /* 0x50 */
    TL_REG32 AHB2LPENR;  /* 0x54 */
    TL_REG32 AHB3LPENR;  /* 0x58 */
    uint32_t reserved4;  /* 0x5C */
    TL_REG32 APB1LPENR;  /* 0x60 */
    TL_REG32 APB2LPENR;  /* 0x64 */
    uint32_t reserved5[2];
    TL_REG32 BDCR;       /* 0x70 */
    TL_REG32 CSR;        /* 0x74 */
} tl_rcc_regs_t;
_Static_assert(offsetof(tl_rcc_regs_t, APB2ENR) == 0x44, "RCC layout");
_Static_assert(offsetof(tl_rcc_regs_t, CSR) == 0x74, "RCC layout");
#define TL_RCC ((tl_rcc_regs_t *)0x40023800UL)

#define TL_RCC_CR_HSION (1UL << 0)
#define TL_RCC_CR_HSIRDY (1UL << 1)
#define TL_RCC_CR_HSEON (1UL << 16)
#define TL_RCC_CR_HSERDY (1UL << 17)
#define TL_RCC_CR_HSEBYP (1UL << 18)
#define TL_RCC_CR_CSSON (1UL << 19)
#define TL_RCC_CR_PLLON (1UL << 24)
#define TL_RCC_CR_PLLRDY (1UL << 25)

#define TL_RCC_PLLCFGR_M_POS 0u
#define TL_RCC_PLLCFGR_N_POS 6u
#define TL_RCC_PLLCFGR_P_POS 16u /* 0 = /2, 1 = /4, 2 = /6, 3 = /8 */
#define TL_RCC_PLLCFGR_SRC_HSE (1UL << 22)
#define TL_RCC_PLLCFGR_Q_POS 24u
/* M[5:0] N[14:6] P[17:16] SRC[22] Q[27:24]; everything else is reserved. */
#define TL_RCC_PLLCFGR_FIELDS 0x0F437FFFUL

#define TL_RCC_CFGR_SW_MASK (3UL << 0)
#define TL_RCC_CFGR_SW_HSI (0UL << 0)
#define TL_RCC_CFGR_SW_HSE (1UL << 0)
#define TL_RCC_CFGR_SW_PLL (2UL << 0)
#define TL_RCC_CFGR_SWS_MASK (3UL << 2)
#define TL_RCC_CFGR_SWS_HSI (0UL << 2)
#define TL_RCC_CFGR_SWS_PLL (2UL << 2)
#define TL_RCC_CFGR_HPRE_MASK (0xFUL << 4)
#define TL_RCC_CFGR_HPRE_DIV1 (0UL << 4)
#define TL_RCC_CFGR_PPRE1_MASK (7UL << 10)
#define TL_RCC_CFGR_PPRE1_DIV1 (0UL << 10)
#define TL_RCC_CFGR_PPRE1_DIV4 (5UL << 10)
#define TL_RCC_CFGR_PPRE2_MASK (7UL << 13)
#define TL_RCC_CFGR_PPRE2_DIV1 (0UL << 13)
#define TL_RCC_CFGR_PPRE2_DIV2 (4UL << 13)

#define TL_RCC_AHB1ENR_GPIOAEN (1UL << 0) /* GPIOx = bit x */
#define TL_RCC_APB1ENR_USART2EN (1UL << 17)
#define TL_RCC_APB1ENR_USART3EN (1UL << 18)
#define TL_RCC_APB1ENR_PWREN (1UL << 28)
#define TL_RCC_APB2ENR_USART1EN (1UL << 4)

#define TL_RCC_CSR_RMVF (1UL << 24)
#define TL_RCC_CSR_BORRSTF (1UL << 25)
#define TL_RCC_CSR_PINRSTF (1UL << 26)
#define TL_RCC_CSR_PORRSTF (1UL << 27)
#define TL_RCC_CSR_SFTRSTF (1UL << 28)
#define TL_RCC_CSR_IWDGRSTF (1UL << 29)
#define TL_RCC_CSR_WWDGRSTF (1UL << 30)
#define TL_RCC_CSR_LPWRRSTF (1UL << 31)

typedef struct {
    TL_REG32 ACR;     /* 0x00 */
    TL_REG32 KEYR;    /* 0x04 */
    TL_REG32 OPTKEYR; /* 0x08 */
    TL_REG32 SR;      /* 0x0C */
    TL_REG32 CR;      /* 0x10 */
    TL_REG32 OPTCR;   /* 0x14 */
} tl_flash_regs_t;
#define TL_FLASH ((tl_flash_regs_t *)0x40023C00UL)
#define TL_FLASH_ACR_LATENCY_MASK (7UL << 0)
#define TL_FLASH_ACR_PRFTEN (1UL << 8)
#define TL_FLASH_ACR_ICEN (1UL << 9)
#define TL_FLASH_ACR_DCEN (1UL << 10)
#define TL_FLASH_ACR_ICRST (1UL << 11)
#define TL_FLASH_ACR_DCRST (1UL << 12)

typedef struct {
    TL_REG32 CR;  /* 0x00 */
    TL_REG32 CSR; /* 0x04 */
} tl_pwr_regs_t;
#define TL_PWR ((tl_pwr_regs_t *)0x40007000UL)
#define TL_PWR_CR_VOS (1UL << 14) /* STM32F405/407: 1 = scale 1 (needed for 168 MHz) */

typedef struct {
    TL_REG32 MODER;   /* 0x00 */
    TL_REG32 OTYPER;  /* 0x04 */
    TL_REG32 OSPEEDR; /* 0x08 */
    TL_REG32 PUPDR;   /* 0x0C */
    TL_REG32 IDR;     /* 0x10 */
    TL_REG32 ODR;     /* 0x14 */
    TL_REG32 BSRR;    /* 0x18 */
    TL_REG32 LCKR;    /* 0x1C */
    TL_REG32 AFR[2];  /* 0x20, 0x24 */
} tl_gpio_regs_t;
_Static_assert(offsetof(tl_gpio_regs_t, AFR) == 0x20, "GPIO layout");
#define TL_GPIO_BASE 0x40020000UL
#define TL_GPIO_STRIDE 0x400UL
#define TL_GPIO(port) ((tl_gpio_regs_t *)(TL_GPIO_BASE + (uint32_t)(port) * TL_GPIO_STRIDE))

typedef struct {
    TL_REG32 SR;   /* 0x00 */
    TL_REG32 DR;   /* 0x04 */
    TL_REG32 BRR;  /* 0x08 */
    TL_REG32 CR1;  /* 0x0C */
    TL_REG32 CR2;  /* 0x10 */
    TL_REG32 CR3;  /* 0x14 */
    TL_REG32 GTPR; /* 0x18 */
} tl_usart_regs_t;
_Static_assert(offsetof(tl_usart_regs_t, GTPR) == 0x18, "USART layout");
#define TL_USART1 ((tl_usart_regs_t *)0x40011000UL)
#define TL_USART2 ((tl_usart_regs_t *)0x40004400UL)
#define TL_USART3 ((tl_usart_regs_t *)0x40004800UL)

#define TL_USART_SR_PE (1UL << 0)
#define TL_USART_SR_FE (1UL << 1)
#define TL_USART_SR_NF (1UL << 2)
#define TL_USART_SR_ORE (1UL << 3)
#define TL_USART_SR_IDLE (1UL << 4)
#define TL_USART_SR_RXNE (1UL << 5)
#define TL_USART_SR_TC (1UL << 6)
#define TL_USART_SR_TXE (1UL << 7)
#define TL_USART_CR1_RE (1UL << 2)
#define TL_USART_CR1_TE (1UL << 3)
#define TL_USART_CR1_RXNEIE (1UL << 5)
#define TL_USART_CR1_TCIE (1UL << 6)
#define TL_USART_CR1_TXEIE (1UL << 7)
#define TL_USART_CR1_PCE (1UL << 10)
#define TL_USART_CR1_M (1UL << 12)
#define TL_USART_CR1_UE (1UL << 13)
#define TL_USART_CR1_OVER8 (1UL << 15)

/* IRQ numbers (RM0090 vector table). */
#define TL_IRQ_USART1 37u
#define TL_IRQ_USART2 38u
#define TL_IRQ_USART3 39u
#define TL_IRQ_COUNT 82u /* WWDG (0) .. FPU (81) */

/* ---- CPU intrinsics ------------------------------------------------------------ */

static inline void tl_dsb(void)
{
    __asm volatile("dsb 0xF" ::: "memory");
}

static inline void tl_isb(void)
{
    __asm volatile("isb 0xF" ::: "memory");
}

static inline void tl_wfi(void)
{
    __asm volatile("wfi" ::: "memory");
}

static inline void tl_irq_disable(void)
{
    __asm volatile("cpsid i" ::: "memory");
}

static inline void tl_irq_enable(void)
{
    __asm volatile("cpsie i" ::: "memory");
}

/* Save PRIMASK and disable interrupts; restore with tl_irq_restore. */
static inline uint32_t tl_irq_save(void)
{
    uint32_t primask;
    __asm volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    return primask;
}

static inline void tl_irq_restore(uint32_t primask)
{
    __asm volatile("msr primask, %0" ::"r"(primask) : "memory");
}

/* Active exception number (0 in thread mode). */
static inline uint32_t tl_ipsr(void)
{
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    return ipsr;
}

static inline void tl_nvic_enable(uint32_t irq)
{
    TL_NVIC->ISER[irq >> 5] = 1UL << (irq & 31u);
}

static inline void tl_nvic_disable(uint32_t irq)
{
    TL_NVIC->ICER[irq >> 5] = 1UL << (irq & 31u);
    tl_dsb();
    tl_isb();
}

static inline void tl_nvic_clear_pending(uint32_t irq)
{
    TL_NVIC->ICPR[irq >> 5] = 1UL << (irq & 31u);
}

/* Make an interrupt pending from software (it runs once enabled and unmasked). */
static inline void tl_nvic_set_pending(uint32_t irq)
{
    TL_NVIC->ISPR[irq >> 5] = 1UL << (irq & 31u);
}

/* prio: 0 (most urgent) .. 15. */
static inline void tl_nvic_set_priority(uint32_t irq, uint32_t prio)
{
    TL_NVIC->IPR[irq] = (uint8_t)((prio << (8u - TL_NVIC_PRIO_BITS)) & 0xFFu);
}

/* exc: system handler exception number 4..15; prio 0..15. */
static inline void tl_scb_set_priority(uint32_t exc, uint32_t prio)
{
    uint32_t idx = (exc - 4u) >> 2;
    uint32_t shift = ((exc - 4u) & 3u) * 8u;
    uint32_t v = TL_SCB->SHPR[idx];
    v &= ~(0xFFUL << shift);
    v |= ((prio << (8u - TL_NVIC_PRIO_BITS)) & 0xFFu) << shift;
    TL_SCB->SHPR[idx] = v;
}

#endif /* TL_STM32F4_REGS_H */
