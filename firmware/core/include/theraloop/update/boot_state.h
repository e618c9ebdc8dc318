/*
 * update/boot_state.h - the firmware update state shared by the bootloader and the
 * application: section TL_SYSSTATE_BOOT of the system state store (storage/system_state.h).
 *
 * MCUboot's test/confirm semantics with a swap through a scratch sector:
 *   - the application uploads a signed image into fw_secondary and sets `request` to TEST
 *     (revert unless confirmed) or PERM (keep), then resets;
 *   - the bootloader checks the secondary image (image_check.h, security counter >= the
 *     stored one, version not older than the primary's), swaps primary and secondary
 *     sector by sector through fw_scratch, recording its progress here after every phase
 *     (so a reset resumes the swap), then boots the new image; after a TEST swap `testing`
 *     is 1;
 *   - the new application confirms (`testing` = 0, security counter raised to the image's);
 *   - a boot that finds `testing` still 1 swaps back (REVERT) and boots the old image.
 * Record layout: little-endian, TL_BOOT_STATE_SIZE bytes, version 1.
 */
#ifndef THERALOOP_UPDATE_BOOT_STATE_H
#define THERALOOP_UPDATE_BOOT_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "theraloop/storage/system_state.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TL_BOOT_REQ_NONE = 0,
    TL_BOOT_REQ_TEST = 1, /* swap in the secondary image; revert unless confirmed */
    TL_BOOT_REQ_PERM = 2, /* swap in the secondary image for good */
} tl_boot_request_t;

typedef enum {
    TL_BOOT_IDLE = 0,
    TL_BOOT_SWAPPING = 1, /* swap_kind, swap_sector, swap_phase say where */
} tl_boot_status_t;

typedef enum {
    TL_BOOT_SWAP_TEST = 1,
    TL_BOOT_SWAP_PERM = 2,
    TL_BOOT_SWAP_REVERT = 3,
} tl_boot_swap_kind_t;

/* What the last boot decided (reported by the application). */
typedef enum {
    TL_BOOT_RESULT_NONE = 0,      /* booted the primary image, nothing to do */
    TL_BOOT_RESULT_SWAPPED_TEST = 1,
    TL_BOOT_RESULT_SWAPPED_PERM = 2,
    TL_BOOT_RESULT_REVERTED = 3,  /* an unconfirmed test image was swapped back out */
    TL_BOOT_RESULT_REJECTED = 4,  /* the requested image failed its check: detail = tl_img_err_t << 16 | detail */
    TL_BOOT_RESULT_RESUMED = 5,   /* a swap interrupted by a reset was completed */
} tl_boot_result_t;

typedef struct {
    uint8_t request;          /* tl_boot_request_t, written by the application */
    uint8_t status;           /* tl_boot_status_t */
    uint8_t swap_kind;        /* tl_boot_swap_kind_t while swapping */
    uint8_t swap_sector;      /* sector of the slot being swapped (0 .. slot sectors - 1) */
    uint8_t swap_phase;       /* 0: secondary->scratch, 1: primary->secondary, 2: scratch->primary */
    uint8_t testing;          /* primary holds an unconfirmed test image that has booted */
    uint8_t last_result;      /* tl_boot_result_t */
    uint8_t reserved;
    uint32_t last_detail;
    uint32_t security_counter; /* highest security counter of a confirmed image */
    uint32_t swap_count;       /* completed swaps (statistics) */
} tl_boot_state_t;

#define TL_BOOT_STATE_VERSION 1u
#define TL_BOOT_STATE_SIZE 24u /* encoded bytes: version u8, pad u8[3], then the fields */

/* Decode the BOOT section; all-zero defaults (idle, nothing requested, counter 0) when it
 * is absent. False (and defaults) when present but malformed (wrong size/version). */
bool tl_boot_state_get(const tl_sysstate_t *st, tl_boot_state_t *out);
/* Encode into the RAM copy (commit separately). False if it does not fit. */
bool tl_boot_state_put(tl_sysstate_t *st, const tl_boot_state_t *bs);

const char *tl_boot_result_name(uint32_t result);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_UPDATE_BOOT_STATE_H */
