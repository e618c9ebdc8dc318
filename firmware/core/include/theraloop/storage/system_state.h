/*
 * storage/system_state.h - the system state store: one power-loss-safe blob shared by the
 * bootloader and the application, made of independent sections.
 *
 * The blob lives in the config store (config_store.h: two copies, CRC, sequence number) on
 * the two sectors of the `state` flash area (flash_map.h). Its payload is a list of sections
 *
 *     id u16, len u16, data[len], 0xFF padding to a multiple of 4      (little-endian)
 *
 * in any order, each id at most once. Every writer changes only its own section and keeps
 * all other sections (also ones it does not know) byte for byte, so the bootloader and
 * newer or older applications can share the store. A commit writes the whole blob (the
 * config store's save); a reset during a commit leaves the old or the new blob.
 *
 * Sections:
 *   TL_SYSSTATE_BOOT    firmware update state (update/boot_state.h): bootloader + app
 *   TL_SYSSTATE_MODELS  model slot state (update/model_slots.h): app
 *   TL_SYSSTATE_CONFIG  the persisted therapy + loop configuration: app
 *
 * A load that finds no valid copy (TL_CFGSTORE_CORRUPT) starts from an empty blob; the
 * caller decides what to report. A malformed section list (a section running past the
 * blob, a repeated id) counts as corrupt too.
 */
#ifndef THERALOOP_STORAGE_SYSTEM_STATE_H
#define THERALOOP_STORAGE_SYSTEM_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "theraloop/storage/config_store.h"
#include "theraloop/storage/storage.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TL_SYSSTATE_BOOT = 1,
    TL_SYSSTATE_MODELS = 2,
    TL_SYSSTATE_CONFIG = 3,
} tl_sysstate_section_t;

#ifndef TL_SYSSTATE_MAX
#define TL_SYSSTATE_MAX 1024u /* bytes of the whole blob */
#endif

typedef struct {
    tl_cfgstore_t store;
    tl_cfgstore_err_t load_err; /* result of the last open (OK, EMPTY, CORRUPT, STORAGE, ...) */
    bool attached;              /* bound to a device (open succeeded far enough) */
    uint32_t len;               /* bytes used in blob */
    uint8_t blob[TL_SYSSTATE_MAX];
} tl_sysstate_t;

/* Bind to the `state` area of dev and load the newest valid blob. Returns the load result;
 * on anything but OK the blob is empty (and EMPTY/CORRUPT still leave the store usable:
 * the next commit writes a fresh blob). dev NULL: TL_CFGSTORE_STORAGE, nothing usable. */
tl_cfgstore_err_t tl_sysstate_open(tl_sysstate_t *st, const tl_storage_t *dev);

/* Section `id` of the RAM copy: *data points into st->blob. False if absent. */
bool tl_sysstate_get(const tl_sysstate_t *st, uint16_t id, const uint8_t **data, uint16_t *len);

/* Replace (or add) section `id` in the RAM copy. False (nothing changed) if it does not fit. */
bool tl_sysstate_put(tl_sysstate_t *st, uint16_t id, const void *data, uint16_t len);

/* Remove section `id` from the RAM copy (no-op if absent). */
void tl_sysstate_remove(tl_sysstate_t *st, uint16_t id);

/* Persist the RAM copy (config store save). */
tl_cfgstore_err_t tl_sysstate_commit(tl_sysstate_t *st);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_STORAGE_SYSTEM_STATE_H */
