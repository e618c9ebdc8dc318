/*
 * update/fw_update.h - the application's side of a firmware update (image 0 of the SMP
 * image group): uploads into fw_secondary, checks them (image_check.h: signature with the
 * built-in key, bootable, security counter >= the stored one, version not older than the
 * running image), asks the bootloader for a TEST or PERM swap (boot_state.h), confirms the
 * running image, and reports what the last boot did.
 */
#ifndef THERALOOP_UPDATE_FW_UPDATE_H
#define THERALOOP_UPDATE_FW_UPDATE_H

#include <stdbool.h>
#include <stdint.h>

#include "theraloop/storage/mcuboot_image.h"
#include "theraloop/storage/storage.h"
#include "theraloop/storage/system_state.h"
#include "theraloop/update/boot_state.h"
#include "theraloop/update/image_target.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bind to the storage and the (already opened) system state, with the built-in signing key
 * (update/signing_key.h; defined in fw_update_key.c so that code which passes its own key
 * does not need the generated key). dev NULL: no storage, every target call answers
 * TL_IMGT_ERR_NO_STORAGE. Reads the BOOT section (kept for tl_fw_update_boot_state) and
 * the running image's header from fw_primary. */
void tl_fw_update_init(const tl_storage_t *dev, tl_sysstate_t *st);

/* The same with an explicit key (32-byte Ed25519 public key and the key hash imgtool puts
 * in the key-hash TLV), e.g. the unit tests' key. Both must outlive the module. */
void tl_fw_update_init_with_key(const tl_storage_t *dev, tl_sysstate_t *st,
                                const uint8_t *pubkey, const uint8_t *key_hash);

/* Busy check for operations that erase flash (uploads): true = refuse with BUSY. */
void tl_fw_update_set_busy_check(bool (*busy)(void));

/* The SMP image-group target for image 0. */
const tl_image_target_t *tl_fw_update_target(void);

/* Confirm the running image (clears `testing`, raises the security counter). */
tl_imgt_err_t tl_fw_update_confirm(void);

/* Running image: header version and image hash from fw_primary (false if unreadable, e.g.
 * an image started directly by a debugger). */
bool tl_fw_update_running(tl_mcuboot_version_t *version, uint8_t hash[32]);

/* The boot state as the application found it at init (last_result etc.). */
const tl_boot_state_t *tl_fw_update_boot_state(void);

/* The boot state now (after confirms and swap requests since boot). */
void tl_fw_update_boot_state_now(tl_boot_state_t *out);

/* Text for a firmware target error (err tl_imgt_err_t, detail as returned), e.g.
 * "image: signature", "image: format: bad_magic", "image: rollback: counter 3 < 5",
 * "older: 1.0.0 < 1.1.0". Always NUL-terminated. */
void tl_fw_update_describe(uint32_t err, uint32_t detail, char *buf, uint32_t cap);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_UPDATE_FW_UPDATE_H */
