/*
 * mgmt_img.c - MCUmgr image management group (1), see theraloop/mgmt_img.h and
 * docs/protocol.md. Request and response maps follow Zephyr's img_mgmt so stock clients
 * work unchanged; the behaviour below is written from the protocol description.
 *
 * Upload: the first chunk (off 0) names the image, the total length and optionally the
 * SHA-256 of the whole file; the target chooses the slot, the slot writer writes the
 * chunks (erasing sectors lazily), a running SHA-256 is kept. Every answer carries the
 * next offset expected, so a client whose chunk went astray resends from there; an off-0
 * chunk with the same image, length and SHA as the unfinished upload resumes it. After
 * the last byte the target checks the image (signature, model validation) and the answer
 * carries "match" when a SHA was given.
 *
 * Errors: v2 requests get {"err": {"group": 1, "rc": IMG_MGMT_ERR}}; v1 requests get
 * {"rc": MGMT_ERR, "rsn": text} (Zephyr's legacy answer with a reason). "busy" (therapy
 * running) is the generic EBUSY. The last error with its reason text is kept for `info`.
 */
#include "theraloop/mgmt_img.h"

#include <stddef.h>
#include <string.h>

#include <zcbor_encode.h>

#include "theraloop/sha256.h"
#include "theraloop/storage/mcuboot_image.h"
#include "theraloop/update/image_check.h"
#include "theraloop/update/slot_writer.h"

typedef struct {
    bool active;   /* chunks are being received */
    bool complete; /* all bytes received and the image accepted (answers late resends) */
    uint8_t image;
    uint8_t slot;
    uint8_t sha_len; /* bytes of `sha` given (0: none) */
    uint32_t len;
    uint8_t sha[TL_SHA256_SIZE];
    tl_sha256_t ctx;
    tl_slot_writer_t w;
} img_upload_t;

typedef struct {
    const tl_storage_t *dev;
    const tl_image_target_t *targets[TL_MGMT_IMG_MAX_IMAGES];
    uint32_t n;
    img_upload_t up;
    tl_mgmt_img_error_t err;
} img_state_t;

static img_state_t g_img;

/* --- errors ---------------------------------------------------------------------------- */

static tl_mgmt_err_t img_to_v1(uint16_t rc)
{
    switch (rc) {
    case TL_IMG_MGMT_ERR_NO_IMAGE:
    case TL_IMG_MGMT_ERR_HASH_NOT_FOUND:
        return TL_MGMT_ERR_ENOENT;
    case TL_IMG_MGMT_ERR_FLASH_CONFIG_QUERY_FAIL:
        return TL_MGMT_ERR_ENOTSUP;
    case TL_IMG_MGMT_ERR_NO_FREE_SLOT:
        return TL_MGMT_ERR_EBADSTATE;
    case TL_IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE:
        return TL_MGMT_ERR_ENOMEM;
    case TL_IMG_MGMT_ERR_IMAGE_CONFIRMATION_DENIED:
    case TL_IMG_MGMT_ERR_IMAGE_SETTING_TEST_TO_ACTIVE_DENIED:
        return TL_MGMT_ERR_EACCESSDENIED;
    case TL_IMG_MGMT_ERR_NO_TLVS:
    case TL_IMG_MGMT_ERR_INVALID_TLV:
    case TL_IMG_MGMT_ERR_INVALID_SLOT:
    case TL_IMG_MGMT_ERR_INVALID_OFFSET:
    case TL_IMG_MGMT_ERR_INVALID_LENGTH:
    case TL_IMG_MGMT_ERR_INVALID_IMAGE_HEADER:
    case TL_IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC:
    case TL_IMG_MGMT_ERR_INVALID_HASH:
    case TL_IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER:
    case TL_IMG_MGMT_ERR_INVALID_IMAGE_VECTOR_TABLE:
    case TL_IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN:
        return TL_MGMT_ERR_EINVAL;
    default:
        return TL_MGMT_ERR_EUNKNOWN;
    }
}

/* The img_mgmt code for a failed image check (detail = tl_img_err_t << 16 | sub-detail). */
static uint16_t image_check_rc(uint32_t detail)
{
    uint32_t e = detail >> 16;
    uint32_t d = detail & 0xFFFFu;
    switch (e) {
    case TL_IMG_ERR_FORMAT:
        switch (d) {
        case TL_MCUBOOT_ERR_MAGIC:
            return TL_IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC;
        case TL_MCUBOOT_ERR_HEADER_SIZE:
        case TL_MCUBOOT_ERR_UNSUPPORTED:
        case TL_MCUBOOT_ERR_TRUNCATED:
            return TL_IMG_MGMT_ERR_INVALID_IMAGE_HEADER;
        case TL_MCUBOOT_ERR_TOO_BIG:
            return TL_IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE;
        case TL_MCUBOOT_ERR_TLV_MAGIC:
            return TL_IMG_MGMT_ERR_NO_TLVS;
        case TL_MCUBOOT_ERR_NO_SHA256:
            return TL_IMG_MGMT_ERR_HASH_NOT_FOUND;
        case TL_MCUBOOT_ERR_HASH_MISMATCH:
            return TL_IMG_MGMT_ERR_INVALID_HASH;
        case TL_MCUBOOT_ERR_READ:
            return TL_IMG_MGMT_ERR_FLASH_READ_FAILED;
        case TL_MCUBOOT_ERR_TLV_OVERFLOW:
        case TL_MCUBOOT_ERR_TLV_LENGTH:
        case TL_MCUBOOT_ERR_TLV_DUPLICATE:
        case TL_MCUBOOT_ERR_TLV_PLACEMENT:
        case TL_MCUBOOT_ERR_UNSIGNED:
            return TL_IMG_MGMT_ERR_INVALID_TLV;
        default:
            return TL_IMG_MGMT_ERR_UNKNOWN;
        }
    case TL_IMG_ERR_HASH:
        return TL_IMG_MGMT_ERR_INVALID_HASH;
    case TL_IMG_ERR_UNSIGNED:
    case TL_IMG_ERR_KEY:
    case TL_IMG_ERR_SIGNATURE:
        return TL_IMG_MGMT_ERR_INVALID_TLV;
    case TL_IMG_ERR_KIND:
        return TL_IMG_MGMT_ERR_INVALID_IMAGE_HEADER;
    case TL_IMG_ERR_ROLLBACK:
        return TL_IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER;
    default:
        return TL_IMG_MGMT_ERR_UNKNOWN;
    }
}

/* The img_mgmt code for a target error in command `cmd` (confirm: of a state write). */
static uint16_t target_rc(uint32_t terr, uint32_t detail, uint8_t cmd, bool confirm)
{
    switch (terr) {
    case TL_IMGT_ERR_NO_SLOT:
        return TL_IMG_MGMT_ERR_NO_FREE_SLOT;
    case TL_IMGT_ERR_TOO_BIG:
        return TL_IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE;
    case TL_IMGT_ERR_STORAGE:
        if (cmd == TL_MGMT_IMG_ERASE) {
            return TL_IMG_MGMT_ERR_FLASH_ERASE_FAILED;
        }
        return TL_IMG_MGMT_ERR_FLASH_WRITE_FAILED;
    case TL_IMGT_ERR_IMAGE:
        return image_check_rc(detail);
    case TL_IMGT_ERR_VALIDATION:
        return TL_IMG_MGMT_ERR_INVALID_IMAGE_VECTOR_TABLE;
    case TL_IMGT_ERR_NO_IMAGE:
        return TL_IMG_MGMT_ERR_NO_IMAGE;
    case TL_IMGT_ERR_DENIED:
        if (cmd == TL_MGMT_IMG_STATE) {
            return confirm ? TL_IMG_MGMT_ERR_IMAGE_CONFIRMATION_DENIED
                           : TL_IMG_MGMT_ERR_IMAGE_SETTING_TEST_TO_ACTIVE_DENIED;
        }
        return TL_IMG_MGMT_ERR_NO_FREE_SLOT; /* the slot is in use */
    case TL_IMGT_ERR_OLDER:
        return TL_IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER;
    case TL_IMGT_ERR_NO_STORAGE:
        return TL_IMG_MGMT_ERR_FLASH_CONFIG_QUERY_FAIL;
    default:
        return TL_IMG_MGMT_ERR_UNKNOWN;
    }
}

static void record(uint8_t cmd, uint8_t image, uint16_t rc, uint32_t terr, uint32_t detail)
{
    tl_mgmt_img_error_t *r = &g_img.err;
    r->set = true;
    r->cmd = cmd;
    r->image = image;
    r->rc = rc;
    r->target_err = terr;
    r->detail = detail;
    r->reason[0] = '\0';
}

/* Answer with the error recorded last: a v2 group error, or v1 {"rc", "rsn"}. */
static tl_mgmt_err_t answer_error(tl_smp_req_t *req, bool generic)
{
    const tl_mgmt_img_error_t *r = &g_img.err;
    if (req->hdr.version == TL_SMP_VERSION_1) {
        uint32_t v1 = generic ? r->rc : (uint32_t)img_to_v1(r->rc);
        bool ok = zcbor_tstr_put_lit(req->enc, "rc") && zcbor_uint32_put(req->enc, v1) &&
                  zcbor_tstr_put_lit(req->enc, "rsn") &&
                  zcbor_tstr_encode_ptr(req->enc, r->reason, strlen(r->reason));
        return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
    }
    if (generic) {
        return (tl_mgmt_err_t)r->rc;
    }
    return tl_smp_group_error(req, r->rc);
}

/* A refusal by the group itself, with a fixed reason. */
static tl_mgmt_err_t fail(tl_smp_req_t *req, uint8_t cmd, uint8_t image, uint16_t rc,
                          const char *reason)
{
    record(cmd, image, rc, 0u, 0u);
    tl_imgt_text_add(g_img.err.reason, sizeof(g_img.err.reason), reason);
    return answer_error(req, false);
}

/* A target's failure: its code, and its own text for the reason. */
static tl_mgmt_err_t fail_target(tl_smp_req_t *req, uint8_t cmd, uint8_t image,
                                 const tl_image_target_t *t, uint32_t terr, uint32_t detail,
                                 bool confirm)
{
    char *reason = g_img.err.reason;
    const uint32_t cap = (uint32_t)sizeof(g_img.err.reason);
    if (terr == TL_IMGT_ERR_BUSY) {
        record(cmd, image, (uint16_t)TL_MGMT_ERR_EBUSY, terr, detail);
    } else {
        record(cmd, image, target_rc(terr, detail, cmd, confirm), terr, detail);
    }
    if (t->describe != NULL) {
        t->describe(terr, detail, reason, cap);
        reason[cap - 1u] = '\0';
    } else {
        tl_imgt_text_add(reason, cap, tl_imgt_err_name(terr));
    }
    return answer_error(req, terr == TL_IMGT_ERR_BUSY);
}

/* --- state ------------------------------------------------------------------------------ */

static bool put_version(zcbor_state_t *e, const tl_mcuboot_version_t *v)
{
    char s[48];
    size_t n = tl_mcuboot_version_str(v, s, sizeof s); /* MCUmgr's "1.2.3[.4]" */
    return zcbor_tstr_put_lit(e, "version") && zcbor_tstr_encode_ptr(e, s, n);
}

static bool put_flag(zcbor_state_t *e, const char *key, bool v)
{
    return zcbor_tstr_encode_ptr(e, key, strlen(key)) && zcbor_bool_put(e, v);
}

/* {"images": [...], "splitStatus": 0}: every slot that holds an image. */
static tl_mgmt_err_t put_states(tl_smp_req_t *req)
{
    zcbor_state_t *e = req->enc;
    bool ok = zcbor_tstr_put_lit(e, "images") &&
              zcbor_list_start_encode(e, TL_MGMT_IMG_MAX_IMAGES * TL_MGMT_IMG_MAX_SLOTS);
    for (uint32_t i = 0; ok && i < g_img.n; i++) {
        const tl_image_target_t *t = g_img.targets[i];
        for (uint32_t s = 0; ok && s < t->slot_count; s++) {
            tl_imgt_slot_t st;
            if (t->slot_state(s, &st) != TL_IMGT_OK || !st.present) {
                continue;
            }
            ok = zcbor_map_start_encode(e, 9) && zcbor_tstr_put_lit(e, "image") &&
                 zcbor_uint32_put(e, i) && zcbor_tstr_put_lit(e, "slot") &&
                 zcbor_uint32_put(e, s) && put_version(e, &st.version) &&
                 zcbor_tstr_put_lit(e, "hash") &&
                 zcbor_bstr_encode_ptr(e, (const char *)st.hash, sizeof(st.hash)) &&
                 put_flag(e, "bootable", st.bootable) && put_flag(e, "pending", st.pending) &&
                 put_flag(e, "confirmed", st.confirmed) && put_flag(e, "active", st.active) &&
                 put_flag(e, "permanent", st.permanent) && zcbor_map_end_encode(e, 9);
        }
    }
    ok = ok && zcbor_list_end_encode(e, TL_MGMT_IMG_MAX_IMAGES * TL_MGMT_IMG_MAX_SLOTS) &&
         zcbor_tstr_put_lit(e, "splitStatus") && zcbor_uint32_put(e, 0u);
    return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

static tl_mgmt_err_t img_state_read(tl_smp_req_t *req)
{
    return put_states(req);
}

static tl_mgmt_err_t img_state_write(tl_smp_req_t *req)
{
    struct zcbor_string hash = {0};
    bool confirm = false;
    tl_smp_field_t f[] = {
        {"hash", TL_SMP_VAL_BSTR, &hash, false},
        {"confirm", TL_SMP_VAL_FLAG, &confirm, false},
    };
    tl_mgmt_err_t rc = tl_smp_decode_map(req, f, sizeof(f) / sizeof(f[0]));
    if (rc != TL_MGMT_ERR_EOK) {
        return rc;
    }
    if (g_img.n == 0u) {
        return fail(req, TL_MGMT_IMG_STATE, 0u, TL_IMG_MGMT_ERR_NO_IMAGE, "no images");
    }
    if (!f[0].found) {
        if (!confirm) {
            return TL_MGMT_ERR_EINVAL; /* testing needs a hash */
        }
        uint32_t detail = 0;
        const tl_image_target_t *t = g_img.targets[0];
        uint32_t terr = t->set_state(NULL, true, &detail);
        if (terr != TL_IMGT_OK) {
            return fail_target(req, TL_MGMT_IMG_STATE, 0u, t, terr, detail, true);
        }
        return put_states(req);
    }
    if (hash.len != TL_SHA256_SIZE) {
        return fail(req, TL_MGMT_IMG_STATE, 0u, TL_IMG_MGMT_ERR_INVALID_HASH,
                    "state: hash must be 32 bytes");
    }
    for (uint32_t i = 0; i < g_img.n; i++) {
        const tl_image_target_t *t = g_img.targets[i];
        for (uint32_t s = 0; s < t->slot_count; s++) {
            tl_imgt_slot_t st;
            if (t->slot_state(s, &st) != TL_IMGT_OK || !st.present ||
                memcmp(st.hash, hash.value, sizeof(st.hash)) != 0) {
                continue;
            }
            uint32_t detail = 0;
            uint32_t terr = t->set_state(st.hash, confirm, &detail);
            if (terr != TL_IMGT_OK) {
                return fail_target(req, TL_MGMT_IMG_STATE, (uint8_t)i, t, terr, detail,
                                   confirm);
            }
            return put_states(req);
        }
    }
    return fail(req, TL_MGMT_IMG_STATE, 0u, TL_IMG_MGMT_ERR_HASH_NOT_FOUND,
                "state: no image with this hash");
}

/* --- upload ----------------------------------------------------------------------------- */

static tl_mgmt_err_t answer_off(tl_smp_req_t *req, uint32_t off)
{
    bool ok = zcbor_tstr_put_lit(req->enc, "off") && zcbor_uint32_put(req->enc, off);
    return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

static uint32_t rd_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

/* Version in an image header (the first TL_MCUBOOT_HEADER_SIZE bytes). */
static tl_mcuboot_version_t header_version(const uint8_t *h)
{
    tl_mcuboot_version_t v = {
        .major = h[20],
        .minor = h[21],
        .revision = (uint16_t)(h[22] | (h[23] << 8)),
        .build = rd_le32(&h[24]),
    };
    return v;
}

/* The version of the target's active slot; false if none. */
static bool active_version(const tl_image_target_t *t, tl_mcuboot_version_t *out)
{
    for (uint32_t s = 0; s < t->slot_count; s++) {
        tl_imgt_slot_t st;
        if (t->slot_state(s, &st) == TL_IMGT_OK && st.present && st.active) {
            *out = st.version;
            return true;
        }
    }
    return false;
}

/* Start an upload at off 0 (fields already decoded). Returns EOK with *started set, or
 * the error answer. */
static tl_mgmt_err_t start_upload(tl_smp_req_t *req, uint32_t image, bool have_len,
                                  uint32_t len, const struct zcbor_string *sha,
                                  bool have_sha, bool upgrade, const struct zcbor_string *data,
                                  bool *started)
{
    *started = false;
    const uint8_t cmd = TL_MGMT_IMG_UPLOAD;
    if (image >= g_img.n) {
        return fail(req, cmd, 0u, TL_IMG_MGMT_ERR_INVALID_SLOT, "upload: no such image");
    }
    const tl_image_target_t *t = g_img.targets[image];
    if (!have_len || len == 0u) {
        return fail(req, cmd, (uint8_t)image, TL_IMG_MGMT_ERR_INVALID_LENGTH,
                    "upload: len missing");
    }
    if (have_sha && (sha->len == 0u || sha->len > TL_SHA256_SIZE)) {
        return fail(req, cmd, (uint8_t)image, TL_IMG_MGMT_ERR_INVALID_HASH,
                    "upload: sha longer than 32 bytes");
    }
    img_upload_t *up = &g_img.up;
    /* The unfinished upload of the same file: go on where it stopped. */
    if (up->active && up->image == image && up->len == len && have_sha && up->sha_len > 0u &&
        up->sha_len == sha->len && memcmp(up->sha, sha->value, sha->len) == 0) {
        if (t->busy != NULL && t->busy()) {
            return fail_target(req, cmd, (uint8_t)image, t, TL_IMGT_ERR_BUSY, 0u, false);
        }
        return answer_off(req, up->w.off);
    }
    if (len < TL_MCUBOOT_HEADER_SIZE || data->len < TL_MCUBOOT_HEADER_SIZE) {
        return fail(req, cmd, (uint8_t)image, TL_IMG_MGMT_ERR_INVALID_IMAGE_HEADER,
                    "upload: first chunk must hold the image header");
    }
    if (data->len > len) {
        return fail(req, cmd, (uint8_t)image, TL_IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN,
                    "upload: data beyond len");
    }
    if (rd_le32(data->value) != TL_MCUBOOT_MAGIC) {
        return fail(req, cmd, (uint8_t)image, TL_IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC,
                    "upload: not an MCUboot image");
    }
    if (upgrade) {
        tl_mcuboot_version_t now;
        tl_mcuboot_version_t next = header_version(data->value);
        if (active_version(t, &now) && tl_mcuboot_version_cmp(&next, &now) <= 0) {
            return fail(req, cmd, (uint8_t)image, TL_IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER,
                        "upload: upgrade needs a newer version");
        }
    }
    if (g_img.dev == NULL) {
        return fail(req, cmd, (uint8_t)image, TL_IMG_MGMT_ERR_FLASH_CONFIG_QUERY_FAIL,
                    "upload: no storage");
    }
    if (t->busy != NULL && t->busy()) {
        return fail_target(req, cmd, (uint8_t)image, t, TL_IMGT_ERR_BUSY, 0u, false);
    }
    memset(up, 0, sizeof(*up)); /* an older unfinished upload is abandoned */
    uint32_t slot = 0;
    tl_flash_area_t area;
    uint32_t terr = t->upload_begin(len, &slot, &area);
    if (terr != TL_IMGT_OK) {
        return fail_target(req, cmd, (uint8_t)image, t, terr, 0u, false);
    }
    tl_slotw_err_t we = tl_slot_writer_begin(&up->w, g_img.dev, &area, len);
    if (we == TL_SLOTW_TOO_BIG) {
        return fail(req, cmd, (uint8_t)image, TL_IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE,
                    "upload: larger than the slot");
    }
    if (we != TL_SLOTW_OK) {
        return fail(req, cmd, (uint8_t)image, TL_IMG_MGMT_ERR_FLASH_CONFIG_QUERY_FAIL,
                    "upload: slot not writable");
    }
    up->active = true;
    up->image = (uint8_t)image;
    up->slot = (uint8_t)slot;
    up->len = len;
    if (have_sha) {
        memcpy(up->sha, sha->value, sha->len);
        up->sha_len = (uint8_t)sha->len;
    }
    tl_sha256_init(&up->ctx);
    g_img.err.set = false;
    *started = true;
    return TL_MGMT_ERR_EOK;
}

/* All bytes are in: program the tail, compare the SHA, let the target check the image. */
static tl_mgmt_err_t finish_upload(tl_smp_req_t *req)
{
    img_upload_t *up = &g_img.up;
    const tl_image_target_t *t = g_img.targets[up->image];
    const uint8_t cmd = TL_MGMT_IMG_UPLOAD;
    up->active = false;
    if (tl_slot_writer_finish(&up->w) != TL_SLOTW_OK) {
        record(cmd, up->image, TL_IMG_MGMT_ERR_FLASH_WRITE_FAILED, TL_IMGT_ERR_STORAGE, 0u);
        tl_imgt_text_add(g_img.err.reason, sizeof(g_img.err.reason), "storage: ");
        tl_imgt_text_add(g_img.err.reason, sizeof(g_img.err.reason),
                         tl_storage_err_name(up->w.err));
        return answer_error(req, false);
    }
    uint8_t digest[TL_SHA256_SIZE];
    tl_sha256_final(&up->ctx, digest);
    bool have_sha = up->sha_len > 0u;
    if (have_sha && memcmp(digest, up->sha, up->sha_len) != 0) {
        /* Not the file the client meant: the target never sees it. */
        record(cmd, up->image, TL_IMG_MGMT_ERR_INVALID_HASH, 0u, 0u);
        tl_imgt_text_add(g_img.err.reason, sizeof(g_img.err.reason), "upload: sha mismatch");
        bool ok = answer_off(req, up->len) == TL_MGMT_ERR_EOK &&
                  zcbor_tstr_put_lit(req->enc, "match") && zcbor_bool_put(req->enc, false);
        return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
    }
    uint32_t detail = 0;
    uint32_t terr = t->upload_done(up->slot, &detail);
    if (terr != TL_IMGT_OK) {
        return fail_target(req, cmd, up->image, t, terr, detail, false);
    }
    up->complete = true; /* a resent last chunk is answered with the end offset */
    tl_mgmt_err_t rc = answer_off(req, up->len);
    if (rc == TL_MGMT_ERR_EOK && have_sha) {
        bool ok = zcbor_tstr_put_lit(req->enc, "match") && zcbor_bool_put(req->enc, true);
        rc = ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
    }
    return rc;
}

static tl_mgmt_err_t img_upload(tl_smp_req_t *req)
{
    uint32_t off = 0;
    uint32_t len = 0;
    uint32_t image = 0;
    bool upgrade = false;
    struct zcbor_string data = {0};
    struct zcbor_string sha = {0};
    tl_smp_field_t f[] = {
        {"off", TL_SMP_VAL_U32, &off, false},     {"data", TL_SMP_VAL_BSTR, &data, false},
        {"len", TL_SMP_VAL_U32, &len, false},     {"sha", TL_SMP_VAL_BSTR, &sha, false},
        {"image", TL_SMP_VAL_U32, &image, false}, {"upgrade", TL_SMP_VAL_FLAG, &upgrade, false},
    };
    tl_mgmt_err_t rc = tl_smp_decode_map(req, f, sizeof(f) / sizeof(f[0]));
    if (rc != TL_MGMT_ERR_EOK) {
        return rc;
    }
    if (!f[0].found) {
        return fail(req, TL_MGMT_IMG_UPLOAD, (uint8_t)(image & 0xFFu),
                    TL_IMG_MGMT_ERR_INVALID_OFFSET, "upload: off missing");
    }
    if (!f[1].found) {
        return TL_MGMT_ERR_EINVAL;
    }
    img_upload_t *up = &g_img.up;
    if (off == 0u) {
        bool started = false;
        rc = start_upload(req, image, f[2].found, len, &sha, f[3].found, upgrade, &data,
                          &started);
        if (!started) {
            return rc; /* an error, or the answer to a resumed upload */
        }
    } else if (!up->active) {
        /* A late resend of the accepted last chunk, or nothing in progress (the device
         * was reset): the end, or start again from 0. */
        return answer_off(req, (up->complete) ? up->len : 0u);
    }
    const tl_image_target_t *t = g_img.targets[up->image];
    if (off != up->w.off) {
        return answer_off(req, up->w.off); /* not the chunk expected: where to go on */
    }
    if (data.len > (size_t)(up->len - up->w.off)) {
        return fail(req, TL_MGMT_IMG_UPLOAD, up->image, TL_IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN,
                    "upload: data beyond len");
    }
    if (off != 0u && t->busy != NULL && t->busy()) {
        return fail_target(req, TL_MGMT_IMG_UPLOAD, up->image, t, TL_IMGT_ERR_BUSY, 0u, false);
    }
    tl_slotw_err_t we = tl_slot_writer_write(&up->w, off, data.value, (uint32_t)data.len);
    if (we != TL_SLOTW_OK) {
        up->active = false;
        record(TL_MGMT_IMG_UPLOAD, up->image, TL_IMG_MGMT_ERR_FLASH_WRITE_FAILED,
               TL_IMGT_ERR_STORAGE, (uint32_t)up->w.err);
        tl_imgt_text_add(g_img.err.reason, sizeof(g_img.err.reason), "storage: ");
        tl_imgt_text_add(g_img.err.reason, sizeof(g_img.err.reason),
                         tl_storage_err_name(up->w.err));
        return answer_error(req, false);
    }
    tl_sha256_update(&up->ctx, data.value, data.len);
    if (up->w.off < up->len) {
        return answer_off(req, up->w.off);
    }
    return finish_upload(req);
}

/* --- erase ------------------------------------------------------------------------------ */

static tl_mgmt_err_t img_erase(tl_smp_req_t *req)
{
    uint32_t slot = 1u; /* MCUmgr's default: the first image's secondary slot */
    tl_smp_field_t f[] = {{"slot", TL_SMP_VAL_U32, &slot, false}};
    tl_mgmt_err_t rc = tl_smp_decode_map(req, f, 1);
    if (rc != TL_MGMT_ERR_EOK) {
        return rc;
    }
    /* Slots are numbered across images: image 0's slots first, then image 1's, ... */
    uint32_t base = 0;
    for (uint32_t i = 0; i < g_img.n; i++) {
        const tl_image_target_t *t = g_img.targets[i];
        if (slot - base < t->slot_count) {
            uint32_t s = slot - base;
            img_upload_t *up = &g_img.up;
            if ((up->active || up->complete) && up->image == i && up->slot == s) {
                memset(up, 0, sizeof(*up)); /* its bytes are about to go */
            }
            uint32_t terr = t->erase(s);
            if (terr != TL_IMGT_OK) {
                return fail_target(req, TL_MGMT_IMG_ERASE, (uint8_t)i, t, terr, 0u, false);
            }
            return TL_MGMT_ERR_EOK;
        }
        base += t->slot_count;
    }
    return fail(req, TL_MGMT_IMG_ERASE, 0u, TL_IMG_MGMT_ERR_INVALID_SLOT, "erase: no such slot");
}

/* --- registration ------------------------------------------------------------------------ */

static const tl_smp_cmd_t k_img_cmds[] = {
    {TL_MGMT_IMG_STATE, img_state_read, img_state_write},
    {TL_MGMT_IMG_UPLOAD, NULL, img_upload},
    {TL_MGMT_IMG_ERASE, NULL, img_erase},
};

static const tl_smp_group_t k_img_group = {
    .id = TL_SMP_GROUP_IMAGE,
    .cmds = k_img_cmds,
    .n_cmds = sizeof(k_img_cmds) / sizeof(k_img_cmds[0]),
    .to_v1 = img_to_v1,
};

tl_smp_status_t tl_mgmt_img_register(tl_smp_server_t *srv, const tl_storage_t *dev,
                                     const tl_image_target_t *const *targets, uint32_t n)
{
    if (srv == NULL || n > TL_MGMT_IMG_MAX_IMAGES || (targets == NULL && n > 0u)) {
        return TL_SMP_ERR_ARG;
    }
    for (uint32_t i = 0; i < n; i++) {
        const tl_image_target_t *t = targets[i];
        if (t == NULL || t->slot_count == 0u || t->slot_count > TL_MGMT_IMG_MAX_SLOTS ||
            t->upload_begin == NULL || t->upload_done == NULL || t->slot_state == NULL ||
            t->set_state == NULL || t->erase == NULL) {
            return TL_SMP_ERR_ARG;
        }
    }
    tl_smp_status_t st = tl_smp_server_register(srv, &k_img_group);
    if (st != TL_SMP_OK) {
        return st;
    }
    memset(&g_img, 0, sizeof(g_img));
    g_img.dev = dev;
    g_img.n = n;
    for (uint32_t i = 0; i < n; i++) {
        g_img.targets[i] = targets[i];
    }
    return TL_SMP_OK;
}

const tl_mgmt_img_error_t *tl_mgmt_img_last_error(void)
{
    return &g_img.err;
}

void tl_mgmt_img_upload_status(tl_mgmt_img_upload_t *out)
{
    if (out == NULL) {
        return;
    }
    memset(out, 0, sizeof(*out));
    const img_upload_t *up = &g_img.up;
    out->active = up->active;
    if (up->active || up->complete) {
        out->image = up->image;
        out->slot = up->slot;
        out->len = up->len;
        out->off = up->w.off;
    }
}

void tl_mgmt_img_abort_upload(void)
{
    memset(&g_img.up, 0, sizeof(g_img.up));
}
