/*
 * update/image_check.h - the full check of a signed MCUboot image before it is used:
 * structure (mcuboot_image.h), SHA-256, signature policy (Ed25519 + key hash), key hash
 * equal to the built-in key, Ed25519 signature over the digest, kind (bootable firmware
 * vs non-bootable model) and anti-rollback (security counter). Shared by the bootloader
 * (firmware slots) and the application (uploads, model slots).
 */
#ifndef THERALOOP_UPDATE_IMAGE_CHECK_H
#define THERALOOP_UPDATE_IMAGE_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "theraloop/storage/mcuboot_image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TL_IMG_OK = 0,
    TL_IMG_ERR_FORMAT = 1,    /* structure: detail = tl_mcuboot_err_t (bad magic, truncated, ...) */
    TL_IMG_ERR_HASH = 2,      /* SHA-256 TLV does not match the contents */
    TL_IMG_ERR_UNSIGNED = 3,  /* no Ed25519 signature / key hash TLV */
    TL_IMG_ERR_KEY = 4,       /* signed with another key (key hash differs) */
    TL_IMG_ERR_SIGNATURE = 5, /* signature does not verify */
    TL_IMG_ERR_KIND = 6,      /* a model image where firmware is expected or vice versa */
    TL_IMG_ERR_ROLLBACK = 7,  /* security counter below the minimum (detail = image counter) */
    TL_IMG_ERR_ARGUMENT = 8,
} tl_img_err_t;

/* Stable lower-case name ("signature", "rollback", ...). */
const char *tl_img_err_name(uint32_t err);

typedef enum {
    TL_IMG_KIND_ANY = 0,
    TL_IMG_KIND_FIRMWARE = 1, /* bootable: IMAGE_F_NON_BOOTABLE (0x10) clear */
    TL_IMG_KIND_MODEL = 2,    /* non-bootable */
} tl_img_kind_t;

typedef struct {
    const uint8_t *pubkey;         /* 32-byte Ed25519 key (tl_signing_pubkey) */
    const uint8_t *key_hash;       /* 32-byte key hash (tl_signing_key_hash) */
    uint32_t kind;                 /* tl_img_kind_t */
    uint32_t min_security_counter; /* anti-rollback: images below are refused (0: none) */
} tl_img_policy_t;

/* Check the image in `src` (slot of slot_size bytes) against the policy. Fills *info
 * (also on most errors, as far as parsing got) and *detail (see the error list).
 * Streams the image in small chunks: nothing is buffered. */
tl_img_err_t tl_image_check(const tl_mcuboot_src_t *src, uint32_t slot_size,
                            const tl_img_policy_t *policy, tl_mcuboot_info_t *info,
                            uint32_t *detail);

/* The same check, also measuring its two expensive steps with a caller-supplied
 * free-running up-counter (`now`, e.g. CPU cycles; differences are taken modulo 2^32).
 * Used by the bootloader for its "boot: check ... cycles" line (docs/bootloader.md).
 * timing may be NULL; now may be NULL (then the cycles stay 0). */
typedef struct {
    uint32_t sha256_cycles;  /* tl_mcuboot_verify_hash over hashed_len bytes */
    uint32_t ed25519_cycles; /* signature verification of the digest */
} tl_img_timing_t;
typedef uint32_t (*tl_img_now_fn)(void *ctx);
tl_img_err_t tl_image_check_timed(const tl_mcuboot_src_t *src, uint32_t slot_size,
                                  const tl_img_policy_t *policy, tl_mcuboot_info_t *info,
                                  uint32_t *detail, tl_img_now_fn now, void *now_ctx,
                                  tl_img_timing_t *timing);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_UPDATE_IMAGE_CHECK_H */
