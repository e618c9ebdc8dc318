/*
 * therapy/event_log.h - the therapy event log: every stimulation change (old -> new, with
 * its reason), every fault change, operator command and configuration, stamped with the
 * time and the hash of the model in use. A static ring (record_ring.h): the newest
 * `capacity` events are kept; readers ask "since sequence N" and learn how many they lost.
 */
#ifndef THERALOOP_THERAPY_EVENT_LOG_H
#define THERALOOP_THERAPY_EVENT_LOG_H

#include <stdint.h>

#include "theraloop/therapy/record_ring.h"
#include "theraloop/therapy/units.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TL_MODEL_HASH_LEN 8u
#ifndef TL_EVENT_LOG_DEFAULT_CAPACITY
#define TL_EVENT_LOG_DEFAULT_CAPACITY 64u
#endif

/* Event types; `detail` and `aux` per type:
 *   THERAPY  the stimulation target or its source changed; before = delivered then,
 *            after = the new target; detail by reason (policy event, clamp bits, fault
 *            bits, command), aux = clamp bits
 *   FAULT    the fault bits changed; detail = new bits, aux = previous bits
 *   COMMAND  operator command; detail = tl_therapy_cmd_t, aux = tl_sup_cmd_result_t
 *   CONFIG   configuration applied; detail = policy kind, aux = worst-case Shannon k x 1000
 *   POLICY   a policy event without a change of target; detail = tl_policy_event_t,
 *            aux = tl_policy_state_t
 *   CONFIG_REFUSED  a configuration failed validation (nothing changed); detail = index of
 *            the field blamed (0xFFFFFFFF: none), aux = tl_therapy_cfg_err_t
 *   STORAGE  persistent state could not be used (loop/config_persist.h); detail =
 *            tl_storage_event_t, aux per detail (see there)
 *   MODEL    model slot activation / confirm / revert / rollback (update/model_slots.h);
 *            detail = the action, aux = the slot */
typedef enum {
    TL_EVENT_THERAPY = 1,
    TL_EVENT_FAULT = 2,
    TL_EVENT_COMMAND = 3,
    TL_EVENT_CONFIG = 4,
    TL_EVENT_POLICY = 5,
    TL_EVENT_CONFIG_REFUSED = 6,
    TL_EVENT_STORAGE = 7,
    TL_EVENT_MODEL = 8,
} tl_event_type_t;

/* `detail` of a STORAGE event and its `aux`:
 *   CORRUPT       the saved configuration is unreadable (state store corrupt, or the CONFIG
 *                 section malformed): defaults in use; aux = tl_cfgstore_err_t << 16 |
 *                 tl_storage_err_t of the state store's open
 *   INCOMPATIBLE  saved by a firmware with another configuration layout, or naming a model
 *                 this firmware does not have: defaults in use; aux = the saved layout id
 *   SAVE_FAILED   a configuration was applied but could not be saved; aux as CORRUPT
 *   REFUSED       the saved configuration fails validation: defaults in use;
 *                 aux = tl_set_err_t << 16 | the configuration error (therapy or loop)
 *   UNAVAILABLE   the state store cannot be read (I/O error, foreign layout): defaults in
 *                 use and nothing can be saved; aux as CORRUPT */
typedef enum {
    TL_STORAGE_EV_CORRUPT = 1,
    TL_STORAGE_EV_INCOMPATIBLE = 2,
    TL_STORAGE_EV_SAVE_FAILED = 3,
    TL_STORAGE_EV_REFUSED = 4,
    TL_STORAGE_EV_UNAVAILABLE = 5,
} tl_storage_event_t;

typedef enum {
    TL_REASON_NONE = 0,
    TL_REASON_POLICY = 1,    /* the policy asked (detail = tl_policy_event_t, aux = clamp bits) */
    TL_REASON_CLAMP = 2,     /* a hard limit cut the policy's request (detail = clamp bits) */
    TL_REASON_FAULT = 3,     /* sensor/model fault -> fallback (detail = fault bits) */
    TL_REASON_RECOVERED = 4, /* faults clear for their hold time: back to the policy */
    TL_REASON_COMMAND = 5,   /* operator command (detail = tl_therapy_cmd_t) */
    TL_REASON_LINK = 6,      /* stimulator link fault -> off (detail = fault bits) */
    TL_REASON_LOCKOUT = 7,   /* no valid configuration or a run-time safety check failed -> off */
    TL_REASON_CONFIG = 8,    /* a new configuration lowered a limit below the output */
} tl_therapy_reason_t;

typedef struct {
    uint32_t seq;
    uint32_t time_ms;
    uint8_t type;          /* tl_event_type_t */
    uint8_t reason;        /* tl_therapy_reason_t */
    uint8_t therapy_state; /* tl_therapy_state_t after the event */
    uint8_t policy_state;  /* tl_policy_state_t */
    uint32_t detail;
    uint32_t aux;
    tl_stim_params_t before;
    tl_stim_params_t after;
    uint8_t model_hash[TL_MODEL_HASH_LEN];
} tl_event_t;

typedef struct {
    tl_record_ring_t ring;
    uint8_t model_hash[TL_MODEL_HASH_LEN];
} tl_event_log_t;

const char *tl_event_type_name(uint32_t type);
const char *tl_reason_name(uint32_t reason);
/* Name of a STORAGE event's detail ("corrupt", ...). */
const char *tl_storage_event_name(uint32_t detail);

/* storage: `capacity` events. False on bad arguments. */
bool tl_event_log_init(tl_event_log_t *log, tl_event_t *storage, uint32_t capacity);
/* The hash of the model in use, stamped into every following event (8 bytes; NULL = zeros). */
void tl_event_log_set_model_hash(tl_event_log_t *log, const uint8_t *hash);
/* Append; `ev->seq` and `ev->model_hash` are filled in. Returns the sequence number. */
uint32_t tl_event_log_append(tl_event_log_t *log, const tl_event_t *ev);
tl_ring_read_t tl_event_log_read(const tl_event_log_t *log, uint32_t since, tl_event_t *out,
                                 uint32_t max);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_THERAPY_EVENT_LOG_H */
