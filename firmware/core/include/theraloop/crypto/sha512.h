/*
 * sha512.h - SHA-512 (FIPS 180-4), incremental, no allocation.
 *
 *   tl_sha512_t h;
 *   tl_sha512_init(&h);
 *   tl_sha512_update(&h, part1, n1);   // any number of pieces, any sizes
 *   tl_sha512_final(&h, digest);       // uint8_t digest[TL_SHA512_SIZE]
 *
 * The hash inside Ed25519 (crypto/ed25519.h). Its running time depends only on the
 * length of the input, never on its value (no table look-ups indexed by data, no
 * data-dependent branches).
 */
#ifndef THERALOOP_CRYPTO_SHA512_H
#define THERALOOP_CRYPTO_SHA512_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TL_SHA512_SIZE 64u
#define TL_SHA512_BLOCK 128u

typedef struct {
    uint64_t state[8];
    uint64_t total;                 /* bytes hashed so far (messages < 2^61 bytes) */
    uint8_t block[TL_SHA512_BLOCK]; /* pending partial block */
    uint32_t fill;                  /* bytes in block[] */
} tl_sha512_t;

void tl_sha512_init(tl_sha512_t *h);
/* `data` may be NULL when len is 0. */
void tl_sha512_update(tl_sha512_t *h, const uint8_t *data, size_t len);
/* Write the digest and wipe the context; re-initialise it before using it again. */
void tl_sha512_final(tl_sha512_t *h, uint8_t out[TL_SHA512_SIZE]);
/* One-shot convenience. */
void tl_sha512(const uint8_t *data, size_t len, uint8_t out[TL_SHA512_SIZE]);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_CRYPTO_SHA512_H */
