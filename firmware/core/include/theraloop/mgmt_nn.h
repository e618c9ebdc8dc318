/*
 * mgmt_nn.h - the SMP group "nn" (65): run .tflite models on the device's inference
 * engine over the management port. Upload a model in chunks (as MCUmgr's image upload),
 * load it, run inferences, benchmark it. Wire format: docs/protocol.md, "nn group".
 *
 * Memory (static, sized at build time):
 *   two model slots of TL_MGMT_NN_SLOT_BYTES: the loaded model runs from one while the
 *       next upload goes to the other, so a failed upload or load never disturbs it;
 *   one arena of TL_MGMT_NN_ARENA_BYTES for the loaded model (tl_nn_load's arena).
 * A load that fails re-loads the previous model from its slot before answering, so the
 * device keeps running what it ran before.
 *
 * The loaded model is the control loop's "ram" model source: every change is reported
 * with tl_model_source_ram_update() (theraloop/loop/model_source.h).
 */
#ifndef THERALOOP_MGMT_NN_H
#define THERALOOP_MGMT_NN_H

#include <stdint.h>

#include "theraloop/smp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TL_SMP_GROUP_NN 65u

/* Command ids. */
#define TL_MGMT_NN_STATE 0u  /* read  -> capacities, kernel path, loaded model, upload, last error */
#define TL_MGMT_NN_UPLOAD 1u /* write {"off", "data", ["len", "sha"]} -> {"off"[, "sha256"]} */
#define TL_MGMT_NN_LOAD 2u   /* write {["arena"]} -> the model's description */
#define TL_MGMT_NN_INVOKE 3u /* write {"in": [bstr...]} -> {"out": [bstr...]} */
#define TL_MGMT_NN_BENCH 4u  /* write {"n"[, "loop"][, "in"]} -> timing */

/* Bytes of one model slot (two are allocated) and of the arena. Override at build time
 * (-DTL_MGMT_NN_SLOT_BYTES=...) to trade model size for RAM; both multiples of 16. */
#ifndef TL_MGMT_NN_SLOT_BYTES
#define TL_MGMT_NN_SLOT_BYTES (16u * 1024u)
#endif
#ifndef TL_MGMT_NN_ARENA_BYTES
#define TL_MGMT_NN_ARENA_BYTES (16u * 1024u)
#endif

/* Most inputs (and outputs) of a model `invoke`/`bench` accept, and `load` describes. */
#define TL_MGMT_NN_IO_MAX 8u
/* Most timed runs in one `bench` request. */
#define TL_MGMT_NN_BENCH_MAX_RUNS 100000u
/* Most iterations of the calibration loop in one `bench` request. */
#define TL_MGMT_NN_BENCH_MAX_LOOP 10000000u

/* nn group error codes (v2 err.rc); the v1 translation in brackets. */
typedef enum {
    TL_MGMT_NN_ERR_OK = 0,
    TL_MGMT_NN_ERR_UNKNOWN = 1,       /* [EUNKNOWN] */
    TL_MGMT_NN_ERR_INVALID = 2,       /* [EINVAL] a value out of range */
    TL_MGMT_NN_ERR_TOO_LARGE = 3,     /* [ENOMEM] upload longer than a model slot */
    TL_MGMT_NN_ERR_NO_UPLOAD = 4,     /* [ENOENT] load without a complete upload */
    TL_MGMT_NN_ERR_NOT_LOADED = 5,    /* [EBADSTATE] invoke/bench without a loaded model */
    TL_MGMT_NN_ERR_HASH_MISMATCH = 6, /* [ECORRUPT] upload complete, SHA-256 differs from "sha" */
    TL_MGMT_NN_ERR_IO_MISMATCH = 7,   /* [EINVAL] inputs: wrong number or byte size */
    TL_MGMT_NN_ERR_IO_LIMIT = 8,      /* [ENOTSUP] more than TL_MGMT_NN_IO_MAX inputs/outputs */
    TL_MGMT_NN_ERR_NO_TIMER = 9,      /* [ENOTSUP] no timer for bench on this build */
    TL_MGMT_NN_ERR_BUSY = 10,         /* [EBUSY] load/invoke/bench refused: therapy is on */
    /* TL_MGMT_NN_ERR_ENGINE + s: the engine returned tl_nn_status_t s (1..19) on load,
     * invoke or bench [ENOMEM for ARENA_TOO_SMALL, else EINVAL]; details in `state`. */
    TL_MGMT_NN_ERR_ENGINE = 32,
} tl_mgmt_nn_err_t;

/* Register the group (and reset its state: no model, no upload). */
tl_smp_status_t tl_mgmt_nn_register(tl_smp_server_t *srv);

/* Safety interlock: while `busy()` returns true (the application passes "therapy is
 * running or paused"), load, invoke and bench are refused with TL_MGMT_NN_ERR_BUSY, so
 * that a benchmark cannot stall the control loop and the model the loop may be running
 * from RAM cannot be replaced under it. Uploads (into the idle slot) and state stay
 * allowed. NULL: never busy. */
void tl_mgmt_nn_set_busy_check(bool (*busy)(void));

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_MGMT_NN_H */
