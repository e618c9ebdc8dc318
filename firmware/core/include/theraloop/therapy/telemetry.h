/*
 * therapy/telemetry.h - per-step telemetry records (features summary, model output,
 * policy and supervisor state, delivered stimulation) in a static ring with sequence
 * numbers, read "since sequence N" by `theraloop stream`, with overrun reporting.
 */
#ifndef THERALOOP_THERAPY_TELEMETRY_H
#define THERALOOP_THERAPY_TELEMETRY_H

#include <stdint.h>

#include "theraloop/therapy/record_ring.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TL_TELEMETRY_FEATURES 4u
#ifndef TL_TELEMETRY_DEFAULT_CAPACITY
#define TL_TELEMETRY_DEFAULT_CAPACITY 128u
#endif

typedef struct {
    uint32_t seq;
    uint32_t time_ms;
    uint32_t step;                            /* control step number */
    int32_t features[TL_TELEMETRY_FEATURES];  /* first features of the step (see n_features) */
    int32_t score;                            /* model score given to the policy */
    uint32_t faults;                          /* fault bits presented this step */
    uint16_t amplitude_ua;                    /* delivered */
    uint16_t target_ua;                       /* where the supervisor is heading */
    uint16_t pulse_width_us;                  /* delivered */
    uint16_t rate_dhz;                        /* delivered */
    uint8_t model_class;                      /* class id from the model (0 if none) */
    uint8_t policy_state;                     /* tl_policy_state_t */
    uint8_t therapy_state;                    /* tl_therapy_state_t */
    uint8_t mode;                             /* tl_sup_mode_t */
    uint8_t score_valid;
    uint8_t enabled;                          /* stimulation on */
    uint8_t n_features;
    uint8_t reason;                           /* tl_therapy_reason_t of the output */
} tl_telemetry_record_t;

typedef struct {
    tl_record_ring_t ring;
} tl_telemetry_t;

bool tl_telemetry_init(tl_telemetry_t *t, tl_telemetry_record_t *storage, uint32_t capacity);
uint32_t tl_telemetry_push(tl_telemetry_t *t, const tl_telemetry_record_t *rec);
tl_ring_read_t tl_telemetry_read(const tl_telemetry_t *t, uint32_t since,
                                 tl_telemetry_record_t *out, uint32_t max);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_THERAPY_TELEMETRY_H */
