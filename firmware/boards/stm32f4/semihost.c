/*
 * semihost.c - ARM semihosting calls (see semihost.h).
 */
#include "semihost.h"

#define TL_SYS_WRITE0 0x04u
#define TL_SYS_EXIT 0x18u
#define TL_SYS_EXIT_EXTENDED 0x20u
#define TL_ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define TL_ADP_STOPPED_RUN_TIME_ERROR 0x20023u

static uint32_t semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void tl_semihost_write0(const char *s)
{
    (void)semihost_call(TL_SYS_WRITE0, s);
}

void tl_semihost_exit(uint32_t code)
{
    const uint32_t block[2] = {TL_ADP_STOPPED_APPLICATION_EXIT, code};
    (void)semihost_call(TL_SYS_EXIT_EXTENDED, block);
    /* SYS_EXIT on ARMv7-M takes the reason code itself in r1. */
    (void)semihost_call(TL_SYS_EXIT, (const void *)(uintptr_t)(code == 0u
                                                      ? TL_ADP_STOPPED_APPLICATION_EXIT
                                                      : TL_ADP_STOPPED_RUN_TIME_ERROR));
    for (;;) {
    }
}
