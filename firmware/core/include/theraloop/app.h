/*
 * app.h - the portable application a board's main() drives.
 *
 *   board_init();
 *   tl_app_init();
 *   for (;;) {
 *       n = <bytes received on the CLI port>;     if (n) tl_app_cli_input(buf, n);
 *       n = <bytes received on the AFE link>;     if (n) tl_app_afe_input(buf, n);
 *       n = <bytes received on the stim link>;    if (n) tl_app_stim_input(buf, n);
 *       tl_app_poll();
 *       <sleep until the next interrupt when idle (SysTick wakes it every ms)>
 *   }
 *
 * The control loop's stimulator frames leave through tl_platform_stim_write().
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

/* Feed bytes received on the sensing link (AFE sample frames, afe_link.h). Control
 * steps run inside this call, one per completed hop. */
void tl_app_afe_input(const uint8_t *data, size_t len);

/* Feed bytes received on the stimulator link (STATUS frames, therapy/stim_link.h). */
void tl_app_stim_input(const uint8_t *data, size_t len);

/* Do any deferred work (e.g. a reset requested by an SMP command, once its
 * response has been sent) and the control loop's wall-clock duties (AFE dropout
 * timeout). Cheap when there is nothing to do; call at least every millisecond or so. */
void tl_app_poll(void);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_APP_H */
