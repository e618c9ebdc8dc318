/*
 * update/image_target.h - what the SMP image group (mgmt_img.h) needs from one updatable
 * image. MCUmgr numbers images: image 0 is the application firmware (fw_update.h: slot 0
 * primary = running, slot 1 secondary = upload target), image 1 the therapy model
 * (model_slots.h: slot 0 = model_a, slot 1 = model_b; uploads go to the slot that is not
 * in use).
 */
#ifndef THERALOOP_UPDATE_IMAGE_TARGET_H
#define THERALOOP_UPDATE_IMAGE_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "theraloop/storage/flash_map.h"
#include "theraloop/storage/mcuboot_image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Errors a target returns; the image group maps them to MCUmgr img_mgmt codes and a
 * "rsn" text. */
typedef enum {
    TL_IMGT_OK = 0,
    TL_IMGT_ERR_BUSY = 1,        /* not now (e.g. therapy running during a flash erase) */
    TL_IMGT_ERR_NO_SLOT = 2,     /* no free slot for an upload */
    TL_IMGT_ERR_TOO_BIG = 3,
    TL_IMGT_ERR_STORAGE = 4,
    TL_IMGT_ERR_IMAGE = 5,       /* image check failed: detail = tl_img_err_t << 16 | sub-detail */
    TL_IMGT_ERR_VALIDATION = 6,  /* model validation failed (engine, contract, arena): detail */
    TL_IMGT_ERR_NO_IMAGE = 7,    /* hash matches no slot / slot empty */
    TL_IMGT_ERR_DENIED = 8,      /* state change not allowed (e.g. test of the running image) */
    TL_IMGT_ERR_OLDER = 9,       /* version older than the running one */
    TL_IMGT_ERR_NO_STORAGE = 10, /* the board has no storage */
} tl_imgt_err_t;

/* Stable lower-case name ("busy", "image", ...), "unknown" otherwise. */
const char *tl_imgt_err_name(uint32_t err);

/* Helpers for `describe` texts: append to the NUL-terminated text in buf (cap bytes),
 * truncating (always NUL-terminated; nothing happens for cap 0). */
void tl_imgt_text_add(char *buf, uint32_t cap, const char *s);
void tl_imgt_text_add_u32(char *buf, uint32_t cap, uint32_t v);

typedef struct {
    bool present;           /* a structurally valid image with a hash */
    bool bootable;          /* firmware: header flag; model: passed validation */
    bool pending;           /* will be used at next boot / test activation requested */
    bool confirmed;         /* permanent */
    bool active;            /* running now */
    bool permanent;         /* pending and confirmed */
    tl_mcuboot_version_t version;
    uint8_t hash[32];       /* the image's SHA-256 TLV */
} tl_imgt_slot_t;

typedef struct {
    const char *name;       /* "firmware", "model" */
    uint32_t slot_count;    /* 2 */
    /* Choose and prepare the slot for an upload of len bytes; *area = where to write. */
    tl_imgt_err_t (*upload_begin)(uint32_t len, uint32_t *slot, tl_flash_area_t *area);
    /* Every byte was written to `slot`: check the image there. *detail: error detail. */
    tl_imgt_err_t (*upload_done)(uint32_t slot, uint32_t *detail);
    tl_imgt_err_t (*slot_state)(uint32_t slot, tl_imgt_slot_t *out);
    /* MCUmgr image state write: `hash` (NULL: the running image) to test (confirm false)
     * or to keep (confirm true). */
    tl_imgt_err_t (*set_state)(const uint8_t *hash, bool confirm, uint32_t *detail);
    /* Erase a slot that is not in use. */
    tl_imgt_err_t (*erase)(uint32_t slot);
    /* Optional (NULL: never busy). True while operations that erase flash must wait
     * (e.g. therapy running): the image group checks it before every upload chunk, so an
     * upload that is under way pauses (EBUSY, the client resumes later) instead of
     * stalling the CPU with a sector erase. */
    bool (*busy)(void);
    /* Optional (NULL: the group names err and prints detail in hex). Write a short text
     * for an error of this target ("signature", "engine: unsupported op", ...) into buf
     * (cap bytes, always NUL-terminated). */
    void (*describe)(uint32_t err, uint32_t detail, char *buf, uint32_t cap);
} tl_image_target_t;

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_UPDATE_IMAGE_TARGET_H */
