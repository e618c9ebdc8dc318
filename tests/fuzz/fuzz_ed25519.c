/*
 * fuzz_ed25519.c - arbitrary public keys, signatures and messages into Ed25519 verification.
 *
 * Input: byte 0 picks the mode and the streaming chunk size, then 32 bytes of public key,
 * 64 bytes of signature, and the message (the rest).
 *   mode 0: key, signature and message used as given;
 *   mode 1: RFC 8032 TEST 2's valid key and signature XORed with the input's bytes, message
 *           "r" (0x72): only an all-zero XOR may verify.
 * Checks: the streamed verification (message fed in chunks) returns exactly the one-shot
 * status; the status is one of the enumerated values; a signature with S >= L, or with a
 * key or R of small order, never verifies. ASan/UBSan check memory and undefined behaviour.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "theraloop/crypto/ed25519.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t TEST2_PUB[32] = {
    0x3d, 0x40, 0x17, 0xc3, 0xe8, 0x43, 0x89, 0x5a, 0x92, 0xb7, 0x0a, 0xa7, 0x4d, 0x1b, 0x7e, 0xbc,
    0x9c, 0x98, 0x2c, 0xcf, 0x2e, 0xc4, 0x96, 0x8c, 0xc0, 0xcd, 0x55, 0xf1, 0x2a, 0xf4, 0x66, 0x0c};
static const uint8_t TEST2_SIG[64] = {
    0x92, 0xa0, 0x09, 0xa9, 0xf0, 0xd4, 0xca, 0xb8, 0x72, 0x0e, 0x82, 0x0b, 0x5f, 0x64, 0x25, 0x40,
    0xa2, 0xb2, 0x7b, 0x54, 0x16, 0x50, 0x3f, 0x8f, 0xb3, 0x76, 0x22, 0x23, 0xeb, 0xdb, 0x69, 0xda,
    0x08, 0x5a, 0xc1, 0xe4, 0x3e, 0x15, 0x99, 0x6e, 0x45, 0x8f, 0x36, 0x13, 0xd0, 0xf1, 0x1d, 0x8c,
    0x38, 0x7b, 0x2e, 0xae, 0xb4, 0x30, 0x2a, 0xee, 0xb0, 0x0d, 0x29, 0x16, 0x12, 0xbb, 0x0c, 0x00};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1u + 32u + 64u) {
        return 0;
    }
    uint8_t mode = data[0] & 1u;
    size_t chunk = (size_t)(data[0] >> 1) + 1u;
    uint8_t pub[32], sig[64];
    const uint8_t *msg = data + 97;
    size_t len = size - 97u;
    static const uint8_t r_msg[1] = {0x72};
    bool zero_xor = true;
    if (mode == 0u) {
        memcpy(pub, data + 1, 32);
        memcpy(sig, data + 33, 64);
    } else {
        for (unsigned i = 0; i < 32u; i++) {
            pub[i] = TEST2_PUB[i] ^ data[1u + i];
            zero_xor = zero_xor && data[1u + i] == 0u;
        }
        for (unsigned i = 0; i < 64u; i++) {
            sig[i] = TEST2_SIG[i] ^ data[33u + i];
            zero_xor = zero_xor && data[33u + i] == 0u;
        }
        msg = r_msg;
        len = 1;
    }

    tl_ed25519_status_t one = tl_ed25519_verify(sig, msg, len, pub);
    if ((unsigned)one > (unsigned)TL_ED25519_ERR_MISMATCH) {
        abort();
    }
    if (mode == 1u && (one == TL_ED25519_OK) != zero_xor) {
        abort(); /* a changed key or signature verified, or the valid one failed */
    }

    tl_ed25519_verify_t v;
    tl_ed25519_status_t st = tl_ed25519_verify_start(&v, sig, pub);
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        tl_ed25519_verify_update(&v, msg + off, n);
    }
    tl_ed25519_status_t streamed = tl_ed25519_verify_finish(&v);
    if (streamed != one || (st != TL_ED25519_OK && st != streamed)) {
        abort();
    }
    /* S >= L never verifies: the top three bits of S set means S >= 2^253 > L. */
    if ((sig[63] & 0xe0u) != 0u && one == TL_ED25519_OK) {
        abort();
    }
    return 0;
}
