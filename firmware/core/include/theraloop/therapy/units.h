/*
 * therapy/units.h - stimulation parameters, their units, and the charge arithmetic every
 * safety decision is made with (integers only, no floating point).
 *
 * Units used throughout the therapy code (and in the configuration field names):
 *   amplitude        uA                   (microampere, per phase, current-controlled)
 *   pulse width      us                   (microsecond, one phase of the biphasic pulse)
 *   rate             0.1 Hz ("dhz")       (130.2 Hz = 1302)
 *   electrode area   um2                  (square micrometre; 1 mm2 = 1 000 000 um2,
 *                                          a DBS ring contact ~6 mm2 = 0.06 cm2,
 *                                          an RNS contact ~8 mm2 = 0.08 cm2)
 *   charge per phase pC internally (uA x us), nC in the configuration
 *   charge density   0.01 uC/cm2/phase ("cuc_cm2"; 30.00 uC/cm2/phase = 3000)
 *   Shannon k        0.001 ("milli"; k = 1.75 -> 1750)
 *   time             ms (uint32, wraps after ~49.7 days; all intervals are differences)
 *
 * Charge per phase  Q = I x PW            -> pC = uA x us;   uC = pC / 1e6
 * Charge density    D = Q / A             -> uC/cm2 = pC x 100 / um2
 * Shannon (1992)    log10(D) = k - log10(Q)  ->  k = log10(Q[uC]) + log10(D[uC/cm2])
 *                   = 2 log10(pC) - 4 - log10(um2)
 */
#ifndef THERALOOP_THERAPY_UNITS_H
#define THERALOOP_THERAPY_UNITS_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Absolute ranges of the stimulator hardware model. No configuration can exceed them. */
#define TL_STIM_AMPLITUDE_ABS_MAX_UA 25500u   /* 25.5 mA */
#define TL_STIM_PULSE_WIDTH_ABS_MIN_US 10u
#define TL_STIM_PULSE_WIDTH_ABS_MAX_US 1000u
#define TL_STIM_RATE_ABS_MIN_DHZ 1u           /* 0.1 Hz */
#define TL_STIM_RATE_ABS_MAX_DHZ 10000u       /* 1 kHz */
#define TL_STIM_IPG_ABS_MAX_US 1000u          /* interphase gap */
#define TL_STIM_ELECTRODE_ABS_MIN_UM2 10000u  /* 0.01 mm2 */
#define TL_STIM_ELECTRODE_ABS_MAX_UM2 100000000u /* 100 mm2 = 1 cm2 */
/* No configuration may allow more than 30 uC/cm2/phase (the programmable ceiling). */
#define TL_STIM_CHARGE_DENSITY_ABS_MAX_CUC 3000u
/* Shannon's k at which tissue damage was first observed (1.85); the ceiling for k_max. */
#define TL_STIM_SHANNON_K_ABS_MAX_MILLI 1850

/* Waveform of each pulse. Both are charge-balanced biphasic pulses: a cathodic phase of
 * `pulse_width_us`, an interphase gap, then a charge-balancing anodic phase. */
typedef enum {
    TL_WAVEFORM_BIPHASIC_ACTIVE = 0,  /* symmetric active anodic phase (same I, same PW) */
    TL_WAVEFORM_BIPHASIC_PASSIVE = 1, /* passive recharge through the coupling capacitor */
    TL_WAVEFORM_COUNT = 2,
} tl_waveform_t;

/* One stimulation setting, as delivered to (or requested from) the stimulator.
 * `enabled` 0 means no pulses at all; the supervisor always outputs amplitude 0 then. */
typedef struct {
    uint16_t amplitude_ua;
    uint16_t pulse_width_us;
    uint16_t rate_dhz;
    uint16_t interphase_gap_us;
    uint8_t enabled;  /* 0 or 1 */
    uint8_t waveform; /* tl_waveform_t */
    uint8_t reserved[2];
} tl_stim_params_t;

/* Charge per phase in pC (uA x us; exact). */
uint32_t tl_stim_charge_pc(uint32_t amplitude_ua, uint32_t pulse_width_us);

/* Charge density in 0.01 uC/cm2/phase, rounded up (never under-reports). Returns
 * UINT32_MAX when area_um2 is 0. */
uint32_t tl_stim_density_cuc(uint32_t amplitude_ua, uint32_t pulse_width_us, uint32_t area_um2);

/* True when amplitude x pulse width over area_um2 is at most max_cuc (0.01 uC/cm2/phase),
 * compared exactly (no rounding). False for area 0. */
bool tl_stim_density_within(uint32_t amplitude_ua, uint32_t pulse_width_us, uint32_t area_um2,
                            uint32_t max_cuc);

/* Shannon k x 1000 for this pulse on this electrode, rounded to nearest (error <= 1).
 * Returns INT32_MIN when the charge is 0 (k = -infinity) or the area is 0. */
int32_t tl_stim_shannon_k_milli(uint32_t amplitude_ua, uint32_t pulse_width_us, uint32_t area_um2);

/* log10(x) x 2^20 for x >= 1 (fixed point, error < 2^-16); 0 for x == 0. */
int64_t tl_log10_q20(uint64_t x);

/* Pulse period in us for a rate in 0.1 Hz (10 000 000 / rate_dhz, rounded down);
 * UINT32_MAX for rate 0. */
uint32_t tl_stim_period_us(uint32_t rate_dhz);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_THERAPY_UNITS_H */
