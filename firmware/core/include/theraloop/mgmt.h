/*
 * mgmt.h - the SMP command groups of the core: MCUmgr's OS group (0) and the theraloop
 * group (64). Request/response maps and error codes: docs/protocol.md.
 */
#ifndef THERALOOP_MGMT_H
#define THERALOOP_MGMT_H

#include <stdint.h>

#include "theraloop/smp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- OS group (0), MCUmgr standard ------------------------------------------------- */
#define TL_MGMT_OS_ECHO 0u    /* write {"d": str} -> {"r": str} */
#define TL_MGMT_OS_RESET 5u   /* write {["force": bool|0|1]} -> {}, then reset */
#define TL_MGMT_OS_PARAMS 6u  /* read -> {"buf_size": uint, "buf_count": uint} */
#define TL_MGMT_OS_INFO 7u    /* read {["format": str]} -> {"output": str} */

/* OS group error codes (v2 err.rc), as Zephyr's OS_MGMT_ERR_*. */
typedef enum {
    TL_OS_MGMT_ERR_OK = 0,
    TL_OS_MGMT_ERR_UNKNOWN = 1,
    TL_OS_MGMT_ERR_INVALID_FORMAT = 2,
    TL_OS_MGMT_ERR_QUERY_YIELDS_NO_ANSWER = 3,
} tl_os_mgmt_err_t;

/* --- theraloop group (64) ------------------------------------------------------------ */
#define TL_MGMT_TL_INFO 0u       /* read -> identity, uptime, reset reason, fault, smp_stats */
#define TL_MGMT_TL_FAULT_TEST 1u /* write {"kind": 1..3} -> {}, then raise that CPU fault */
/* The control loop's commands (mgmt_therapy.h, docs/protocol.md). */
#define TL_MGMT_TL_STATUS 2u  /* read -> therapy, model, timing, links */
#define TL_MGMT_TL_CONFIG 3u  /* read {["keys"], ["off"]} -> fields; write {"set": {...}} */
#define TL_MGMT_TL_THERAPY 4u /* write {"cmd": "start"|"stop"|"pause"|"resume"} */
#define TL_MGMT_TL_STREAM 5u  /* read {["since"], ["max"]} -> telemetry records */
#define TL_MGMT_TL_LOG 6u     /* read {["since"], ["max"]} -> events */
/* Reserved for later features; not registered yet, so ENOTSUP. */
#define TL_MGMT_TL_MODEL 7u

/* theraloop group error codes (v2 err.rc). For v1 requests they are translated to the
 * generic code in brackets. */
typedef enum {
    TL_GRP_ERR_OK = 0,
    TL_GRP_ERR_UNKNOWN = 1,       /* [EUNKNOWN] */
    TL_GRP_ERR_INVALID = 2,       /* [EINVAL] a value out of range */
    TL_GRP_ERR_NOT_SUPPORTED = 3, /* [ENOTSUP] not possible on this board/build */
    TL_GRP_ERR_BUSY = 4,          /* [EBUSY] a previous deferred action is still pending */
} tl_grp_err_t;

/* fault_test kinds: the values of tl_fault_trigger_t (platform.h). */
#define TL_MGMT_FAULT_TEST_MIN 1u
#define TL_MGMT_FAULT_TEST_MAX 3u

/* Register the groups with a server. */
tl_smp_status_t tl_mgmt_os_register(tl_smp_server_t *srv);
tl_smp_status_t tl_mgmt_theraloop_register(tl_smp_server_t *srv);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_MGMT_H */
