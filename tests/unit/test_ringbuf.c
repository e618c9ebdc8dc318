/*
 * test_ringbuf.c - the SPSC byte ring used between UART interrupts and the main loop.
 */
#include <pthread.h>
#include <stdint.h>

#include "theraloop/ringbuf.h"
#include "tl_test.h"

static void test_init_rejects_bad_sizes(void)
{
    tl_ringbuf_t rb;
    uint8_t storage[64];
    TL_EXPECT_EQ(tl_ringbuf_init(&rb, storage, 0), TL_RINGBUF_EINVAL);
    TL_EXPECT_EQ(tl_ringbuf_init(&rb, storage, 1), TL_RINGBUF_EINVAL);
    TL_EXPECT_EQ(tl_ringbuf_init(&rb, storage, 3), TL_RINGBUF_EINVAL);
    TL_EXPECT_EQ(tl_ringbuf_init(&rb, storage, 48), TL_RINGBUF_EINVAL);
    TL_EXPECT_EQ(tl_ringbuf_init(&rb, NULL, 64), TL_RINGBUF_EINVAL);
    TL_EXPECT_EQ(tl_ringbuf_init(NULL, storage, 64), TL_RINGBUF_EINVAL);
    TL_EXPECT_EQ(tl_ringbuf_init(&rb, storage, 2), TL_RINGBUF_OK);
    TL_EXPECT_EQ(tl_ringbuf_init(&rb, storage, 64), TL_RINGBUF_OK);
    TL_EXPECT_EQ(tl_ringbuf_capacity(&rb), 64);
}

static void test_empty_and_full(void)
{
    tl_ringbuf_t rb;
    uint8_t storage[8];
    TL_EXPECT_EQ(tl_ringbuf_init(&rb, storage, sizeof storage), TL_RINGBUF_OK);

    uint8_t b = 0xAA;
    TL_EXPECT(tl_ringbuf_is_empty(&rb));
    TL_EXPECT(!tl_ringbuf_is_full(&rb));
    TL_EXPECT(!tl_ringbuf_get(&rb, &b));
    TL_EXPECT_EQ(b, 0xAA); /* untouched on failure */
    TL_EXPECT_EQ(tl_ringbuf_used(&rb), 0);
    TL_EXPECT_EQ(tl_ringbuf_free(&rb), 8);

    /* Every byte of the storage is usable. */
    for (uint8_t i = 0; i < 8; i++) {
        TL_EXPECT(tl_ringbuf_put(&rb, (uint8_t)(i + 1)));
        TL_EXPECT_EQ(tl_ringbuf_used(&rb), i + 1);
    }
    TL_EXPECT(tl_ringbuf_is_full(&rb));
    TL_EXPECT(!tl_ringbuf_is_empty(&rb));
    TL_EXPECT_EQ(tl_ringbuf_free(&rb), 0);
    TL_EXPECT_EQ(tl_ringbuf_overflows(&rb), 0);

    for (uint8_t i = 0; i < 8; i++) {
        TL_EXPECT(tl_ringbuf_get(&rb, &b));
        TL_EXPECT_EQ(b, i + 1); /* FIFO order */
    }
    TL_EXPECT(tl_ringbuf_is_empty(&rb));
    TL_EXPECT(!tl_ringbuf_get(&rb, &b));
}

static void test_overflow_counting(void)
{
    tl_ringbuf_t rb;
    uint8_t storage[4];
    TL_EXPECT_EQ(tl_ringbuf_init(&rb, storage, sizeof storage), TL_RINGBUF_OK);
    for (uint8_t i = 0; i < 4; i++) {
        TL_EXPECT(tl_ringbuf_put(&rb, i));
    }
    /* Full: further bytes are dropped and counted; queued data is intact. */
    TL_EXPECT(!tl_ringbuf_put(&rb, 100));
    TL_EXPECT(!tl_ringbuf_put(&rb, 101));
    TL_EXPECT(!tl_ringbuf_put(&rb, 102));
    TL_EXPECT_EQ(tl_ringbuf_overflows(&rb), 3);
    TL_EXPECT_EQ(tl_ringbuf_used(&rb), 4);

    uint8_t out[8];
    TL_EXPECT_EQ(tl_ringbuf_read(&rb, out, sizeof out), 4);
    const uint8_t expect[4] = {0, 1, 2, 3};
    TL_EXPECT_MEM_EQ(out, expect, 4);

    /* Room again: put succeeds and the counter keeps its history. */
    TL_EXPECT(tl_ringbuf_put(&rb, 7));
    TL_EXPECT_EQ(tl_ringbuf_overflows(&rb), 3);

    /* A partial bulk write is not an overflow: the caller keeps the rest. */
    const uint8_t many[6] = {1, 2, 3, 4, 5, 6};
    TL_EXPECT_EQ(tl_ringbuf_write(&rb, many, sizeof many), 3);
    TL_EXPECT_EQ(tl_ringbuf_overflows(&rb), 3);
    TL_EXPECT_EQ(tl_ringbuf_write(&rb, many, sizeof many), 0);
}

static void test_overflow_counter_saturates(void)
{
    tl_ringbuf_t rb;
    uint8_t storage[2];
    TL_EXPECT_EQ(tl_ringbuf_init(&rb, storage, sizeof storage), TL_RINGBUF_OK);
    TL_EXPECT(tl_ringbuf_put(&rb, 1));
    TL_EXPECT(tl_ringbuf_put(&rb, 2));
    atomic_store(&rb.overflows, UINT32_MAX - 1u);
    TL_EXPECT(!tl_ringbuf_put(&rb, 3));
    TL_EXPECT_EQ(tl_ringbuf_overflows(&rb), UINT32_MAX);
    TL_EXPECT(!tl_ringbuf_put(&rb, 3));
    TL_EXPECT_EQ(tl_ringbuf_overflows(&rb), UINT32_MAX);
}

static void test_wraparound_single_bytes(void)
{
    tl_ringbuf_t rb;
    uint8_t storage[16];
    TL_EXPECT_EQ(tl_ringbuf_init(&rb, storage, sizeof storage), TL_RINGBUF_OK);
    /* Keep 5 bytes in flight while pushing 1000 through: the indices wrap the
     * storage many times and order must be preserved. */
    uint8_t next_in = 0, next_out = 0;
    for (int i = 0; i < 5; i++) {
        TL_EXPECT(tl_ringbuf_put(&rb, next_in++));
    }
    for (int i = 0; i < 1000; i++) {
        uint8_t b;
        TL_EXPECT(tl_ringbuf_put(&rb, next_in++));
        TL_EXPECT(tl_ringbuf_get(&rb, &b));
        TL_EXPECT_EQ(b, next_out);
        next_out++;
        TL_EXPECT_EQ(tl_ringbuf_used(&rb), 5);
    }
    TL_EXPECT_EQ(tl_ringbuf_overflows(&rb), 0);
}

static void test_bulk_write_read_across_wrap(void)
{
    tl_ringbuf_t rb;
    uint8_t storage[16];
    TL_EXPECT_EQ(tl_ringbuf_init(&rb, storage, sizeof storage), TL_RINGBUF_OK);

    uint8_t pattern[16];
    for (int i = 0; i < 16; i++) {
        pattern[i] = (uint8_t)(0x40 + i);
    }
    uint8_t out[16];
    /* Move the indices to 11 so the next 10-byte write splits 5 + 5. */
    TL_EXPECT_EQ(tl_ringbuf_write(&rb, pattern, 11), 11);
    TL_EXPECT_EQ(tl_ringbuf_read(&rb, out, 11), 11);
    TL_EXPECT_MEM_EQ(out, pattern, 11);
    TL_EXPECT(tl_ringbuf_is_empty(&rb));

    TL_EXPECT_EQ(tl_ringbuf_write(&rb, pattern, 10), 10);
    TL_EXPECT_EQ(tl_ringbuf_used(&rb), 10);
    /* The split is really there in the storage: the tail of the data is at the front. */
    TL_EXPECT_EQ(storage[0], pattern[5]);
    TL_EXPECT_EQ(storage[11], pattern[0]);

    /* peek does not consume; read consumes in order, also across the wrap. */
    uint8_t peeked[16];
    TL_EXPECT_EQ(tl_ringbuf_peek(&rb, peeked, sizeof peeked), 10);
    TL_EXPECT_MEM_EQ(peeked, pattern, 10);
    TL_EXPECT_EQ(tl_ringbuf_used(&rb), 10);
    TL_EXPECT_EQ(tl_ringbuf_read(&rb, out, 3), 3);
    TL_EXPECT_MEM_EQ(out, pattern, 3);
    TL_EXPECT_EQ(tl_ringbuf_read(&rb, out, sizeof out), 7);
    TL_EXPECT_MEM_EQ(out, pattern + 3, 7);

    /* A write larger than the free space is truncated to exactly the free space. */
    TL_EXPECT_EQ(tl_ringbuf_write(&rb, pattern, 12), 12);
    TL_EXPECT_EQ(tl_ringbuf_write(&rb, pattern, 16), 4);
    TL_EXPECT(tl_ringbuf_is_full(&rb));
    TL_EXPECT_EQ(tl_ringbuf_read(&rb, out, sizeof out), 16);
    TL_EXPECT_MEM_EQ(out, pattern, 12);
    TL_EXPECT_MEM_EQ(out + 12, pattern, 4);

    /* Zero-length and NULL operations are harmless no-ops. */
    TL_EXPECT_EQ(tl_ringbuf_write(&rb, pattern, 0), 0);
    TL_EXPECT_EQ(tl_ringbuf_write(&rb, NULL, 5), 0);
    TL_EXPECT_EQ(tl_ringbuf_read(&rb, out, 0), 0);
    TL_EXPECT_EQ(tl_ringbuf_read(&rb, NULL, 5), 0);
    TL_EXPECT(tl_ringbuf_is_empty(&rb));
}

static void test_discard_and_clear(void)
{
    tl_ringbuf_t rb;
    uint8_t storage[8];
    TL_EXPECT_EQ(tl_ringbuf_init(&rb, storage, sizeof storage), TL_RINGBUF_OK);
    const uint8_t data[6] = {10, 11, 12, 13, 14, 15};
    TL_EXPECT_EQ(tl_ringbuf_write(&rb, data, 6), 6);
    TL_EXPECT_EQ(tl_ringbuf_discard(&rb, 2), 2);
    uint8_t b;
    TL_EXPECT(tl_ringbuf_get(&rb, &b));
    TL_EXPECT_EQ(b, 12);
    TL_EXPECT_EQ(tl_ringbuf_discard(&rb, 100), 3); /* only what is there */
    TL_EXPECT(tl_ringbuf_is_empty(&rb));
    TL_EXPECT_EQ(tl_ringbuf_write(&rb, data, 6), 6);
    tl_ringbuf_clear(&rb);
    TL_EXPECT(tl_ringbuf_is_empty(&rb));
    TL_EXPECT_EQ(tl_ringbuf_free(&rb), 8);
}

/* The free-running 32-bit indices wrap after 4 GiB of traffic (days of a busy UART):
 * counts and data must stay right across that wrap. */
static void test_index_wrap_at_2_pow_32(void)
{
    tl_ringbuf_t rb;
    uint8_t storage[8];
    TL_EXPECT_EQ(tl_ringbuf_init(&rb, storage, sizeof storage), TL_RINGBUF_OK);
    atomic_store(&rb.head, UINT32_MAX - 2u);
    atomic_store(&rb.tail, UINT32_MAX - 2u);
    TL_EXPECT(tl_ringbuf_is_empty(&rb));
    const uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    TL_EXPECT_EQ(tl_ringbuf_write(&rb, data, 8), 8);
    TL_EXPECT(tl_ringbuf_is_full(&rb));
    TL_EXPECT(atomic_load(&rb.head) < 8u); /* head wrapped past zero */
    TL_EXPECT(!tl_ringbuf_put(&rb, 9));
    uint8_t out[8];
    TL_EXPECT_EQ(tl_ringbuf_read(&rb, out, 8), 8);
    TL_EXPECT_MEM_EQ(out, data, 8);
    TL_EXPECT(tl_ringbuf_is_empty(&rb));
}

/* One producer thread and one consumer thread, no locks: every byte arrives once
 * and in order (the ISR/main-loop pattern, on real concurrent hardware). */
enum { SPSC_BYTES = 2000000 };
static tl_ringbuf_t g_spsc;
static uint8_t g_spsc_storage[64];

static void *spsc_producer(void *arg)
{
    (void)arg;
    uint32_t sent = 0;
    uint8_t chunk[7];
    while (sent < SPSC_BYTES) {
        if ((sent & 1u) == 0u) {
            if (tl_ringbuf_put(&g_spsc, (uint8_t)(sent * 31u))) {
                sent++;
            }
        } else {
            size_t want = sizeof chunk;
            if (want > SPSC_BYTES - sent) {
                want = SPSC_BYTES - sent;
            }
            for (size_t i = 0; i < want; i++) {
                chunk[i] = (uint8_t)((sent + i) * 31u);
            }
            sent += (uint32_t)tl_ringbuf_write(&g_spsc, chunk, want);
        }
    }
    return NULL;
}

static void test_spsc_threads(void)
{
    TL_EXPECT_EQ(tl_ringbuf_init(&g_spsc, g_spsc_storage, sizeof g_spsc_storage),
                 TL_RINGBUF_OK);
    pthread_t producer;
    TL_EXPECT_EQ(pthread_create(&producer, NULL, spsc_producer, NULL), 0);
    uint32_t received = 0, bad = 0;
    uint8_t buf[13];
    while (received < SPSC_BYTES) {
        size_t n = tl_ringbuf_read(&g_spsc, buf, sizeof buf);
        for (size_t i = 0; i < n; i++) {
            if (buf[i] != (uint8_t)((received + i) * 31u)) {
                bad++;
            }
        }
        received += (uint32_t)n;
    }
    TL_EXPECT_EQ(pthread_join(producer, NULL), 0);
    TL_EXPECT_EQ(received, SPSC_BYTES);
    TL_EXPECT_EQ(bad, 0);
    /* put() fails while the consumer lags; those are counted as overflows, which is
     * what a UART ISR reports; the producer retried them so no data was lost. */
    TL_EXPECT(tl_ringbuf_is_empty(&g_spsc));
}

int main(void)
{
    TL_RUN(test_init_rejects_bad_sizes);
    TL_RUN(test_empty_and_full);
    TL_RUN(test_overflow_counting);
    TL_RUN(test_overflow_counter_saturates);
    TL_RUN(test_wraparound_single_bytes);
    TL_RUN(test_bulk_write_read_across_wrap);
    TL_RUN(test_discard_and_clear);
    TL_RUN(test_index_wrap_at_2_pow_32);
    TL_RUN(test_spsc_threads);
    return tl_test_summary();
}
