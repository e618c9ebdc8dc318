/*
 * mgmt_model.h - the SMP group "model" (66): the updatable model slots
 * (update/model_slots.h). Images are uploaded with MCUmgr's image group, image 1
 * (mgmt_img.h); this group lists the slots and the models, starts a test run, confirms it
 * and rolls back. Wire format: docs/protocol.md ("model group"), docs/model-update.md.
 *
 *   id 0 list      read           -> the state map (below)
 *   id 1 activate  write {"slot": 0|1, ["confirm": bool], ["confirm_after": n]}
 *   id 2 confirm   write {}
 *   id 3 rollback  write {["to": "previous"|"factory"]}
 *   every write answers the state map after the action:
 *   {"active": {"source": name, "slot": 0|1|-1, "hash": bstr (.tflite SHA-256, empty: none)},
 *    "test": {"slot", "steps", "confirm_after"}          (only while a test runs),
 *    "previous": name ("" none),
 *    "slots": [{"slot", "area", "state", "version", "hash", "model_sha256", "size", "error"}],
 *    "factory": [{"name", "hash"}], "confirm_after": n}
 */
#ifndef THERALOOP_MGMT_MODEL_H
#define THERALOOP_MGMT_MODEL_H

#include "theraloop/loop/loop.h"
#include "theraloop/smp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TL_SMP_GROUP_MODEL 66u

#define TL_MGMT_MODEL_LIST 0u
#define TL_MGMT_MODEL_ACTIVATE 1u
#define TL_MGMT_MODEL_CONFIRM 2u
#define TL_MGMT_MODEL_ROLLBACK 3u

/* Group error codes (v2 err.rc) = tl_mslots_err_t, plus INVALID for a bad request; the
 * v1 translation in brackets. */
typedef enum {
    TL_MGMT_MODEL_ERR_OK = 0,
    TL_MGMT_MODEL_ERR_NOT_READY = 1,   /* [ENOTSUP] no storage / not initialised */
    TL_MGMT_MODEL_ERR_ARG = 2,         /* [EINVAL] slot or confirm_after out of range */
    TL_MGMT_MODEL_ERR_INVALID = 3,     /* [EBADSTATE] the slot is empty or invalid */
    TL_MGMT_MODEL_ERR_BUSY = 4,        /* [EBUSY] a test is running */
    TL_MGMT_MODEL_ERR_DENIED = 5,      /* [EBADSTATE] already the running model */
    TL_MGMT_MODEL_ERR_NO_TEST = 6,     /* [EBADSTATE] confirm without a test */
    TL_MGMT_MODEL_ERR_NO_PREVIOUS = 7, /* [ENOENT] nothing to roll back to */
    TL_MGMT_MODEL_ERR_NO_FACTORY = 8,  /* [ENOENT] no factory model in this build */
    TL_MGMT_MODEL_ERR_LOOP = 9,        /* [EINVAL] the loop could not run the model */
    TL_MGMT_MODEL_ERR_PERSIST = 10,    /* [ECORRUPT] applied, but saving to flash failed */
} tl_mgmt_model_err_t;

/* Register the group; `loop` is the control loop whose model is reported. */
tl_smp_status_t tl_mgmt_model_register(tl_smp_server_t *srv, const tl_loop_t *loop);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_MGMT_MODEL_H */
