/*
 * update/model_slots.h - updatable therapy models: two flash slots (model_a, model_b)
 * holding signed MCUboot images whose payload is a .tflite, next to the factory models
 * compiled into the firmware. Image 1 of the SMP image group; SMP group 66 "model"
 * (mgmt_model.h). The whole story for users: docs/model-update.md.
 *
 * Slot states. A slot is
 *   empty    erased (no image header);
 *   invalid  with the reason (tl_mslot_fail_t + detail): the image check failed
 *            (update/image_check.h, kind MODEL, the built-in key), the storage is not
 *            memory-mapped, the engine refused the payload, the model needs a larger arena
 *            than TL_MODEL_SLOT_ARENA_BYTES, or its inputs/outputs do not fit the control
 *            loop's current configuration (contract);
 *   valid    every check passed: the model is loaded (in place from flash, with the
 *            slot's own static arena) and can run with the loop's current pipeline.
 * The contract part depends on the loop configuration and is re-checked (cheaply, without
 * re-loading) whenever a slot is reported or activated.
 *
 * Model sources. "slot_a" and "slot_b" are loop model sources (loop/model_source.h): the
 * slot's model with the CURRENT loop pipeline (no preset). Acquiring a slot source
 * re-hashes the image (SHA-256 of header + payload) and compares it with the image that was
 * validated, so a slot erased or overwritten underneath is never run.
 *
 * Activation is a test run. activate(slot) validates the slot, switches the loop's model
 * to it (tl_loop_configure with the same pipeline; management runs between control steps,
 * so this is a step boundary), remembers the previous source and counts healthy control
 * steps (data steps without a model failure). After `confirm_after` of them (default
 * TL_MODEL_CONFIRM_AFTER_DEFAULT = 2500: 10 s at 250 Hz; and at least one inference) the
 * slot is confirmed automatically; a model failure during the test (an inference error,
 * an inference deadline miss, the model no longer bound) reverts to the previous source
 * at once. Nothing about a test is persisted: a reset before confirmation runs whatever
 * the persisted configuration names, i.e. the previous model.
 *
 * Confirm persists: the MODELS section of the system state (the previous source's name
 * for rollback, confirm_after, the confirmed image hash of each slot) and the loop
 * configuration (through the persist hook, the config persistence module), so the slot's
 * model is what the device runs after a reset. rollback switches back to the previous
 * confirmed source, or to the factory model of the current pipeline, and persists.
 *
 * Every activation, confirmation, automatic revert and rollback is appended to the
 * therapy event log (TL_EVENT_MODEL: detail = tl_mslot_action_t, aux = slot or
 * TL_MSLOT_NO_SLOT) stamped with the hash of the model then in use.
 *
 * Not reentrant: call everything from the main loop (like the control loop). Singleton.
 */
#ifndef THERALOOP_UPDATE_MODEL_SLOTS_H
#define THERALOOP_UPDATE_MODEL_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

#include "theraloop/loop/loop.h"
#include "theraloop/loop/model_source.h"
#include "theraloop/storage/mcuboot_image.h"
#include "theraloop/storage/storage.h"
#include "theraloop/storage/system_state.h"
#include "theraloop/update/image_check.h"
#include "theraloop/update/image_target.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Placement of the slot arenas: boards may put them into a RAM bank the rest of the
 * firmware does not use (the STM32F4's CCM), e.g. -DTL_AUX_BSS='__attribute__((section(".ccmbss")))'. */
#ifndef TL_AUX_BSS
#define TL_AUX_BSS
#endif

/* Arena bytes of EACH slot (two are allocated, so a slot can be validated while the other
 * one runs, and a test can revert to the other slot without re-loading). Multiple of 16. */
#ifndef TL_MODEL_SLOT_ARENA_BYTES
#define TL_MODEL_SLOT_ARENA_BYTES (16u * 1024u)
#endif

#define TL_MODEL_SLOT_COUNT 2u
#define TL_MSLOT_NO_SLOT 0xFFu
#define TL_MODEL_CONFIRM_AFTER_DEFAULT 2500u
#define TL_MODEL_CONFIRM_AFTER_MAX 1000000u /* ~66 min at 250 Hz */

typedef enum {
    TL_MSLOT_EMPTY = 0,
    TL_MSLOT_INVALID = 1,
    TL_MSLOT_VALID = 2,
} tl_mslot_state_t;

/* Why a slot is invalid. */
typedef enum {
    TL_MSLOT_FAIL_NONE = 0,
    TL_MSLOT_FAIL_STORAGE = 1,    /* reading the slot failed (detail: tl_storage_err_t) */
    TL_MSLOT_FAIL_IMAGE = 2,      /* image check: detail = tl_img_err_t << 16 | sub-detail */
    TL_MSLOT_FAIL_NOT_MAPPED = 3, /* the storage cannot be read in place */
    TL_MSLOT_FAIL_LOAD = 4,       /* engine refused the payload: detail = tl_nn_status_t */
    TL_MSLOT_FAIL_ARENA = 5,      /* model needs more arena: detail = bytes required (0: unknown) */
    TL_MSLOT_FAIL_CONTRACT = 6,   /* detail = tl_model_err_t << 16 | its detail (16 bits) */
    TL_MSLOT_FAIL_CHANGED = 7,    /* the image changed after validation (hash re-check) */
} tl_mslot_fail_t;

/* What an event-log entry records (TL_EVENT_MODEL detail). */
typedef enum {
    TL_MSLOT_ACT_ACTIVATE = 1,   /* test run started */
    TL_MSLOT_ACT_CONFIRM = 2,    /* confirmed explicitly */
    TL_MSLOT_ACT_AUTO_CONFIRM = 3,
    TL_MSLOT_ACT_REVERT = 4,     /* model failure during the test: back to the previous */
    TL_MSLOT_ACT_ROLLBACK = 5,   /* rollback to the previous confirmed source */
    TL_MSLOT_ACT_FACTORY = 6,    /* rollback to the factory model */
    TL_MSLOT_ACT_ABANDON = 7,    /* the test ended because the model was configured away */
} tl_mslot_action_t;

/* Results of the module's operations. */
typedef enum {
    TL_MSLOTS_OK = 0,
    TL_MSLOTS_ERR_NOT_READY = 1,  /* not initialised / no storage / no loop */
    TL_MSLOTS_ERR_ARG = 2,        /* slot out of range, confirm_after out of range */
    TL_MSLOTS_ERR_INVALID = 3,    /* the slot is empty or invalid (see its state) */
    TL_MSLOTS_ERR_BUSY = 4,       /* a test is running (activate) */
    TL_MSLOTS_ERR_DENIED = 5,     /* already the running model */
    TL_MSLOTS_ERR_NO_TEST = 6,    /* confirm without a test */
    TL_MSLOTS_ERR_NO_PREVIOUS = 7,/* rollback: no previous source recorded / loadable */
    TL_MSLOTS_ERR_NO_FACTORY = 8, /* rollback to factory: no factory model fits */
    TL_MSLOTS_ERR_LOOP = 9,       /* the loop refused the configuration or could not bind */
    TL_MSLOTS_ERR_PERSIST = 10,   /* the state store commit failed (RAM state is applied) */
} tl_mslots_err_t;

const char *tl_mslots_err_name(uint32_t err);
const char *tl_mslot_state_name(uint32_t state);
const char *tl_mslot_fail_name(uint32_t fail);
const char *tl_mslot_action_name(uint32_t action);

typedef struct {
    uint8_t state;            /* tl_mslot_state_t */
    uint8_t fail;             /* tl_mslot_fail_t (INVALID) */
    uint8_t loaded;           /* the engine handle below is loaded */
    uint8_t confirmed;        /* the image hash equals the confirmed one (MODELS section) */
    uint32_t detail;          /* see tl_mslot_fail_t */
    uint32_t area;            /* TL_AREA_MODEL_A / _B */
    tl_mcuboot_info_t info;   /* parsed image (version, image hash, sizes); zero if empty */
    uint8_t model_sha256[32]; /* SHA-256 of the .tflite payload (valid when loaded) */
    uint32_t arena_required;
    tl_nn_model_t model;
} tl_model_slot_t;

typedef struct {
    bool active;
    uint8_t slot;
    uint32_t steps;           /* healthy control steps so far */
    uint32_t confirm_after;
    uint32_t previous;        /* model source it reverts to */
} tl_model_test_t;

/* Saves the loop configuration as the one to apply at boot; true on success. The
 * application passes the config persistence module's save function. */
typedef bool (*tl_model_persist_fn)(const tl_loop_t *loop);

/* Bind to the storage, the system state (may be NULL: nothing persists) and the loop;
 * read the MODELS section and validate both slots (check, load, contract against the
 * loop's configuration). Resets everything but the hooks and the key policy (a reboot).
 * dev NULL: every operation answers NOT_READY and the slot sources have no model. Call
 * it before tl_config_persist_init, so a persisted slot model binds at once. */
void tl_model_slots_init(const tl_storage_t *dev, tl_sysstate_t *st, tl_loop_t *loop);

/* Signature policy (default: the built-in key, update/signing_key.h; tests pass their
 * key). The key bytes must stay valid; kept across tl_model_slots_init. Re-validates both
 * slots when initialised. */
void tl_model_slots_set_policy(const tl_img_policy_t *policy);

/* The config persistence hook (NULL: none; confirm then persists the MODELS section only). */
void tl_model_slots_set_persist(tl_model_persist_fn fn);

/* While busy() returns true (therapy running), uploads are refused (flash erases stall
 * the CPU). NULL: never busy. */
void tl_model_slots_set_busy_check(bool (*busy)(void));

/* Follow a test run: call after every batch of control steps (after tl_loop_afe_input)
 * and from the main loop. Cheap when no test runs. */
void tl_model_slots_poll(void);

/* Start a test run of `slot` (0/1); confirm_after 0: the persisted default. `confirm`:
 * confirm at once (no test). */
tl_mslots_err_t tl_model_slots_activate(uint32_t slot, bool confirm, uint32_t confirm_after);
tl_mslots_err_t tl_model_slots_confirm(void);
tl_mslots_err_t tl_model_slots_rollback(bool to_factory);

/* A test is running; *previous_source (may be NULL) = the source it would revert to, which
 * is what a configuration save during the test must persist. */
bool tl_model_slots_test_active(uint32_t *previous_source);
const tl_model_test_t *tl_model_slots_test(void);

/* Slot `slot` with its contract re-checked against the loop's configuration; NULL if out
 * of range. */
const tl_model_slot_t *tl_model_slots_slot(uint32_t slot);
/* Slot index of the loop's current model source (0/1), or -1 if it is not a slot. */
int32_t tl_model_slots_active_slot(void);
/* Previous confirmed source's name ("" when none), and the persisted default. */
const char *tl_model_slots_previous(void);
uint32_t tl_model_slots_confirm_after(void);
/* Result of the last commit of the MODELS section (TL_CFGSTORE_OK when none failed). */
tl_cfgstore_err_t tl_model_slots_last_commit(void);

/* Re-run the full validation of a slot that is not running (e.g. after the loop's
 * pipeline changed). */
tl_mslots_err_t tl_model_slots_revalidate(uint32_t slot);

/* For loop/model_source.c: the handle of slot `slot` (hash re-checked), as
 * tl_model_source_acquire() describes. */
void tl_model_slots_acquire(uint32_t slot, tl_model_active_t *out);

/* The SMP image-group target for image 1. upload_begin picks a slot that neither runs nor
 * is the way back of a running test (preferring one that is not the rollback target),
 * refuses with BUSY while busy() says therapy is running; upload_done runs the full
 * validation: TL_IMGT_ERR_IMAGE (detail tl_img_err_t << 16 | sub-detail) or
 * TL_IMGT_ERR_VALIDATION (detail tl_mslot_fail_t << 24 | 24 bits of the slot's detail);
 * set_state(hash, confirm) activates the slot holding that image (confirm: at once);
 * erase refuses the running / test / way-back slot. */
const tl_image_target_t *tl_model_slots_target(void);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_UPDATE_MODEL_SLOTS_H */
