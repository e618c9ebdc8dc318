/*
 * flash.c - STM32F4 flash controller driver (see flash.h). Register sequence from
 * RM0090 3.6: unlock with KEYR, wait for BSY clear, clear stale error flags, set the
 * operation bits with PSIZE = x32, start, wait for BSY clear, check
 * OPERR/WRPERR/PGAERR/PGPERR/PGSERR, clear the operation bit, lock again.
 */
#include "flash.h"

#include <string.h>

#include "stm32f4_regs.h"

#define KEY1 0x45670123u
#define KEY2 0xCDEF89ABu

#define SR_EOP (1u << 0)
#define SR_OPERR (1u << 1)
#define SR_WRPERR (1u << 4)
#define SR_PGAERR (1u << 5)
#define SR_PGPERR (1u << 6)
#define SR_PGSERR (1u << 7)
#define SR_BSY (1u << 16)
#define SR_ERRORS (SR_OPERR | SR_WRPERR | SR_PGAERR | SR_PGPERR | SR_PGSERR)

#define CR_PG (1u << 0)
#define CR_SER (1u << 1)
#define CR_SNB_SHIFT 3u
#define CR_SNB_MASK (0xFu << CR_SNB_SHIFT)
#define CR_PSIZE_MASK (3u << 8)
#define CR_PSIZE_X32 (2u << 8)
#define CR_STRT (1u << 16)
#define CR_LOCK (1u << 31)

#define SECTORS 12u

uint32_t tl_stm32f4_flash_sector_addr(uint32_t snb)
{
    if (snb < 4u) {
        return TL_STM32F4_FLASH_BASE + snb * 0x4000u;
    }
    if (snb == 4u) {
        return TL_STM32F4_FLASH_BASE + 0x10000u;
    }
    return TL_STM32F4_FLASH_BASE + 0x20000u + (snb - 5u) * 0x20000u;
}

static void wait_idle(void)
{
    while ((TL_FLASH->SR & SR_BSY) != 0u) {
    }
}

static void unlock(void)
{
    if ((TL_FLASH->CR & CR_LOCK) != 0u) {
        TL_FLASH->KEYR = KEY1;
        TL_FLASH->KEYR = KEY2;
    }
}

static void lock(void)
{
    TL_FLASH->CR |= CR_LOCK;
}

/* Error flags of the finished operation, cleared (write 1 to clear), as a storage error. */
static tl_storage_err_t take_status(void)
{
    uint32_t sr = TL_FLASH->SR;
    TL_FLASH->SR = sr & (SR_ERRORS | SR_EOP);
    if ((sr & SR_WRPERR) != 0u) {
        return TL_STORAGE_ERR_PROTECTED;
    }
    if ((sr & SR_ERRORS) != 0u) {
        return TL_STORAGE_ERR_IO;
    }
    return TL_STORAGE_OK;
}

/* The data cache may hold words read before an erase/program: reset it. */
static void flush_dcache(void)
{
    uint32_t acr = TL_FLASH->ACR;
    if ((acr & TL_FLASH_ACR_DCEN) != 0u) {
        TL_FLASH->ACR = acr & ~TL_FLASH_ACR_DCEN;
        TL_FLASH->ACR = (acr & ~TL_FLASH_ACR_DCEN) | TL_FLASH_ACR_DCRST;
        TL_FLASH->ACR = acr & ~TL_FLASH_ACR_DCRST;
    }
}

static void begin(void)
{
    wait_idle();
    unlock();
    TL_FLASH->SR = SR_ERRORS | SR_EOP; /* stale flags would block the next operation */
}

tl_storage_err_t tl_stm32f4_flash_erase_sector(uint32_t snb)
{
    if (snb >= SECTORS) {
        return TL_STORAGE_ERR_RANGE;
    }
    begin();
    uint32_t cr = TL_FLASH->CR & ~(CR_PSIZE_MASK | CR_SNB_MASK | CR_PG | CR_SER);
    TL_FLASH->CR = cr | CR_PSIZE_X32 | CR_SER | (snb << CR_SNB_SHIFT);
    TL_FLASH->CR |= CR_STRT;
    wait_idle();
    tl_storage_err_t err = take_status();
    TL_FLASH->CR &= ~(CR_SER | CR_SNB_MASK);
    lock();
    flush_dcache();
    if (err != TL_STORAGE_OK) {
        return err;
    }
    const volatile uint32_t *p = (const volatile uint32_t *)tl_stm32f4_flash_sector_addr(snb);
    uint32_t words = (snb < 4u ? 0x4000u : snb == 4u ? 0x10000u : 0x20000u) / 4u;
    for (uint32_t i = 0; i < words; i++) {
        if (p[i] != 0xFFFFFFFFu) {
            return TL_STORAGE_ERR_VERIFY;
        }
    }
    return TL_STORAGE_OK;
}

tl_storage_err_t tl_stm32f4_flash_program(uint32_t addr, const uint8_t *data, uint32_t n)
{
    if ((addr & 3u) != 0u || (n & 3u) != 0u) {
        return TL_STORAGE_ERR_ALIGN;
    }
    volatile uint32_t *dst = (volatile uint32_t *)addr;
    for (uint32_t i = 0; i < n / 4u; i++) {
        uint32_t w;
        memcpy(&w, data + 4u * i, 4);
        if ((dst[i] & w) != w) {
            return TL_STORAGE_ERR_NOT_ERASED;
        }
    }
    begin();
    uint32_t cr = TL_FLASH->CR & ~(CR_PSIZE_MASK | CR_SNB_MASK | CR_SER);
    TL_FLASH->CR = cr | CR_PSIZE_X32 | CR_PG;
    tl_storage_err_t err = TL_STORAGE_OK;
    for (uint32_t i = 0; i < n / 4u && err == TL_STORAGE_OK; i++) {
        uint32_t w;
        memcpy(&w, data + 4u * i, 4);
        if (w == 0xFFFFFFFFu) {
            continue; /* nothing to clear */
        }
        dst[i] = w;
        __asm volatile("dsb" ::: "memory");
        wait_idle();
        err = take_status();
    }
    TL_FLASH->CR &= ~CR_PG;
    lock();
    flush_dcache();
    if (err != TL_STORAGE_OK) {
        return err;
    }
    for (uint32_t i = 0; i < n / 4u; i++) {
        uint32_t w;
        memcpy(&w, data + 4u * i, 4);
        if (dst[i] != w) {
            return TL_STORAGE_ERR_VERIFY;
        }
    }
    return TL_STORAGE_OK;
}
