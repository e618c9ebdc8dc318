/*
 * ed25519.h - Ed25519 signature verification (RFC 8032 section 5.1.7, "pure" Ed25519:
 * no context, no pre-hash), no allocation, for firmware and model images.
 *
 *   if (tl_ed25519_verify(sig, msg, msg_len, public_key) == TL_ED25519_OK) { ...use it... }
 *
 * or, for a message that arrives in pieces (an image read from flash in chunks):
 *
 *   tl_ed25519_verify_t v;
 *   if (tl_ed25519_verify_start(&v, sig, public_key) == TL_ED25519_OK) {
 *       tl_ed25519_verify_update(&v, chunk, n);          // any number of times
 *       ok = tl_ed25519_verify_finish(&v) == TL_ED25519_OK;
 *   }
 *
 * Strict rules (see docs/crypto.md):
 *  - S must be canonical (S < L, the group order), else TL_ED25519_ERR_S_NONCANONICAL.
 *  - A (public key) and R must be canonical encodings of curve points: the y coordinate
 *    < p = 2^255 - 19, on the curve, and not "negative zero" (x = 0 with the sign bit set).
 *  - A and R must not be of small order (the 8 points P with [8]P = identity): a small-order
 *    key would accept forged signatures, a small-order R is never produced by a signer.
 *  - The equation checked is the cofactorless [S]B = R + [k]A, k = SHA-512(R || A || M)
 *    mod L (the form RFC 8032 permits, and what OpenSSL / `cryptography` check), by
 *    comparing the canonical encoding of [S]B - [k]A with the 32 bytes of R.
 * Verification handles only public data; field arithmetic is branch-free regardless, and
 * the scalar multiplication is variable-time in the (public) scalars S and k.
 */
#ifndef THERALOOP_CRYPTO_ED25519_H
#define THERALOOP_CRYPTO_ED25519_H

#include <stddef.h>
#include <stdint.h>

#include "theraloop/crypto/sha512.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TL_ED25519_PUBLIC_KEY_SIZE 32u
#define TL_ED25519_SIGNATURE_SIZE 64u

typedef enum {
    TL_ED25519_OK = 0,
    TL_ED25519_ERR_ARG = 1,              /* NULL pointer (or NULL message with length > 0) */
    TL_ED25519_ERR_KEY_ENCODING = 2,     /* A is not a canonical encoding of a curve point */
    TL_ED25519_ERR_KEY_SMALL_ORDER = 3,  /* A is one of the 8 small-order points */
    TL_ED25519_ERR_R_ENCODING = 4,       /* R is not a canonical encoding of a curve point */
    TL_ED25519_ERR_R_SMALL_ORDER = 5,    /* R is one of the 8 small-order points */
    TL_ED25519_ERR_S_NONCANONICAL = 6,   /* S >= L */
    TL_ED25519_ERR_MISMATCH = 7,         /* well formed, but [S]B != R + [k]A */
} tl_ed25519_status_t;

/* Stable lower-case name of a status ("ok", "key_encoding", ...); "unknown" otherwise. */
const char *tl_ed25519_status_name(tl_ed25519_status_t status);

/* Internal types (a field element mod 2^255 - 19 and a point in extended coordinates),
 * public only so that the verification context can be allocated statically. */
typedef struct {
    uint32_t v[8];
} tl_fe25519_t;
typedef struct {
    tl_fe25519_t x, y, z, t;
} tl_ed25519_point_t;

typedef struct {
    tl_sha512_t hash;            /* SHA-512(R || A || M) in progress */
    tl_ed25519_point_t neg_a;    /* -A, decoded and checked */
    uint8_t sig[TL_ED25519_SIGNATURE_SIZE];
    tl_ed25519_status_t status;  /* TL_ED25519_OK while the verification may still pass */
} tl_ed25519_verify_t;

/* Check the encodings of S, A and R and start hashing. Returns the first failed check
 * (the context then stays failed: finish() returns the same status). */
tl_ed25519_status_t tl_ed25519_verify_start(tl_ed25519_verify_t *v,
                                            const uint8_t sig[TL_ED25519_SIGNATURE_SIZE],
                                            const uint8_t public_key[TL_ED25519_PUBLIC_KEY_SIZE]);
/* Feed the next piece of the message (`msg` may be NULL when len is 0). */
void tl_ed25519_verify_update(tl_ed25519_verify_t *v, const uint8_t *msg, size_t len);
/* TL_ED25519_OK only if the signature is valid for the whole message fed. */
tl_ed25519_status_t tl_ed25519_verify_finish(tl_ed25519_verify_t *v);

/* One-shot: TL_ED25519_OK only if `sig` is a valid signature of msg[0..len) by public_key. */
tl_ed25519_status_t tl_ed25519_verify(const uint8_t sig[TL_ED25519_SIGNATURE_SIZE],
                                      const uint8_t *msg, size_t len,
                                      const uint8_t public_key[TL_ED25519_PUBLIC_KEY_SIZE]);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_CRYPTO_ED25519_H */
