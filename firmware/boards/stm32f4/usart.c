/*
 * usart.c - interrupt-driven STM32F4 USART driver, generic over USART1..3.
 *
 *   RX: RXNEIE; the ISR reads SR then DR (which also clears ORE/FE/NF/PE on silicon)
 *       and puts the byte into the RX ring; the main loop takes bytes out.
 *   TX: the thread queues bytes in the TX ring and sets TXEIE; on each TXE interrupt
 *       the ISR moves bytes into DR while TXE is set, and clears TXEIE when the ring
 *       is empty. Nothing ever busy-waits on the data register.
 *
 * QEMU 7.2's stm32f2xx_usart model differs from silicon in two ways that matter:
 *   - its IRQ line is raised only for RXNE (with RXNEIE); TXEIE never interrupts;
 *   - TXE and TC always read 1 (a DR write goes out synchronously), ORE never happens
 *     (a new byte is only offered once RXNE is clear).
 * So after queuing bytes the writer also pends the USART interrupt in the NVIC
 * (ISPR), and the ISR moves bytes while TXE is set. On silicon that starts the
 * transmission one interrupt early and TXE stops the loop after a byte or two; in
 * QEMU the one software-pended interrupt drains the whole ring. TCIE is never used.
 *
 * Ring buffers are single-producer/single-consumer: one ISR and one thread per
 * direction. Interrupt enables in CR1 are changed with interrupts masked.
 *
 * RX flow control (the AFE link): when the ISR fills the RX ring it switches RXNEIE off
 * and the reader switches it on again once it has taken bytes. On silicon a sender that
 * keeps going then overruns the data register (counted as rx_overrun, as a full ring
 * would have dropped them); QEMU offers the next byte only after DR was read, so in the
 * emulator a sample stream is never lost however fast it is fed.
 */
#include <stdatomic.h>

#include "board.h"
#include "stm32f4_regs.h"
#include "theraloop/ringbuf.h"

#define TL_USART_AF 7u       /* USART1..3 are AF7 on every pin used here */
#define TL_USART_IRQ_PRIO 6u /* above SysTick (8): a byte lasts 87 us at 115200 */

typedef struct {
    tl_usart_regs_t *regs;
    uint32_t irq;
    bool apb2; /* on APB2 (USART1) rather than APB1 */
    uint32_t enr_bit;
    tl_gpio_pin_t tx;
    tl_gpio_pin_t rx;
    uint8_t *rx_storage;
    size_t rx_size;
    uint8_t *tx_storage;
    size_t tx_size;
    bool rx_flow; /* stop receiving (RXNEIE off) while the RX ring is full */
} usart_cfg_t;

typedef struct {
    tl_ringbuf_t rx;
    tl_ringbuf_t tx;
    volatile bool initialised;
    volatile bool tx_killed;
    volatile bool rx_stopped; /* rx_flow: RXNEIE switched off by the ISR */
    /* Written by the ISR only. */
    volatile uint32_t rx_bytes;
    volatile uint32_t rx_overrun;
    volatile uint32_t rx_framing;
    volatile uint32_t rx_parity;
    volatile uint32_t rx_noise;
    volatile uint32_t tx_bytes;
    /* Written from thread and handler mode. */
    _Atomic uint32_t tx_dropped;
} usart_state_t;

/* Ring sizes (powers of two). The CLI carries SMP frames (responses can be a few
 * hundred bytes); the AFE link streams samples in; the stimulator link is small. */
static uint8_t s_cli_rx[512], s_cli_tx[1024];
static uint8_t s_afe_rx[1024], s_afe_tx[256];
static uint8_t s_stim_rx[256], s_stim_tx[256];

#if TL_STM32F4_CLI_PINS_PB6_PB7
#define TL_CLI_TX_PIN {TL_GPIO_PORT_B, 6}
#define TL_CLI_RX_PIN {TL_GPIO_PORT_B, 7}
#else
#define TL_CLI_TX_PIN {TL_GPIO_PORT_A, 9}
#define TL_CLI_RX_PIN {TL_GPIO_PORT_A, 10}
#endif

static const usart_cfg_t k_usart[TL_STM32_USART_COUNT] = {
    [TL_STM32_USART1] = {TL_USART1, TL_IRQ_USART1, true, TL_RCC_APB2ENR_USART1EN,
                         TL_CLI_TX_PIN, TL_CLI_RX_PIN, s_cli_rx, sizeof s_cli_rx,
                         s_cli_tx, sizeof s_cli_tx, false},
    [TL_STM32_USART2] = {TL_USART2, TL_IRQ_USART2, false, TL_RCC_APB1ENR_USART2EN,
                         {TL_GPIO_PORT_A, 2}, {TL_GPIO_PORT_A, 3}, s_afe_rx, sizeof s_afe_rx,
                         s_afe_tx, sizeof s_afe_tx, true},
    [TL_STM32_USART3] = {TL_USART3, TL_IRQ_USART3, false, TL_RCC_APB1ENR_USART3EN,
                         {TL_GPIO_PORT_B, 10}, {TL_GPIO_PORT_B, 11}, s_stim_rx,
                         sizeof s_stim_rx, s_stim_tx, sizeof s_stim_tx, false},
};

static usart_state_t s_usart[TL_STM32_USART_COUNT];

static bool valid_id(tl_stm32_usart_id_t id)
{
    return (unsigned)id < (unsigned)TL_STM32_USART_COUNT;
}

static void cr1_modify(tl_usart_regs_t *u, uint32_t clear, uint32_t set)
{
    uint32_t primask = tl_irq_save();
    u->CR1 = (u->CR1 & ~clear) | set;
    tl_irq_restore(primask);
}

static void count_dropped(usart_state_t *s, size_t n)
{
    atomic_fetch_add_explicit(&s->tx_dropped, (uint32_t)n, memory_order_relaxed);
}

tl_stm32_usart_err_t tl_stm32_usart_init(tl_stm32_usart_id_t id, uint32_t baud)
{
    if (!valid_id(id)) {
        return TL_STM32_USART_EINVAL;
    }
    const usart_cfg_t *c = &k_usart[id];
    usart_state_t *s = &s_usart[id];
    uint32_t pclk = c->apb2 ? tl_stm32_clocks.apb2_hz : tl_stm32_clocks.apb1_hz;
    /* Oversampling by 16: BRR = fck / baud (mantissa.fraction in 1/16), rounded. */
    if (baud == 0u || baud > pclk / 16u) {
        return TL_STM32_USART_EBAUD;
    }
    uint32_t brr = (pclk + baud / 2u) / baud;
    if (brr < 16u || brr > 0xFFFFu) {
        return TL_STM32_USART_EBAUD;
    }

    tl_nvic_disable(c->irq);
    s->initialised = false;

    /* Clock on, then pulse the peripheral reset so a re-init starts from scratch. */
    uint32_t primask = tl_irq_save();
    if (c->apb2) {
        TL_RCC->APB2ENR |= c->enr_bit;
        (void)TL_RCC->APB2ENR;
        TL_RCC->APB2RSTR |= c->enr_bit;
        TL_RCC->APB2RSTR &= ~c->enr_bit;
    } else {
        TL_RCC->APB1ENR |= c->enr_bit;
        (void)TL_RCC->APB1ENR;
        TL_RCC->APB1RSTR |= c->enr_bit;
        TL_RCC->APB1RSTR &= ~c->enr_bit;
    }
    tl_irq_restore(primask);

    tl_gpio_clock_enable((tl_gpio_port_t)c->tx.port);
    tl_gpio_clock_enable((tl_gpio_port_t)c->rx.port);
    tl_gpio_config_af(c->tx, TL_USART_AF, false);
    tl_gpio_config_af(c->rx, TL_USART_AF, true); /* idle-high if nothing is connected */

    (void)tl_ringbuf_init(&s->rx, c->rx_storage, c->rx_size);
    (void)tl_ringbuf_init(&s->tx, c->tx_storage, c->tx_size);
    s->rx_bytes = 0u;
    s->rx_overrun = 0u;
    s->rx_framing = 0u;
    s->rx_parity = 0u;
    s->rx_noise = 0u;
    s->tx_bytes = 0u;
    atomic_store_explicit(&s->tx_dropped, 0u, memory_order_relaxed);
    s->tx_killed = false;
    s->rx_stopped = false;

    tl_usart_regs_t *u = c->regs;
    u->CR1 = 0u;
    u->CR2 = 0u; /* 1 stop bit */
    u->CR3 = 0u; /* no flow control, no DMA */
    u->BRR = brr;
    /* 8 data bits, no parity, oversampling 16; RX interrupt on, TX interrupt on demand. */
    u->CR1 = TL_USART_CR1_UE | TL_USART_CR1_TE | TL_USART_CR1_RE | TL_USART_CR1_RXNEIE;
    /* Discard anything latched before we were ready (read SR then DR). */
    (void)u->SR;
    (void)u->DR;

    s->initialised = true;
    tl_nvic_set_priority(c->irq, TL_USART_IRQ_PRIO);
    tl_nvic_clear_pending(c->irq);
    tl_nvic_enable(c->irq);
    return TL_STM32_USART_OK;
}

static void usart_isr(tl_stm32_usart_id_t id)
{
    const usart_cfg_t *c = &k_usart[id];
    usart_state_t *s = &s_usart[id];
    tl_usart_regs_t *u = c->regs;
    uint32_t sr = u->SR;

    /* With RX stopped (flow control) the byte stays in DR until the reader made room. */
    if ((u->CR1 & TL_USART_CR1_RXNEIE) != 0u &&
        (sr & (TL_USART_SR_RXNE | TL_USART_SR_ORE)) != 0u) {
        /* SR read above + this DR read clears RXNE, ORE, FE, NF and PE. With ORE the
         * byte in DR is still the valid one received before the overrun. */
        uint8_t byte = (uint8_t)(u->DR & 0xFFu);
        if ((sr & TL_USART_SR_ORE) != 0u) {
            s->rx_overrun++;
        }
        if ((sr & TL_USART_SR_FE) != 0u) {
            s->rx_framing++;
        } else if ((sr & TL_USART_SR_PE) != 0u) {
            s->rx_parity++;
        } else {
            if ((sr & TL_USART_SR_NF) != 0u) {
                s->rx_noise++;
            }
            if (tl_ringbuf_put(&s->rx, byte)) {
                s->rx_bytes++;
            }
        }
        if (c->rx_flow && tl_ringbuf_is_full(&s->rx)) {
            u->CR1 &= ~TL_USART_CR1_RXNEIE; /* handler mode: no other CR1 writer runs */
            s->rx_stopped = true;
        }
    }

    if ((u->CR1 & TL_USART_CR1_TXEIE) != 0u) {
        /* Bounded by the ring size: nothing can refill the ring while we run. */
        for (size_t budget = tl_ringbuf_capacity(&s->tx) + 1u; budget > 0u; budget--) {
            if ((u->SR & TL_USART_SR_TXE) == 0u) {
                break; /* silicon: the next TXE interrupt continues */
            }
            uint8_t byte;
            if (s->tx_killed || !tl_ringbuf_get(&s->tx, &byte)) {
                u->CR1 &= ~TL_USART_CR1_TXEIE; /* nothing left: stop the TXE interrupt */
                break;
            }
            u->DR = byte;
            s->tx_bytes++;
        }
    }
}

void USART1_IRQHandler(void);
void USART2_IRQHandler(void);
void USART3_IRQHandler(void);

void USART1_IRQHandler(void)
{
    usart_isr(TL_STM32_USART1);
}

void USART2_IRQHandler(void)
{
    usart_isr(TL_STM32_USART2);
}

void USART3_IRQHandler(void)
{
    usart_isr(TL_STM32_USART3);
}

size_t tl_stm32_usart_write(tl_stm32_usart_id_t id, const uint8_t *data, size_t len)
{
    if (!valid_id(id) || data == NULL || len == 0u) {
        return 0u;
    }
    usart_state_t *s = &s_usart[id];
    if (!s->initialised || s->tx_killed) {
        /* Transmitter off: consume and count, so callers never wait for it. */
        count_dropped(s, len);
        return len;
    }
    size_t n = tl_ringbuf_write(&s->tx, data, len);
    if (n > 0u) {
        /* After the bytes are in the ring, so the ISR cannot miss them. The pend
         * is what starts transmission under QEMU (see the top of this file). */
        cr1_modify(k_usart[id].regs, 0u, TL_USART_CR1_TXEIE);
        tl_nvic_set_pending(k_usart[id].irq);
    }
    return n;
}

static bool interrupts_masked(void)
{
    uint32_t primask;
    __asm volatile("mrs %0, primask" : "=r"(primask));
    return (primask & 1u) != 0u;
}

void tl_stm32_usart_write_all(tl_stm32_usart_id_t id, const uint8_t *data, size_t len)
{
    if (!valid_id(id) || data == NULL) {
        return;
    }
    usart_state_t *s = &s_usart[id];
    if (tl_ipsr() != 0u) {
        /* Handler mode: the TX ring has one producer, the thread; an ISR writing
         * into it concurrently would break it. Drop and count instead. */
        count_dropped(s, len);
        return;
    }
    while (len > 0u) {
        size_t n = tl_stm32_usart_write(id, data, len);
        data += n;
        len -= n;
        if (len == 0u) {
            break;
        }
        if (interrupts_masked()) {
            /* The TX interrupt cannot run to make room: waiting would deadlock. */
            count_dropped(s, len);
            return;
        }
        /* Race-free sleep: with interrupts masked, check that the ring is still full
         * (the ISR may have drained it since the write); WFI still wakes on the
         * pending TXE interrupt, which runs as soon as interrupts are unmasked. */
        tl_irq_disable();
        if (tl_ringbuf_is_full(&s->tx)) {
            tl_wfi();
        }
        tl_irq_enable();
    }
}

size_t tl_stm32_usart_read(tl_stm32_usart_id_t id, uint8_t *buf, size_t max)
{
    if (!valid_id(id) || !s_usart[id].initialised) {
        return 0u;
    }
    usart_state_t *s = &s_usart[id];
    size_t n = tl_ringbuf_read(&s->rx, buf, max);
    if (n > 0u && s->rx_stopped) {
        /* Room again: receive on. A byte waiting in DR raises the interrupt at once. */
        uint32_t primask = tl_irq_save();
        s->rx_stopped = false;
        k_usart[id].regs->CR1 |= TL_USART_CR1_RXNEIE;
        tl_irq_restore(primask);
    }
    return n;
}

size_t tl_stm32_usart_rx_available(tl_stm32_usart_id_t id)
{
    if (!valid_id(id) || !s_usart[id].initialised) {
        return 0u;
    }
    return tl_ringbuf_used(&s_usart[id].rx);
}

bool tl_stm32_usart_tx_idle(tl_stm32_usart_id_t id)
{
    if (!valid_id(id) || !s_usart[id].initialised || s_usart[id].tx_killed) {
        return true;
    }
    return tl_ringbuf_is_empty(&s_usart[id].tx) &&
           (k_usart[id].regs->SR & TL_USART_SR_TC) != 0u;
}

bool tl_stm32_usart_flush(tl_stm32_usart_id_t id, uint32_t max_ms)
{
    /* Bounded twice: by uptime (SysTick) and by iterations, in case interrupts are
     * masked and neither the TX ISR nor SysTick can run. */
    uint32_t start = tl_platform_uptime_ms();
    uint32_t spins_left = (max_ms + 1u) * 20000u;
    while (!tl_stm32_usart_tx_idle(id)) {
        if (tl_platform_uptime_ms() - start >= max_ms || spins_left-- == 0u) {
            return false;
        }
    }
    return true;
}

void tl_stm32_usart_tx_kill(tl_stm32_usart_id_t id)
{
    if (!valid_id(id)) {
        return;
    }
    const usart_cfg_t *c = &k_usart[id];
    s_usart[id].tx_killed = true;
    cr1_modify(c->regs, TL_USART_CR1_TXEIE | TL_USART_CR1_TE, 0u);
    /* Take the pin away from the USART: a plain output at the line's idle (mark)
     * level, so the far end sees a quiet line rather than a floating one. */
    tl_gpio_config_output(c->tx, true);
}

void tl_stm32_usart_get_stats(tl_stm32_usart_id_t id, tl_stm32_usart_stats_t *out)
{
    if (out == NULL) {
        return;
    }
    *out = (tl_stm32_usart_stats_t){0};
    if (!valid_id(id)) {
        return;
    }
    usart_state_t *s = &s_usart[id];
    uint32_t primask = tl_irq_save();
    out->rx_bytes = s->rx_bytes;
    out->rx_overflow = tl_ringbuf_overflows(&s->rx);
    out->rx_overrun = s->rx_overrun;
    out->rx_framing = s->rx_framing;
    out->rx_parity = s->rx_parity;
    out->rx_noise = s->rx_noise;
    out->tx_bytes = s->tx_bytes;
    out->tx_dropped = atomic_load_explicit(&s->tx_dropped, memory_order_relaxed);
    tl_irq_restore(primask);
}
