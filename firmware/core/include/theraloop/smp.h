/*
 * smp.h - SMP (Simple Management Protocol, as used by MCUmgr) server: packet header,
 * request dispatch to registered command groups, error responses, deferred actions.
 *
 * Transport independent: feed it whole SMP packets (tl_smp_server_process) and it hands
 * every response packet to the output callback. The serial transport (smp_serial.h) and
 * the application wiring (app.h) sit on top. Wire format and behaviour: docs/protocol.md.
 *
 *   packet = header (8 bytes, big-endian) + CBOR map (header.len bytes)
 *   header = [Res:3 | Ver:2 | Op:3] [Flags] [Length:16] [Group:16] [Seq:8] [Id:8]
 *
 * Errors follow Zephyr's SMP server:
 *   - generic (MGMT_ERR) errors are answered with {"rc": N} for v1 and v2 requests;
 *   - a group-specific error is answered with {"err": {"group": G, "rc": N}} to a v2
 *     request, and with {"rc": <group's v1 translation>} to a v1 (legacy) request.
 */
#ifndef THERALOOP_SMP_H
#define THERALOOP_SMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zcbor_common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TL_SMP_HDR_SIZE 8u

/* The reassembly buffer of the serial transport holds one decoded frame: 2-byte length,
 * SMP packet, 2-byte CRC. Reported as MCUmgr `buf_size`; clients send packets of up to
 * buf_size - 4 bytes. The response buffer holds one response packet of up to this size. */
#ifndef TL_SMP_BUF_SIZE
#define TL_SMP_BUF_SIZE 2048u
#endif
/* Requests are handled one at a time (MCUmgr `buf_count`): a client must not pipeline. */
#define TL_SMP_BUF_COUNT 1u
/* Command groups one server can hold. */
#define TL_SMP_MAX_GROUPS 12u
/* Deepest CBOR nesting accepted in a request (the top-level map is depth 1). Bounds the
 * recursion of the CBOR skipping code, so a hostile packet cannot exhaust the stack. */
#define TL_SMP_CBOR_MAX_DEPTH 8u

typedef enum {
    TL_SMP_OP_READ = 0,
    TL_SMP_OP_READ_RSP = 1,
    TL_SMP_OP_WRITE = 2,
    TL_SMP_OP_WRITE_RSP = 3,
} tl_smp_op_t;

typedef enum {
    TL_SMP_VERSION_1 = 0, /* original ("legacy") protocol: errors only as {"rc": N} */
    TL_SMP_VERSION_2 = 1, /* group errors as {"err": {"group": G, "rc": N}} */
} tl_smp_version_t;

/* Generic MCUmgr error codes (MGMT_ERR_*), identical to Zephyr's. */
typedef enum {
    TL_MGMT_ERR_EOK = 0,
    TL_MGMT_ERR_EUNKNOWN = 1,
    TL_MGMT_ERR_ENOMEM = 2,
    TL_MGMT_ERR_EINVAL = 3,
    TL_MGMT_ERR_ETIMEOUT = 4,
    TL_MGMT_ERR_ENOENT = 5,
    TL_MGMT_ERR_EBADSTATE = 6,
    TL_MGMT_ERR_EMSGSIZE = 7,
    TL_MGMT_ERR_ENOTSUP = 8,
    TL_MGMT_ERR_ECORRUPT = 9,
    TL_MGMT_ERR_EBUSY = 10,
    TL_MGMT_ERR_EACCESSDENIED = 11,
    TL_MGMT_ERR_UNSUPPORTED_TOO_OLD = 12,
    TL_MGMT_ERR_UNSUPPORTED_TOO_NEW = 13,
    TL_MGMT_ERR_EPERUSER = 256,
} tl_mgmt_err_t;

/* Well-known group ids. */
#define TL_SMP_GROUP_OS 0u
#define TL_SMP_GROUP_THERALOOP 64u /* first user-defined group id */

typedef struct {
    uint8_t op;      /* tl_smp_op_t (3 bits) */
    uint8_t version; /* tl_smp_version_t (2 bits) */
    uint8_t flags;
    uint16_t len;    /* length of the CBOR payload that follows the header */
    uint16_t group;
    uint8_t seq;
    uint8_t id;
} tl_smp_hdr_t;

/* Parse a header from the first 8 bytes; false if len < 8. Reserved bits are ignored. */
bool tl_smp_hdr_decode(const uint8_t *buf, size_t len, tl_smp_hdr_t *out);
/* Write a header (reserved bits zero). */
void tl_smp_hdr_encode(const tl_smp_hdr_t *hdr, uint8_t out[TL_SMP_HDR_SIZE]);

/* Transport and server counters, reported by `theraloop info` as smp_stats. */
typedef struct {
    uint32_t frames_ok;  /* complete packets with a good CRC */
    uint32_t bad_crc;    /* packets dropped: CRC mismatch */
    uint32_t bad_base64; /* packets dropped: invalid base64 in a line */
    uint32_t oversize;   /* packets dropped: announced length exceeds the buffer */
    uint32_t dropped;    /* packets dropped otherwise: length mismatch, cut off by a new
                          * start line, shorter than an SMP header, response op received */
} tl_smp_stats_t;

struct tl_smp_server;
struct tl_smp_req;

/* A command handler. Reads the request through req->dec (or tl_smp_decode_map) and
 * appends key/value pairs to the open response map req->enc. Returns TL_MGMT_ERR_EOK,
 * or a generic error (the partial response is discarded and {"rc": N} sent instead).
 * Group-specific errors: return tl_smp_group_error(req, rc). */
typedef tl_mgmt_err_t (*tl_smp_handler_fn)(struct tl_smp_req *req);

typedef struct {
    uint8_t id;
    tl_smp_handler_fn read;  /* NULL: read not supported (ENOTSUP) */
    tl_smp_handler_fn write; /* NULL: write not supported (ENOTSUP) */
} tl_smp_cmd_t;

/* Map a group-specific error code to a generic one for v1 requests. */
typedef tl_mgmt_err_t (*tl_smp_translate_fn)(uint16_t group_rc);

typedef struct {
    uint16_t id;
    const tl_smp_cmd_t *cmds;
    size_t n_cmds;
    tl_smp_translate_fn to_v1; /* NULL: every group error becomes EUNKNOWN for v1 */
} tl_smp_group_t;

/* Receives each complete response packet (header + CBOR); valid during the call only. */
typedef void (*tl_smp_output_fn)(void *ctx, const uint8_t *pkt, size_t len);

/* An action to run after the response that requested it has been output. */
typedef void (*tl_smp_deferred_fn)(uint32_t arg);

typedef struct tl_smp_req {
    struct tl_smp_server *server;
    const tl_smp_group_t *group;
    tl_smp_hdr_t hdr;
    const uint8_t *payload; /* the request's CBOR (hdr.len bytes; well-formed, a map or empty) */
    size_t payload_len;
    zcbor_state_t *dec;     /* positioned at the request map */
    zcbor_state_t *enc;     /* inside the open response map */
    uint16_t group_rc;      /* set by tl_smp_group_error */
    tl_smp_deferred_fn defer_fn;
    uint32_t defer_arg;
} tl_smp_req_t;

typedef struct tl_smp_server {
    const tl_smp_group_t *groups[TL_SMP_MAX_GROUPS];
    size_t n_groups;
    tl_smp_output_fn output;
    void *output_ctx;
    tl_smp_deferred_fn deferred; /* pending action, run by tl_smp_server_poll */
    uint32_t deferred_arg;
    tl_smp_stats_t stats;
    uint8_t tx[TL_SMP_BUF_SIZE]; /* response packet being built */
} tl_smp_server_t;

typedef enum {
    TL_SMP_OK = 0,
    TL_SMP_ERR_ARG = 1,       /* NULL or malformed argument */
    TL_SMP_ERR_FULL = 2,      /* TL_SMP_MAX_GROUPS reached */
    TL_SMP_ERR_DUPLICATE = 3, /* a group with this id is registered already */
} tl_smp_status_t;

/* Reset the server (no groups, counters zero, nothing pending). */
void tl_smp_server_init(tl_smp_server_t *srv, tl_smp_output_fn output, void *output_ctx);

/* Register a command group; the group must outlive the server (typically `static const`). */
tl_smp_status_t tl_smp_server_register(tl_smp_server_t *srv, const tl_smp_group_t *group);

/* Handle one SMP packet (as delivered by the transport: possibly several concatenated
 * requests). Emits zero or more responses through the output callback. */
void tl_smp_server_process(tl_smp_server_t *srv, const uint8_t *pkt, size_t len);

/* Run the pending deferred action, if any (after its response was output). Returns true
 * if one ran. Call from the main loop (tl_app_poll). */
bool tl_smp_server_poll(tl_smp_server_t *srv);

/* Whether a deferred action is waiting for tl_smp_server_poll. */
bool tl_smp_server_pending(const tl_smp_server_t *srv);

/* --- helpers for command handlers ------------------------------------------------- */

/* Report a group-specific error code (non-zero). Returns TL_MGMT_ERR_EOK so a handler can
 * `return tl_smp_group_error(req, RC);`. */
tl_mgmt_err_t tl_smp_group_error(tl_smp_req_t *req, uint16_t rc);

/* Ask for fn(arg) to run from tl_smp_server_poll once this request's response has been
 * output (not if the request ends in an error). Returns false if another action is still
 * pending (the handler should then fail with TL_MGMT_ERR_EBUSY). */
bool tl_smp_defer(tl_smp_req_t *req, tl_smp_deferred_fn fn, uint32_t arg);

typedef enum {
    TL_SMP_VAL_TSTR, /* out: struct zcbor_string (points into the request) */
    TL_SMP_VAL_BSTR, /* out: struct zcbor_string (points into the request) */
    TL_SMP_VAL_U32,  /* out: uint32_t */
    TL_SMP_VAL_I32,  /* out: int32_t */
    TL_SMP_VAL_BOOL, /* out: bool */
    TL_SMP_VAL_FLAG, /* out: bool; accepts true/false or the integers 0/1 */
} tl_smp_val_type_t;

typedef struct {
    const char *key;        /* NUL-terminated text key */
    tl_smp_val_type_t type;
    void *out;
    bool found;             /* set by tl_smp_decode_map */
} tl_smp_field_t;

/* Decode the request map: each listed key found is decoded into its field's `out` and
 * marked found; other keys are skipped. An empty payload is an empty map. Returns
 * TL_MGMT_ERR_EINVAL if the payload is not a map, a listed key has a value of the wrong
 * type or range, or a listed key appears twice. Call at most once per request. */
tl_mgmt_err_t tl_smp_decode_map(tl_smp_req_t *req, tl_smp_field_t *fields, size_t n_fields);

/* Whether buf holds exactly one well-formed CBOR data item (RFC 8949) nested no deeper than
 * max_depth arrays/maps; indefinite-length strings are rejected. Iterative, no recursion. */
bool tl_cbor_wellformed(const uint8_t *buf, size_t len, unsigned max_depth);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_SMP_H */
