/*
 * therapy/record_ring.h - a ring of fixed-size records with sequence numbers, the storage
 * of the event log and the telemetry ring.
 *
 * Every record gets the next sequence number (starting at 0) in its first 4 bytes. The
 * ring keeps the newest `capacity` records; older ones are overwritten. A reader asks for
 * records "since sequence N" and learns how many it missed (overwritten before it read
 * them) and where to continue. Sequence numbers are uint32 and compared by distance, so
 * wrap-around is handled. Not concurrent: producer and reader run in the same context
 * (the main loop), or the caller serialises them.
 */
#ifndef THERALOOP_THERAPY_RECORD_RING_H
#define THERALOOP_THERAPY_RECORD_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint8_t *storage;
    uint32_t record_size; /* bytes, >= 4, multiple of 4 */
    uint32_t capacity;    /* records */
    uint32_t next_seq;    /* sequence number of the next record written */
    uint32_t count;       /* records held (<= capacity) */
} tl_record_ring_t;

/* Result of a read. */
typedef struct {
    uint32_t count;    /* records copied */
    uint32_t lost;     /* records between `since` and the oldest one still held */
    uint32_t next_seq; /* ask for this next time */
    uint8_t future;    /* `since` was ahead of the producer (e.g. the device restarted):
                          nothing copied, next_seq is the oldest record held */
    uint8_t reserved[3];
} tl_ring_read_t;

/* storage: capacity x record_size bytes, 4-byte aligned. False on bad arguments. */
bool tl_record_ring_init(tl_record_ring_t *r, void *storage, uint32_t record_size,
                         uint32_t capacity);
/* Empty the ring; sequence numbers continue. */
void tl_record_ring_clear(tl_record_ring_t *r);
/* Append (copies record_size bytes, then writes the sequence number into the first 4
 * bytes of the stored copy). Returns the sequence number. */
uint32_t tl_record_ring_push(tl_record_ring_t *r, const void *record);
/* Copy up to `max` records with sequence >= since, oldest first, into out. */
tl_ring_read_t tl_record_ring_read(const tl_record_ring_t *r, uint32_t since, void *out,
                                   uint32_t max);
/* Sequence number of the oldest record held (== next_seq when empty). */
uint32_t tl_record_ring_oldest(const tl_record_ring_t *r);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_THERAPY_RECORD_RING_H */
