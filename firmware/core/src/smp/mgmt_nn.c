/*
 * mgmt_nn.c - the SMP group "nn" (65): upload, load, invoke and benchmark .tflite models
 * on the inference engine (theraloop/nn/engine.h). Wire format: docs/protocol.md.
 *
 * Uploads mirror MCUmgr's image upload: chunks carry their offset; the first one also
 * the total length and optionally (a prefix of) the SHA-256 of the whole file; every
 * answer carries the next offset the device expects, so a client that sent a chunk at
 * the wrong offset (or lost an answer) resumes from there. The model runs in place from
 * its slot, so uploads go to the other slot; `load` validates the upload with the
 * engine and only then switches to it. A failed load re-loads the previous model.
 *
 * Every request field is range-checked before use; byte strings point into the request
 * buffer and are copied only after every check passed.
 */
#include "theraloop/mgmt_nn.h"

#include <stdalign.h>
#include <stdbool.h>
#include <string.h>

#include <zcbor_decode.h>
#include <zcbor_encode.h>

#include "mgmt_nn_bench.h"
#include "theraloop/loop/model_source.h"
#include "theraloop/nn/engine.h"
#include "theraloop/sha256.h"

_Static_assert(TL_MGMT_NN_SLOT_BYTES >= 16u && TL_MGMT_NN_SLOT_BYTES % 16u == 0u,
               "TL_MGMT_NN_SLOT_BYTES must be a positive multiple of 16");
_Static_assert(TL_MGMT_NN_ARENA_BYTES >= 16u && TL_MGMT_NN_ARENA_BYTES % 16u == 0u,
               "TL_MGMT_NN_ARENA_BYTES must be a positive multiple of 16");
_Static_assert(TL_MGMT_NN_ERR_ENGINE + TL_NN_STATUS_COUNT <= UINT16_MAX, "rc range");

/* Longest calibration run one request may ask for (runs x loop iterations): about
 * 12 s of a 168 MHz core, so a request cannot make the device deaf for minutes. */
#define NN_BENCH_MAX_LOOP_TOTAL 1000000000ull

typedef struct {
    bool active;                  /* an upload was started and not consumed/discarded */
    bool done;                    /* all `len` bytes received, digest valid */
    uint8_t slot;                 /* slot being written */
    uint8_t want_len;             /* bytes of `want` given by the client (0: none) */
    uint32_t len;                 /* announced total */
    uint32_t off;                 /* bytes received */
    uint8_t want[TL_SHA256_SIZE]; /* expected SHA-256 (prefix) */
    uint8_t digest[TL_SHA256_SIZE];
    tl_sha256_t sha;
} nn_upload_t;

typedef struct {
    bool set;
    uint16_t rc;                  /* the group rc it was answered with */
    tl_nn_status_t status;
    int32_t op;                   /* failing operator, or -1 */
    int32_t opcode;               /* its builtin code, or -1 */
    uint32_t arena_required;      /* for ARENA_TOO_SMALL, when known (else 0) */
} nn_error_t;

typedef struct {
    tl_nn_model_t model;
    bool loaded;
    uint8_t slot;                 /* slot the loaded model runs from */
    uint32_t len;
    uint32_t arena_limit;         /* arena bytes it was loaded with */
    uint8_t digest[TL_SHA256_SIZE];
    nn_upload_t up;
    nn_error_t err;
} nn_state_t;

static alignas(16) uint8_t g_nn_slots[2][TL_MGMT_NN_SLOT_BYTES];
static alignas(16) uint8_t g_nn_arena[TL_MGMT_NN_ARENA_BYTES];
static nn_state_t g_nn;

/* --- request decoding ---------------------------------------------------------------- */

typedef enum {
    NN_F_U32,
    NN_F_BSTR,
    NN_F_BSTR_LIST, /* out: nn_bstr_list_t */
} nn_field_type_t;

typedef struct {
    const char *key;
    nn_field_type_t type;
    void *out;
    bool found;
} nn_field_t;

typedef struct {
    struct zcbor_string item[TL_MGMT_NN_IO_MAX];
    size_t count;  /* items in the request (may exceed TL_MGMT_NN_IO_MAX) */
} nn_bstr_list_t;

static bool decode_bstr_list(zcbor_state_t *dec, nn_bstr_list_t *list)
{
    if (!zcbor_list_start_decode(dec)) {
        return false;
    }
    list->count = 0;
    while (!zcbor_array_at_end(dec)) {
        struct zcbor_string s;
        if (!zcbor_bstr_decode(dec, &s)) {
            return false;
        }
        if (list->count < TL_MGMT_NN_IO_MAX) {
            list->item[list->count] = s;
        }
        if (list->count < SIZE_MAX) {
            list->count++;
        }
    }
    return zcbor_list_end_decode(dec);
}

static bool decode_field(zcbor_state_t *dec, nn_field_t *f)
{
    switch (f->type) {
    case NN_F_U32:
        return zcbor_uint32_decode(dec, (uint32_t *)f->out);
    case NN_F_BSTR:
        return zcbor_bstr_decode(dec, (struct zcbor_string *)f->out);
    case NN_F_BSTR_LIST:
        return decode_bstr_list(dec, (nn_bstr_list_t *)f->out);
    default:
        return false;
    }
}

/* Like tl_smp_decode_map, plus arrays of byte strings. EINVAL for a payload that is not
 * a map, a known key with a value of the wrong type or range, or a key given twice. */
static tl_mgmt_err_t decode_request(tl_smp_req_t *req, nn_field_t *fields, size_t n_fields)
{
    for (size_t i = 0; i < n_fields; i++) {
        fields[i].found = false;
    }
    if (req->payload_len == 0u) {
        return TL_MGMT_ERR_EOK;
    }
    zcbor_state_t *dec = req->dec;
    if (!zcbor_map_start_decode(dec)) {
        return TL_MGMT_ERR_EINVAL;
    }
    while (!zcbor_array_at_end(dec)) {
        struct zcbor_string key;
        if (!zcbor_tstr_decode(dec, &key)) {
            if (!zcbor_any_skip(dec, NULL) || !zcbor_any_skip(dec, NULL)) {
                return TL_MGMT_ERR_EINVAL;
            }
            continue;
        }
        nn_field_t *match = NULL;
        for (size_t i = 0; i < n_fields; i++) {
            size_t klen = strlen(fields[i].key);
            if (klen == key.len && memcmp(fields[i].key, key.value, klen) == 0) {
                match = &fields[i];
                break;
            }
        }
        if (match == NULL) {
            if (!zcbor_any_skip(dec, NULL)) {
                return TL_MGMT_ERR_EINVAL;
            }
            continue;
        }
        if (match->found || !decode_field(dec, match)) {
            return TL_MGMT_ERR_EINVAL;
        }
        match->found = true;
    }
    return zcbor_map_end_decode(dec) ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EINVAL;
}

/* --- response encoding ---------------------------------------------------------------- */

static bool put_key(zcbor_state_t *e, const char *key)
{
    return zcbor_tstr_encode_ptr(e, key, strlen(key));
}

static bool put_u32(zcbor_state_t *e, const char *key, uint32_t v)
{
    return put_key(e, key) && zcbor_uint32_put(e, v);
}

static bool put_u64(zcbor_state_t *e, const char *key, uint64_t v)
{
    return put_key(e, key) && zcbor_uint64_put(e, v);
}

static bool put_i32(zcbor_state_t *e, const char *key, int32_t v)
{
    return put_key(e, key) && zcbor_int32_put(e, v);
}

static bool put_bool(zcbor_state_t *e, const char *key, bool v)
{
    return put_key(e, key) && zcbor_bool_put(e, v);
}

static bool put_str(zcbor_state_t *e, const char *key, const char *v)
{
    return put_key(e, key) && zcbor_tstr_encode_ptr(e, v, strlen(v));
}

static bool put_bstr(zcbor_state_t *e, const char *key, const uint8_t *v, size_t len)
{
    return put_key(e, key) && zcbor_bstr_encode_ptr(e, (const char *)v, len);
}

static const char *type_name(tl_nn_type_t type)
{
    switch (type) {
    case TL_NN_TYPE_INT8:
        return "int8";
    case TL_NN_TYPE_INT32:
        return "int32";
    case TL_NN_TYPE_FLOAT32:
        return "float32";
    default:
        return "unknown";
    }
}

/* {"name", "type", "shape", "scale", "zero_point", "bytes"} of one input or output. */
static bool put_io(zcbor_state_t *e, const tl_nn_tensor_t *t)
{
    bool ok = zcbor_map_start_encode(e, 6) && put_key(e, "name") &&
              zcbor_tstr_encode_ptr(e, (t->name != NULL) ? t->name : "",
                                    (t->name != NULL) ? t->name_len : 0u) &&
              put_str(e, "type", type_name(t->type)) && put_key(e, "shape") &&
              zcbor_list_start_encode(e, TL_NN_MAX_DIMS);
    for (uint8_t d = 0; ok && d < t->ndim && d < TL_NN_MAX_DIMS; d++) {
        ok = zcbor_int32_put(e, t->dims[d]);
    }
    return ok && zcbor_list_end_encode(e, TL_NN_MAX_DIMS) && put_key(e, "scale") &&
           zcbor_float32_put(e, t->scale) && put_i32(e, "zero_point", t->zero_point) &&
           put_u32(e, "bytes", (uint32_t)t->bytes) && zcbor_map_end_encode(e, 6);
}

static bool put_io_list(zcbor_state_t *e, const char *key, bool output)
{
    const tl_nn_model_t *m = &g_nn.model;
    size_t n = output ? tl_nn_output_count(m) : tl_nn_input_count(m);
    if (n > TL_MGMT_NN_IO_MAX) {
        n = TL_MGMT_NN_IO_MAX; /* the counts say how many there are */
    }
    bool ok = put_key(e, key) && zcbor_list_start_encode(e, TL_MGMT_NN_IO_MAX);
    for (size_t i = 0; ok && i < n; i++) {
        tl_nn_tensor_t t;
        ok = ((output ? tl_nn_output(m, i, &t) : tl_nn_input(m, i, &t)) == TL_NN_OK) &&
             put_io(e, &t);
    }
    return ok && zcbor_list_end_encode(e, TL_MGMT_NN_IO_MAX);
}

/* The loaded model's description: the entries of `load`'s answer and `state`'s "model". */
static bool put_model_entries(zcbor_state_t *e)
{
    const tl_nn_model_t *m = &g_nn.model;
    return put_u32(e, "bytes", g_nn.len) &&
           put_bstr(e, "sha256", g_nn.digest, sizeof(g_nn.digest)) &&
           put_u32(e, "slot", g_nn.slot) && put_u32(e, "arena_bytes", m->arena_required) &&
           put_u32(e, "arena_limit", g_nn.arena_limit) && put_u64(e, "macs", m->macs) &&
           put_u32(e, "ops", (uint32_t)tl_nn_op_count(m)) &&
           put_u32(e, "n_inputs", (uint32_t)tl_nn_input_count(m)) &&
           put_u32(e, "n_outputs", (uint32_t)tl_nn_output_count(m)) &&
           put_io_list(e, "inputs", false) && put_io_list(e, "outputs", true);
}

/* --- state and errors ----------------------------------------------------------------- */

static void state_reset(void)
{
    memset(&g_nn, 0, sizeof(g_nn));
    tl_model_source_ram_update(NULL, NULL);
}

/* Tell the control loop that the RAM model changed (or was re-loaded in place). */
static void report_ram_model(void)
{
    if (g_nn.loaded) {
        tl_model_source_ram_update(&g_nn.model, g_nn.digest);
    } else {
        tl_model_source_ram_update(NULL, NULL);
    }
}

static tl_mgmt_err_t engine_error(tl_smp_req_t *req, tl_nn_status_t st, int32_t op,
                                  int32_t opcode, uint32_t arena_required)
{
    uint16_t rc = (uint16_t)(TL_MGMT_NN_ERR_ENGINE + (unsigned)st);
    g_nn.err.set = true;
    g_nn.err.rc = rc;
    g_nn.err.status = st;
    g_nn.err.op = op;
    g_nn.err.opcode = opcode;
    g_nn.err.arena_required = arena_required;
    return tl_smp_group_error(req, rc);
}

static bool put_last_error(zcbor_state_t *e)
{
    const nn_error_t *r = &g_nn.err;
    if (!put_key(e, "last_error")) {
        return false;
    }
    if (!r->set) {
        return zcbor_nil_put(e, NULL);
    }
    bool ok = zcbor_map_start_encode(e, 8) && put_u32(e, "rc", r->rc) &&
              put_u32(e, "status", (uint32_t)r->status) &&
              put_str(e, "name", tl_nn_status_name(r->status)) &&
              put_str(e, "message", tl_nn_strerror(r->status)) && put_i32(e, "op", r->op);
    if (ok && r->op >= 0 && r->opcode >= 0) {
        ok = put_i32(e, "opcode", r->opcode) && put_str(e, "op_name", tl_nn_op_name_of(r->opcode));
    }
    if (ok && r->arena_required != 0u) {
        ok = put_u32(e, "arena_required", r->arena_required);
    }
    return ok && zcbor_map_end_encode(e, 8);
}

/* Re-load the model that ran before a failed load (its slot and arena size are
 * unchanged, so this succeeds as it did the first time). */
static void restore_previous(void)
{
    if (!g_nn.loaded) {
        memset(&g_nn.model, 0, sizeof(g_nn.model));
        return;
    }
    tl_nn_status_t st = tl_nn_load(&g_nn.model, g_nn_slots[g_nn.slot], g_nn.len, g_nn_arena,
                                   g_nn.arena_limit);
    if (st != TL_NN_OK) {
        g_nn.loaded = false; /* unreachable: the same bytes loaded before */
    }
}

/* --- state (read) ------------------------------------------------------------------------ */

static tl_mgmt_err_t nn_state(tl_smp_req_t *req)
{
    zcbor_state_t *e = req->enc;
    bool ok = put_u32(e, "slot_bytes", TL_MGMT_NN_SLOT_BYTES) &&
              put_u32(e, "arena_bytes", TL_MGMT_NN_ARENA_BYTES) &&
              put_u32(e, "io_max", TL_MGMT_NN_IO_MAX) && put_bool(e, "dsp", tl_nn_uses_dsp()) &&
              put_key(e, "model");
    if (ok && g_nn.loaded) {
        ok = zcbor_map_start_encode(e, 16) && put_model_entries(e) && zcbor_map_end_encode(e, 16);
    } else if (ok) {
        ok = zcbor_nil_put(e, NULL);
    }
    ok = ok && put_key(e, "upload");
    const nn_upload_t *up = &g_nn.up;
    if (ok && up->active) {
        ok = zcbor_map_start_encode(e, 5) && put_u32(e, "slot", up->slot) &&
             put_u32(e, "len", up->len) && put_u32(e, "off", up->off) &&
             put_bool(e, "done", up->done) &&
             (!up->done || put_bstr(e, "sha256", up->digest, sizeof(up->digest))) &&
             zcbor_map_end_encode(e, 5);
    } else if (ok) {
        ok = zcbor_nil_put(e, NULL);
    }
    ok = ok && put_last_error(e);
    return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

/* --- upload (write) ---------------------------------------------------------------------- */

static tl_mgmt_err_t answer_off(tl_smp_req_t *req, uint32_t off)
{
    return put_u32(req->enc, "off", off) ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

static tl_mgmt_err_t nn_upload(tl_smp_req_t *req)
{
    uint32_t off = 0;
    uint32_t len = 0;
    struct zcbor_string data = {0};
    struct zcbor_string sha = {0};
    nn_field_t f[] = {
        {"off", NN_F_U32, &off, false},
        {"data", NN_F_BSTR, &data, false},
        {"len", NN_F_U32, &len, false},
        {"sha", NN_F_BSTR, &sha, false},
    };
    tl_mgmt_err_t rc = decode_request(req, f, sizeof(f) / sizeof(f[0]));
    if (rc != TL_MGMT_ERR_EOK) {
        return rc;
    }
    if (!f[0].found || !f[1].found || (off == 0u && !f[2].found)) {
        return TL_MGMT_ERR_EINVAL; /* off and data always, len with the first chunk */
    }
    nn_upload_t *up = &g_nn.up;

    if (off == 0u) {
        if (len == 0u) {
            return tl_smp_group_error(req, TL_MGMT_NN_ERR_INVALID);
        }
        if (len > TL_MGMT_NN_SLOT_BYTES) {
            return tl_smp_group_error(req, TL_MGMT_NN_ERR_TOO_LARGE);
        }
        if (f[3].found && (sha.len == 0u || sha.len > TL_SHA256_SIZE)) {
            return tl_smp_group_error(req, TL_MGMT_NN_ERR_INVALID);
        }
        /* The same file again while its upload is unfinished: resume (MCUmgr's rule). */
        if (up->active && !up->done && up->len == len && f[3].found && up->want_len > 0u &&
            up->want_len == sha.len && memcmp(up->want, sha.value, sha.len) == 0) {
            return answer_off(req, up->off);
        }
        memset(up, 0, sizeof(*up));
        up->active = true;
        up->slot = (uint8_t)((g_nn.loaded && g_nn.slot == 0u) ? 1u : 0u);
        up->len = len;
        if (f[3].found) {
            memcpy(up->want, sha.value, sha.len);
            up->want_len = (uint8_t)sha.len;
        }
        tl_sha256_init(&up->sha);
    } else if (!up->active) {
        return answer_off(req, 0); /* nothing in progress: start again from 0 */
    }

    if (up->done || off != up->off) {
        return answer_off(req, up->off); /* not the chunk expected: where to go on */
    }
    if (data.len > (size_t)(up->len - up->off)) {
        return tl_smp_group_error(req, TL_MGMT_NN_ERR_INVALID); /* past the announced end */
    }
    if (data.len > 0u) {
        memcpy(&g_nn_slots[up->slot][up->off], data.value, data.len);
        tl_sha256_update(&up->sha, data.value, data.len);
        up->off += (uint32_t)data.len;
    }
    if (up->off < up->len) {
        return answer_off(req, up->off);
    }
    tl_sha256_final(&up->sha, up->digest);
    up->done = true;
    if (up->want_len > 0u && memcmp(up->digest, up->want, up->want_len) != 0) {
        memset(up, 0, sizeof(*up)); /* corrupted on the way: never loadable */
        return tl_smp_group_error(req, TL_MGMT_NN_ERR_HASH_MISMATCH);
    }
    zcbor_state_t *e = req->enc;
    return (put_u32(e, "off", up->off) && put_bstr(e, "sha256", up->digest, sizeof(up->digest)))
               ? TL_MGMT_ERR_EOK
               : TL_MGMT_ERR_EMSGSIZE;
}

/* --- load (write) ------------------------------------------------------------------------ */

static bool (*g_busy)(void);

void tl_mgmt_nn_set_busy_check(bool (*busy)(void))
{
    g_busy = busy;
}

static bool therapy_busy(void)
{
    return g_busy != NULL && g_busy();
}

static tl_mgmt_err_t nn_load(tl_smp_req_t *req)
{
    if (therapy_busy()) {
        return tl_smp_group_error(req, TL_MGMT_NN_ERR_BUSY);
    }
    uint32_t arena = TL_MGMT_NN_ARENA_BYTES;
    nn_field_t f[] = {{"arena", NN_F_U32, &arena, false}};
    tl_mgmt_err_t rc = decode_request(req, f, 1);
    if (rc != TL_MGMT_ERR_EOK) {
        return rc;
    }
    if (arena == 0u || arena > TL_MGMT_NN_ARENA_BYTES) {
        return tl_smp_group_error(req, TL_MGMT_NN_ERR_INVALID);
    }
    nn_upload_t *up = &g_nn.up;
    if (!up->active || !up->done) {
        return tl_smp_group_error(req, TL_MGMT_NN_ERR_NO_UPLOAD);
    }
    tl_nn_status_t st = tl_nn_load(&g_nn.model, g_nn_slots[up->slot], up->len, g_nn_arena, arena);
    if (st != TL_NN_OK) {
        int32_t op = g_nn.model.err_op;
        int32_t opcode = g_nn.model.err_opcode;
        uint32_t need = g_nn.model.arena_required;
        if (st == TL_NN_ERR_ARENA_TOO_SMALL && need == 0u) {
            /* The load gave up before its planner ran: compute the size with the whole
             * arena as scratch (it is re-initialised by restore_previous anyway). */
            size_t bytes = 0;
            if (tl_nn_arena_required(g_nn_slots[up->slot], up->len, g_nn_arena,
                                     sizeof(g_nn_arena), &bytes) == TL_NN_OK &&
                bytes <= UINT32_MAX) {
                need = (uint32_t)bytes;
            }
        }
        restore_previous(); /* the upload stays: it can be loaded again, e.g. with more arena */
        report_ram_model(); /* its arena was re-initialised */
        return engine_error(req, st, op, opcode, (st == TL_NN_ERR_ARENA_TOO_SMALL) ? need : 0u);
    }
    g_nn.loaded = true;
    g_nn.slot = up->slot;
    g_nn.len = up->len;
    g_nn.arena_limit = arena;
    memcpy(g_nn.digest, up->digest, sizeof(g_nn.digest));
    memset(up, 0, sizeof(*up));
    g_nn.err.set = false;
    report_ram_model();
    return put_model_entries(req->enc) ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

/* --- invoke (write) ---------------------------------------------------------------------- */

/* Check `in` against the loaded model's inputs: 0 if it fits, else a group rc. */
static uint16_t check_inputs(const nn_bstr_list_t *in)
{
    const tl_nn_model_t *m = &g_nn.model;
    size_t n = tl_nn_input_count(m);
    if (n > TL_MGMT_NN_IO_MAX || tl_nn_output_count(m) > TL_MGMT_NN_IO_MAX) {
        return TL_MGMT_NN_ERR_IO_LIMIT;
    }
    if (in->count != n) {
        return TL_MGMT_NN_ERR_IO_MISMATCH;
    }
    for (size_t i = 0; i < n; i++) {
        tl_nn_tensor_t t;
        if (tl_nn_input(m, i, &t) != TL_NN_OK || in->item[i].len != t.bytes) {
            return TL_MGMT_NN_ERR_IO_MISMATCH;
        }
    }
    return 0;
}

static void write_inputs(const nn_bstr_list_t *in)
{
    for (size_t i = 0; i < in->count; i++) {
        tl_nn_tensor_t t;
        if (tl_nn_input(&g_nn.model, i, &t) == TL_NN_OK && in->item[i].len == t.bytes) {
            memcpy(t.data, in->item[i].value, t.bytes);
        }
    }
}

static tl_mgmt_err_t nn_invoke(tl_smp_req_t *req)
{
    if (therapy_busy()) {
        return tl_smp_group_error(req, TL_MGMT_NN_ERR_BUSY);
    }
    nn_bstr_list_t in = {0};
    nn_field_t f[] = {{"in", NN_F_BSTR_LIST, &in, false}};
    tl_mgmt_err_t rc = decode_request(req, f, 1);
    if (rc != TL_MGMT_ERR_EOK) {
        return rc;
    }
    if (!f[0].found) {
        return TL_MGMT_ERR_EINVAL;
    }
    if (!g_nn.loaded) {
        return tl_smp_group_error(req, TL_MGMT_NN_ERR_NOT_LOADED);
    }
    uint16_t bad = check_inputs(&in);
    if (bad != 0u) {
        return tl_smp_group_error(req, bad);
    }
    write_inputs(&in);
    tl_nn_status_t st = tl_nn_invoke(&g_nn.model);
    if (st != TL_NN_OK) {
        return engine_error(req, st, -1, -1, 0);
    }
    zcbor_state_t *e = req->enc;
    size_t n = tl_nn_output_count(&g_nn.model);
    bool ok = put_key(e, "out") && zcbor_list_start_encode(e, TL_MGMT_NN_IO_MAX);
    for (size_t i = 0; ok && i < n; i++) {
        tl_nn_tensor_t t;
        ok = tl_nn_output(&g_nn.model, i, &t) == TL_NN_OK &&
             zcbor_bstr_encode_ptr(e, (const char *)t.data, t.bytes);
    }
    ok = ok && zcbor_list_end_encode(e, TL_MGMT_NN_IO_MAX);
    return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

/* --- bench (write) ----------------------------------------------------------------------- */

typedef struct {
    const nn_bstr_list_t *in; /* NULL: every input at its zero point */
} nn_bench_prep_t;

static void bench_prep(void *ctx)
{
    const nn_bench_prep_t *p = (const nn_bench_prep_t *)ctx;
    if (p->in != NULL) {
        write_inputs(p->in);
        return;
    }
    size_t n = tl_nn_input_count(&g_nn.model);
    for (size_t i = 0; i < n; i++) {
        tl_nn_tensor_t t;
        if (tl_nn_input(&g_nn.model, i, &t) != TL_NN_OK) {
            continue;
        }
        int fill = 0;
        if (t.type == TL_NN_TYPE_INT8 && t.zero_point >= INT8_MIN && t.zero_point <= INT8_MAX) {
            fill = (int)(uint8_t)(int8_t)t.zero_point;
        }
        memset(t.data, fill, t.bytes);
    }
}

static tl_mgmt_err_t nn_bench(tl_smp_req_t *req)
{
    if (therapy_busy()) {
        return tl_smp_group_error(req, TL_MGMT_NN_ERR_BUSY);
    }
    uint32_t runs = 0;
    uint32_t loop = 0;
    nn_bstr_list_t in = {0};
    nn_field_t f[] = {
        {"n", NN_F_U32, &runs, false},
        {"loop", NN_F_U32, &loop, false},
        {"in", NN_F_BSTR_LIST, &in, false},
    };
    tl_mgmt_err_t rc = decode_request(req, f, sizeof(f) / sizeof(f[0]));
    if (rc != TL_MGMT_ERR_EOK) {
        return rc;
    }
    if (!f[0].found) {
        return TL_MGMT_ERR_EINVAL;
    }
    bool is_loop = f[1].found;
    if (runs == 0u || runs > TL_MGMT_NN_BENCH_MAX_RUNS ||
        (is_loop && (loop == 0u || loop > TL_MGMT_NN_BENCH_MAX_LOOP ||
                     (uint64_t)runs * loop > NN_BENCH_MAX_LOOP_TOTAL))) {
        return tl_smp_group_error(req, TL_MGMT_NN_ERR_INVALID);
    }
    tl_nn_bench_timer_t timer;
    if (!tl_nn_bench_timer(&timer)) {
        return tl_smp_group_error(req, TL_MGMT_NN_ERR_NO_TIMER);
    }

    tl_nn_bench_result_t res;
    uint32_t st;
    if (is_loop) {
        st = tl_nn_bench_run(tl_nn_bench_loop, &loop, NULL, NULL, runs, &res);
    } else {
        if (!g_nn.loaded) {
            return tl_smp_group_error(req, TL_MGMT_NN_ERR_NOT_LOADED);
        }
        if (f[2].found) {
            uint16_t bad = check_inputs(&in);
            if (bad != 0u) {
                return tl_smp_group_error(req, bad);
            }
        }
        nn_bench_prep_t prep = {f[2].found ? &in : NULL};
        st = tl_nn_bench_run(tl_nn_bench_invoke, &g_nn.model, bench_prep, &prep, runs, &res);
    }
    if (st != 0u) {
        return engine_error(req, (tl_nn_status_t)st, -1, -1, 0);
    }

    zcbor_state_t *e = req->enc;
    bool ok = put_str(e, "target", is_loop ? "loop" : "model") && put_u32(e, "n", res.runs) &&
              put_u64(e, "ticks", res.ticks) && put_u32(e, "min", res.min) &&
              put_u32(e, "max", res.max) && put_u32(e, "tick_hz", timer.tick_hz) &&
              put_str(e, "timer", timer.timer) && put_bool(e, "masked", res.masked) &&
              put_bool(e, "dsp", tl_nn_uses_dsp());
    if (ok && is_loop) {
        ok = put_u32(e, "loop", loop) &&
             (!timer.loop_exact || put_u64(e, "loop_insns", tl_nn_bench_loop_insns(loop)));
    } else if (ok) {
        ok = put_u64(e, "macs", g_nn.model.macs) &&
             put_bstr(e, "sha256", g_nn.digest, sizeof(g_nn.digest));
    }
    return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

/* --- group ------------------------------------------------------------------------------- */

static tl_mgmt_err_t nn_to_v1(uint16_t rc)
{
    if (rc > TL_MGMT_NN_ERR_ENGINE) {
        return (rc == TL_MGMT_NN_ERR_ENGINE + (unsigned)TL_NN_ERR_ARENA_TOO_SMALL)
                   ? TL_MGMT_ERR_ENOMEM
                   : TL_MGMT_ERR_EINVAL;
    }
    switch (rc) {
    case TL_MGMT_NN_ERR_INVALID:
    case TL_MGMT_NN_ERR_IO_MISMATCH:
        return TL_MGMT_ERR_EINVAL;
    case TL_MGMT_NN_ERR_TOO_LARGE:
        return TL_MGMT_ERR_ENOMEM;
    case TL_MGMT_NN_ERR_NO_UPLOAD:
        return TL_MGMT_ERR_ENOENT;
    case TL_MGMT_NN_ERR_NOT_LOADED:
        return TL_MGMT_ERR_EBADSTATE;
    case TL_MGMT_NN_ERR_BUSY:
        return TL_MGMT_ERR_EBUSY;
    case TL_MGMT_NN_ERR_HASH_MISMATCH:
        return TL_MGMT_ERR_ECORRUPT;
    case TL_MGMT_NN_ERR_IO_LIMIT:
    case TL_MGMT_NN_ERR_NO_TIMER:
        return TL_MGMT_ERR_ENOTSUP;
    default:
        return TL_MGMT_ERR_EUNKNOWN;
    }
}

static const tl_smp_cmd_t k_nn_cmds[] = {
    {TL_MGMT_NN_STATE, nn_state, NULL},
    {TL_MGMT_NN_UPLOAD, NULL, nn_upload},
    {TL_MGMT_NN_LOAD, NULL, nn_load},
    {TL_MGMT_NN_INVOKE, NULL, nn_invoke},
    {TL_MGMT_NN_BENCH, NULL, nn_bench},
};

static const tl_smp_group_t k_nn_group = {
    .id = TL_SMP_GROUP_NN,
    .cmds = k_nn_cmds,
    .n_cmds = sizeof(k_nn_cmds) / sizeof(k_nn_cmds[0]),
    .to_v1 = nn_to_v1,
};

tl_smp_status_t tl_mgmt_nn_register(tl_smp_server_t *srv)
{
    state_reset();
    return tl_smp_server_register(srv, &k_nn_group);
}
