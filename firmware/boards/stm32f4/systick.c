/*
 * systick.c - 1 kHz time base from the Cortex-M SysTick on the core clock.
 */
#include <stdatomic.h>
#include <stdbool.h>

#include "board.h"
#include "stm32f4_regs.h"

/* SysTick priority (0 = most urgent .. 15). Below the UARTs: a tick delayed by a
 * short UART interrupt just stays pending, whereas a received byte could be lost. */
#define TL_SYSTICK_PRIO 8u

static _Atomic uint32_t s_uptime_ms;

void SysTick_Handler(void);
void SysTick_Handler(void)
{
    atomic_store_explicit(&s_uptime_ms,
                          atomic_load_explicit(&s_uptime_ms, memory_order_relaxed) + 1u,
                          memory_order_relaxed);
}

void tl_stm32_systick_init(void)
{
    uint32_t reload = tl_stm32_clocks.sysclk_hz / 1000u - 1u;
    if (reload > TL_SYSTICK_RVR_MAX) {
        reload = TL_SYSTICK_RVR_MAX; /* unreachable on an F4 (max 168 MHz -> 167999) */
    }
    TL_SYSTICK->CSR = 0u;
    TL_SYSTICK->RVR = reload;
    TL_SYSTICK->CVR = 0u;
    tl_scb_set_priority(TL_EXC_SYSTICK, TL_SYSTICK_PRIO);
    TL_SYSTICK->CSR = TL_SYSTICK_CSR_CLKSOURCE_CPU | TL_SYSTICK_CSR_TICKINT | TL_SYSTICK_CSR_ENABLE;
}

uint32_t tl_platform_uptime_ms(void)
{
    return atomic_load_explicit(&s_uptime_ms, memory_order_relaxed);
}

#define TL_SCB_ICSR_PENDSTSET (1UL << 26)

/* Core-clock cycles since boot (mod 2^32) from the 1 kHz tick and the SysTick down
 * counter: ms x (reload + 1) + (reload - VAL). DWT CYCCNT would be simpler but reads 0
 * under QEMU. Thread or handler mode: a tick whose interrupt is pending (the counter
 * has wrapped, the millisecond not yet counted) is accounted for. */
uint32_t tl_platform_cycles(void)
{
    uint32_t reload = TL_SYSTICK->RVR & TL_SYSTICK_RVR_MAX;
    uint32_t ms;
    uint32_t val;
    bool pending;
    do {
        ms = atomic_load_explicit(&s_uptime_ms, memory_order_relaxed);
        val = TL_SYSTICK->CVR & TL_SYSTICK_RVR_MAX;
        pending = (TL_SCB->ICSR & TL_SCB_ICSR_PENDSTSET) != 0u;
    } while (atomic_load_explicit(&s_uptime_ms, memory_order_relaxed) != ms);
    /* The counter wrapped (val restarted near reload) but its interrupt has not run yet
     * (masked, or a more urgent handler is active): that millisecond is not counted yet.
     * A wrap between the CVR and ICSR reads leaves val near 0 and needs nothing. */
    if (pending && val > reload / 2u) {
        ms++;
    }
    return ms * (reload + 1u) + (reload - val);
}

uint32_t tl_platform_cycles_hz(void)
{
    return ((TL_SYSTICK->RVR & TL_SYSTICK_RVR_MAX) + 1u) * 1000u;
}
