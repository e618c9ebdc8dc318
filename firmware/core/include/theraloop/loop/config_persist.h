/*
 * loop/config_persist.h - the therapy + loop configuration kept across resets, in section
 * TL_SYSSTATE_CONFIG of the system state store (storage/system_state.h).
 *
 *   boot:  tl_loop_init(&loop, ...);                     // safe defaults
 *          tl_sysstate_open(&state, tl_platform_storage());
 *          tl_config_persist_init(&loop, &state);         // restore, or keep the defaults
 *   after every successful `config set`: tl_config_persist_save(&loop);
 *
 * Section format (little-endian, version 1):
 *
 *   off 0  format     u8   1
 *       1  name_len   u8   length of the model source name (0..TL_MODEL_NAME_MAX)
 *       2  count      u16  configuration fields (therapy, then loop: loop/settings.h)
 *       4  layout     u32  layout id of this firmware's field tables (see below)
 *       8  name       the model source by NAME ("none", "ram", a factory model, a slot),
 *                     zero padding to a multiple of 4
 *       .. values     count x u32 (i32 fields two's complement), in namespace order; the
 *                     `model` field's value is not used (the name is)
 *
 * The layout id is a CRC-32 over every field's name, type, unit and choice names, in
 * order: a firmware whose tables differ (a field added, removed, renamed, reordered, an
 * enumeration changed) computes another id and never misreads the values. The model is
 * stored by name because source numbers depend on the build's factory models.
 *
 * Restoring applies the values through the same checks as a `config set`: every field
 * range-checked, both configurations validated, then applied (therapy first, then the
 * loop). Anything wrong leaves the defaults in place and records a TL_EVENT_STORAGE event
 * (therapy/event_log.h). Main-loop context only; RAM: a few hundred bytes of stack, no
 * buffers of its own beyond the status.
 */
#ifndef THERALOOP_LOOP_CONFIG_PERSIST_H
#define THERALOOP_LOOP_CONFIG_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

#include "theraloop/loop/loop.h"
#include "theraloop/storage/system_state.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TL_CFGP_FORMAT 1u
#define TL_CFGP_HDR_LEN 8u

/* What the boot found. */
typedef enum {
    TL_CFGP_NOT_RUN = 0,      /* tl_config_persist_init was not called */
    TL_CFGP_RESTORED = 1,     /* the saved configuration is in use */
    TL_CFGP_DEFAULTS = 2,     /* never saved: defaults */
    TL_CFGP_CORRUPT = 3,      /* state store or CONFIG section unreadable: defaults + event */
    TL_CFGP_INCOMPATIBLE = 4, /* another layout / unknown model name: defaults + event */
    TL_CFGP_REFUSED = 5,      /* the saved values fail validation: defaults + event */
    TL_CFGP_UNAVAILABLE = 6,  /* no storage, or the state store cannot be read: defaults
                               * (+ event unless the board has no storage at all) */
} tl_cfgp_outcome_t;

const char *tl_cfgp_outcome_name(uint32_t outcome);

typedef struct {
    uint32_t outcome;        /* tl_cfgp_outcome_t */
    uint32_t load_err;       /* tl_cfgstore_err_t of the state store's open */
    uint32_t detail;         /* REFUSED: tl_set_err_t << 16 | cfg error; INCOMPATIBLE: the
                                saved layout id; otherwise 0 */
    uint32_t layout;         /* this firmware's layout id */
    uint32_t saves;          /* configurations written to flash since boot */
    uint32_t save_failures;
    uint32_t last_save_err;  /* tl_cfgstore_err_t of the last save (OK = 0) */
    uint32_t last_storage_err; /* tl_storage_err_t behind a STORAGE error */
} tl_cfgp_status_t;

/* At boot, after tl_loop_init and tl_sysstate_open: restore the saved configuration into
 * l (see the top of this file). `st` stays bound for the saves (it may be NULL: no
 * storage). Returns the outcome (also in the status). */
tl_cfgp_outcome_t tl_config_persist_init(tl_loop_t *l, tl_sysstate_t *st);

/* Save l's current configuration (after a successful `config set`): replace the CONFIG
 * section and commit the state store. Nothing is written when the stored section already
 * holds exactly this configuration. While a model test run is in progress
 * (tl_model_slots_test_active) the model source it replaced is saved instead, so a reset
 * during the test comes back to the previous model. A failure records a SAVE_FAILED event
 * in the event log of the loop given to init. Returns TL_CFGSTORE_OK when the
 * configuration is in flash (TL_CFGSTORE_STORAGE + "no_device" before init / without
 * storage). */
tl_cfgstore_err_t tl_config_persist_save(const tl_loop_t *l);

/* The same as a tl_model_persist_fn (update/model_slots.h): true when saved. */
bool tl_config_persist_hook(const tl_loop_t *l);

/* Stable lower-case name of the last save's error: "none", the storage error behind a
 * `storage` failure ("io", "power_cut", "no_device", ...), or the config-store error
 * ("too_big", ...). */
const char *tl_config_persist_save_error(void);

const tl_cfgp_status_t *tl_config_persist_status(void);

/* This firmware's layout id. */
uint32_t tl_config_persist_layout(void);

/* Encode l's configuration as a CONFIG section with model source `source` into buf (cap
 * bytes). Returns the length, 0 if it does not fit. For tests and tools. */
uint32_t tl_config_persist_encode(const tl_loop_t *l, uint32_t source, uint8_t *buf,
                                  uint32_t cap);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_LOOP_CONFIG_PERSIST_H */
