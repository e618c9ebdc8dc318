/* The application's side of a firmware update (update/fw_update.h) on the host RAM flash
 * with real imgtool images (tests/unit/data/fw_update/, header 0x200, slot 0x40000, signed
 * with the unit tests' key): upload into fw_secondary and check, TEST/PERM requests in the
 * BOOT section (committed to flash), confirm after a test swap (security counter raised),
 * refusals (older, rollback, tampered, wrong key, not bootable, busy, test image running),
 * slot states as MCUmgr reports them. */
#include <stdint.h>
#include <string.h>

#include "fwu_test_util.h"
#include "theraloop/update/image_check.h"
#include "theraloop/update/slot_writer.h"
#include "tl_test.h"

static uint8_t g_img[0x2000];

static const tl_image_target_t *T(void)
{
    return tl_fw_update_target();
}

/* Upload through the target as the image group does (chunks of 500 bytes). */
static tl_imgt_err_t upload(const uint8_t *img, uint32_t len, uint32_t *detail)
{
    uint32_t slot = 99;
    tl_flash_area_t area;
    tl_imgt_err_t e = T()->upload_begin(len, &slot, &area);
    if (e != TL_IMGT_OK) {
        return e;
    }
    TL_EXPECT_EQ(slot, 1);
    TL_EXPECT_EQ(area.off, 0x60000u);
    tl_slot_writer_t w;
    TL_EXPECT_EQ(tl_slot_writer_begin(&w, &fwu_ram.dev, &area, len), TL_SLOTW_OK);
    for (uint32_t off = 0; off < len; off += 500u) {
        uint32_t n = (len - off < 500u) ? len - off : 500u;
        TL_EXPECT_EQ(tl_slot_writer_write(&w, off, img + off, n), TL_SLOTW_OK);
    }
    TL_EXPECT_EQ(tl_slot_writer_finish(&w), TL_SLOTW_OK);
    return T()->upload_done(slot, detail);
}

static tl_imgt_slot_t slot_state(uint32_t slot, tl_imgt_err_t want)
{
    tl_imgt_slot_t s;
    TL_EXPECT_EQ(T()->slot_state(slot, &s), want);
    return s;
}

static void test_running_image(void)
{
    TL_EXPECT(fwu_fresh_device());
    tl_mcuboot_version_t v;
    uint8_t hash[32];
    TL_EXPECT(tl_fw_update_running(&v, hash));
    TL_EXPECT_EQ(v.major, 1);
    TL_EXPECT_EQ(v.minor, 0);
    TL_EXPECT_EQ(v.revision, 0);
    TL_EXPECT_MEM_EQ(hash, fw_v1_0_hash, 32);
    tl_imgt_slot_t s = slot_state(0, TL_IMGT_OK);
    TL_EXPECT(s.present && s.active && s.confirmed && s.bootable);
    TL_EXPECT(!s.pending && !s.permanent);
    TL_EXPECT_MEM_EQ(s.hash, fw_v1_0_hash, 32);
    slot_state(1, TL_IMGT_ERR_NO_IMAGE);
    slot_state(2, TL_IMGT_ERR_NO_IMAGE);
    TL_EXPECT_EQ(tl_fw_update_boot_state()->last_result, TL_BOOT_RESULT_NONE);
    TL_EXPECT_EQ(strcmp(T()->name, "firmware"), 0);
    TL_EXPECT_EQ(T()->slot_count, 2);

    /* nothing in fw_primary (started by a debugger): not reported */
    tl_flash_area_t a = fwu_area(TL_AREA_FW_PRIMARY);
    TL_EXPECT_EQ(tl_flash_area_erase(&fwu_ram.dev, &a), TL_STORAGE_OK);
    fwu_boot();
    TL_EXPECT(!tl_fw_update_running(&v, hash));
    slot_state(0, TL_IMGT_ERR_NO_IMAGE);
}

static void test_upload_and_request(void)
{
    TL_EXPECT(fwu_fresh_device());
    uint32_t detail = 99;
    TL_EXPECT_EQ(upload(fw_v1_1, sizeof(fw_v1_1), &detail), TL_IMGT_OK);
    TL_EXPECT_EQ(detail, 0);
    tl_imgt_slot_t s = slot_state(1, TL_IMGT_OK);
    TL_EXPECT(s.present && s.bootable && !s.pending && !s.active && !s.confirmed);
    TL_EXPECT_EQ(s.version.minor, 1);
    TL_EXPECT_MEM_EQ(s.hash, fw_v1_1_hash, 32);
    TL_EXPECT_EQ(fwu_stored_boot().request, TL_BOOT_REQ_NONE);

    /* test: request TEST, committed to flash */
    TL_EXPECT_EQ(T()->set_state(fw_v1_1_hash, false, &detail), TL_IMGT_OK);
    TL_EXPECT_EQ(fwu_stored_boot().request, TL_BOOT_REQ_TEST);
    s = slot_state(1, TL_IMGT_OK);
    TL_EXPECT(s.pending && !s.permanent);
    /* confirm instead: PERM */
    TL_EXPECT_EQ(T()->set_state(fw_v1_1_hash, true, &detail), TL_IMGT_OK);
    TL_EXPECT_EQ(fwu_stored_boot().request, TL_BOOT_REQ_PERM);
    s = slot_state(1, TL_IMGT_OK);
    TL_EXPECT(s.pending && s.permanent);
    /* the running image stays confirmed and active */
    s = slot_state(0, TL_IMGT_OK);
    TL_EXPECT(s.active && s.confirmed && !s.pending);

    /* a new upload cancels the request before anything is written */
    uint32_t slot = 0;
    tl_flash_area_t area;
    TL_EXPECT_EQ(T()->upload_begin(sizeof(fw_v1_1), &slot, &area), TL_IMGT_OK);
    TL_EXPECT_EQ(fwu_stored_boot().request, TL_BOOT_REQ_NONE);
    TL_EXPECT_EQ(T()->set_state(fw_v1_1_hash, false, &detail), TL_IMGT_OK);
    /* so does an erase of the slot */
    TL_EXPECT_EQ(T()->erase(1), TL_IMGT_OK);
    TL_EXPECT_EQ(fwu_stored_boot().request, TL_BOOT_REQ_NONE);
    slot_state(1, TL_IMGT_ERR_NO_IMAGE);
    TL_EXPECT_EQ(T()->set_state(fw_v1_1_hash, false, &detail), TL_IMGT_ERR_NO_IMAGE);
}

static void test_running_image_state_changes(void)
{
    TL_EXPECT(fwu_fresh_device());
    uint32_t detail = 0;
    /* testing the running image is refused; confirming it is fine (nothing to write) */
    TL_EXPECT_EQ(T()->set_state(fw_v1_0_hash, false, &detail), TL_IMGT_ERR_DENIED);
    TL_EXPECT_EQ(T()->set_state(NULL, false, &detail), TL_IMGT_ERR_DENIED);
    uint32_t writes = fwu_ram.writes;
    TL_EXPECT_EQ(T()->set_state(fw_v1_0_hash, true, &detail), TL_IMGT_OK);
    TL_EXPECT_EQ(T()->set_state(NULL, true, &detail), TL_IMGT_OK);
    TL_EXPECT_EQ(fwu_ram.writes, writes); /* already confirmed: no flash write */
    /* unknown hash */
    uint8_t h[32];
    memset(h, 0x5A, sizeof(h));
    TL_EXPECT_EQ(T()->set_state(h, false, &detail), TL_IMGT_ERR_NO_IMAGE);
    /* slot 0 cannot be erased */
    TL_EXPECT_EQ(T()->erase(0), TL_IMGT_ERR_DENIED);
    TL_EXPECT_EQ(T()->erase(2), TL_IMGT_ERR_DENIED);
}

/* After the bootloader swapped in a test image: confirm it. */
static void test_confirm_after_test_swap(void)
{
    TL_EXPECT(fwu_fresh_device());
    /* the bootloader's work: new image in primary, old one in secondary, testing */
    TL_EXPECT(fwu_flash_image(TL_AREA_FW_PRIMARY, fw_v1_2_sc5, sizeof(fw_v1_2_sc5)));
    TL_EXPECT(fwu_flash_image(TL_AREA_FW_SECONDARY, fw_v1_0, sizeof(fw_v1_0)));
    tl_boot_state_t bs;
    memset(&bs, 0, sizeof(bs));
    bs.testing = 1;
    bs.last_result = TL_BOOT_RESULT_SWAPPED_TEST;
    bs.swap_count = 1;
    TL_EXPECT(fwu_put_boot(&bs));
    fwu_boot();
    TL_EXPECT_EQ(tl_fw_update_boot_state()->last_result, TL_BOOT_RESULT_SWAPPED_TEST);
    TL_EXPECT_EQ(tl_fw_update_boot_state()->testing, 1);

    tl_imgt_slot_t s0 = slot_state(0, TL_IMGT_OK);
    TL_EXPECT(s0.active && !s0.confirmed);
    TL_EXPECT_MEM_EQ(s0.hash, fw_v1_2_sc5_hash, 32);
    tl_imgt_slot_t s1 = slot_state(1, TL_IMGT_OK);
    TL_EXPECT(s1.confirmed && !s1.pending && !s1.active); /* what a revert brings back */

    /* while testing: fw_secondary must be kept */
    uint32_t slot = 0;
    tl_flash_area_t area;
    uint32_t detail = 0;
    TL_EXPECT_EQ(T()->upload_begin(100u, &slot, &area), TL_IMGT_ERR_NO_SLOT);
    TL_EXPECT_EQ(T()->erase(1), TL_IMGT_ERR_DENIED);
    TL_EXPECT_EQ(T()->set_state(fw_v1_0_hash, false, &detail), TL_IMGT_ERR_DENIED);

    /* confirm: testing cleared, security counter raised to the image's, in flash */
    TL_EXPECT_EQ(T()->set_state(NULL, true, &detail), TL_IMGT_OK);
    tl_boot_state_t stored = fwu_stored_boot();
    TL_EXPECT_EQ(stored.testing, 0);
    TL_EXPECT_EQ(stored.security_counter, 5);
    TL_EXPECT_EQ(stored.swap_count, 1); /* other fields kept */
    TL_EXPECT_EQ(stored.last_result, TL_BOOT_RESULT_SWAPPED_TEST);
    s0 = slot_state(0, TL_IMGT_OK);
    TL_EXPECT(s0.active && s0.confirmed);
    s1 = slot_state(1, TL_IMGT_OK);
    TL_EXPECT(!s1.confirmed && !s1.pending);
    /* confirming again writes nothing */
    uint32_t writes = fwu_ram.writes;
    TL_EXPECT_EQ(tl_fw_update_confirm(), TL_IMGT_OK);
    TL_EXPECT_EQ(fwu_ram.writes, writes);

    /* rollback protection: a newer version with a lower security counter is refused */
    TL_EXPECT_EQ(upload(fw_v1_3_sc2, sizeof(fw_v1_3_sc2), &detail), TL_IMGT_ERR_IMAGE);
    TL_EXPECT_EQ(detail >> 16, TL_IMG_ERR_ROLLBACK);
    char text[64];
    tl_fw_update_describe(TL_IMGT_ERR_IMAGE, detail, text, sizeof(text));
    TL_EXPECT(strstr(text, "rollback") != NULL);
    /* and cannot be requested */
    TL_EXPECT_EQ(T()->set_state(fw_v1_3_sc2_hash, false, &detail), TL_IMGT_ERR_IMAGE);
    TL_EXPECT_EQ(fwu_stored_boot().request, TL_BOOT_REQ_NONE);
}

static void test_older_refused(void)
{
    TL_EXPECT(fwu_fresh_device());
    uint32_t detail = 0;
    TL_EXPECT_EQ(upload(fw_v0_9, sizeof(fw_v0_9), &detail), TL_IMGT_ERR_OLDER);
    /* it is in the slot (structurally fine) but cannot be requested */
    tl_imgt_slot_t s = slot_state(1, TL_IMGT_OK);
    TL_EXPECT(s.present);
    TL_EXPECT_EQ(T()->set_state(fw_v0_9_hash, false, &detail), TL_IMGT_ERR_OLDER);
    TL_EXPECT_EQ(T()->set_state(fw_v0_9_hash, true, &detail), TL_IMGT_ERR_OLDER);
    TL_EXPECT_EQ(fwu_stored_boot().request, TL_BOOT_REQ_NONE);
    /* the same version as the running one is not older */
    TL_EXPECT_EQ(upload(fw_v1_0, sizeof(fw_v1_0), &detail), TL_IMGT_OK);
}

static void test_bad_images_refused(void)
{
    TL_EXPECT(fwu_fresh_device());
    uint32_t detail = 0;
    char text[64];

    /* one payload byte changed: the hash no longer matches */
    memcpy(g_img, fw_v1_1, sizeof(fw_v1_1));
    g_img[0x200 + 100] ^= 0x01u;
    TL_EXPECT_EQ(upload(g_img, sizeof(fw_v1_1), &detail), TL_IMGT_ERR_IMAGE);
    TL_EXPECT_EQ(detail >> 16, TL_IMG_ERR_HASH);

    /* signature byte changed */
    memcpy(g_img, fw_v1_1, sizeof(fw_v1_1));
    g_img[sizeof(fw_v1_1) - 10u] ^= 0x80u;
    TL_EXPECT_EQ(upload(g_img, sizeof(fw_v1_1), &detail), TL_IMGT_ERR_IMAGE);
    TL_EXPECT_EQ(detail >> 16, TL_IMG_ERR_SIGNATURE);
    tl_fw_update_describe(TL_IMGT_ERR_IMAGE, detail, text, sizeof(text));
    TL_EXPECT_EQ(strcmp(text, "image: signature"), 0);

    /* another key */
    TL_EXPECT_EQ(upload(fw_v1_5_other_key, sizeof(fw_v1_5_other_key), &detail),
                 TL_IMGT_ERR_IMAGE);
    TL_EXPECT_EQ(detail >> 16, TL_IMG_ERR_KEY);
    tl_fw_update_describe(TL_IMGT_ERR_IMAGE, detail, text, sizeof(text));
    TL_EXPECT_EQ(strcmp(text, "image: key: wrong key"), 0);

    /* signed, intact, but not bootable */
    TL_EXPECT_EQ(upload(fw_v1_4_model, sizeof(fw_v1_4_model), &detail), TL_IMGT_ERR_IMAGE);
    TL_EXPECT_EQ(detail >> 16, TL_IMG_ERR_KIND);

    /* not an image at all */
    memset(g_img, 0x11, 1000);
    TL_EXPECT_EQ(upload(g_img, 1000u, &detail), TL_IMGT_ERR_IMAGE);
    TL_EXPECT_EQ(detail >> 16, TL_IMG_ERR_FORMAT);
    TL_EXPECT_EQ(detail & 0xFFFFu, TL_MCUBOOT_ERR_MAGIC);
    tl_fw_update_describe(TL_IMGT_ERR_IMAGE, detail, text, sizeof(text));
    TL_EXPECT(strncmp(text, "image: format: ", 15) == 0);

    /* tampered after a good upload: the request re-checks the slot */
    TL_EXPECT_EQ(upload(fw_v1_1, sizeof(fw_v1_1), &detail), TL_IMGT_OK);
    tl_flash_area_t a = fwu_area(TL_AREA_FW_SECONDARY);
    uint8_t zero[4] = {0, 0, 0, 0};
    TL_EXPECT_EQ(tl_storage_write(&fwu_ram.dev, a.off + 0x300u, zero, 4), TL_STORAGE_OK);
    TL_EXPECT_EQ(T()->set_state(fw_v1_1_hash, false, &detail), TL_IMGT_ERR_IMAGE);
    TL_EXPECT_EQ(detail >> 16, TL_IMG_ERR_HASH);
    TL_EXPECT_EQ(fwu_stored_boot().request, TL_BOOT_REQ_NONE);

    /* too big for the slot */
    uint32_t slot = 0;
    TL_EXPECT_EQ(T()->upload_begin(0x40001u, &slot, &a), TL_IMGT_ERR_TOO_BIG);
}

static bool g_busy;
static bool busy_fn(void)
{
    return g_busy;
}

static void test_busy(void)
{
    TL_EXPECT(fwu_fresh_device());
    uint32_t detail = 0;
    TL_EXPECT_EQ(upload(fw_v1_1, sizeof(fw_v1_1), &detail), TL_IMGT_OK);
    tl_fw_update_set_busy_check(busy_fn);
    g_busy = true;
    TL_EXPECT(T()->busy());
    uint32_t slot = 0;
    tl_flash_area_t a;
    TL_EXPECT_EQ(T()->upload_begin(100u, &slot, &a), TL_IMGT_ERR_BUSY);
    TL_EXPECT_EQ(T()->erase(1), TL_IMGT_ERR_BUSY);
    /* state commits (a 16 KiB sector) are allowed while therapy runs */
    TL_EXPECT_EQ(T()->set_state(fw_v1_1_hash, false, &detail), TL_IMGT_OK);
    TL_EXPECT_EQ(fwu_stored_boot().request, TL_BOOT_REQ_TEST);
    char text[64];
    tl_fw_update_describe(TL_IMGT_ERR_BUSY, 0, text, sizeof(text));
    TL_EXPECT_EQ(strcmp(text, "busy: therapy running"), 0);
    g_busy = false;
    TL_EXPECT(!T()->busy());
    TL_EXPECT_EQ(T()->upload_begin(100u, &slot, &a), TL_IMGT_OK);
    tl_fw_update_set_busy_check(NULL);
}

static void test_no_storage(void)
{
    tl_fw_update_init_with_key(NULL, NULL, fwu_test_pubkey, fwu_test_key_hash);
    uint32_t slot = 0;
    uint32_t detail = 0;
    tl_flash_area_t a;
    tl_imgt_slot_t s;
    TL_EXPECT_EQ(T()->upload_begin(100u, &slot, &a), TL_IMGT_ERR_NO_STORAGE);
    TL_EXPECT_EQ(T()->upload_done(1, &detail), TL_IMGT_ERR_NO_STORAGE);
    TL_EXPECT_EQ(T()->slot_state(0, &s), TL_IMGT_ERR_NO_STORAGE);
    TL_EXPECT_EQ(T()->set_state(NULL, true, &detail), TL_IMGT_ERR_NO_STORAGE);
    TL_EXPECT_EQ(T()->erase(1), TL_IMGT_ERR_NO_STORAGE);
    TL_EXPECT_EQ(tl_fw_update_confirm(), TL_IMGT_ERR_NO_STORAGE);
    TL_EXPECT(!tl_fw_update_running(NULL, NULL));
    TL_EXPECT_EQ(tl_fw_update_boot_state()->last_result, 0);
}

static void test_commit_failure(void)
{
    TL_EXPECT(fwu_fresh_device());
    uint32_t detail = 0;
    TL_EXPECT_EQ(upload(fw_v1_1, sizeof(fw_v1_1), &detail), TL_IMGT_OK);
    tl_storage_ram_cut_after(&fwu_ram, 0);
    TL_EXPECT_EQ(T()->set_state(fw_v1_1_hash, false, &detail), TL_IMGT_ERR_STORAGE);
    tl_storage_ram_power_on(&fwu_ram);
    TL_EXPECT_EQ(fwu_stored_boot().request, TL_BOOT_REQ_NONE);
}

int main(void)
{
    TL_RUN(test_running_image);
    TL_RUN(test_upload_and_request);
    TL_RUN(test_running_image_state_changes);
    TL_RUN(test_confirm_after_test_swap);
    TL_RUN(test_older_refused);
    TL_RUN(test_bad_images_refused);
    TL_RUN(test_busy);
    TL_RUN(test_no_storage);
    TL_RUN(test_commit_failure);
    return tl_test_summary();
}
