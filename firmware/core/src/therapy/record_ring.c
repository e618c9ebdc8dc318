/*
 * record_ring.c - fixed-size records with sequence numbers, overwrite-oldest.
 */
#include <string.h>

#include "theraloop/therapy/record_ring.h"

bool tl_record_ring_init(tl_record_ring_t *r, void *storage, uint32_t record_size,
                         uint32_t capacity)
{
    if (r == NULL || storage == NULL || record_size < 4u || (record_size % 4u) != 0u ||
        capacity == 0u || ((uintptr_t)storage % 4u) != 0u ||
        capacity > UINT32_MAX / record_size) {
        return false;
    }
    r->storage = storage;
    r->record_size = record_size;
    r->capacity = capacity;
    r->next_seq = 0;
    r->count = 0;
    return true;
}

void tl_record_ring_clear(tl_record_ring_t *r)
{
    r->count = 0;
}

static uint8_t *slot(const tl_record_ring_t *r, uint32_t seq)
{
    return r->storage + (size_t)(seq % r->capacity) * r->record_size;
}

uint32_t tl_record_ring_push(tl_record_ring_t *r, const void *record)
{
    uint32_t seq = r->next_seq;
    uint8_t *dst = slot(r, seq);
    memcpy(dst, record, r->record_size);
    memcpy(dst, &seq, sizeof seq);
    r->next_seq = seq + 1u;
    if (r->count < r->capacity) {
        r->count++;
    }
    /* When next_seq wraps, seq % capacity jumps unless capacity divides 2^32; restart the
     * ring then so that slots stay consistent (records are lost, and counted as lost). */
    if (r->next_seq == 0u && (r->capacity & (r->capacity - 1u)) != 0u) {
        r->count = 0;
    }
    return seq;
}

uint32_t tl_record_ring_oldest(const tl_record_ring_t *r)
{
    return r->next_seq - r->count;
}

tl_ring_read_t tl_record_ring_read(const tl_record_ring_t *r, uint32_t since, void *out,
                                   uint32_t max)
{
    tl_ring_read_t res;
    memset(&res, 0, sizeof res);
    uint32_t oldest = tl_record_ring_oldest(r);
    uint32_t ahead = r->next_seq - since; /* how far `since` is behind the producer */
    if (ahead > 0x80000000u) {
        /* `since` is in the future. */
        res.future = 1;
        res.next_seq = oldest;
        return res;
    }
    uint32_t start = since;
    if (ahead > r->count) {
        res.lost = ahead - r->count;
        start = oldest;
    }
    uint32_t available = r->next_seq - start;
    uint32_t n = available < max ? available : max;
    uint8_t *dst = out;
    for (uint32_t i = 0; i < n && dst != NULL; i++) {
        memcpy(dst + (size_t)i * r->record_size, slot(r, start + i), r->record_size);
    }
    res.count = dst != NULL ? n : 0u;
    res.next_seq = start + res.count;
    return res;
}
