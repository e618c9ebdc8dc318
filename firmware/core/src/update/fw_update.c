/*
 * fw_update.c - the application's side of a firmware update (see update/fw_update.h):
 * image 0 of the SMP image group. Slot 0 is fw_primary (the running image), slot 1
 * fw_secondary (uploads). The bootloader does the swap (docs/bootloader.md); this module
 * only checks uploads, writes requests into the BOOT section and confirms the running
 * image.
 *
 * Rules (MCUboot's test/confirm model):
 *   - an upload is refused while therapy runs (flash erases stall the CPU), and while the
 *     running image is an unconfirmed test image: fw_secondary then holds the image a
 *     revert brings back;
 *   - a new upload cancels a pending TEST/PERM request first (committed before anything is
 *     erased), so the bootloader never sees a request for a half-written slot;
 *   - a finished upload must pass the full check (image_check.h: structure, hash, Ed25519
 *     signature with the built-in key, bootable, security counter >= the stored one), carry
 *     the 0x200 header the application is linked for, and not be older than the running
 *     image; the same check runs again when the image is requested;
 *   - confirming the running image clears `testing` and raises the stored security counter
 *     to the running image's.
 */
#include "theraloop/update/fw_update.h"

#include <stddef.h>
#include <string.h>

#include "theraloop/storage/flash_map.h"
#include "theraloop/update/image_check.h"

typedef struct {
    const tl_storage_t *dev;
    tl_sysstate_t *st;
    const uint8_t *pubkey;
    const uint8_t *key_hash;
    bool (*busy)(void);
    tl_boot_state_t boot_at_init;
    bool running_valid;
    tl_mcuboot_info_t running;
} fw_state_t;

static fw_state_t g_fw;

/* --- helpers ------------------------------------------------------------------------- */

static tl_boot_state_t boot_now(void)
{
    tl_boot_state_t bs;
    memset(&bs, 0, sizeof(bs));
    if (g_fw.st != NULL) {
        (void)tl_boot_state_get(g_fw.st, &bs); /* defaults if absent or malformed */
    }
    return bs;
}

static tl_imgt_err_t boot_commit(const tl_boot_state_t *bs)
{
    if (!tl_boot_state_put(g_fw.st, bs)) {
        return TL_IMGT_ERR_STORAGE;
    }
    return (tl_sysstate_commit(g_fw.st) == TL_CFGSTORE_OK) ? TL_IMGT_OK : TL_IMGT_ERR_STORAGE;
}

static bool area(uint32_t id, tl_flash_area_t *out)
{
    return tl_flash_area_get(g_fw.dev, id, out) == TL_STORAGE_OK;
}

/* Structure of the image in an area (no hash check): false if there is none. */
static bool parse_area(uint32_t id, tl_mcuboot_info_t *info)
{
    tl_flash_area_t a;
    if (!area(id, &a)) {
        return false;
    }
    tl_mcuboot_storage_ctx_t ctx;
    tl_mcuboot_src_t src = tl_mcuboot_src_storage(&ctx, g_fw.dev, a.off, a.size);
    return tl_mcuboot_parse(&src, a.size, info) == TL_MCUBOOT_OK;
}

static bool is_busy(void)
{
    return g_fw.busy != NULL && g_fw.busy();
}

static uint32_t pack_detail(tl_img_err_t e, uint32_t d)
{
    return ((uint32_t)e << 16) | (d & 0xFFFFu);
}

/* The full check of the image in fw_secondary, as the bootloader will run it. */
static tl_imgt_err_t check_secondary(tl_mcuboot_info_t *info, uint32_t *detail)
{
    *detail = 0;
    tl_flash_area_t a;
    if (!area(TL_AREA_FW_SECONDARY, &a)) {
        return TL_IMGT_ERR_STORAGE;
    }
    tl_boot_state_t bs = boot_now();
    tl_img_policy_t policy = {
        .pubkey = g_fw.pubkey,
        .key_hash = g_fw.key_hash,
        .kind = TL_IMG_KIND_FIRMWARE,
        .min_security_counter = bs.security_counter,
    };
    tl_mcuboot_storage_ctx_t ctx;
    tl_mcuboot_src_t src = tl_mcuboot_src_storage(&ctx, g_fw.dev, a.off, a.size);
    uint32_t d = 0;
    tl_img_err_t e = tl_image_check(&src, a.size, &policy, info, &d);
    if (e != TL_IMG_OK) {
        *detail = pack_detail(e, d);
        return TL_IMGT_ERR_IMAGE;
    }
    if (info->hdr_size != TL_FW_HEADER_SIZE) {
        /* Linked for a 0x200 header: anything else cannot start. */
        *detail = pack_detail(TL_IMG_ERR_FORMAT, TL_MCUBOOT_ERR_HEADER_SIZE);
        return TL_IMGT_ERR_IMAGE;
    }
    if (g_fw.running_valid && tl_mcuboot_version_cmp(&info->version, &g_fw.running.version) < 0) {
        return TL_IMGT_ERR_OLDER;
    }
    return TL_IMGT_OK;
}

/* --- target operations ---------------------------------------------------------------- */

static tl_imgt_err_t fw_upload_begin(uint32_t len, uint32_t *slot, tl_flash_area_t *out)
{
    if (g_fw.dev == NULL) {
        return TL_IMGT_ERR_NO_STORAGE;
    }
    if (is_busy()) {
        return TL_IMGT_ERR_BUSY;
    }
    tl_flash_area_t a;
    if (!area(TL_AREA_FW_SECONDARY, &a)) {
        return TL_IMGT_ERR_STORAGE;
    }
    if (len > a.size) {
        return TL_IMGT_ERR_TOO_BIG;
    }
    tl_boot_state_t bs = boot_now();
    if (bs.testing != 0u) {
        return TL_IMGT_ERR_NO_SLOT; /* fw_secondary holds the image a revert needs */
    }
    if (bs.request != TL_BOOT_REQ_NONE) {
        bs.request = TL_BOOT_REQ_NONE;
        tl_imgt_err_t e = boot_commit(&bs);
        if (e != TL_IMGT_OK) {
            return e;
        }
    }
    *slot = 1u;
    *out = a;
    return TL_IMGT_OK;
}

static tl_imgt_err_t fw_upload_done(uint32_t slot, uint32_t *detail)
{
    *detail = 0;
    if (g_fw.dev == NULL) {
        return TL_IMGT_ERR_NO_STORAGE;
    }
    if (slot != 1u) {
        return TL_IMGT_ERR_DENIED;
    }
    tl_mcuboot_info_t info;
    return check_secondary(&info, detail);
}

static tl_imgt_err_t fw_slot_state(uint32_t slot, tl_imgt_slot_t *out)
{
    memset(out, 0, sizeof(*out));
    if (g_fw.dev == NULL) {
        return TL_IMGT_ERR_NO_STORAGE;
    }
    tl_boot_state_t bs = boot_now();
    if (slot == 0u) {
        if (!g_fw.running_valid) {
            return TL_IMGT_ERR_NO_IMAGE;
        }
        out->present = true;
        out->bootable = (g_fw.running.flags & TL_MCUBOOT_F_NON_BOOTABLE) == 0u;
        out->active = true;
        out->confirmed = bs.testing == 0u;
        out->version = g_fw.running.version;
        memcpy(out->hash, g_fw.running.sha256, sizeof(out->hash));
        return TL_IMGT_OK;
    }
    if (slot != 1u) {
        return TL_IMGT_ERR_NO_IMAGE;
    }
    tl_mcuboot_info_t info;
    if (!parse_area(TL_AREA_FW_SECONDARY, &info) || (info.present & TL_MCUBOOT_HAS_SHA256) == 0u) {
        return TL_IMGT_ERR_NO_IMAGE;
    }
    out->present = true;
    out->bootable = (info.flags & TL_MCUBOOT_F_NON_BOOTABLE) == 0u;
    out->version = info.version;
    memcpy(out->hash, info.sha256, sizeof(out->hash));
    if (bs.testing != 0u) {
        out->confirmed = true; /* the image a revert brings back */
    } else if (bs.request == TL_BOOT_REQ_TEST) {
        out->pending = true;
    } else if (bs.request == TL_BOOT_REQ_PERM) {
        out->pending = true;
        out->permanent = true;
    }
    return TL_IMGT_OK;
}

static tl_imgt_err_t fw_set_state(const uint8_t *hash, bool confirm, uint32_t *detail)
{
    *detail = 0;
    if (g_fw.dev == NULL) {
        return TL_IMGT_ERR_NO_STORAGE;
    }
    bool running = g_fw.running_valid && hash != NULL &&
                   memcmp(hash, g_fw.running.sha256, sizeof(g_fw.running.sha256)) == 0;
    if (hash == NULL || running) {
        /* The running image: it can be kept, not tested again. */
        return confirm ? tl_fw_update_confirm() : TL_IMGT_ERR_DENIED;
    }
    tl_mcuboot_info_t info;
    if (!parse_area(TL_AREA_FW_SECONDARY, &info) || (info.present & TL_MCUBOOT_HAS_SHA256) == 0u ||
        memcmp(hash, info.sha256, sizeof(info.sha256)) != 0) {
        return TL_IMGT_ERR_NO_IMAGE;
    }
    tl_boot_state_t bs = boot_now();
    if (bs.testing != 0u) {
        return TL_IMGT_ERR_DENIED; /* confirm (or revert) the running test image first */
    }
    tl_imgt_err_t e = check_secondary(&info, detail);
    if (e != TL_IMGT_OK) {
        return e;
    }
    bs.request = confirm ? TL_BOOT_REQ_PERM : TL_BOOT_REQ_TEST;
    return boot_commit(&bs);
}

static tl_imgt_err_t fw_erase(uint32_t slot)
{
    if (g_fw.dev == NULL) {
        return TL_IMGT_ERR_NO_STORAGE;
    }
    if (slot != 1u) {
        return TL_IMGT_ERR_DENIED; /* slot 0 is running */
    }
    if (is_busy()) {
        return TL_IMGT_ERR_BUSY;
    }
    tl_boot_state_t bs = boot_now();
    if (bs.testing != 0u) {
        return TL_IMGT_ERR_DENIED;
    }
    if (bs.request != TL_BOOT_REQ_NONE) {
        bs.request = TL_BOOT_REQ_NONE;
        tl_imgt_err_t e = boot_commit(&bs);
        if (e != TL_IMGT_OK) {
            return e;
        }
    }
    tl_flash_area_t a;
    if (!area(TL_AREA_FW_SECONDARY, &a)) {
        return TL_IMGT_ERR_STORAGE;
    }
    return (tl_flash_area_erase(g_fw.dev, &a) == TL_STORAGE_OK) ? TL_IMGT_OK
                                                                 : TL_IMGT_ERR_STORAGE;
}

static bool fw_busy(void)
{
    return is_busy();
}

static const tl_image_target_t k_fw_target = {
    .name = "firmware",
    .slot_count = 2u,
    .upload_begin = fw_upload_begin,
    .upload_done = fw_upload_done,
    .slot_state = fw_slot_state,
    .set_state = fw_set_state,
    .erase = fw_erase,
    .busy = fw_busy,
    .describe = tl_fw_update_describe,
};

/* --- public ------------------------------------------------------------------------- */

void tl_fw_update_init_with_key(const tl_storage_t *dev, tl_sysstate_t *st,
                                const uint8_t *pubkey, const uint8_t *key_hash)
{
    bool (*busy)(void) = g_fw.busy; /* the busy check survives re-initialisation */
    memset(&g_fw, 0, sizeof(g_fw));
    g_fw.busy = busy;
    if (dev == NULL || st == NULL || pubkey == NULL || key_hash == NULL) {
        return; /* no storage: every operation answers NO_STORAGE */
    }
    g_fw.dev = dev;
    g_fw.st = st;
    g_fw.pubkey = pubkey;
    g_fw.key_hash = key_hash;
    g_fw.boot_at_init = boot_now();
    g_fw.running_valid = parse_area(TL_AREA_FW_PRIMARY, &g_fw.running) &&
                         (g_fw.running.present & TL_MCUBOOT_HAS_SHA256) != 0u;
}

void tl_fw_update_set_busy_check(bool (*busy)(void))
{
    g_fw.busy = busy;
}

const tl_image_target_t *tl_fw_update_target(void)
{
    return &k_fw_target;
}

tl_imgt_err_t tl_fw_update_confirm(void)
{
    if (g_fw.dev == NULL) {
        return TL_IMGT_ERR_NO_STORAGE;
    }
    tl_boot_state_t bs = boot_now();
    tl_boot_state_t want = bs;
    want.testing = 0;
    if (g_fw.running_valid && (g_fw.running.present & TL_MCUBOOT_HAS_SEC_CNT) != 0u &&
        g_fw.running.security_counter > want.security_counter) {
        want.security_counter = g_fw.running.security_counter;
    }
    if (want.testing == bs.testing && want.security_counter == bs.security_counter) {
        return TL_IMGT_OK; /* nothing to change: no flash write */
    }
    return boot_commit(&want);
}

bool tl_fw_update_running(tl_mcuboot_version_t *version, uint8_t hash[32])
{
    if (!g_fw.running_valid) {
        return false;
    }
    if (version != NULL) {
        *version = g_fw.running.version;
    }
    if (hash != NULL) {
        memcpy(hash, g_fw.running.sha256, 32u);
    }
    return true;
}

const tl_boot_state_t *tl_fw_update_boot_state(void)
{
    return &g_fw.boot_at_init;
}

void tl_fw_update_boot_state_now(tl_boot_state_t *out)
{
    *out = boot_now();
}

void tl_fw_update_describe(uint32_t err, uint32_t detail, char *buf, uint32_t cap)
{
    if (buf == NULL || cap == 0u) {
        return;
    }
    buf[0] = '\0';
    tl_imgt_text_add(buf, cap, tl_imgt_err_name(err));
    if (err == TL_IMGT_ERR_IMAGE) {
        uint32_t e = detail >> 16;
        uint32_t d = detail & 0xFFFFu;
        tl_imgt_text_add(buf, cap, ": ");
        tl_imgt_text_add(buf, cap, tl_img_err_name(e));
        if (e == TL_IMG_ERR_FORMAT) {
            tl_imgt_text_add(buf, cap, ": ");
            tl_imgt_text_add(buf, cap, tl_mcuboot_err_name(d));
        } else if (e == TL_IMG_ERR_KEY) {
            tl_imgt_text_add(buf, cap, ": wrong key");
        } else if (e == TL_IMG_ERR_KIND) {
            tl_imgt_text_add(buf, cap, ": not bootable firmware");
        } else if (e == TL_IMG_ERR_ROLLBACK) {
            /* the detail holds only 16 bits of the image's counter: name the limit */
            tl_imgt_text_add(buf, cap, ": security counter below ");
            tl_imgt_text_add_u32(buf, cap, boot_now().security_counter);
        }
    } else if (err == TL_IMGT_ERR_OLDER) {
        tl_imgt_text_add(buf, cap, ": older than the running image");
    } else if (err == TL_IMGT_ERR_NO_SLOT) {
        tl_imgt_text_add(buf, cap, ": confirm the running test image first");
    } else if (err == TL_IMGT_ERR_BUSY) {
        tl_imgt_text_add(buf, cap, ": therapy running");
    }
}
