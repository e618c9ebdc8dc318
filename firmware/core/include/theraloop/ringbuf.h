/*
 * ringbuf.h - single-producer / single-consumer byte ring buffer.
 *
 * Lock-free for exactly one producer and one consumer running concurrently, e.g. a
 * UART interrupt handler producing received bytes and the main loop consuming them,
 * or the main loop producing bytes to send and the TX interrupt consuming them.
 * Nothing else is needed for safety: the producer only writes `head`, the consumer
 * only writes `tail`, and both are C11 atomics with acquire/release ordering, so the
 * same code is correct between an ISR and a thread on a Cortex-M and between two
 * threads on a multi-core host.
 *
 * The storage is supplied by the caller (static allocation) and its size must be a
 * power of two (2 .. 2^31 bytes); every byte of it is usable (a full ring holds
 * `size` bytes). Indices run freely and wrap at 2^32.
 *
 * Producer side: tl_ringbuf_put, tl_ringbuf_write, tl_ringbuf_free.
 * Consumer side: tl_ringbuf_get, tl_ringbuf_read, tl_ringbuf_peek, tl_ringbuf_discard,
 *                tl_ringbuf_clear.
 * Either side:   tl_ringbuf_used, tl_ringbuf_is_empty, tl_ringbuf_is_full,
 *                tl_ringbuf_capacity, tl_ringbuf_overflows.
 */
#ifndef THERALOOP_RINGBUF_H
#define THERALOOP_RINGBUF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TL_RINGBUF_OK = 0,
    TL_RINGBUF_EINVAL = -1, /* NULL argument or size not a power of two in 2..2^31 */
} tl_ringbuf_err_t;

/* Treat the members as private; they are public only so that rings can be static. */
typedef struct {
    uint8_t *buf;
    uint32_t mask;              /* size - 1 */
    _Atomic uint32_t head;      /* total bytes ever written (producer-owned) */
    _Atomic uint32_t tail;      /* total bytes ever read (consumer-owned) */
    _Atomic uint32_t overflows; /* bytes dropped by tl_ringbuf_put (producer-owned) */
} tl_ringbuf_t;

/* Attach `storage` (size bytes, a power of two) and empty the ring. Not concurrent:
 * call before the producer and the consumer start. */
tl_ringbuf_err_t tl_ringbuf_init(tl_ringbuf_t *rb, uint8_t *storage, size_t size);

/* Producer: append one byte. When the ring is full the byte is dropped, the overflow
 * counter is incremented (saturating) and false is returned. */
bool tl_ringbuf_put(tl_ringbuf_t *rb, uint8_t byte);

/* Producer: append as many of `len` bytes as fit; returns how many were appended.
 * Bytes that did not fit are NOT counted as overflows (the caller still has them). */
size_t tl_ringbuf_write(tl_ringbuf_t *rb, const uint8_t *data, size_t len);

/* Consumer: remove the oldest byte into *byte; false when empty. */
bool tl_ringbuf_get(tl_ringbuf_t *rb, uint8_t *byte);

/* Consumer: remove up to `max` bytes into `out`; returns how many. */
size_t tl_ringbuf_read(tl_ringbuf_t *rb, uint8_t *out, size_t max);

/* Consumer: copy up to `max` of the oldest bytes into `out` without removing them. */
size_t tl_ringbuf_peek(const tl_ringbuf_t *rb, uint8_t *out, size_t max);

/* Consumer: drop up to `n` of the oldest bytes; returns how many were dropped. */
size_t tl_ringbuf_discard(tl_ringbuf_t *rb, size_t n);

/* Consumer: drop everything currently queued. */
void tl_ringbuf_clear(tl_ringbuf_t *rb);

/* Bytes queued / free space / total capacity. */
size_t tl_ringbuf_used(const tl_ringbuf_t *rb);
size_t tl_ringbuf_free(const tl_ringbuf_t *rb);
size_t tl_ringbuf_capacity(const tl_ringbuf_t *rb);
bool tl_ringbuf_is_empty(const tl_ringbuf_t *rb);
bool tl_ringbuf_is_full(const tl_ringbuf_t *rb);

/* Bytes dropped by tl_ringbuf_put because the ring was full (saturates at UINT32_MAX). */
uint32_t tl_ringbuf_overflows(const tl_ringbuf_t *rb);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_RINGBUF_H */
