/*
 * test_mcuboot_image.c - the MCUboot image parser and hash check against real imgtool
 * output (tests/unit/data/mcuboot/, regenerate with gen_mcuboot_images.py).
 */
#include <stdint.h>
#include <string.h>

#include "data/mcuboot/mcuboot_images.h"
#include "theraloop/platform.h"
#include "theraloop/storage/mcuboot_image.h"
#include "tl_test.h"

#define SLOT 0x10000u
#define MAX_IMG 2048u

typedef struct {
    const uint8_t *data;
    uint32_t len;
    const uint8_t *digest;
} image_t;

static const image_t k_images[] = {
    {mcuboot_unsigned, sizeof(mcuboot_unsigned), mcuboot_unsigned_digest},
    {mcuboot_signed, sizeof(mcuboot_signed), mcuboot_signed_digest},
    {mcuboot_signed_seccnt, sizeof(mcuboot_signed_seccnt), mcuboot_signed_seccnt_digest},
};

static uint8_t g_buf[MAX_IMG];

/* parse + verify_hash of buf[0, len) in a slot of slot_size bytes. */
static tl_mcuboot_err_t check(const uint8_t *buf, uint32_t len, uint32_t slot_size,
                              tl_mcuboot_info_t *info)
{
    tl_mcuboot_src_t src = tl_mcuboot_src_mem(buf, len);
    tl_mcuboot_err_t e = tl_mcuboot_parse(&src, slot_size, info);
    if (e == TL_MCUBOOT_OK) {
        e = tl_mcuboot_verify_hash(&src, info, NULL);
    }
    return e;
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void test_unsigned_image(void)
{
    tl_mcuboot_info_t info;
    TL_EXPECT_EQ(check(mcuboot_unsigned, sizeof(mcuboot_unsigned), SLOT, &info), TL_MCUBOOT_OK);
    TL_EXPECT_EQ(info.version.major, 1);
    TL_EXPECT_EQ(info.version.minor, 2);
    TL_EXPECT_EQ(info.version.revision, 3);
    TL_EXPECT_EQ(info.version.build, 7);
    TL_EXPECT_EQ(info.hdr_size, MCUBOOT_UNSIGNED_HDR_SIZE);
    TL_EXPECT_EQ(info.img_size, sizeof(mcuboot_payload));
    TL_EXPECT_EQ(info.flags, TL_MCUBOOT_F_NON_BOOTABLE);
    TL_EXPECT_EQ(info.payload_off, 32);
    TL_EXPECT_EQ(info.payload_len, sizeof(mcuboot_payload));
    TL_EXPECT_EQ(info.protect_tlv_size, 0);
    TL_EXPECT_EQ(info.hashed_len, MCUBOOT_UNSIGNED_HASHED_LEN);
    TL_EXPECT_EQ(info.tlv_off, MCUBOOT_UNSIGNED_HASHED_LEN);
    TL_EXPECT_EQ(info.total_len, sizeof(mcuboot_unsigned));
    TL_EXPECT_EQ(info.tlv_len, 4 + 4 + 32);
    TL_EXPECT_EQ(info.tlv_count, 1);
    TL_EXPECT_EQ(info.present, TL_MCUBOOT_HAS_SHA256);
    TL_EXPECT_MEM_EQ(info.sha256, mcuboot_unsigned_digest, 32);
    TL_EXPECT_EQ(info.sha256_off, info.tlv_off + 8);

    uint8_t digest[TL_SHA256_SIZE];
    tl_mcuboot_src_t src = tl_mcuboot_src_mem(mcuboot_unsigned, sizeof(mcuboot_unsigned));
    TL_EXPECT_EQ(tl_mcuboot_verify_hash(&src, &info, digest), TL_MCUBOOT_OK);
    TL_EXPECT_MEM_EQ(digest, mcuboot_unsigned_digest, 32);

    /* The payload read back is the .tflite that was signed, byte for byte. */
    static uint8_t payload[sizeof(mcuboot_payload)];
    TL_EXPECT_EQ(tl_mcuboot_read_payload(&src, &info, 0, payload, sizeof(payload)),
                 TL_MCUBOOT_OK);
    TL_EXPECT_MEM_EQ(payload, mcuboot_payload, sizeof(payload));
    TL_EXPECT_EQ(tl_mcuboot_require_ed25519(&info), TL_MCUBOOT_ERR_UNSIGNED);
    TL_EXPECT_EQ(tl_mcuboot_read_payload(&src, &info, 1, payload, sizeof(payload)),
                 TL_MCUBOOT_ERR_ARG);
    TL_EXPECT_EQ(tl_mcuboot_read_payload(&src, &info, UINT32_MAX, payload, 2),
                 TL_MCUBOOT_ERR_ARG);
}

static void test_signed_image(void)
{
    tl_mcuboot_info_t info;
    TL_EXPECT_EQ(check(mcuboot_signed, sizeof(mcuboot_signed), SLOT, &info), TL_MCUBOOT_OK);
    TL_EXPECT_EQ(info.present, TL_MCUBOOT_HAS_SHA256 | TL_MCUBOOT_HAS_KEY | TL_MCUBOOT_HAS_SIG);
    TL_EXPECT_EQ(info.tlv_count, 3);
    TL_EXPECT_MEM_EQ(info.sha256, mcuboot_signed_digest, 32);
    TL_EXPECT_EQ(info.key_type, TL_MCUBOOT_TLV_KEYHASH);
    TL_EXPECT_EQ(info.key_len, 32);
    TL_EXPECT_MEM_EQ(mcuboot_signed + info.key_off, mcuboot_key_hash, 32);
    TL_EXPECT_EQ(info.sig_type, TL_MCUBOOT_TLV_ED25519);
    TL_EXPECT_EQ(info.sig_len, 64);
    TL_EXPECT_EQ(info.sig_off + 64u, info.total_len);
    TL_EXPECT_EQ(info.total_len, sizeof(mcuboot_signed));
    /* Same payload and version as the unsigned image, so the same hash. */
    TL_EXPECT_MEM_EQ(mcuboot_signed_digest, mcuboot_unsigned_digest, 32);
}

static void test_protected_security_counter(void)
{
    tl_mcuboot_info_t info;
    TL_EXPECT_EQ(check(mcuboot_signed_seccnt, sizeof(mcuboot_signed_seccnt), SLOT, &info),
                 TL_MCUBOOT_OK);
    TL_EXPECT_EQ(info.protect_tlv_size, MCUBOOT_SIGNED_SECCNT_PROT_SIZE);
    TL_EXPECT_EQ(info.prot_tlv_off, 32u + sizeof(mcuboot_payload));
    TL_EXPECT_EQ(info.hashed_len, MCUBOOT_SIGNED_SECCNT_HASHED_LEN);
    TL_EXPECT((info.present & TL_MCUBOOT_HAS_SEC_CNT) != 0u);
    TL_EXPECT_EQ(info.security_counter, 5);
    TL_EXPECT_EQ(info.tlv_count, 4);
    /* The protected area is hashed: its digest differs from the unprotected image's. */
    TL_EXPECT_MEM_EQ(info.sha256, mcuboot_signed_seccnt_digest, 32);
    TL_EXPECT(memcmp(mcuboot_signed_seccnt_digest, mcuboot_signed_digest, 32) != 0);
}

/* Every single-bit flip of the hash-only image is rejected by parse + hash check. */
static void test_unsigned_every_bit_flip_rejected(void)
{
    const uint32_t n = sizeof(mcuboot_unsigned);
    uint32_t accepted = 0;
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t bit = 0; bit < 8; bit++) {
            memcpy(g_buf, mcuboot_unsigned, n);
            g_buf[i] ^= (uint8_t)(1u << bit);
            tl_mcuboot_info_t info;
            if (check(g_buf, n, SLOT, &info) == TL_MCUBOOT_OK) {
                printf("accepted flip at byte %u bit %u\n", i, bit);
                accepted++;
            }
        }
    }
    TL_EXPECT_EQ(accepted, 0);
}

/* Signed images under the signed policy (parse + hash + tl_mcuboot_require_ed25519): a
 * flip anywhere except inside the key-hash and signature values is rejected now; a flip
 * inside those values leaves the hash intact and changes exactly the bytes an Ed25519
 * verifier is given (key id / signature), which it then rejects. */
static void test_signed_every_bit_flip(void)
{
    for (size_t k = 1; k < sizeof(k_images) / sizeof(k_images[0]); k++) {
        const image_t *im = &k_images[k];
        tl_mcuboot_info_t good;
        TL_EXPECT_EQ(check(im->data, im->len, SLOT, &good), TL_MCUBOOT_OK);
        TL_EXPECT_EQ(tl_mcuboot_require_ed25519(&good), TL_MCUBOOT_OK);
        uint32_t accepted_outside = 0;
        uint32_t accepted_inside = 0;
        for (uint32_t i = 0; i < im->len; i++) {
            int in_key = i >= good.key_off && i < good.key_off + good.key_len;
            int in_sig = i >= good.sig_off && i < good.sig_off + good.sig_len;
            for (uint32_t bit = 0; bit < 8; bit++) {
                memcpy(g_buf, im->data, im->len);
                g_buf[i] ^= (uint8_t)(1u << bit);
                tl_mcuboot_info_t info;
                if (check(g_buf, im->len, SLOT, &info) != TL_MCUBOOT_OK ||
                    tl_mcuboot_require_ed25519(&info) != TL_MCUBOOT_OK) {
                    continue;
                }
                if (!in_key && !in_sig) {
                    printf("image %zu: accepted flip at byte %u bit %u\n", k, i, bit);
                    accepted_outside++;
                    continue;
                }
                accepted_inside++;
                /* Same layout, and the flipped byte is inside what the verifier reads. */
                TL_EXPECT_EQ(info.key_off, good.key_off);
                TL_EXPECT_EQ(info.sig_off, good.sig_off);
                TL_EXPECT(memcmp(g_buf + info.key_off, im->data + good.key_off, 32) != 0 ||
                          memcmp(g_buf + info.sig_off, im->data + good.sig_off, 64) != 0);
            }
        }
        TL_EXPECT_EQ(accepted_outside, 0);
        TL_EXPECT_EQ(accepted_inside, (32u + 64u) * 8u);
    }
}

/* An upload cut at any length, or any prefix in a slot, is rejected as truncated. */
static void test_truncated_at_every_length(void)
{
    for (size_t k = 0; k < sizeof(k_images) / sizeof(k_images[0]); k++) {
        const image_t *im = &k_images[k];
        for (uint32_t len = 0; len < im->len; len++) {
            tl_mcuboot_info_t info;
            tl_mcuboot_err_t e = check(im->data, len, SLOT, &info);
            if (e != TL_MCUBOOT_ERR_TRUNCATED) {
                printf("image %zu len %u: %s\n", k, len, tl_mcuboot_err_name(e));
            }
            TL_EXPECT_EQ(e, TL_MCUBOOT_ERR_TRUNCATED);
            TL_EXPECT_EQ(info.present, 0); /* zeroed on failure */
        }
    }
}

/* In flash the rest of the slot is erased (0xFF) or stale: only total_len is used. */
static void test_trailing_bytes_ignored(void)
{
    memset(g_buf, 0xFF, sizeof(g_buf));
    memcpy(g_buf, mcuboot_signed, sizeof(mcuboot_signed));
    tl_mcuboot_info_t info;
    TL_EXPECT_EQ(check(g_buf, sizeof(g_buf), SLOT, &info), TL_MCUBOOT_OK);
    TL_EXPECT_EQ(info.total_len, sizeof(mcuboot_signed));
    /* An erased slot has no image. */
    memset(g_buf, 0xFF, sizeof(g_buf));
    TL_EXPECT_EQ(check(g_buf, sizeof(g_buf), SLOT, &info), TL_MCUBOOT_ERR_MAGIC);
}

static void test_wrong_magic(void)
{
    memcpy(g_buf, mcuboot_unsigned, sizeof(mcuboot_unsigned));
    g_buf[0] = 0x3c;
    tl_mcuboot_info_t info;
    TL_EXPECT_EQ(check(g_buf, sizeof(mcuboot_unsigned), SLOT, &info), TL_MCUBOOT_ERR_MAGIC);
    /* A raw .tflite uploaded without imgtool. */
    TL_EXPECT_EQ(check(mcuboot_payload, sizeof(mcuboot_payload), SLOT, &info),
                 TL_MCUBOOT_ERR_MAGIC);
    /* TLV area magic. */
    memcpy(g_buf, mcuboot_unsigned, sizeof(mcuboot_unsigned));
    g_buf[MCUBOOT_UNSIGNED_HASHED_LEN] = 0x08; /* 0x6908 without a protected size */
    TL_EXPECT_EQ(check(g_buf, sizeof(mcuboot_unsigned), SLOT, &info),
                 TL_MCUBOOT_ERR_TLV_MAGIC);
}

static void test_oversized(void)
{
    tl_mcuboot_info_t info;
    const uint32_t n = sizeof(mcuboot_signed);
    /* The same image in a slot one byte too small, and in one exactly its size. */
    TL_EXPECT_EQ(check(mcuboot_signed, n - 1u, n - 1u, &info), TL_MCUBOOT_ERR_TOO_BIG);
    TL_EXPECT_EQ(check(mcuboot_signed, n, n, &info), TL_MCUBOOT_OK);
    /* Readable size larger than the slot is a caller error. */
    TL_EXPECT_EQ(check(mcuboot_signed, n, n - 1u, &info), TL_MCUBOOT_ERR_ARG);
    /* ih_img_size claims more than the slot: rejected before any payload read, also with
     * values that would wrap 32-bit arithmetic. */
    static const uint32_t sizes[] = {SLOT, 0xFFFFFFFFu, 0xFFFFFFE0u, 0x80000000u};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        memcpy(g_buf, mcuboot_signed, n);
        put_le32(g_buf + 12, sizes[i]);
        TL_EXPECT_EQ(check(g_buf, n, SLOT, &info), TL_MCUBOOT_ERR_TOO_BIG);
    }
    memcpy(g_buf, mcuboot_signed, n);
    put_le16(g_buf + 8, 0xFFFF); /* header size beyond the slot */
    TL_EXPECT_EQ(check(g_buf, n, 0x8000u, &info), TL_MCUBOOT_ERR_TOO_BIG);
}

static void test_header_fields(void)
{
    tl_mcuboot_info_t info;
    const uint32_t n = sizeof(mcuboot_unsigned);
    memcpy(g_buf, mcuboot_unsigned, n);
    put_le16(g_buf + 8, 31);
    TL_EXPECT_EQ(check(g_buf, n, SLOT, &info), TL_MCUBOOT_ERR_HEADER_SIZE);
    put_le16(g_buf + 8, 0);
    TL_EXPECT_EQ(check(g_buf, n, SLOT, &info), TL_MCUBOOT_ERR_HEADER_SIZE);
    static const uint32_t bad_flags[] = {TL_MCUBOOT_F_ENCRYPTED_AES128,
                                         TL_MCUBOOT_F_ENCRYPTED_AES256,
                                         TL_MCUBOOT_F_COMPRESSED_LZMA2};
    for (size_t i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
        memcpy(g_buf, mcuboot_unsigned, n);
        put_le32(g_buf + 16, TL_MCUBOOT_F_NON_BOOTABLE | bad_flags[i]);
        TL_EXPECT_EQ(check(g_buf, n, SLOT, &info), TL_MCUBOOT_ERR_UNSUPPORTED);
    }
    /* Protected size announced but the area is not there. */
    memcpy(g_buf, mcuboot_unsigned, n);
    put_le16(g_buf + 10, 8);
    TL_EXPECT_EQ(check(g_buf, n, SLOT, &info), TL_MCUBOOT_ERR_TLV_MAGIC);
    put_le16(g_buf + 10, 2);
    TL_EXPECT_EQ(check(g_buf, n, SLOT, &info), TL_MCUBOOT_ERR_TLV_OVERFLOW);
}

/* Build image = header(32) + 4-byte payload + [protected] + TLV area from `tlvs`. */
static uint32_t build(const uint8_t *prot, uint16_t prot_len, const uint8_t *tlvs,
                      uint16_t tlvs_len)
{
    memset(g_buf, 0, sizeof(g_buf));
    put_le32(g_buf, TL_MCUBOOT_MAGIC);
    put_le16(g_buf + 8, 32);
    put_le16(g_buf + 10, prot_len != 0u ? (uint16_t)(prot_len + 4u) : 0u);
    put_le32(g_buf + 12, 4);
    put_le32(g_buf + 16, TL_MCUBOOT_F_NON_BOOTABLE);
    uint32_t p = 36;
    if (prot_len != 0u) {
        put_le16(g_buf + p, TL_MCUBOOT_TLV_PROT_INFO_MAGIC);
        put_le16(g_buf + p + 2, (uint16_t)(prot_len + 4u));
        memcpy(g_buf + p + 4, prot, prot_len);
        p += 4u + prot_len;
    }
    const uint32_t hashed = p;
    put_le16(g_buf + p, TL_MCUBOOT_TLV_INFO_MAGIC);
    put_le16(g_buf + p + 2, (uint16_t)(tlvs_len + 4u));
    memcpy(g_buf + p + 4, tlvs, tlvs_len);
    p += 4u + tlvs_len;
    /* Fill in a correct SHA-256 if the first TLV is one. */
    if (tlvs_len >= 36u && tlvs[0] == TL_MCUBOOT_TLV_SHA256 && tlvs[2] == 32u) {
        tl_sha256(g_buf, hashed, g_buf + hashed + 8);
    }
    return p;
}

static uint8_t g_tlvs[512];

static uint16_t tlv(uint16_t at, uint16_t type, uint16_t len, uint8_t fill)
{
    put_le16(g_tlvs + at, type);
    put_le16(g_tlvs + at + 2, len);
    memset(g_tlvs + at + 4, fill, len);
    return (uint16_t)(at + 4u + len);
}

static void test_tlv_structure(void)
{
    tl_mcuboot_info_t info;
    uint16_t n;
    uint32_t len;

    /* Baseline built image passes: the builder is right. */
    n = tlv(0, TL_MCUBOOT_TLV_SHA256, 32, 0);
    len = build(NULL, 0, g_tlvs, n);
    TL_EXPECT_EQ(check(g_buf, len, SLOT, &info), TL_MCUBOOT_OK);
    /* Unknown vendor TLV is skipped. */
    n = tlv(n, 0x00a0, 3, 0x5a);
    len = build(NULL, 0, g_tlvs, n);
    TL_EXPECT_EQ(check(g_buf, len, SLOT, &info), TL_MCUBOOT_OK);
    TL_EXPECT_EQ(info.tlv_count, 2);

    /* No SHA-256 at all (only a SHA-512, which we do not support). */
    n = tlv(0, TL_MCUBOOT_TLV_SHA512, 64, 0);
    len = build(NULL, 0, g_tlvs, n);
    TL_EXPECT_EQ(check(g_buf, len, SLOT, &info), TL_MCUBOOT_ERR_NO_SHA256);
    /* Empty TLV area. */
    len = build(NULL, 0, g_tlvs, 0);
    TL_EXPECT_EQ(check(g_buf, len, SLOT, &info), TL_MCUBOOT_ERR_NO_SHA256);

    /* Duplicate SHA-256. */
    n = tlv(0, TL_MCUBOOT_TLV_SHA256, 32, 0);
    n = tlv(n, TL_MCUBOOT_TLV_SHA256, 32, 0);
    len = build(NULL, 0, g_tlvs, n);
    TL_EXPECT_EQ(check(g_buf, len, SLOT, &info), TL_MCUBOOT_ERR_TLV_DUPLICATE);
    /* Two signatures. */
    n = tlv(0, TL_MCUBOOT_TLV_SHA256, 32, 0);
    n = tlv(n, TL_MCUBOOT_TLV_ED25519, 64, 1);
    n = tlv(n, TL_MCUBOOT_TLV_ED25519, 64, 2);
    len = build(NULL, 0, g_tlvs, n);
    TL_EXPECT_EQ(check(g_buf, len, SLOT, &info), TL_MCUBOOT_ERR_TLV_DUPLICATE);

    /* Wrong lengths. */
    n = tlv(0, TL_MCUBOOT_TLV_SHA256, 31, 0);
    len = build(NULL, 0, g_tlvs, n);
    TL_EXPECT_EQ(check(g_buf, len, SLOT, &info), TL_MCUBOOT_ERR_TLV_LENGTH);
    n = tlv(0, TL_MCUBOOT_TLV_SHA256, 32, 0);
    n = tlv(n, TL_MCUBOOT_TLV_ED25519, 63, 1);
    len = build(NULL, 0, g_tlvs, n);
    TL_EXPECT_EQ(check(g_buf, len, SLOT, &info), TL_MCUBOOT_ERR_TLV_LENGTH);
    n = tlv(0, TL_MCUBOOT_TLV_SHA256, 32, 0);
    n = tlv(n, TL_MCUBOOT_TLV_KEYHASH, 20, 1);
    len = build(NULL, 0, g_tlvs, n);
    TL_EXPECT_EQ(check(g_buf, len, SLOT, &info), TL_MCUBOOT_ERR_TLV_LENGTH);

    /* A TLV whose length runs past the area, and a partial TLV header at the end. */
    n = tlv(0, TL_MCUBOOT_TLV_SHA256, 32, 0);
    n = tlv(n, 0x00a0, 8, 0);
    len = build(NULL, 0, g_tlvs, n);
    put_le16(g_buf + 36 + 4 + 36 + 2, 9);
    TL_EXPECT_EQ(check(g_buf, len + 1u, SLOT, &info), TL_MCUBOOT_ERR_TLV_OVERFLOW);
    put_le16(g_buf + 36 + 4 + 36 + 2, 0xFFFF);
    TL_EXPECT_EQ(check(g_buf, len, SLOT, &info), TL_MCUBOOT_ERR_TLV_OVERFLOW);
    n = tlv(0, TL_MCUBOOT_TLV_SHA256, 32, 0);
    len = build(NULL, 0, g_tlvs, (uint16_t)(n + 3u));
    TL_EXPECT_EQ(check(g_buf, len, SLOT, &info), TL_MCUBOOT_ERR_TLV_OVERFLOW);
    /* Area length smaller than its own info header. */
    n = tlv(0, TL_MCUBOOT_TLV_SHA256, 32, 0);
    len = build(NULL, 0, g_tlvs, n);
    put_le16(g_buf + 38, 3);
    TL_EXPECT_EQ(check(g_buf, len, SLOT, &info), TL_MCUBOOT_ERR_TLV_OVERFLOW);
}

static void test_tlv_placement(void)
{
    tl_mcuboot_info_t info;
    uint8_t prot[64];
    uint16_t n;
    uint32_t len;

    /* Security counter in the protected area: accepted, value read. */
    put_le16(prot, TL_MCUBOOT_TLV_SEC_CNT);
    put_le16(prot + 2, 4);
    put_le32(prot + 4, 0x01020304);
    n = tlv(0, TL_MCUBOOT_TLV_SHA256, 32, 0);
    len = build(prot, 8, g_tlvs, n);
    TL_EXPECT_EQ(check(g_buf, len, SLOT, &info), TL_MCUBOOT_OK);
    TL_EXPECT_EQ(info.security_counter, 0x01020304);
    /* Protected size in the header disagrees with the area's own length. */
    put_le16(g_buf + 10, 16);
    TL_EXPECT_EQ(check(g_buf, len, SLOT, &info), TL_MCUBOOT_ERR_TLV_OVERFLOW);
    /* Security counter in the unprotected area would not be covered by the hash. */
    n = tlv(0, TL_MCUBOOT_TLV_SHA256, 32, 0);
    n = tlv(n, TL_MCUBOOT_TLV_SEC_CNT, 4, 0);
    len = build(NULL, 0, g_tlvs, n);
    TL_EXPECT_EQ(check(g_buf, len, SLOT, &info), TL_MCUBOOT_ERR_TLV_PLACEMENT);
    /* The hash or a signature inside the protected area. */
    static const uint16_t bad[] = {TL_MCUBOOT_TLV_SHA256, TL_MCUBOOT_TLV_ED25519,
                                   TL_MCUBOOT_TLV_KEYHASH};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        put_le16(prot, bad[i]);
        put_le16(prot + 2, 4);
        n = tlv(0, TL_MCUBOOT_TLV_SHA256, 32, 0);
        len = build(prot, 8, g_tlvs, n);
        TL_EXPECT_EQ(check(g_buf, len, SLOT, &info), TL_MCUBOOT_ERR_TLV_PLACEMENT);
    }
}

static void test_hash_mismatch_is_specific(void)
{
    tl_mcuboot_info_t info;
    memcpy(g_buf, mcuboot_signed, sizeof(mcuboot_signed));
    g_buf[32 + 100] ^= 0x01; /* one payload bit */
    tl_mcuboot_src_t src = tl_mcuboot_src_mem(g_buf, sizeof(mcuboot_signed));
    TL_EXPECT_EQ(tl_mcuboot_parse(&src, SLOT, &info), TL_MCUBOOT_OK);
    uint8_t digest[TL_SHA256_SIZE];
    TL_EXPECT_EQ(tl_mcuboot_verify_hash(&src, &info, digest), TL_MCUBOOT_ERR_HASH_MISMATCH);
    uint8_t expect[TL_SHA256_SIZE];
    tl_sha256(g_buf, info.hashed_len, expect);
    TL_EXPECT_MEM_EQ(digest, expect, 32);
}

static int g_fail_at;
static int failing_read(void *ctx, uint32_t off, void *buf, uint32_t n)
{
    if ((int)off >= g_fail_at) {
        return -1;
    }
    memcpy(buf, (const uint8_t *)ctx + off, n);
    return 0;
}

static void test_read_errors_and_args(void)
{
    tl_mcuboot_info_t info;
    tl_mcuboot_src_t src = {failing_read, (void *)(uintptr_t)mcuboot_signed,
                            sizeof(mcuboot_signed)};
    g_fail_at = 0;
    TL_EXPECT_EQ(tl_mcuboot_parse(&src, SLOT, &info), TL_MCUBOOT_ERR_READ);
    /* Header readable, TLV area not. */
    g_fail_at = (int)MCUBOOT_SIGNED_HASHED_LEN;
    TL_EXPECT_EQ(tl_mcuboot_parse(&src, SLOT, &info), TL_MCUBOOT_ERR_READ);
    TL_EXPECT_EQ(tl_mcuboot_parse(NULL, SLOT, &info), TL_MCUBOOT_ERR_ARG);
    TL_EXPECT_EQ(tl_mcuboot_parse(&src, SLOT, NULL), TL_MCUBOOT_ERR_ARG);
    tl_mcuboot_info_t empty;
    memset(&empty, 0, sizeof(empty));
    tl_mcuboot_src_t mem = tl_mcuboot_src_mem(mcuboot_signed, sizeof(mcuboot_signed));
    TL_EXPECT_EQ(tl_mcuboot_verify_hash(&mem, &empty, NULL), TL_MCUBOOT_ERR_ARG);
    TL_EXPECT_EQ(tl_mcuboot_verify_hash(NULL, &empty, NULL), TL_MCUBOOT_ERR_ARG);
}

static void test_from_storage(void)
{
    const tl_storage_t *dev = tl_platform_storage();
    TL_EXPECT(dev != NULL);
    if (dev == NULL) {
        return;
    }
    uint32_t off = 0, size = 0;
    TL_EXPECT_EQ(tl_storage_sector(dev, 2, &off, &size), TL_STORAGE_OK);
    TL_EXPECT_EQ(tl_storage_erase(dev, 2), TL_STORAGE_OK);
    const uint32_t n = (sizeof(mcuboot_signed_seccnt) + 3u) & ~3u;
    memset(g_buf, 0xFF, n);
    memcpy(g_buf, mcuboot_signed_seccnt, sizeof(mcuboot_signed_seccnt));
    TL_EXPECT_EQ(tl_storage_write(dev, off, g_buf, n), TL_STORAGE_OK);

    tl_mcuboot_storage_ctx_t ctx;
    tl_mcuboot_src_t src = tl_mcuboot_src_storage(&ctx, dev, off, size);
    tl_mcuboot_info_t info;
    TL_EXPECT_EQ(tl_mcuboot_parse(&src, size, &info), TL_MCUBOOT_OK);
    TL_EXPECT_EQ(tl_mcuboot_verify_hash(&src, &info, NULL), TL_MCUBOOT_OK);
    TL_EXPECT_EQ(info.security_counter, 5);
    /* A slot that reaches past the device: the storage error surfaces as a read error. */
    uint32_t dev_size = tl_storage_size(dev);
    src = tl_mcuboot_src_storage(&ctx, dev, dev_size - 16u, 64u);
    TL_EXPECT_EQ(tl_mcuboot_parse(&src, 64u, &info), TL_MCUBOOT_ERR_READ);
    TL_EXPECT_EQ(ctx.err, TL_STORAGE_ERR_RANGE);
    TL_EXPECT_EQ(tl_storage_erase(dev, 2), TL_STORAGE_OK);
}

static void test_version_cmp_and_names(void)
{
    tl_mcuboot_version_t a = {1, 2, 3, 7}, b = {1, 2, 3, 7};
    TL_EXPECT_EQ(tl_mcuboot_version_cmp(&a, &b), 0);
    b.build = 8;
    TL_EXPECT_EQ(tl_mcuboot_version_cmp(&a, &b), -1);
    b.revision = 2;
    TL_EXPECT_EQ(tl_mcuboot_version_cmp(&a, &b), 1);
    b = a;
    b.major = 2;
    TL_EXPECT_EQ(tl_mcuboot_version_cmp(&a, &b), -1);
    b = a;
    b.minor = 1;
    TL_EXPECT_EQ(tl_mcuboot_version_cmp(&a, &b), 1);
    for (uint32_t e = 0; e <= TL_MCUBOOT_ERR_UNSIGNED; e++) {
        TL_EXPECT(strcmp(tl_mcuboot_err_name(e), "unknown") != 0);
    }
    TL_EXPECT(strcmp(tl_mcuboot_err_name(TL_MCUBOOT_ERR_HASH_MISMATCH), "hash_mismatch") == 0);
    TL_EXPECT(strcmp(tl_mcuboot_err_name(99), "unknown") == 0);
}

int main(void)
{
    TL_RUN(test_unsigned_image);
    TL_RUN(test_signed_image);
    TL_RUN(test_protected_security_counter);
    TL_RUN(test_unsigned_every_bit_flip_rejected);
    TL_RUN(test_signed_every_bit_flip);
    TL_RUN(test_truncated_at_every_length);
    TL_RUN(test_trailing_bytes_ignored);
    TL_RUN(test_wrong_magic);
    TL_RUN(test_oversized);
    TL_RUN(test_header_fields);
    TL_RUN(test_tlv_structure);
    TL_RUN(test_tlv_placement);
    TL_RUN(test_hash_mismatch_is_specific);
    TL_RUN(test_read_errors_and_args);
    TL_RUN(test_from_storage);
    TL_RUN(test_version_cmp_and_names);
    return tl_test_summary();
}
