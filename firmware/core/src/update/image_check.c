/*
 * image_check.c - the full check of a signed MCUboot image (see update/image_check.h).
 *
 * Order (cheapest structural checks first, the authenticity decision before anything
 * that trusts a header field):
 *   1. parse the header and both TLV areas (structure, bounds)     -> FORMAT
 *   2. SHA-256 over header + payload + protected TLVs               -> HASH (or FORMAT)
 *   3. policy: an Ed25519 signature TLV and a key-hash TLV          -> UNSIGNED
 *   4. key hash == policy->key_hash (constant time)                 -> KEY
 *   5. Ed25519 signature of the 32-byte digest with policy->pubkey  -> SIGNATURE
 *   6. kind (IMAGE_F_NON_BOOTABLE), now that the header is authentic -> KIND
 *   7. security counter (protected TLV, absent = 0) >= the minimum  -> ROLLBACK
 */
#include "theraloop/update/image_check.h"

#include <stddef.h>
#include <string.h>

#include "theraloop/crypto/ed25519.h"

const char *tl_img_err_name(uint32_t err)
{
    switch (err) {
    case TL_IMG_OK: return "ok";
    case TL_IMG_ERR_FORMAT: return "format";
    case TL_IMG_ERR_HASH: return "hash";
    case TL_IMG_ERR_UNSIGNED: return "unsigned";
    case TL_IMG_ERR_KEY: return "key";
    case TL_IMG_ERR_SIGNATURE: return "signature";
    case TL_IMG_ERR_KIND: return "kind";
    case TL_IMG_ERR_ROLLBACK: return "rollback";
    case TL_IMG_ERR_ARGUMENT: return "argument";
    default: return "unknown";
    }
}

/* Read [off, off + n) of the image (n <= TL_MCUBOOT_CHUNK), bounds-checked. */
static int read_at(const tl_mcuboot_src_t *src, uint32_t off, uint8_t *buf, uint32_t n)
{
    if (n > TL_MCUBOOT_CHUNK || (uint64_t)off + n > src->size) {
        return -1;
    }
    return src->read(src->ctx, off, buf, n);
}

static uint32_t elapsed(tl_img_now_fn now, void *ctx, uint32_t start)
{
    return now != NULL ? now(ctx) - start : 0u;
}

tl_img_err_t tl_image_check_timed(const tl_mcuboot_src_t *src, uint32_t slot_size,
                                  const tl_img_policy_t *policy, tl_mcuboot_info_t *info,
                                  uint32_t *detail, tl_img_now_fn now, void *now_ctx,
                                  tl_img_timing_t *timing)
{
    uint32_t dummy_detail;
    tl_img_timing_t dummy_timing;
    if (detail == NULL) {
        detail = &dummy_detail;
    }
    if (timing == NULL) {
        timing = &dummy_timing;
    }
    *detail = 0u;
    timing->sha256_cycles = 0u;
    timing->ed25519_cycles = 0u;
    if (info == NULL) {
        return TL_IMG_ERR_ARGUMENT;
    }
    memset(info, 0, sizeof(*info));
    if (src == NULL || src->read == NULL || policy == NULL || policy->pubkey == NULL ||
        policy->key_hash == NULL || policy->kind > TL_IMG_KIND_MODEL) {
        return TL_IMG_ERR_ARGUMENT;
    }

    /* 1. structure */
    tl_mcuboot_err_t me = tl_mcuboot_parse(src, slot_size, info);
    if (me != TL_MCUBOOT_OK) {
        *detail = (uint32_t)me;
        return TL_IMG_ERR_FORMAT;
    }

    /* 2. integrity */
    uint8_t digest[TL_SHA256_SIZE];
    uint32_t t0 = now != NULL ? now(now_ctx) : 0u;
    me = tl_mcuboot_verify_hash(src, info, digest);
    timing->sha256_cycles = elapsed(now, now_ctx, t0);
    if (me == TL_MCUBOOT_ERR_HASH_MISMATCH) {
        *detail = (uint32_t)me;
        return TL_IMG_ERR_HASH;
    }
    if (me != TL_MCUBOOT_OK) {
        *detail = (uint32_t)me;
        return TL_IMG_ERR_FORMAT;
    }

    /* 3. signature policy */
    if (tl_mcuboot_require_ed25519(info) != TL_MCUBOOT_OK) {
        *detail = (uint32_t)TL_MCUBOOT_ERR_UNSIGNED;
        return TL_IMG_ERR_UNSIGNED;
    }

    /* 4. the key named by the image is the built-in one (constant-time compare) */
    uint8_t key_hash[TL_MCUBOOT_KEYHASH_LEN];
    if (read_at(src, info->key_off, key_hash, sizeof key_hash) != 0) {
        *detail = (uint32_t)TL_MCUBOOT_ERR_READ;
        return TL_IMG_ERR_FORMAT;
    }
    uint8_t diff = 0u;
    for (uint32_t i = 0; i < TL_MCUBOOT_KEYHASH_LEN; i++) {
        diff |= (uint8_t)(key_hash[i] ^ policy->key_hash[i]);
    }
    if (diff != 0u) {
        return TL_IMG_ERR_KEY;
    }

    /* 5. Ed25519 over the digest (imgtool's SHA256-ED25519 scheme) */
    uint8_t sig[TL_MCUBOOT_ED25519_SIG_LEN];
    if (read_at(src, info->sig_off, sig, sizeof sig) != 0) {
        *detail = (uint32_t)TL_MCUBOOT_ERR_READ;
        return TL_IMG_ERR_FORMAT;
    }
    t0 = now != NULL ? now(now_ctx) : 0u;
    tl_ed25519_status_t es = tl_ed25519_verify(sig, digest, sizeof digest, policy->pubkey);
    timing->ed25519_cycles = elapsed(now, now_ctx, t0);
    if (es != TL_ED25519_OK) {
        *detail = (uint32_t)es;
        return TL_IMG_ERR_SIGNATURE;
    }

    /* 6. kind */
    bool bootable = (info->flags & TL_MCUBOOT_F_NON_BOOTABLE) == 0u;
    if ((policy->kind == TL_IMG_KIND_FIRMWARE && !bootable) ||
        (policy->kind == TL_IMG_KIND_MODEL && bootable)) {
        *detail = info->flags;
        return TL_IMG_ERR_KIND;
    }

    /* 7. anti-rollback */
    uint32_t counter =
        (info->present & TL_MCUBOOT_HAS_SEC_CNT) != 0u ? info->security_counter : 0u;
    if (counter < policy->min_security_counter) {
        *detail = counter;
        return TL_IMG_ERR_ROLLBACK;
    }
    return TL_IMG_OK;
}

tl_img_err_t tl_image_check(const tl_mcuboot_src_t *src, uint32_t slot_size,
                            const tl_img_policy_t *policy, tl_mcuboot_info_t *info,
                            uint32_t *detail)
{
    return tl_image_check_timed(src, slot_size, policy, info, detail, NULL, NULL, NULL);
}
