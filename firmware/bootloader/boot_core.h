/*
 * boot_core.h - the portable part of the theraloop bootloader: decides what to boot and
 * performs the firmware swap, on any storage device with the flash map of
 * storage/flash_map.h. No board headers: the STM32F4 bootloader (stm32f4/) and the host
 * unit tests (tests/unit/test_boot_*.c, RAM storage with power-cut injection) run the
 * same code. See docs/bootloader.md and update/boot_state.h.
 *
 *   static tl_sysstate_t st;                       // ~1 KiB, static
 *   tl_img_policy_t pol = {tl_signing_pubkey, tl_signing_key_hash, 0, 0};
 *   tl_boot_hooks_t hooks = {log_line, cycle_counter, NULL};
 *   tl_boot_outcome_t out;
 *   if (tl_boot_run(dev, &st, &pol, &hooks, &out) == TL_BOOT_ACTION_JUMP) {
 *       jump to flash base + out.vector_off
 *   }
 *
 * One run:
 *   1. load the system state store and its BOOT section (defaults if absent or corrupt);
 *   2. a swap in progress (status SWAPPING) is resumed where its last committed phase
 *      left it (result RESUMED, detail = swap kind);
 *   3. else an unconfirmed test image that has already booted once (testing == 1) is
 *      swapped back out (REVERT, result REVERTED), if the image waiting in fw_secondary
 *      passes its check (firmware, signature, security counter); if it does not, the test
 *      image keeps running (result REJECTED) and can still be confirmed;
 *   4. else a request TEST/PERM checks fw_secondary (firmware, signature, security counter
 *      >= the stored one, version not older than the primary's, header size 0x200) and
 *      swaps it in (result SWAPPED_TEST/PERM; after TEST `testing` = 1; after PERM the
 *      stored security counter is raised to the image's), or refuses it (REJECTED, detail
 *      = tl_img_err_t << 16 | detail) and clears the request;
 *   5. the primary image is checked in full; JUMP if it passes, NO_IMAGE otherwise.
 * The swap goes sector by sector through fw_scratch in three phases (0: secondary ->
 * scratch, 1: primary -> secondary, 2: scratch -> primary), committing the position
 * after every phase; every phase only reads sectors that no earlier unfinished phase has
 * touched, so a reset anywhere makes the next run redo at most one phase.
 */
#ifndef THERALOOP_BOOT_CORE_H
#define THERALOOP_BOOT_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "theraloop/storage/storage.h"
#include "theraloop/storage/system_state.h"
#include "theraloop/update/boot_state.h"
#include "theraloop/update/image_check.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TL_BOOT_CORE_VERSION "0.1.0"

/* Details of a REJECTED result that are not an image_check detail (err is ROLLBACK or
 * FORMAT). */
#define TL_BOOT_DETAIL_OLDER_VERSION 0xFFFFu /* with TL_IMG_ERR_ROLLBACK */
#define TL_BOOT_DETAIL_HEADER_SIZE 0xFFFEu   /* with TL_IMG_ERR_FORMAT: hdr_size != 0x200 */

typedef enum {
    TL_BOOT_ACTION_JUMP = 0,     /* fw_primary holds a good image: start it */
    TL_BOOT_ACTION_NO_IMAGE = 1, /* nothing bootable (see outcome.primary_err) */
} tl_boot_action_t;

typedef struct {
    /* One output line (no newline), e.g. "boot: swap test 1/2 phase 0". May be NULL. */
    void (*log)(void *ctx, const char *line);
    /* Free-running up-counter for the check timing (CPU cycles on the board). May be NULL. */
    tl_img_now_fn now;
    void *ctx;
} tl_boot_hooks_t;

typedef struct {
    tl_boot_action_t action;
    uint32_t vector_off;         /* JUMP: storage offset of the application's vector table */
    tl_img_err_t primary_err;    /* result of the final check of fw_primary */
    uint32_t primary_detail;
    tl_mcuboot_info_t primary;   /* its parse result */
    tl_img_timing_t timing;      /* of that check */
    tl_cfgstore_err_t state_load;/* how the state store loaded */
    bool state_valid;            /* the BOOT section was absent or well formed */
    bool swapped;                /* this run moved images (swap, resume or revert) */
    bool storage_failed;         /* a storage operation or state commit failed */
    tl_boot_state_t state;       /* the BOOT section as this run left it */
} tl_boot_outcome_t;

/* Run the boot decision (see the top of this file). `policy` supplies the key (pubkey,
 * key_hash); kind and security counter are set by the boot core. `st` is scratch for the
 * state store (keep it static: it is about 1 KiB). */
tl_boot_action_t tl_boot_run(const tl_storage_t *dev, tl_sysstate_t *st,
                             const tl_img_policy_t *policy, const tl_boot_hooks_t *hooks,
                             tl_boot_outcome_t *out);

/* "test", "perm", "revert", "?" */
const char *tl_boot_swap_kind_name(uint32_t kind);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_BOOT_CORE_H */
