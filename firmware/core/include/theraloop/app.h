/*
 * app.h - the portable application a board's main() drives.
 *
 *   board_init();
 *   tl_app_init();
 *   for (;;) {
 *       n = <bytes received on the CLI port>;
 *       if (n) tl_app_cli_input(buf, n);
 *       tl_app_poll();
 *       <sleep until the next interrupt when idle>
 *   }
 */
#ifndef THERALOOP_APP_H
#define THERALOOP_APP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Initialise every core module. Call once after the board is up. */
void tl_app_init(void);

/* Feed bytes received on the management (CLI) serial port. */
void tl_app_cli_input(const uint8_t *data, size_t len);

/* Do any deferred work (e.g. a reset requested by an SMP command, once its
 * response has been sent). Cheap when there is nothing to do. */
void tl_app_poll(void);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_APP_H */
