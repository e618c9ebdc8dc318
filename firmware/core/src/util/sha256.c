/*
 * sha256.c - SHA-256 as specified in FIPS 180-4, sections 4.1.2, 4.2.2, 5.1.1, 6.2.
 * Compact (one 64-word schedule on the stack, no unrolling): about 1 KiB of flash.
 */
#include "theraloop/sha256.h"

#include <string.h>

/* FIPS 180-4 4.2.2: first 32 bits of the fractional parts of the cube roots of the first
 * 64 primes. */
static const uint32_t k_sha256_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32u - n));
}

static uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
           (uint32_t)p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void compress(uint32_t state[8], const uint8_t block[TL_SHA256_BLOCK])
{
    uint32_t w[64];
    for (unsigned t = 0; t < 16u; t++) {
        w[t] = load_be32(block + 4u * t);
    }
    for (unsigned t = 16; t < 64u; t++) {
        uint32_t s0 = rotr(w[t - 15u], 7) ^ rotr(w[t - 15u], 18) ^ (w[t - 15u] >> 3);
        uint32_t s1 = rotr(w[t - 2u], 17) ^ rotr(w[t - 2u], 19) ^ (w[t - 2u] >> 10);
        w[t] = w[t - 16u] + s0 + w[t - 7u] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (unsigned t = 0; t < 64u; t++) {
        uint32_t s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + s1 + ch + k_sha256_k[t] + w[t];
        uint32_t s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = s0 + maj;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

void tl_sha256_init(tl_sha256_t *h)
{
    /* FIPS 180-4 5.3.3. */
    static const uint32_t k_init[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                       0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    memcpy(h->state, k_init, sizeof(k_init));
    h->total = 0;
    h->fill = 0;
}

void tl_sha256_update(tl_sha256_t *h, const uint8_t *data, size_t len)
{
    h->total += (uint64_t)len;
    while (len > 0u) {
        if (h->fill == 0u && len >= TL_SHA256_BLOCK) {
            compress(h->state, data); /* whole blocks straight from the input */
            data += TL_SHA256_BLOCK;
            len -= TL_SHA256_BLOCK;
            continue;
        }
        size_t take = TL_SHA256_BLOCK - h->fill;
        if (take > len) {
            take = len;
        }
        memcpy(h->block + h->fill, data, take);
        h->fill += (uint32_t)take;
        data += take;
        len -= take;
        if (h->fill == TL_SHA256_BLOCK) {
            compress(h->state, h->block);
            h->fill = 0;
        }
    }
}

void tl_sha256_final(tl_sha256_t *h, uint8_t out[TL_SHA256_SIZE])
{
    /* FIPS 180-4 5.1.1: a 1 bit, zeros, then the message length in bits (64-bit BE). */
    uint64_t bits = h->total * 8u;
    h->block[h->fill++] = 0x80u;
    if (h->fill > TL_SHA256_BLOCK - 8u) {
        memset(h->block + h->fill, 0, TL_SHA256_BLOCK - h->fill);
        compress(h->state, h->block);
        h->fill = 0;
    }
    memset(h->block + h->fill, 0, TL_SHA256_BLOCK - 8u - h->fill);
    store_be32(h->block + TL_SHA256_BLOCK - 8u, (uint32_t)(bits >> 32));
    store_be32(h->block + TL_SHA256_BLOCK - 4u, (uint32_t)bits);
    compress(h->state, h->block);
    for (unsigned i = 0; i < 8u; i++) {
        store_be32(out + 4u * i, h->state[i]);
    }
}

void tl_sha256(const uint8_t *data, size_t len, uint8_t out[TL_SHA256_SIZE])
{
    tl_sha256_t h;
    tl_sha256_init(&h);
    tl_sha256_update(&h, data, len);
    tl_sha256_final(&h, out);
}
