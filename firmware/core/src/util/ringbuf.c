/*
 * ringbuf.c - single-producer / single-consumer byte ring buffer (see ringbuf.h).
 *
 * Ordering: the producer fills the slots, then publishes them with a release store
 * of `head`; the consumer reads `head` with acquire, copies the bytes out, then frees
 * the slots with a release store of `tail`, which the producer reads with acquire.
 * Each side reads its own index relaxed (nobody else writes it).
 */
#include "theraloop/ringbuf.h"

#include <string.h>

#define TL_RINGBUF_MAX_SIZE ((size_t)1u << 31)

tl_ringbuf_err_t tl_ringbuf_init(tl_ringbuf_t *rb, uint8_t *storage, size_t size)
{
    if (rb == NULL || storage == NULL || size < 2u || size > TL_RINGBUF_MAX_SIZE ||
        (size & (size - 1u)) != 0u) {
        return TL_RINGBUF_EINVAL;
    }
    rb->buf = storage;
    rb->mask = (uint32_t)(size - 1u);
    atomic_init(&rb->head, 0u);
    atomic_init(&rb->tail, 0u);
    atomic_init(&rb->overflows, 0u);
    return TL_RINGBUF_OK;
}

static uint32_t used_between(uint32_t head, uint32_t tail)
{
    return head - tail; /* unsigned arithmetic: correct across the 2^32 wrap */
}

size_t tl_ringbuf_capacity(const tl_ringbuf_t *rb)
{
    return (size_t)rb->mask + 1u;
}

size_t tl_ringbuf_used(const tl_ringbuf_t *rb)
{
    uint32_t tail = atomic_load_explicit(&rb->tail, memory_order_acquire);
    uint32_t head = atomic_load_explicit(&rb->head, memory_order_acquire);
    return used_between(head, tail);
}

size_t tl_ringbuf_free(const tl_ringbuf_t *rb)
{
    return tl_ringbuf_capacity(rb) - tl_ringbuf_used(rb);
}

bool tl_ringbuf_is_empty(const tl_ringbuf_t *rb)
{
    return tl_ringbuf_used(rb) == 0u;
}

bool tl_ringbuf_is_full(const tl_ringbuf_t *rb)
{
    return tl_ringbuf_used(rb) == tl_ringbuf_capacity(rb);
}

uint32_t tl_ringbuf_overflows(const tl_ringbuf_t *rb)
{
    return atomic_load_explicit(&rb->overflows, memory_order_relaxed);
}

/* ---- producer ---------------------------------------------------------------- */

bool tl_ringbuf_put(tl_ringbuf_t *rb, uint8_t byte)
{
    uint32_t head = atomic_load_explicit(&rb->head, memory_order_relaxed);
    uint32_t tail = atomic_load_explicit(&rb->tail, memory_order_acquire);
    if (used_between(head, tail) > rb->mask) {
        uint32_t n = atomic_load_explicit(&rb->overflows, memory_order_relaxed);
        if (n != UINT32_MAX) {
            atomic_store_explicit(&rb->overflows, n + 1u, memory_order_relaxed);
        }
        return false;
    }
    rb->buf[head & rb->mask] = byte;
    atomic_store_explicit(&rb->head, head + 1u, memory_order_release);
    return true;
}

size_t tl_ringbuf_write(tl_ringbuf_t *rb, const uint8_t *data, size_t len)
{
    if (len == 0u || data == NULL) {
        return 0u;
    }
    uint32_t head = atomic_load_explicit(&rb->head, memory_order_relaxed);
    uint32_t tail = atomic_load_explicit(&rb->tail, memory_order_acquire);
    size_t space = (size_t)rb->mask + 1u - used_between(head, tail);
    size_t n = len < space ? len : space;
    if (n == 0u) {
        return 0u;
    }
    size_t start = head & rb->mask;
    size_t first = (size_t)rb->mask + 1u - start; /* contiguous room before the wrap */
    if (first > n) {
        first = n;
    }
    memcpy(&rb->buf[start], data, first);
    if (n > first) {
        memcpy(rb->buf, data + first, n - first);
    }
    atomic_store_explicit(&rb->head, head + (uint32_t)n, memory_order_release);
    return n;
}

/* ---- consumer ---------------------------------------------------------------- */

static size_t copy_out(const tl_ringbuf_t *rb, uint32_t tail, uint8_t *out, size_t n)
{
    size_t start = tail & rb->mask;
    size_t first = (size_t)rb->mask + 1u - start;
    if (first > n) {
        first = n;
    }
    memcpy(out, &rb->buf[start], first);
    if (n > first) {
        memcpy(out + first, rb->buf, n - first);
    }
    return n;
}

bool tl_ringbuf_get(tl_ringbuf_t *rb, uint8_t *byte)
{
    uint32_t tail = atomic_load_explicit(&rb->tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit(&rb->head, memory_order_acquire);
    if (head == tail || byte == NULL) {
        return false;
    }
    *byte = rb->buf[tail & rb->mask];
    atomic_store_explicit(&rb->tail, tail + 1u, memory_order_release);
    return true;
}

size_t tl_ringbuf_peek(const tl_ringbuf_t *rb, uint8_t *out, size_t max)
{
    if (out == NULL || max == 0u) {
        return 0u;
    }
    uint32_t tail = atomic_load_explicit(&rb->tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit(&rb->head, memory_order_acquire);
    size_t avail = used_between(head, tail);
    return copy_out(rb, tail, out, avail < max ? avail : max);
}

size_t tl_ringbuf_read(tl_ringbuf_t *rb, uint8_t *out, size_t max)
{
    if (out == NULL || max == 0u) {
        return 0u;
    }
    uint32_t tail = atomic_load_explicit(&rb->tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit(&rb->head, memory_order_acquire);
    size_t avail = used_between(head, tail);
    size_t n = copy_out(rb, tail, out, avail < max ? avail : max);
    atomic_store_explicit(&rb->tail, tail + (uint32_t)n, memory_order_release);
    return n;
}

size_t tl_ringbuf_discard(tl_ringbuf_t *rb, size_t n)
{
    uint32_t tail = atomic_load_explicit(&rb->tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit(&rb->head, memory_order_acquire);
    size_t avail = used_between(head, tail);
    if (n > avail) {
        n = avail;
    }
    atomic_store_explicit(&rb->tail, tail + (uint32_t)n, memory_order_release);
    return n;
}

void tl_ringbuf_clear(tl_ringbuf_t *rb)
{
    uint32_t head = atomic_load_explicit(&rb->head, memory_order_acquire);
    atomic_store_explicit(&rb->tail, head, memory_order_release);
}
