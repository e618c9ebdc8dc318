/*
 * update/signing_key.h - the image signing key built into the bootloader and the
 * application (generated at build time from the PEM given by the CMake option
 * TL_SIGNING_KEY; default keys/dev-ed25519.pem, a development key that must never sign
 * a device image for patients). See docs/crypto.md.
 */
#ifndef THERALOOP_UPDATE_SIGNING_KEY_H
#define THERALOOP_UPDATE_SIGNING_KEY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Ed25519 public key, 32 bytes. */
extern const uint8_t tl_signing_pubkey[32];
/* SHA-256 of the key's DER SubjectPublicKeyInfo: what imgtool puts in the key-hash TLV. */
extern const uint8_t tl_signing_key_hash[32];

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_UPDATE_SIGNING_KEY_H */
