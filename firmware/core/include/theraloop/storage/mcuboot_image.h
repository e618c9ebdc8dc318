/*
 * storage/mcuboot_image.h - parse and hash-check MCUboot images (model slots, firmware).
 *
 * An image as written by `imgtool sign [--non-bootable] ...`, all fields little-endian:
 *
 *   [0, hdr_size)                       header (32 bytes used, rest padding), magic 0x96f3b83d
 *   [hdr_size, hdr_size + img_size)     payload (a .tflite for model slots)
 *   [.., + protect_tlv_size)            protected TLV area, magic 0x6908 (only if size != 0)
 *   [.., + tlv_tot)                     TLV area, magic 0x6907: SHA-256 (0x10), key hash
 *                                       (0x01) or public key (0x02), signature (0x24 Ed25519)
 *
 * The SHA-256 TLV covers header + payload + protected TLV area. The image is never read
 * whole into RAM: every access goes through a read callback (a RAM buffer or a storage
 * device; adapters below), in chunks of at most TL_MCUBOOT_CHUNK bytes on the stack.
 *
 *   tl_mcuboot_src_t src = tl_mcuboot_src_mem(buf, len);   // or tl_mcuboot_src_storage()
 *   tl_mcuboot_info_t info;
 *   tl_mcuboot_err_t e = tl_mcuboot_parse(&src, slot_size, &info);
 *   if (e == TL_MCUBOOT_OK) e = tl_mcuboot_verify_hash(&src, &info, NULL);
 *
 * tl_mcuboot_parse checks structure only (every offset and length against the readable
 * size and the slot size); tl_mcuboot_verify_hash checks integrity. Neither authenticates:
 * the signature TLV is located (sig_off/sig_len) for an Ed25519 verifier, which signs the
 * SHA-256 digest (imgtool's "SHA256-ED25519" scheme) - see docs/storage.md.
 */
#ifndef THERALOOP_STORAGE_MCUBOOT_IMAGE_H
#define THERALOOP_STORAGE_MCUBOOT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "theraloop/sha256.h"
#include "theraloop/storage/storage.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TL_MCUBOOT_MAGIC 0x96f3b83du
#define TL_MCUBOOT_HEADER_SIZE 32u        /* bytes of the header that carry fields */
#define TL_MCUBOOT_TLV_INFO_MAGIC 0x6907u /* unprotected TLV area */
#define TL_MCUBOOT_TLV_PROT_INFO_MAGIC 0x6908u
#define TL_MCUBOOT_CHUNK 64u              /* largest read the parser/hasher issues */

/* Header flags (ih_flags). */
#define TL_MCUBOOT_F_PIC 0x00000001u
#define TL_MCUBOOT_F_ENCRYPTED_AES128 0x00000004u
#define TL_MCUBOOT_F_ENCRYPTED_AES256 0x00000008u
#define TL_MCUBOOT_F_NON_BOOTABLE 0x00000010u
#define TL_MCUBOOT_F_RAM_LOAD 0x00000020u
#define TL_MCUBOOT_F_ROM_FIXED 0x00000100u
#define TL_MCUBOOT_F_COMPRESSED_LZMA1 0x00000200u
#define TL_MCUBOOT_F_COMPRESSED_LZMA2 0x00000400u
#define TL_MCUBOOT_F_COMPRESSED_ARM_THUMB 0x00000800u
/* Flags whose payload we cannot use as stored: rejected with TL_MCUBOOT_ERR_UNSUPPORTED. */
#define TL_MCUBOOT_F_UNSUPPORTED                                                         \
    (TL_MCUBOOT_F_ENCRYPTED_AES128 | TL_MCUBOOT_F_ENCRYPTED_AES256 |                     \
     TL_MCUBOOT_F_COMPRESSED_LZMA1 | TL_MCUBOOT_F_COMPRESSED_LZMA2 |                     \
     TL_MCUBOOT_F_COMPRESSED_ARM_THUMB)

/* TLV types (u16). */
#define TL_MCUBOOT_TLV_KEYHASH 0x01u
#define TL_MCUBOOT_TLV_PUBKEY 0x02u
#define TL_MCUBOOT_TLV_SHA256 0x10u
#define TL_MCUBOOT_TLV_SHA384 0x11u
#define TL_MCUBOOT_TLV_SHA512 0x12u
#define TL_MCUBOOT_TLV_RSA2048_PSS 0x20u
#define TL_MCUBOOT_TLV_ECDSA224 0x21u
#define TL_MCUBOOT_TLV_ECDSA_SIG 0x22u
#define TL_MCUBOOT_TLV_RSA3072_PSS 0x23u
#define TL_MCUBOOT_TLV_ED25519 0x24u
#define TL_MCUBOOT_TLV_SIG_PURE 0x25u
#define TL_MCUBOOT_TLV_SEC_CNT 0x50u

#define TL_MCUBOOT_ED25519_SIG_LEN 64u
#define TL_MCUBOOT_KEYHASH_LEN 32u  /* SHA-256 of the public key */
#define TL_MCUBOOT_PUBKEY_MAX 600u  /* DER public keys up to RSA-3072 */

typedef enum {
    TL_MCUBOOT_OK = 0,
    TL_MCUBOOT_ERR_ARG = 1,           /* NULL argument, readable size > slot size */
    TL_MCUBOOT_ERR_READ = 2,          /* the read callback failed */
    TL_MCUBOOT_ERR_TRUNCATED = 3,     /* image extends past the readable bytes */
    TL_MCUBOOT_ERR_MAGIC = 4,         /* header magic is not 0x96f3b83d */
    TL_MCUBOOT_ERR_HEADER_SIZE = 5,   /* ih_hdr_size < 32 */
    TL_MCUBOOT_ERR_TOO_BIG = 6,       /* image (header..TLVs) does not fit the slot */
    TL_MCUBOOT_ERR_UNSUPPORTED = 7,   /* encrypted or compressed image */
    TL_MCUBOOT_ERR_TLV_MAGIC = 8,     /* TLV info magic missing or in the wrong place */
    TL_MCUBOOT_ERR_TLV_OVERFLOW = 9,  /* a TLV crosses the end of its area, or bad area size */
    TL_MCUBOOT_ERR_TLV_LENGTH = 10,   /* known TLV with the wrong value length */
    TL_MCUBOOT_ERR_TLV_DUPLICATE = 11,/* hash, key, signature or counter TLV twice */
    TL_MCUBOOT_ERR_TLV_PLACEMENT = 12,/* TLV in the wrong area (e.g. unprotected counter) */
    TL_MCUBOOT_ERR_NO_SHA256 = 13,    /* no SHA-256 TLV */
    TL_MCUBOOT_ERR_HASH_MISMATCH = 14,/* SHA-256 TLV differs from the computed digest */
    TL_MCUBOOT_ERR_UNSIGNED = 15,     /* no Ed25519 signature + key hash (signed policy) */
} tl_mcuboot_err_t;

/* Stable lower-case name ("bad_magic", "hash_mismatch", ...); "unknown" otherwise. */
const char *tl_mcuboot_err_name(uint32_t err);

/* Read `n` bytes at `off` from the image into `buf`; return 0 on success. Only called with
 * [off, off + n) inside [0, src->size) and n <= TL_MCUBOOT_CHUNK. */
typedef int (*tl_mcuboot_read_fn)(void *ctx, uint32_t off, void *buf, uint32_t n);

typedef struct {
    tl_mcuboot_read_fn read;
    void *ctx;
    uint32_t size; /* readable bytes: received so far (upload) or the slot size (flash) */
} tl_mcuboot_src_t;

/* Source over a RAM buffer (the buffer must outlive the source). */
tl_mcuboot_src_t tl_mcuboot_src_mem(const uint8_t *buf, uint32_t len);

/* Source over [base, base + size) of a storage device; `ctx` holds the device and keeps
 * the last storage error (ctx->err) for the caller's fault log. */
typedef struct {
    const tl_storage_t *dev;
    uint32_t base;
    tl_storage_err_t err;
} tl_mcuboot_storage_ctx_t;
tl_mcuboot_src_t tl_mcuboot_src_storage(tl_mcuboot_storage_ctx_t *ctx,
                                        const tl_storage_t *dev, uint32_t base,
                                        uint32_t size);

typedef struct {
    uint8_t major;
    uint8_t minor;
    uint16_t revision;
    uint32_t build;
} tl_mcuboot_version_t;

/* Bits of tl_mcuboot_info_t.present. */
#define TL_MCUBOOT_HAS_SHA256 0x01u
#define TL_MCUBOOT_HAS_KEY 0x02u     /* key_type/key_off/key_len valid */
#define TL_MCUBOOT_HAS_SIG 0x04u     /* sig_type/sig_off/sig_len valid */
#define TL_MCUBOOT_HAS_SEC_CNT 0x08u /* security_counter valid (protected TLV) */

typedef struct {
    /* header */
    uint32_t load_addr;
    uint16_t hdr_size;
    uint16_t protect_tlv_size;    /* 0, or the protected area including its 4-byte info */
    uint32_t img_size;
    uint32_t flags;               /* TL_MCUBOOT_F_* */
    tl_mcuboot_version_t version;
    /* layout (offsets from the start of the image) */
    uint32_t payload_off;         /* = hdr_size */
    uint32_t payload_len;         /* = img_size */
    uint32_t prot_tlv_off;        /* protected area (valid if protect_tlv_size != 0) */
    uint32_t tlv_off;             /* unprotected TLV area, at its info header */
    uint32_t tlv_len;             /* including the info header */
    uint32_t hashed_len;          /* header + payload + protected area */
    uint32_t total_len;           /* whole image: end of the unprotected TLV area */
    uint32_t tlv_count;           /* TLVs in both areas */
    /* located TLVs */
    uint32_t present;             /* TL_MCUBOOT_HAS_* */
    uint8_t sha256[TL_SHA256_SIZE];
    uint32_t sha256_off;          /* offset of the 32-byte value */
    uint16_t key_type;            /* KEYHASH or PUBKEY */
    uint16_t key_len;
    uint32_t key_off;
    uint16_t sig_type;            /* TL_MCUBOOT_TLV_ED25519, ... */
    uint16_t sig_len;
    uint32_t sig_off;
    uint32_t security_counter;
} tl_mcuboot_info_t;

/* Parse the header and both TLV areas of the image in `src`, which sits in a slot of
 * `slot_size` bytes (src->size <= slot_size). On success fills *info; on failure *info is
 * zeroed. Unknown TLV types (vendor, dependencies, ...) are bounds-checked and skipped. */
tl_mcuboot_err_t tl_mcuboot_parse(const tl_mcuboot_src_t *src, uint32_t slot_size,
                                  tl_mcuboot_info_t *info);

/* Stream SHA-256 over [0, info->hashed_len) and compare with info->sha256 in constant
 * time. `digest_out` (may be NULL) receives the computed digest, also on mismatch.
 * `info` must come from a successful tl_mcuboot_parse of the same source. */
tl_mcuboot_err_t tl_mcuboot_verify_hash(const tl_mcuboot_src_t *src,
                                        const tl_mcuboot_info_t *info,
                                        uint8_t digest_out[TL_SHA256_SIZE]);

/* Policy for signed images: OK only if the image carries an Ed25519 signature TLV and a
 * key hash TLV (what `imgtool sign -k <ed25519 key>` writes); TL_MCUBOOT_ERR_UNSIGNED
 * otherwise. Structure and hash checks cannot tell a stripped or retyped signature TLV
 * from an unsigned image, so a device that requires signatures must call this before it
 * verifies the signature itself. */
tl_mcuboot_err_t tl_mcuboot_require_ed25519(const tl_mcuboot_info_t *info);

/* Read the payload bytes [payload_off + off, + n) (bounds-checked against the payload). */
tl_mcuboot_err_t tl_mcuboot_read_payload(const tl_mcuboot_src_t *src,
                                         const tl_mcuboot_info_t *info, uint32_t off,
                                         void *buf, uint32_t n);

/* -1, 0, 1 as a <, =, > b, comparing major, minor, revision, then build (as MCUboot does
 * when build numbers are part of the comparison). */
int tl_mcuboot_version_cmp(const tl_mcuboot_version_t *a, const tl_mcuboot_version_t *b);

/* "major.minor.revision", plus ".build" when build is not 0 (MCUmgr's image-state
 * convention), NUL-terminated and truncated to cap. Returns the length written. */
size_t tl_mcuboot_version_str(const tl_mcuboot_version_t *v, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_STORAGE_MCUBOOT_IMAGE_H */
