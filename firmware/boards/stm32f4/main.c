/*
 * main.c - stm32f4 firmware entry: board up, then the portable application (app.h).
 */
#include "board.h"
#include "theraloop/app.h"

/* Bytes handed to the app per call, and calls per loop pass: a pass takes at most
 * the whole RX ring, so tl_app_poll() runs between bursts. */
#define TL_MAIN_CHUNK 128u
#define TL_MAIN_CHUNKS_PER_PASS 8u

int main(void)
{
    static uint8_t rx[TL_MAIN_CHUNK];

    tl_stm32_board_init();
    tl_app_init();
    for (;;) {
        for (unsigned i = 0; i < TL_MAIN_CHUNKS_PER_PASS; i++) {
            size_t n = tl_stm32_usart_read(TL_STM32_USART_CLI, rx, sizeof rx);
            if (n == 0u) {
                break;
            }
            tl_app_cli_input(rx, n);
        }
        tl_app_poll();
        tl_stm32_idle();
    }
}
