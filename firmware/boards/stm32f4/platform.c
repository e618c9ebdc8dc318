/*
 * platform.c - the platform.h services on the STM32F4 (those not in fault.c/systick.c).
 */
#include <string.h>

#include "board.h"
#include "stm32f4_regs.h"

/* How long tl_platform_reset waits for queued CLI output (e.g. the SMP response to
 * the reset command) to leave the pin: 1 KiB at 115200 baud takes ~90 ms. */
#define TL_RESET_FLUSH_MS 200u

#define TL_NT_GNU_BUILD_ID 3u

const char *tl_platform_board_name(void)
{
    return "stm32f4";
}

static uint32_t read_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

/* The note section holds: namesz, descsz, type (4 bytes each), the name "GNU\0"
 * padded to 4, then descsz bytes of id. Checked against the section bounds. */
size_t tl_platform_build_id(const uint8_t **id)
{
    if (id == NULL) {
        return 0u;
    }
    *id = NULL;
    const uint8_t *p = __build_id_note_start;
    size_t avail = (size_t)(__build_id_note_end - __build_id_note_start);
    if (avail < 12u) {
        return 0u;
    }
    uint32_t namesz = read_le32(p);
    uint32_t descsz = read_le32(p + 4);
    uint32_t type = read_le32(p + 8);
    if (type != TL_NT_GNU_BUILD_ID || namesz != 4u || descsz == 0u) {
        return 0u;
    }
    size_t name_padded = ((size_t)namesz + 3u) & ~(size_t)3u;
    if (avail - 12u < name_padded || memcmp(p + 12, "GNU", 4) != 0) {
        return 0u;
    }
    if (avail - 12u - name_padded < descsz) {
        return 0u;
    }
    *id = p + 12u + name_padded;
    return descsz;
}

void tl_platform_cli_write(const uint8_t *data, size_t len)
{
    tl_stm32_usart_write_all(TL_STM32_USART_CLI, data, len);
}

/* USART3, the stimulator link. Once tl_platform_stim_safe() killed the transmitter the
 * bytes are dropped (counted in the USART's tx_dropped). */
void tl_platform_stim_write(const uint8_t *data, size_t len)
{
    tl_stm32_usart_write_all(TL_STM32_USART_STIM, data, len);
}

void tl_platform_reset(void)
{
    (void)tl_stm32_usart_flush(TL_STM32_USART_CLI, TL_RESET_FLUSH_MS);
    tl_stm32_system_reset(TL_RESET_SOFTWARE);
}

void tl_platform_stim_enable(bool on)
{
    tl_gpio_write(TL_STM32F4_STIM_EN_PIN, on);
}

/* Any context, including fault handlers: no locks, no waiting. STIM_EN low first
 * (the stimulator's hardware enable), then silence its command link. */
void tl_platform_stim_safe(void)
{
    /* Clock on (no-op once on): needed if this runs before board init. */
    tl_gpio_clock_enable((tl_gpio_port_t)TL_STM32F4_STIM_EN_PIN.port);
    tl_gpio_write(TL_STM32F4_STIM_EN_PIN, false);
    tl_gpio_config_output(TL_STM32F4_STIM_EN_PIN, false);
    tl_stm32_usart_tx_kill(TL_STM32_USART_STIM);
}
