/*
 * test_image_check.c - the full signed-image check (update/image_check.h) on real imgtool
 * output (tests/unit/data/mcuboot/, regenerate with gen_mcuboot_images.py): model images
 * (mcuboot_images.h) and firmware images (fw_images.h) signed with the test key, another
 * key, unsigned, with and without security counters, and every single-byte corruption.
 */
#include <stdint.h>
#include <string.h>

#include "boot_test_util.h"
#include "theraloop/crypto/ed25519.h"
#include "tl_test.h"

static uint8_t g_buf[BT_IMG_MAX];
static uint8_t g_other_hash[32];

static tl_img_err_t check_buf(const uint8_t *buf, uint32_t len, uint32_t slot,
                              const tl_img_policy_t *pol, tl_mcuboot_info_t *info,
                              uint32_t *detail)
{
    tl_mcuboot_src_t src = tl_mcuboot_src_mem(buf, len);
    return tl_image_check(&src, slot, pol, info, detail);
}

static tl_img_policy_t policy(uint32_t kind, uint32_t min_counter)
{
    tl_img_policy_t p = bt_policy();
    p.kind = kind;
    p.min_security_counter = min_counter;
    return p;
}

static void test_key_hash_matches_imgtool(void)
{
    uint8_t h[32];
    bt_key_hash(fw_test_pubkey, h);
    TL_EXPECT_MEM_EQ(h, mcuboot_key_hash, 32);
    bt_key_hash(fw_other_pubkey, g_other_hash);
    TL_EXPECT(memcmp(g_other_hash, mcuboot_key_hash, 32) != 0);
}

static void test_good_model_image(void)
{
    tl_mcuboot_info_t info;
    uint32_t detail = 99;
    tl_img_policy_t p = policy(TL_IMG_KIND_MODEL, 0);
    TL_EXPECT_EQ(check_buf(mcuboot_signed, sizeof mcuboot_signed, 0x10000, &p, &info, &detail),
                 TL_IMG_OK);
    TL_EXPECT_EQ(detail, 0);
    TL_EXPECT_EQ(info.version.major, 1);
    TL_EXPECT_EQ(info.version.minor, 2);
    TL_EXPECT_EQ(info.version.revision, 3);
    TL_EXPECT_EQ(info.version.build, 7);
    TL_EXPECT_MEM_EQ(info.sha256, mcuboot_signed_digest, 32);
    p.kind = TL_IMG_KIND_ANY;
    TL_EXPECT_EQ(check_buf(mcuboot_signed, sizeof mcuboot_signed, 0x10000, &p, &info, &detail),
                 TL_IMG_OK);
    /* a model where firmware is expected: signed and intact, but the wrong kind */
    p.kind = TL_IMG_KIND_FIRMWARE;
    TL_EXPECT_EQ(check_buf(mcuboot_signed, sizeof mcuboot_signed, 0x10000, &p, &info, &detail),
                 TL_IMG_ERR_KIND);
    TL_EXPECT_EQ(detail, TL_MCUBOOT_F_NON_BOOTABLE);
}

static void test_good_firmware_image(void)
{
    tl_mcuboot_info_t info;
    uint32_t detail;
    uint32_t len = bt_image(FW_A, g_buf);
    tl_img_policy_t p = policy(TL_IMG_KIND_FIRMWARE, 1);
    TL_EXPECT_EQ(check_buf(g_buf, len, FW_SLOT_SIZE, &p, &info, &detail), TL_IMG_OK);
    TL_EXPECT_EQ(info.hdr_size, FW_HEADER_SIZE);
    TL_EXPECT_EQ(info.img_size, fw_images[FW_A].payload_len);
    TL_EXPECT_EQ(info.flags & TL_MCUBOOT_F_NON_BOOTABLE, 0);
    TL_EXPECT_EQ(info.security_counter, 1);
    TL_EXPECT_EQ(info.total_len, len);
    /* the slot may be read whole: erased bytes after the image do not matter */
    memset(g_buf + len, 0xFF, FW_SLOT_SIZE - len);
    TL_EXPECT_EQ(check_buf(g_buf, FW_SLOT_SIZE, FW_SLOT_SIZE, &p, &info, &detail), TL_IMG_OK);
    p.kind = TL_IMG_KIND_MODEL;
    TL_EXPECT_EQ(check_buf(g_buf, len, FW_SLOT_SIZE, &p, &info, &detail), TL_IMG_ERR_KIND);
    /* model image kind from fw_images.h too */
    len = bt_image(FW_MODEL, g_buf);
    p.kind = TL_IMG_KIND_FIRMWARE;
    TL_EXPECT_EQ(check_buf(g_buf, len, FW_SLOT_SIZE, &p, &info, &detail), TL_IMG_ERR_KIND);
    p.kind = TL_IMG_KIND_MODEL;
    TL_EXPECT_EQ(check_buf(g_buf, len, FW_SLOT_SIZE, &p, &info, &detail), TL_IMG_OK);
}

static void test_unsigned(void)
{
    tl_mcuboot_info_t info;
    uint32_t detail;
    tl_img_policy_t p = policy(TL_IMG_KIND_ANY, 0);
    TL_EXPECT_EQ(check_buf(mcuboot_unsigned, sizeof mcuboot_unsigned, 0x10000, &p, &info,
                           &detail),
                 TL_IMG_ERR_UNSIGNED);
    uint32_t len = bt_image(FW_UNSIGNED, g_buf);
    TL_EXPECT_EQ(check_buf(g_buf, len, FW_SLOT_SIZE, &p, &info, &detail), TL_IMG_ERR_UNSIGNED);
    /* parsing got through: the info is there for the caller's report */
    TL_EXPECT_EQ(info.version.minor, 4);
}

static void test_other_key(void)
{
    tl_mcuboot_info_t info;
    uint32_t detail;
    uint32_t len = bt_image(FW_OTHER_KEY, g_buf);
    tl_img_policy_t p = policy(TL_IMG_KIND_FIRMWARE, 0);
    TL_EXPECT_EQ(check_buf(g_buf, len, FW_SLOT_SIZE, &p, &info, &detail), TL_IMG_ERR_KEY);
    /* the same image is good for a device that trusts the other key */
    tl_img_policy_t other = {fw_other_pubkey, g_other_hash, TL_IMG_KIND_FIRMWARE, 0};
    TL_EXPECT_EQ(check_buf(g_buf, len, FW_SLOT_SIZE, &other, &info, &detail), TL_IMG_OK);
    /* ... and our image is not */
    uint32_t len_a = bt_image(FW_A, g_buf);
    TL_EXPECT_EQ(check_buf(g_buf, len_a, FW_SLOT_SIZE, &other, &info, &detail), TL_IMG_ERR_KEY);
    /* key hash matching but a different public key: the signature must not verify */
    len = bt_image(FW_OTHER_KEY, g_buf);
    tl_img_policy_t mixed = {fw_test_pubkey, g_other_hash, TL_IMG_KIND_FIRMWARE, 0};
    TL_EXPECT_EQ(check_buf(g_buf, len, FW_SLOT_SIZE, &mixed, &info, &detail),
                 TL_IMG_ERR_SIGNATURE);
    TL_EXPECT_EQ(detail, TL_ED25519_ERR_MISMATCH);
}

static void test_rollback(void)
{
    tl_mcuboot_info_t info;
    uint32_t detail;
    tl_img_policy_t p = policy(TL_IMG_KIND_ANY, 5);
    TL_EXPECT_EQ(check_buf(mcuboot_signed_seccnt, sizeof mcuboot_signed_seccnt, 0x10000, &p,
                           &info, &detail),
                 TL_IMG_OK);
    p.min_security_counter = 6;
    TL_EXPECT_EQ(check_buf(mcuboot_signed_seccnt, sizeof mcuboot_signed_seccnt, 0x10000, &p,
                           &info, &detail),
                 TL_IMG_ERR_ROLLBACK);
    TL_EXPECT_EQ(detail, 5);
    /* no counter TLV counts as 0 */
    p.min_security_counter = 0;
    TL_EXPECT_EQ(check_buf(mcuboot_signed, sizeof mcuboot_signed, 0x10000, &p, &info, &detail),
                 TL_IMG_OK);
    p.min_security_counter = 1;
    TL_EXPECT_EQ(check_buf(mcuboot_signed, sizeof mcuboot_signed, 0x10000, &p, &info, &detail),
                 TL_IMG_ERR_ROLLBACK);
    TL_EXPECT_EQ(detail, 0);
    uint32_t len = bt_image(FW_NOCNT, g_buf);
    TL_EXPECT_EQ(check_buf(g_buf, len, FW_SLOT_SIZE, &p, &info, &detail), TL_IMG_ERR_ROLLBACK);
    len = bt_image(FW_LOWCNT, g_buf);
    p.min_security_counter = 2;
    TL_EXPECT_EQ(check_buf(g_buf, len, FW_SLOT_SIZE, &p, &info, &detail), TL_IMG_ERR_ROLLBACK);
    TL_EXPECT_EQ(detail, 1);
}

/* Every single-byte corruption of an image is refused; the class of the error follows
 * from where the byte is. */
static void flip_everywhere(const uint8_t *img, uint32_t len, uint32_t slot,
                            const tl_img_policy_t *p)
{
    tl_mcuboot_info_t info;
    uint32_t detail;
    TL_EXPECT_EQ(check_buf(img, len, slot, p, &info, &detail), TL_IMG_OK);
    const tl_mcuboot_info_t good = info;
    static uint8_t buf[BT_IMG_MAX];
    uint32_t failures = 0;
    for (uint32_t i = 0; i < len; i++) {
        memcpy(buf, img, len);
        buf[i] ^= 0x01u;
        tl_img_err_t e = check_buf(buf, len, slot, p, &info, &detail);
        int ok = e != TL_IMG_OK;
        if (i >= good.payload_off && i < good.payload_off + good.payload_len) {
            ok = ok && e == TL_IMG_ERR_HASH; /* payload: integrity */
        } else if (i >= good.sha256_off && i < good.sha256_off + 32u) {
            ok = ok && e == TL_IMG_ERR_HASH;
        } else if (i >= good.key_off && i < good.key_off + 32u) {
            ok = ok && e == TL_IMG_ERR_KEY;
        } else if (i >= good.sig_off && i < good.sig_off + 64u) {
            ok = ok && e == TL_IMG_ERR_SIGNATURE;
        }
        if (!ok) {
            if (failures++ < 5u) {
                printf("  byte %u flipped: %s\n", (unsigned)i, tl_img_err_name(e));
            }
        }
    }
    TL_EXPECT_EQ(failures, 0);
}

static void test_flipped_byte_anywhere(void)
{
    tl_img_policy_t p = policy(TL_IMG_KIND_MODEL, 5);
    flip_everywhere(mcuboot_signed_seccnt, sizeof mcuboot_signed_seccnt, 0x10000, &p);
    static uint8_t img[BT_IMG_MAX];
    uint32_t len = bt_image(FW_NOCNT, img);
    p.kind = TL_IMG_KIND_FIRMWARE;
    p.min_security_counter = 0;
    flip_everywhere(img, len, FW_SLOT_SIZE, &p);
}

static void test_truncated_and_arguments(void)
{
    tl_mcuboot_info_t info;
    uint32_t detail;
    tl_img_policy_t p = policy(TL_IMG_KIND_ANY, 0);
    TL_EXPECT_EQ(check_buf(mcuboot_signed, sizeof mcuboot_signed - 1u, 0x10000, &p, &info,
                           &detail),
                 TL_IMG_ERR_FORMAT);
    TL_EXPECT_EQ(detail, TL_MCUBOOT_ERR_TRUNCATED);
    /* an image larger than its slot */
    TL_EXPECT_EQ(check_buf(mcuboot_signed, sizeof mcuboot_signed, 1024, &p, &info, &detail),
                 TL_IMG_ERR_FORMAT);
    tl_mcuboot_src_t src = tl_mcuboot_src_mem(mcuboot_signed, sizeof mcuboot_signed);
    TL_EXPECT_EQ(tl_image_check(&src, 0x10000, NULL, &info, &detail), TL_IMG_ERR_ARGUMENT);
    TL_EXPECT_EQ(tl_image_check(NULL, 0x10000, &p, &info, &detail), TL_IMG_ERR_ARGUMENT);
    TL_EXPECT_EQ(tl_image_check(&src, 0x10000, &p, NULL, &detail), TL_IMG_ERR_ARGUMENT);
    TL_EXPECT_EQ(tl_image_check(&src, 0x10000, &p, &info, NULL), TL_IMG_OK);
    tl_img_policy_t bad = p;
    bad.pubkey = NULL;
    TL_EXPECT_EQ(tl_image_check(&src, 0x10000, &bad, &info, &detail), TL_IMG_ERR_ARGUMENT);
    bad = p;
    bad.key_hash = NULL;
    TL_EXPECT_EQ(tl_image_check(&src, 0x10000, &bad, &info, &detail), TL_IMG_ERR_ARGUMENT);
    bad = p;
    bad.kind = 3;
    TL_EXPECT_EQ(tl_image_check(&src, 0x10000, &bad, &info, &detail), TL_IMG_ERR_ARGUMENT);
}

static uint32_t fake_clock(void *ctx)
{
    uint32_t *t = ctx;
    *t += 1000u;
    return *t;
}

static void test_timed_and_storage_source(void)
{
    /* a 150 KB image read from a flash device through the storage source */
    bt_fresh();
    TL_EXPECT_EQ(bt_put_image(TL_AREA_FW_SECONDARY, FW_A, UINT32_MAX), 0);
    tl_flash_area_t a = bt_area(TL_AREA_FW_SECONDARY);
    tl_mcuboot_storage_ctx_t ctx;
    tl_mcuboot_src_t src = tl_mcuboot_src_storage(&ctx, &bt_ram.dev, a.off, a.size);
    tl_img_policy_t p = policy(TL_IMG_KIND_FIRMWARE, 1);
    tl_mcuboot_info_t info;
    uint32_t detail;
    uint32_t clock = 0;
    tl_img_timing_t t = {0, 0};
    TL_EXPECT_EQ(tl_image_check_timed(&src, a.size, &p, &info, &detail, fake_clock, &clock, &t),
                 TL_IMG_OK);
    TL_EXPECT_EQ(t.sha256_cycles, 1000);
    TL_EXPECT_EQ(t.ed25519_cycles, 1000);
    TL_EXPECT_EQ(clock, 4000);
    /* a read error surfaces as a format error */
    bt_ram.powered_off = true;
    TL_EXPECT_EQ(tl_image_check(&src, a.size, &p, &info, &detail), TL_IMG_ERR_FORMAT);
    TL_EXPECT_EQ(detail, TL_MCUBOOT_ERR_READ);
    tl_storage_ram_power_on(&bt_ram);
}

static void test_names(void)
{
    TL_EXPECT(strcmp(tl_img_err_name(TL_IMG_OK), "ok") == 0);
    TL_EXPECT(strcmp(tl_img_err_name(TL_IMG_ERR_SIGNATURE), "signature") == 0);
    TL_EXPECT(strcmp(tl_img_err_name(TL_IMG_ERR_ROLLBACK), "rollback") == 0);
    TL_EXPECT(strcmp(tl_img_err_name(TL_IMG_ERR_KIND), "kind") == 0);
    TL_EXPECT(strcmp(tl_img_err_name(99), "unknown") == 0);
}

int main(void)
{
    TL_RUN(test_key_hash_matches_imgtool);
    TL_RUN(test_good_model_image);
    TL_RUN(test_good_firmware_image);
    TL_RUN(test_unsigned);
    TL_RUN(test_other_key);
    TL_RUN(test_rollback);
    TL_RUN(test_flipped_byte_anywhere);
    TL_RUN(test_truncated_and_arguments);
    TL_RUN(test_timed_and_storage_source);
    TL_RUN(test_names);
    return tl_test_summary();
}
