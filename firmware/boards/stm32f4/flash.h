/*
 * flash.h - STM32F4 embedded flash controller (RM0090 section 3): sector erase and
 * 32-bit word programming, with the controller's error flags mapped to storage errors.
 *
 * The STM32F405/407 has one flash bank: while an erase or program operation runs, every
 * instruction fetch or data read from flash stalls the CPU (interrupts included) until
 * it ends: about 1-2 s for a 128 KiB sector erase, ~16 us per word. Running this code
 * from RAM would not help unless the vector table and every ISR also ran from RAM, so
 * callers schedule erases when a stall is acceptable (never while stimulating).
 * Requires VDD 2.7-3.6 V for x32 parallelism (PSIZE = 0b10).
 */
#ifndef TL_STM32F4_FLASH_H
#define TL_STM32F4_FLASH_H

#include <stdbool.h>
#include <stdint.h>

#include "theraloop/storage/storage.h"

#define TL_STM32F4_FLASH_BASE 0x08000000u

/* Address and size of flash sector `snb` (0..11 on a 1 MiB part). */
uint32_t tl_stm32f4_flash_sector_addr(uint32_t snb);

/* Erase sector `snb` (0..11). */
tl_storage_err_t tl_stm32f4_flash_erase_sector(uint32_t snb);

/* Program `n` bytes (n multiple of 4, addr 4-aligned) at absolute address addr, one word
 * at a time; every word is checked against the 1->0 rule first and read back after. */
tl_storage_err_t tl_stm32f4_flash_program(uint32_t addr, const uint8_t *data, uint32_t n);

/* True when the QEMU runner marked this run as emulated (semihosting flash file in use,
 * see storage_stm32f4.c). */
bool tl_stm32f4_storage_is_emulated(void);

#endif /* TL_STM32F4_FLASH_H */
