/*
 * smp_server.c - SMP header codec, request dispatch and error responses (see smp.h).
 *
 * Behaviour follows Zephyr's subsys/mgmt/mcumgr/smp/src/smp.c, with one deliberate
 * difference: packets carrying a response op (read-rsp/write-rsp) are dropped instead of
 * answered with ENOTSUP, so two SMP endpoints wired to each other cannot ping-pong.
 */
#include <string.h>

#include <zcbor_decode.h>
#include <zcbor_encode.h>

#include "theraloop/smp.h"

/* zcbor state backups available to handlers for nested containers. */
#define SMP_ZCBOR_BACKUPS 4u
/* Upper bound of entries in a response map (only relevant to canonical zcbor builds). */
#define SMP_MAX_MAP_ENTRIES 32u

bool tl_smp_hdr_decode(const uint8_t *buf, size_t len, tl_smp_hdr_t *out)
{
    if (buf == NULL || len < TL_SMP_HDR_SIZE) {
        return false;
    }
    out->op = (uint8_t)(buf[0] & 0x07u);
    out->version = (uint8_t)((buf[0] >> 3) & 0x03u);
    out->flags = buf[1];
    out->len = (uint16_t)(((uint16_t)buf[2] << 8) | buf[3]);
    out->group = (uint16_t)(((uint16_t)buf[4] << 8) | buf[5]);
    out->seq = buf[6];
    out->id = buf[7];
    return true;
}

void tl_smp_hdr_encode(const tl_smp_hdr_t *hdr, uint8_t out[TL_SMP_HDR_SIZE])
{
    out[0] = (uint8_t)(((hdr->version & 0x03u) << 3) | (hdr->op & 0x07u));
    out[1] = hdr->flags;
    out[2] = (uint8_t)(hdr->len >> 8);
    out[3] = (uint8_t)(hdr->len & 0xFFu);
    out[4] = (uint8_t)(hdr->group >> 8);
    out[5] = (uint8_t)(hdr->group & 0xFFu);
    out[6] = hdr->seq;
    out[7] = hdr->id;
}

void tl_smp_server_init(tl_smp_server_t *srv, tl_smp_output_fn output, void *output_ctx)
{
    memset(srv, 0, sizeof(*srv));
    srv->output = output;
    srv->output_ctx = output_ctx;
}

tl_smp_status_t tl_smp_server_register(tl_smp_server_t *srv, const tl_smp_group_t *group)
{
    if (srv == NULL || group == NULL || (group->cmds == NULL && group->n_cmds > 0u)) {
        return TL_SMP_ERR_ARG;
    }
    for (size_t i = 0; i < srv->n_groups; i++) {
        if (srv->groups[i]->id == group->id) {
            return TL_SMP_ERR_DUPLICATE;
        }
    }
    if (srv->n_groups >= TL_SMP_MAX_GROUPS) {
        return TL_SMP_ERR_FULL;
    }
    srv->groups[srv->n_groups++] = group;
    return TL_SMP_OK;
}

static const tl_smp_group_t *find_group(const tl_smp_server_t *srv, uint16_t id)
{
    for (size_t i = 0; i < srv->n_groups; i++) {
        if (srv->groups[i]->id == id) {
            return srv->groups[i];
        }
    }
    return NULL;
}

static const tl_smp_cmd_t *find_cmd(const tl_smp_group_t *group, uint8_t id)
{
    for (size_t i = 0; i < group->n_cmds; i++) {
        if (group->cmds[i].id == id) {
            return &group->cmds[i];
        }
    }
    return NULL;
}

/* Write the response header for `req` in front of a body of body_len bytes and output it. */
static void emit(tl_smp_server_t *srv, const tl_smp_hdr_t *req, size_t body_len)
{
    tl_smp_hdr_t rsp = {
        .op = (uint8_t)((req->op == TL_SMP_OP_READ) ? TL_SMP_OP_READ_RSP : TL_SMP_OP_WRITE_RSP),
        .version = (uint8_t)((req->version > TL_SMP_VERSION_2) ? TL_SMP_VERSION_2 : req->version),
        .flags = 0,
        .len = (uint16_t)body_len,
        .group = req->group,
        .seq = req->seq,
        .id = req->id,
    };
    tl_smp_hdr_encode(&rsp, srv->tx);
    if (srv->output != NULL) {
        srv->output(srv->output_ctx, srv->tx, TL_SMP_HDR_SIZE + body_len);
    }
}

static void encoder_init(tl_smp_server_t *srv, zcbor_state_t *states, size_t n_states)
{
    zcbor_new_encode_state(states, n_states, srv->tx + TL_SMP_HDR_SIZE,
                           sizeof(srv->tx) - TL_SMP_HDR_SIZE, 0);
}

static size_t encoded_len(const tl_smp_server_t *srv, const zcbor_state_t *enc)
{
    return (size_t)(enc->payload - (srv->tx + TL_SMP_HDR_SIZE));
}

/* Answer `req` with the generic error {"rc": rc}. */
static void send_error(tl_smp_server_t *srv, const tl_smp_hdr_t *req, tl_mgmt_err_t rc)
{
    zcbor_state_t enc[SMP_ZCBOR_BACKUPS + 2u];
    encoder_init(srv, enc, sizeof(enc) / sizeof(enc[0]));
    bool ok = zcbor_map_start_encode(enc, 1) && zcbor_tstr_put_lit(enc, "rc") &&
              zcbor_int32_put(enc, (int32_t)rc) && zcbor_map_end_encode(enc, 1);
    if (ok) {
        emit(srv, req, encoded_len(srv, enc));
    }
}

/* Answer a v2 request with the group error {"err": {"group": G, "rc": rc}}. */
static bool send_group_error(tl_smp_server_t *srv, const tl_smp_hdr_t *req, uint16_t rc)
{
    zcbor_state_t enc[SMP_ZCBOR_BACKUPS + 2u];
    encoder_init(srv, enc, sizeof(enc) / sizeof(enc[0]));
    bool ok = zcbor_map_start_encode(enc, 1) && zcbor_tstr_put_lit(enc, "err") &&
              zcbor_map_start_encode(enc, 2) && zcbor_tstr_put_lit(enc, "group") &&
              zcbor_uint32_put(enc, req->group) && zcbor_tstr_put_lit(enc, "rc") &&
              zcbor_uint32_put(enc, rc) && zcbor_map_end_encode(enc, 2) &&
              zcbor_map_end_encode(enc, 1);
    if (ok) {
        emit(srv, req, encoded_len(srv, enc));
    }
    return ok;
}

/* Handle one request whose payload (hdr->len bytes) is complete. Sends the response on
 * success; returns the generic error to answer with otherwise. */
static tl_mgmt_err_t handle_request(tl_smp_server_t *srv, const tl_smp_hdr_t *hdr,
                                    const uint8_t *payload)
{
    if (hdr->version > TL_SMP_VERSION_2) {
        return TL_MGMT_ERR_UNSUPPORTED_TOO_NEW;
    }
    const tl_smp_group_t *group = find_group(srv, hdr->group);
    if (group == NULL) {
        return TL_MGMT_ERR_ENOTSUP;
    }
    const tl_smp_cmd_t *cmd = find_cmd(group, hdr->id);
    if (cmd == NULL) {
        return TL_MGMT_ERR_ENOTSUP;
    }
    tl_smp_handler_fn fn = NULL;
    if (hdr->op == TL_SMP_OP_READ) {
        fn = cmd->read;
    } else if (hdr->op == TL_SMP_OP_WRITE) {
        fn = cmd->write;
    }
    if (fn == NULL) {
        return TL_MGMT_ERR_ENOTSUP;
    }
    /* The payload must be empty or exactly one well-formed CBOR map. */
    if (hdr->len > 0u) {
        if (!tl_cbor_wellformed(payload, hdr->len, TL_SMP_CBOR_MAX_DEPTH) ||
            (payload[0] >> 5) != 5u) {
            return TL_MGMT_ERR_EINVAL;
        }
    }

    zcbor_state_t dec[SMP_ZCBOR_BACKUPS + 2u];
    zcbor_new_decode_state(dec, sizeof(dec) / sizeof(dec[0]), payload, hdr->len, 1, NULL, 0);
    zcbor_state_t enc[SMP_ZCBOR_BACKUPS + 2u];
    encoder_init(srv, enc, sizeof(enc) / sizeof(enc[0]));
    if (!zcbor_map_start_encode(enc, SMP_MAX_MAP_ENTRIES)) {
        return TL_MGMT_ERR_EMSGSIZE;
    }

    tl_smp_req_t req = {
        .server = srv,
        .group = group,
        .hdr = *hdr,
        .payload = payload,
        .payload_len = hdr->len,
        .dec = dec,
        .enc = enc,
        .group_rc = 0,
        .defer_fn = NULL,
        .defer_arg = 0,
    };
    tl_mgmt_err_t rc = fn(&req);
    if (rc != TL_MGMT_ERR_EOK) {
        return rc;
    }
    if (req.group_rc != 0u) {
        if (hdr->version == TL_SMP_VERSION_1) {
            tl_mgmt_err_t v1 = (group->to_v1 != NULL) ? group->to_v1(req.group_rc)
                                                      : TL_MGMT_ERR_EUNKNOWN;
            return (v1 == TL_MGMT_ERR_EOK) ? TL_MGMT_ERR_EUNKNOWN : v1;
        }
        return send_group_error(srv, hdr, req.group_rc) ? TL_MGMT_ERR_EOK
                                                        : TL_MGMT_ERR_EMSGSIZE;
    }
    if (!zcbor_map_end_encode(enc, SMP_MAX_MAP_ENTRIES)) {
        return TL_MGMT_ERR_EMSGSIZE;
    }
    emit(srv, hdr, encoded_len(srv, enc));
    if (req.defer_fn != NULL) {
        srv->deferred = req.defer_fn;
        srv->deferred_arg = req.defer_arg;
    }
    return TL_MGMT_ERR_EOK;
}

void tl_smp_server_process(tl_smp_server_t *srv, const uint8_t *pkt, size_t len)
{
    size_t off = 0;
    /* A packet may hold several requests back to back; an error ends the packet. */
    while (off < len) {
        tl_smp_hdr_t hdr;
        if (!tl_smp_hdr_decode(pkt + off, len - off, &hdr)) {
            srv->stats.dropped++; /* not even a header: no one to answer */
            return;
        }
        if (hdr.op == TL_SMP_OP_READ_RSP || hdr.op == TL_SMP_OP_WRITE_RSP) {
            srv->stats.dropped++;
            return;
        }
        size_t avail = len - off - TL_SMP_HDR_SIZE;
        if (avail < hdr.len) {
            send_error(srv, &hdr, TL_MGMT_ERR_ECORRUPT);
            return;
        }
        tl_mgmt_err_t rc = handle_request(srv, &hdr, pkt + off + TL_SMP_HDR_SIZE);
        if (rc != TL_MGMT_ERR_EOK) {
            send_error(srv, &hdr, rc);
            return;
        }
        off += TL_SMP_HDR_SIZE + (size_t)hdr.len;
    }
}

bool tl_smp_server_poll(tl_smp_server_t *srv)
{
    tl_smp_deferred_fn fn = srv->deferred;
    if (fn == NULL) {
        return false;
    }
    uint32_t arg = srv->deferred_arg;
    srv->deferred = NULL; /* cleared first: fn may not return (reset) or re-init the app */
    srv->deferred_arg = 0;
    fn(arg);
    return true;
}

bool tl_smp_server_pending(const tl_smp_server_t *srv)
{
    return srv->deferred != NULL;
}

tl_mgmt_err_t tl_smp_group_error(tl_smp_req_t *req, uint16_t rc)
{
    req->group_rc = rc;
    return TL_MGMT_ERR_EOK;
}

bool tl_smp_defer(tl_smp_req_t *req, tl_smp_deferred_fn fn, uint32_t arg)
{
    if (req->server->deferred != NULL) {
        return false;
    }
    req->defer_fn = fn;
    req->defer_arg = arg;
    return true;
}
