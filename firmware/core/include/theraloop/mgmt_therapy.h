/*
 * mgmt_therapy.h - the control loop's commands in the theraloop SMP group (64): status,
 * config, therapy, stream, log (ids 2-6, reserved for them in mgmt.h). Request and
 * response maps: docs/protocol.md, "theraloop group"; docs/control-loop.md.
 *
 * Refusals carry a reason, as Zephyr's verbose error responses do: v2 requests are
 * answered {"err": {"group": 64, "rc": N}, "rsn": "why"}, v1 requests {"rc": M, "rsn":
 * "why"} with M the generic code in brackets below.
 */
#ifndef THERALOOP_MGMT_THERAPY_H
#define THERALOOP_MGMT_THERAPY_H

#include <stdint.h>

#include "theraloop/loop/loop.h"
#include "theraloop/smp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Group error codes of these commands (after tl_grp_err_t's 1-4). */
#define TL_GRP_ERR_UNKNOWN_KEY 5u /* [ENOENT] no configuration field of that name */
#define TL_GRP_ERR_BAD_VALUE 6u   /* [EINVAL] value of the wrong type, unknown choice name */
#define TL_GRP_ERR_STATE 7u       /* [EBADSTATE] therapy command not allowed in this state */
#define TL_GRP_ERR_LOCKOUT 8u     /* [EBADSTATE] no valid therapy configuration */
/* [EINVAL] therapy configuration refused: TL_GRP_ERR_THERAPY_CFG + tl_therapy_cfg_err_t */
#define TL_GRP_ERR_THERAPY_CFG 16u
/* [EINVAL] loop configuration refused: TL_GRP_ERR_LOOP_CFG + tl_loop_cfg_err_t */
#define TL_GRP_ERR_LOOP_CFG 48u

/* Records per stream/log answer at most (each 52 bytes; fits TL_SMP_BUF_SIZE). */
#define TL_MGMT_RECORDS_MAX 32u
/* Bytes of one serialised telemetry record / event (little-endian, docs/therapy.md). */
#define TL_MGMT_RECORD_SIZE 52u
/* Key/value pairs one config write may carry. */
#define TL_MGMT_CONFIG_SET_MAX 32u

/* The loop the commands act on (the application's). Until bound they answer EBADSTATE. */
void tl_mgmt_therapy_bind(tl_loop_t *loop);

/* Handlers, registered in the theraloop group's command table (mgmt_theraloop.c). */
tl_mgmt_err_t tl_mgmt_status_read(tl_smp_req_t *req);
tl_mgmt_err_t tl_mgmt_config_read(tl_smp_req_t *req);
tl_mgmt_err_t tl_mgmt_config_write(tl_smp_req_t *req);
tl_mgmt_err_t tl_mgmt_therapy_write(tl_smp_req_t *req);
tl_mgmt_err_t tl_mgmt_stream_read(tl_smp_req_t *req);
tl_mgmt_err_t tl_mgmt_log_read(tl_smp_req_t *req);

/* Serialise a telemetry record / event to its 52-byte little-endian wire form. */
void tl_mgmt_pack_telemetry(const tl_telemetry_record_t *r, uint8_t out[TL_MGMT_RECORD_SIZE]);
void tl_mgmt_pack_event(const tl_event_t *e, uint8_t out[TL_MGMT_RECORD_SIZE]);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_MGMT_THERAPY_H */
