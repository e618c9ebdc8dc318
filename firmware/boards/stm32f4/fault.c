/*
 * fault.c - fault handlers, no-init reset bookkeeping and the boot-time reset reason.
 *
 * Fault flow: naked stub (HardFault/MemManage/BusFault/UsageFault, and
 * Default_Handler for unexpected interrupts) -> tl_stm32_fault_entry(frame, ...):
 *   1. tl_platform_stim_safe()            stimulator off before anything else
 *   2. fill a tl_fault_record_t in .noinit, pending reason TL_RESET_FAULT, CRC-32
 *   3. SYSRESETREQ
 * Next boot (tl_stm32_reset_bookkeeping_init, before main's first line of app code):
 *   RCC_CSR flags (silicon) + the no-init block (validated by magic and CRC) decide
 *   the reset reason; a valid fault record is copied to .bss and the no-init copy is
 *   cleared, so a record is reported by exactly one boot.
 *
 * QEMU does not model RCC_CSR (reads 0) and does not clear RAM on a system reset;
 * the linker script keeps .noinit out of every loadable segment so that QEMU's ELF
 * loader (which re-runs on reset) does not zero it either.
 */
#include <string.h>

#include "board.h"
#include "stm32f4_regs.h"

#define TL_NOINIT_MAGIC 0x544C4E49u /* "TLNI" */
/* Bumped whenever tl_noinit_t changes, so an old image's block is not misread. */
#define TL_NOINIT_VERSION 1u

/* An address in the reserved gap after SRAM (0x20020000..0x3FFFFFFF): a load from it
 * is a precise bus fault on the STM32F4 bus matrix and in QEMU. */
#define TL_UNMAPPED_ADDR 0x30000000u

_Static_assert(TL_FAULT_HARD == 1 && TL_FAULT_MEMMANAGE == 2 && TL_FAULT_BUS == 3 &&
                   TL_FAULT_USAGE == 4,
               "the naked stubs pass these kinds as literals");

typedef struct {
    uint32_t magic;
    uint32_t version;
    uint32_t pending_reason; /* tl_reset_reason_t the next boot should report, or 0 */
    uint32_t has_fault;
    tl_fault_record_t fault;
    uint32_t crc; /* CRC-32 of every field above */
} tl_noinit_t;

__attribute__((section(".noinit"))) static tl_noinit_t s_noinit;

static tl_reset_reason_t s_reset_reason = TL_RESET_UNKNOWN;
static tl_fault_record_t s_last_fault;
static bool s_have_last_fault;
static uint32_t s_rcc_csr_at_boot;

/* Bitwise CRC-32 (IEEE, reflected): no table, safe to run in the fault handler. */
static uint32_t crc32_words(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (unsigned b = 0; b < 8u; b++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

static uint32_t noinit_crc(const tl_noinit_t *n)
{
    return crc32_words(n, offsetof(tl_noinit_t, crc));
}

static bool noinit_valid(const tl_noinit_t *n)
{
    return n->magic == TL_NOINIT_MAGIC && n->version == TL_NOINIT_VERSION &&
           n->crc == noinit_crc(n);
}

static void noinit_store(tl_reset_reason_t pending, const tl_fault_record_t *fault)
{
    s_noinit.magic = TL_NOINIT_MAGIC;
    s_noinit.version = TL_NOINIT_VERSION;
    s_noinit.pending_reason = (uint32_t)pending;
    if (fault != NULL) {
        s_noinit.fault = *fault;
        s_noinit.has_fault = 1u;
    } else {
        memset(&s_noinit.fault, 0, sizeof s_noinit.fault);
        s_noinit.has_fault = 0u;
    }
    s_noinit.crc = noinit_crc(&s_noinit);
}

/* Decide the reason from the hardware flags when there are any (silicon). */
static tl_reset_reason_t reason_from_csr(uint32_t csr, bool noinit_ok, uint32_t pending)
{
    if ((csr & (TL_RCC_CSR_IWDGRSTF | TL_RCC_CSR_WWDGRSTF)) != 0u) {
        return TL_RESET_WATCHDOG;
    }
    if ((csr & TL_RCC_CSR_PORRSTF) != 0u) {
        return TL_RESET_POWER_ON; /* BORRSTF is set too on a POR */
    }
    if ((csr & TL_RCC_CSR_BORRSTF) != 0u) {
        return TL_RESET_BROWNOUT;
    }
    if ((csr & TL_RCC_CSR_SFTRSTF) != 0u) {
        /* SYSRESETREQ: ours, by tl_platform_reset or by the fault handler. */
        if (noinit_ok && pending == TL_RESET_FAULT) {
            return TL_RESET_FAULT;
        }
        return TL_RESET_SOFTWARE;
    }
    if ((csr & TL_RCC_CSR_PINRSTF) != 0u) {
        return TL_RESET_PIN; /* internal resets set PINRSTF too, so it is checked last */
    }
    return TL_RESET_UNKNOWN;
}

void tl_stm32_reset_bookkeeping_init(void)
{
    const uint32_t flags = TL_RCC_CSR_BORRSTF | TL_RCC_CSR_PINRSTF | TL_RCC_CSR_PORRSTF |
                           TL_RCC_CSR_SFTRSTF | TL_RCC_CSR_IWDGRSTF | TL_RCC_CSR_WWDGRSTF |
                           TL_RCC_CSR_LPWRRSTF;
    bool ok = noinit_valid(&s_noinit);
    uint32_t pending = ok ? s_noinit.pending_reason : 0u;
    uint32_t csr = 0u;

    if (tl_stm32_clocks.source != TL_STM32_CLK_EMULATED) {
        csr = TL_RCC->CSR;
        TL_RCC->CSR |= TL_RCC_CSR_RMVF; /* clear the flags for the next reset */
    }
    s_rcc_csr_at_boot = csr;

    if ((csr & flags) != 0u) {
        s_reset_reason = reason_from_csr(csr, ok, pending);
        if ((csr & TL_RCC_CSR_PORRSTF) != 0u) {
            ok = false; /* SRAM content is undefined after power-on */
        }
    } else if (ok) {
        /* No hardware flags (emulator, or a bootloader consumed them): trust our own
         * bookkeeping. We ran before but did not ask for this reset: unknown. */
        if (pending == TL_RESET_FAULT || pending == TL_RESET_SOFTWARE) {
            s_reset_reason = (tl_reset_reason_t)pending;
        } else {
            s_reset_reason = TL_RESET_UNKNOWN;
        }
    } else {
        s_reset_reason = TL_RESET_POWER_ON; /* no magic: cold start */
    }

    if (ok && s_noinit.has_fault != 0u) {
        s_last_fault = s_noinit.fault;
        s_have_last_fault = true;
    }
    /* Consume: the record belongs to this boot only; the magic stays valid so that
     * the next boot knows the previous run existed. */
    noinit_store(TL_RESET_UNKNOWN, NULL);
}

void tl_stm32_fault_init(void)
{
    TL_SCB->CCR |= TL_SCB_CCR_DIV_0_TRP;
    tl_scb_set_priority(TL_EXC_MEMMANAGE, 0u);
    tl_scb_set_priority(TL_EXC_BUSFAULT, 0u);
    tl_scb_set_priority(TL_EXC_USAGEFAULT, 0u);
    TL_SCB->SHCSR |= TL_SCB_SHCSR_MEMFAULTENA | TL_SCB_SHCSR_BUSFAULTENA | TL_SCB_SHCSR_USGFAULTENA;
    tl_dsb();
    tl_isb();
}

__attribute__((noreturn)) void tl_stm32_system_reset(tl_reset_reason_t reason)
{
    tl_irq_disable();
    noinit_store(reason, NULL);
    tl_dsb(); /* the no-init block is written before the reset request */
    TL_SCB->AIRCR = TL_SCB_AIRCR_VECTKEY | (TL_SCB->AIRCR & TL_SCB_AIRCR_PRIGROUP_MASK) |
                    TL_SCB_AIRCR_SYSRESETREQ;
    tl_dsb();
    for (;;) {
        __asm volatile("nop");
    }
}

/* The stacked frame is only read if it lies wholly inside RAM or CCM: after a stack
 * overflow or a corrupt PSP, reading it would fault again inside the handler. */
static bool frame_readable(uintptr_t frame)
{
    const uintptr_t frame_bytes = 8u * sizeof(uint32_t);
    if ((frame & 3u) != 0u) {
        return false;
    }
    uintptr_t ram0 = (uintptr_t)&__ram_start, ram1 = (uintptr_t)&__ram_end;
    uintptr_t ccm0 = (uintptr_t)&__ccm_start, ccm1 = (uintptr_t)&__ccm_end;
    return (frame >= ram0 && frame <= ram1 - frame_bytes) ||
           (frame >= ccm0 && frame <= ccm1 - frame_bytes);
}

__attribute__((noreturn, used)) void tl_stm32_fault_entry(const uint32_t *frame,
                                                          uint32_t exc_return, uint32_t kind)
{
    (void)exc_return;
    tl_platform_stim_safe();

    tl_fault_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.sp = (uint32_t)(uintptr_t)frame;
    if (frame_readable((uintptr_t)frame)) {
        r.lr = frame[5];
        r.pc = frame[6];
        r.xpsr = frame[7];
    }
    r.cfsr = TL_SCB->CFSR;
    r.hfsr = TL_SCB->HFSR;
    r.mmfar = TL_SCB->MMFAR;
    r.bfar = TL_SCB->BFAR;
    r.uptime_ms = tl_platform_uptime_ms();

    tl_irq_disable();
    noinit_store(TL_RESET_FAULT, &r);
    tl_dsb();
    TL_SCB->AIRCR = TL_SCB_AIRCR_VECTKEY | (TL_SCB->AIRCR & TL_SCB_AIRCR_PRIGROUP_MASK) |
                    TL_SCB_AIRCR_SYSRESETREQ;
    tl_dsb();
    for (;;) {
        __asm volatile("nop");
    }
}

void HardFault_Handler(void);
void MemManage_Handler(void);
void BusFault_Handler(void);
void UsageFault_Handler(void);

__attribute__((naked)) void HardFault_Handler(void)
{
    TL_STM32_FAULT_STUB("1");
}

__attribute__((naked)) void MemManage_Handler(void)
{
    TL_STM32_FAULT_STUB("2");
}

__attribute__((naked)) void BusFault_Handler(void)
{
    TL_STM32_FAULT_STUB("3");
}

__attribute__((naked)) void UsageFault_Handler(void)
{
    TL_STM32_FAULT_STUB("4");
}

uint32_t tl_stm32_reset_flags(void)
{
    return s_rcc_csr_at_boot;
}

/* ---- platform.h ------------------------------------------------------------------ */

tl_reset_reason_t tl_platform_reset_reason(void)
{
    return s_reset_reason;
}

bool tl_platform_last_fault(tl_fault_record_t *out)
{
    if (!s_have_last_fault || out == NULL) {
        return false;
    }
    *out = s_last_fault;
    return true;
}

void tl_platform_trigger_fault(uint32_t kind)
{
    switch (kind) {
    case TL_FAULT_TRIGGER_BUS_READ: {
        volatile const uint32_t *p = (volatile const uint32_t *)(uintptr_t)TL_UNMAPPED_ADDR;
        (void)*p;
        break;
    }
    case TL_FAULT_TRIGGER_UNDEF_INSN:
        __asm volatile(".short 0xde00" ::: "memory"); /* UDF #0: permanently undefined */
        break;
    case TL_FAULT_TRIGGER_DIV_ZERO: {
        TL_SCB->CCR |= TL_SCB_CCR_DIV_0_TRP;
        tl_dsb();
        tl_isb();
        /* In assembly: a C division by zero would be undefined behaviour. */
        uint32_t num = 1u, den = 0u, quot;
        __asm volatile("udiv %0, %1, %2" : "=r"(quot) : "r"(num), "r"(den));
        (void)quot;
        break;
    }
    default:
        break;
    }
}
