/*
 * platform_names.c - stable names of reset reasons and fault kinds, as reported over SMP
 * (`theraloop info`) and by the host tools. Never rename: clients match on them.
 */
#include "theraloop/fault.h"
#include "theraloop/platform.h"

const char *tl_reset_reason_name(tl_reset_reason_t reason)
{
    switch (reason) {
    case TL_RESET_POWER_ON:
        return "power_on";
    case TL_RESET_PIN:
        return "pin";
    case TL_RESET_SOFTWARE:
        return "software";
    case TL_RESET_WATCHDOG:
        return "watchdog";
    case TL_RESET_FAULT:
        return "fault";
    case TL_RESET_BROWNOUT:
        return "brownout";
    case TL_RESET_UNKNOWN:
    default:
        return "unknown";
    }
}

const char *tl_fault_kind_name(uint32_t kind)
{
    switch (kind) {
    case TL_FAULT_NONE:
        return "none";
    case TL_FAULT_HARD:
        return "hard";
    case TL_FAULT_MEMMANAGE:
        return "memmanage";
    case TL_FAULT_BUS:
        return "bus";
    case TL_FAULT_USAGE:
        return "usage";
    default:
        return "unknown";
    }
}
