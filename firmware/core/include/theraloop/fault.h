/*
 * fault.h - the record a fault handler leaves in no-init RAM for the next boot.
 */
#ifndef THERALOOP_FAULT_H
#define THERALOOP_FAULT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TL_FAULT_NONE = 0,
    TL_FAULT_HARD = 1,
    TL_FAULT_MEMMANAGE = 2,
    TL_FAULT_BUS = 3,
    TL_FAULT_USAGE = 4,
} tl_fault_kind_t;

typedef struct {
    uint32_t kind;      /* tl_fault_kind_t */
    uint32_t pc;        /* stacked PC of the faulting instruction */
    uint32_t lr;        /* stacked LR */
    uint32_t xpsr;      /* stacked xPSR */
    uint32_t sp;        /* stack pointer at the fault (the exception frame) */
    uint32_t cfsr;      /* SCB->CFSR: configurable fault status */
    uint32_t hfsr;      /* SCB->HFSR: hard fault status */
    uint32_t mmfar;     /* SCB->MMFAR: memory-manage fault address */
    uint32_t bfar;      /* SCB->BFAR: bus fault address */
    uint32_t uptime_ms; /* uptime when the fault happened */
} tl_fault_record_t;

/* Stable lower-case name of a fault kind ("hard", "bus", ...). */
const char *tl_fault_kind_name(uint32_t kind);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_FAULT_H */
