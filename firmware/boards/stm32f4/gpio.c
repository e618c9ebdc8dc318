/*
 * gpio.c - minimal STM32F4 GPIO configuration (output, alternate function).
 *
 * Read-modify-write of the configuration registers is done with interrupts masked,
 * because the fault path (tl_platform_stim_safe) may reconfigure pins from any
 * context. Output levels use BSRR, which is atomic.
 */
#include "board.h"
#include "stm32f4_regs.h"

#define TL_GPIO_MODE_OUTPUT 1u
#define TL_GPIO_MODE_AF 2u
#define TL_GPIO_SPEED_HIGH 2u
#define TL_GPIO_PULL_UP 1u

void tl_gpio_clock_enable(tl_gpio_port_t port)
{
    uint32_t bit = TL_RCC_AHB1ENR_GPIOAEN << (uint32_t)port;
    if ((TL_RCC->AHB1ENR & bit) == 0u) {
        uint32_t primask = tl_irq_save();
        TL_RCC->AHB1ENR |= bit;
        tl_irq_restore(primask);
        (void)TL_RCC->AHB1ENR; /* read back: two AHB cycles before the port is usable */
    }
}

static void set_field(volatile uint32_t *reg, uint32_t shift, uint32_t width, uint32_t value)
{
    uint32_t mask = ((1UL << width) - 1u) << shift;
    *reg = (*reg & ~mask) | ((value << shift) & mask);
}

void tl_gpio_write(tl_gpio_pin_t p, bool level)
{
    uint32_t pin = p.pin & 15u;
    TL_GPIO(p.port)->BSRR = level ? (1UL << pin) : (1UL << (pin + 16u));
}

void tl_gpio_config_output(tl_gpio_pin_t p, bool level)
{
    tl_gpio_regs_t *g = TL_GPIO(p.port);
    uint32_t pin = p.pin & 15u;
    tl_gpio_write(p, level); /* level first: no glitch when the pin becomes an output */
    uint32_t primask = tl_irq_save();
    set_field(&g->OTYPER, pin, 1u, 0u);
    set_field(&g->OSPEEDR, pin * 2u, 2u, 0u);
    set_field(&g->PUPDR, pin * 2u, 2u, 0u);
    set_field(&g->MODER, pin * 2u, 2u, TL_GPIO_MODE_OUTPUT);
    tl_irq_restore(primask);
}

void tl_gpio_config_af(tl_gpio_pin_t p, uint32_t af, bool pull_up)
{
    tl_gpio_regs_t *g = TL_GPIO(p.port);
    uint32_t pin = p.pin & 15u;
    uint32_t primask = tl_irq_save();
    set_field(&g->AFR[pin >> 3], (pin & 7u) * 4u, 4u, af & 15u);
    set_field(&g->OTYPER, pin, 1u, 0u);
    set_field(&g->OSPEEDR, pin * 2u, 2u, TL_GPIO_SPEED_HIGH);
    set_field(&g->PUPDR, pin * 2u, 2u, pull_up ? TL_GPIO_PULL_UP : 0u);
    set_field(&g->MODER, pin * 2u, 2u, TL_GPIO_MODE_AF);
    tl_irq_restore(primask);
}
