/*
 * mgmt_img.h - MCUmgr's image management group (1) as Zephyr's img_mgmt, so smpclient,
 * mcumgr and other stock clients update the device unchanged: state read/write, chunked
 * upload, erase. The images are tl_image_target_t's (update/image_target.h) registered
 * by number: image 0 = firmware (fw_update.h), image 1 = the therapy model
 * (model_slots.h). Uploads are written into the target's slot with a slot writer
 * (update/slot_writer.h) on the storage device. Wire format: docs/protocol.md,
 * "image group (1)".
 */
#ifndef THERALOOP_MGMT_IMG_H
#define THERALOOP_MGMT_IMG_H

#include <stdbool.h>
#include <stdint.h>

#include "theraloop/smp.h"
#include "theraloop/storage/storage.h"
#include "theraloop/update/image_target.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TL_SMP_GROUP_IMAGE 1u

/* Command ids (Zephyr's). */
#define TL_MGMT_IMG_STATE 0u  /* read -> {"images": [...], "splitStatus": 0};
                               * write {["hash"], ["confirm"]} -> the same */
#define TL_MGMT_IMG_UPLOAD 1u /* write {"off", "data", ["image", "len", "sha", "upgrade"]}
                               * -> {"off"[, "match"]} */
#define TL_MGMT_IMG_ERASE 5u  /* write {["slot"]} -> {} */

/* Most images one group serves (image numbers 0 .. TL_MGMT_IMG_MAX_IMAGES - 1). */
#define TL_MGMT_IMG_MAX_IMAGES 4u
/* Most slots of one image. */
#define TL_MGMT_IMG_MAX_SLOTS 2u

/* img_mgmt group error codes (v2 err.rc), the numbers of MCUmgr's IMG_MGMT_ERR (smp
 * package, Zephyr's img_mgmt.h). Only those the device sends are listed. */
typedef enum {
    TL_IMG_MGMT_ERR_OK = 0,
    TL_IMG_MGMT_ERR_UNKNOWN = 1,
    TL_IMG_MGMT_ERR_FLASH_CONFIG_QUERY_FAIL = 2,  /* the board has no storage */
    TL_IMG_MGMT_ERR_NO_IMAGE = 3,
    TL_IMG_MGMT_ERR_NO_TLVS = 4,
    TL_IMG_MGMT_ERR_INVALID_TLV = 5,              /* also: unsigned, wrong key, bad signature */
    TL_IMG_MGMT_ERR_HASH_NOT_FOUND = 8,
    TL_IMG_MGMT_ERR_NO_FREE_SLOT = 9,
    TL_IMG_MGMT_ERR_FLASH_READ_FAILED = 11,
    TL_IMG_MGMT_ERR_FLASH_WRITE_FAILED = 12,
    TL_IMG_MGMT_ERR_FLASH_ERASE_FAILED = 13,
    TL_IMG_MGMT_ERR_INVALID_SLOT = 14,
    TL_IMG_MGMT_ERR_INVALID_OFFSET = 20,
    TL_IMG_MGMT_ERR_INVALID_LENGTH = 21,
    TL_IMG_MGMT_ERR_INVALID_IMAGE_HEADER = 22,
    TL_IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC = 23,
    TL_IMG_MGMT_ERR_INVALID_HASH = 24,
    TL_IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER = 27,
    TL_IMG_MGMT_ERR_INVALID_IMAGE_VECTOR_TABLE = 29, /* image contents refused (model validation) */
    TL_IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE = 30,
    TL_IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN = 31,
    TL_IMG_MGMT_ERR_IMAGE_CONFIRMATION_DENIED = 32,
    TL_IMG_MGMT_ERR_IMAGE_SETTING_TEST_TO_ACTIVE_DENIED = 33,
} tl_img_mgmt_err_t;

/* Register the group with targets[i] serving image i (n <= TL_MGMT_IMG_MAX_IMAGES, each
 * with slot_count <= TL_MGMT_IMG_MAX_SLOTS; targets must outlive the server). dev: the
 * storage device uploads are written to (NULL: uploads fail with
 * FLASH_CONFIG_QUERY_FAIL). Resets the group's state (no upload, no last error). */
tl_smp_status_t tl_mgmt_img_register(tl_smp_server_t *srv, const tl_storage_t *dev,
                                     const tl_image_target_t *const *targets, uint32_t n);

/* The last failed image-group request, for `info` (v2 error answers carry only the code). */
typedef struct {
    bool set;
    uint8_t cmd;          /* TL_MGMT_IMG_* */
    uint8_t image;
    uint16_t rc;          /* the img_mgmt code (or generic MGMT_ERR for BUSY) answered */
    uint32_t target_err;  /* tl_imgt_err_t, 0 if the group itself refused */
    uint32_t detail;      /* the target's detail */
    char reason[64];      /* "image: signature", "upload: sha mismatch", ... */
} tl_mgmt_img_error_t;

const tl_mgmt_img_error_t *tl_mgmt_img_last_error(void);

/* The upload in progress, for `info`/diagnostics. */
typedef struct {
    bool active;
    uint8_t image;
    uint8_t slot;
    uint32_t len;
    uint32_t off;
} tl_mgmt_img_upload_t;

void tl_mgmt_img_upload_status(tl_mgmt_img_upload_t *out);

/* Forget an unfinished upload (e.g. before the application rewrites the target's slots
 * itself); a client then starts again from offset 0. */
void tl_mgmt_img_abort_upload(void);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_MGMT_IMG_H */
