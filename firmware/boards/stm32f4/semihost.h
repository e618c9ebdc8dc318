/*
 * semihost.h - ARM semihosting (bkpt 0xAB) for test images run under a debugger or
 * QEMU with `-semihosting-config enable=on,target=native`.
 *
 * Never call these in the normal firmware path: without a debugger attached (or
 * without that QEMU option) the BKPT instruction escalates to a HardFault on
 * silicon and aborts QEMU.
 */
#ifndef TL_STM32F4_SEMIHOST_H
#define TL_STM32F4_SEMIHOST_H

#include <stdint.h>

/* Write a NUL-terminated string to the host's console (SYS_WRITE0). */
void tl_semihost_write0(const char *s);

/* End the session with an exit status (SYS_EXIT_EXTENDED: QEMU exits with `code`).
 * Falls back to SYS_EXIT (success/failure only) if the extended call returns. */
__attribute__((noreturn)) void tl_semihost_exit(uint32_t code);

#endif /* TL_STM32F4_SEMIHOST_H */
