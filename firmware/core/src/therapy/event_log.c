/*
 * event_log.c - therapy event log and telemetry ring on record_ring.
 */
#include <string.h>

#include "theraloop/therapy/event_log.h"
#include "theraloop/therapy/telemetry.h"

_Static_assert(sizeof(tl_event_t) == 52u, "event record layout is documented");
_Static_assert(sizeof(tl_telemetry_record_t) == 52u, "telemetry record layout is documented");

const char *tl_event_type_name(uint32_t type)
{
    static const char *const k_names[] = {"none",   "therapy", "fault",          "command",
                                          "config", "policy",  "config_refused", "storage",
                                          "model"};
    return type < sizeof k_names / sizeof k_names[0] ? k_names[type] : "unknown";
}

const char *tl_storage_event_name(uint32_t detail)
{
    static const char *const k_names[] = {"none",    "corrupt", "incompatible",
                                          "save_failed", "refused", "unavailable"};
    return detail < sizeof k_names / sizeof k_names[0] ? k_names[detail] : "unknown";
}

const char *tl_reason_name(uint32_t reason)
{
    static const char *const k_names[] = {"none",    "policy", "clamp",   "fault", "recovered",
                                          "command", "link",   "lockout", "config"};
    return reason < sizeof k_names / sizeof k_names[0] ? k_names[reason] : "unknown";
}

bool tl_event_log_init(tl_event_log_t *log, tl_event_t *storage, uint32_t capacity)
{
    if (log == NULL) {
        return false;
    }
    memset(log->model_hash, 0, sizeof log->model_hash);
    return tl_record_ring_init(&log->ring, storage, (uint32_t)sizeof(tl_event_t), capacity);
}

void tl_event_log_set_model_hash(tl_event_log_t *log, const uint8_t *hash)
{
    if (hash == NULL) {
        memset(log->model_hash, 0, sizeof log->model_hash);
    } else {
        memcpy(log->model_hash, hash, sizeof log->model_hash);
    }
}

uint32_t tl_event_log_append(tl_event_log_t *log, const tl_event_t *ev)
{
    tl_event_t copy = *ev;
    memcpy(copy.model_hash, log->model_hash, sizeof copy.model_hash);
    return tl_record_ring_push(&log->ring, &copy);
}

tl_ring_read_t tl_event_log_read(const tl_event_log_t *log, uint32_t since, tl_event_t *out,
                                 uint32_t max)
{
    return tl_record_ring_read(&log->ring, since, out, max);
}

bool tl_telemetry_init(tl_telemetry_t *t, tl_telemetry_record_t *storage, uint32_t capacity)
{
    if (t == NULL) {
        return false;
    }
    return tl_record_ring_init(&t->ring, storage, (uint32_t)sizeof(tl_telemetry_record_t),
                               capacity);
}

uint32_t tl_telemetry_push(tl_telemetry_t *t, const tl_telemetry_record_t *rec)
{
    return tl_record_ring_push(&t->ring, rec);
}

tl_ring_read_t tl_telemetry_read(const tl_telemetry_t *t, uint32_t since,
                                 tl_telemetry_record_t *out, uint32_t max)
{
    return tl_record_ring_read(&t->ring, since, out, max);
}
