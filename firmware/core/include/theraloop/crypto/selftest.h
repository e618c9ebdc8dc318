/*
 * selftest.h - power-on known-answer tests of the cryptography the device relies on
 * (SHA-256, SHA-512, Ed25519 verification), run once at boot. A device whose self-test
 * failed must not trust any signature check; `theraloop info` reports the result, so the
 * self-test is also the on-target test of the crypto code as the firmware compiler built it.
 */
#ifndef THERALOOP_CRYPTO_SELFTEST_H
#define THERALOOP_CRYPTO_SELFTEST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TL_CRYPTO_SELFTEST_PASS = 0,
    TL_CRYPTO_SELFTEST_SHA256 = 1,       /* SHA-256("abc") differs from FIPS 180-4 */
    TL_CRYPTO_SELFTEST_SHA512 = 2,       /* SHA-512("abc") differs from FIPS 180-4 */
    TL_CRYPTO_SELFTEST_ED25519 = 3,      /* RFC 8032 TEST 1 signature not accepted */
    TL_CRYPTO_SELFTEST_ED25519_NEG = 4,  /* the same signature with one bit flipped accepted */
} tl_crypto_selftest_t;

/* Run every known-answer test (about 7 M instructions on a Cortex-M4); first failure wins. */
tl_crypto_selftest_t tl_crypto_selftest(void);

/* Run the tests once per power-up of RAM (every boot on the device, once per process on
 * the host) and remember the result; the application calls it at init. */
tl_crypto_selftest_t tl_crypto_selftest_at_boot(void);

/* Name of the result remembered at boot, or "not_run". */
const char *tl_crypto_selftest_status(void);

/* "pass", "sha256", "sha512", "ed25519", "ed25519_negative". */
const char *tl_crypto_selftest_name(tl_crypto_selftest_t result);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_CRYPTO_SELFTEST_H */
