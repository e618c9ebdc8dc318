/*
 * main.c - stm32f4 firmware entry: board up, then the portable application (app.h).
 */
#include "board.h"
#include "theraloop/app.h"

/* Bytes handed to the app per call, and calls per loop pass: a pass takes at most
 * the whole RX ring of a port, so every port and tl_app_poll() get their turn between
 * bursts. */
#define TL_MAIN_CHUNK 128u
#define TL_MAIN_CHUNKS_PER_PASS 8u

typedef void (*input_fn)(const uint8_t *data, size_t len);

static void drain(tl_stm32_usart_id_t id, input_fn fn)
{
    static uint8_t rx[TL_MAIN_CHUNK];
    for (unsigned i = 0; i < TL_MAIN_CHUNKS_PER_PASS; i++) {
        size_t n = tl_stm32_usart_read(id, rx, sizeof rx);
        if (n == 0u) {
            break;
        }
        fn(rx, n);
    }
}

int main(void)
{
    tl_stm32_board_init();
    tl_app_init();
    for (;;) {
        drain(TL_STM32_USART_CLI, tl_app_cli_input);   /* management (SMP) */
        drain(TL_STM32_USART_AFE, tl_app_afe_input);   /* samples: runs control steps */
        drain(TL_STM32_USART_STIM, tl_app_stim_input); /* stimulator status frames */
        tl_app_poll();
        tl_stm32_idle();
    }
}
