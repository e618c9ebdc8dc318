/*
 * sha256.h - SHA-256 (FIPS 180-4), incremental, no allocation.
 *
 *   tl_sha256_t h;
 *   tl_sha256_init(&h);
 *   tl_sha256_update(&h, part1, n1);   // any number of pieces, any sizes
 *   tl_sha256_update(&h, part2, n2);
 *   uint8_t digest[TL_SHA256_SIZE];
 *   tl_sha256_final(&h, digest);
 *
 * Used to identify uploaded models (the same digest `theraloop model convert` records in
 * tl_model_info_t and `sha256sum` prints). Not constant-time: do not use it with secrets.
 */
#ifndef THERALOOP_SHA256_H
#define THERALOOP_SHA256_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TL_SHA256_SIZE 32u
#define TL_SHA256_BLOCK 64u

typedef struct {
    uint32_t state[8];
    uint64_t total;                 /* bytes hashed so far */
    uint8_t block[TL_SHA256_BLOCK]; /* pending partial block */
    uint32_t fill;                  /* bytes in block[] */
} tl_sha256_t;

void tl_sha256_init(tl_sha256_t *h);
/* `data` may be NULL when len is 0. */
void tl_sha256_update(tl_sha256_t *h, const uint8_t *data, size_t len);
/* Write the digest; the context must be re-initialised before it is used again. */
void tl_sha256_final(tl_sha256_t *h, uint8_t out[TL_SHA256_SIZE]);
/* One-shot convenience. */
void tl_sha256(const uint8_t *data, size_t len, uint8_t out[TL_SHA256_SIZE]);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_SHA256_H */
