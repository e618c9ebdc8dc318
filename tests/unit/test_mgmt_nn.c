/* The nn SMP group (65) driven through the SMP server on the host platform: chunked
 * upload with offsets, resume and SHA-256 check; load (engine errors, arena limit, the
 * previous model kept); invoke against a direct engine run; bench argument checks;
 * every size and offset limit; v1 error translation. */
#include <stdalign.h>

#include <zcbor_decode.h>

#include "data/two_io.c" /* tests/models/int8/two_inputs_two_outputs.tflite as C */
#include "platform_host.h"
#include "smp_test_util.h"
#include "theraloop/loop/model_source.h"
#include "theraloop/mgmt_nn.h"
#include "theraloop/nn/engine.h"
#include "theraloop/sha256.h"
#include "theraloop/smp.h"
#include "tl_test.h"

#define V2 1u
#define V1 0u

static tl_smp_server_t g_srv;
static pkt_capture_t g_out;

static void setup(void)
{
    tl_host_boot(TL_RESET_POWER_ON);
    memset(&g_out, 0, sizeof(g_out));
    tl_smp_server_init(&g_srv, pkt_capture_output, &g_out);
    TL_EXPECT_EQ(tl_mgmt_nn_register(&g_srv), TL_SMP_OK);
}

/* --- a small CBOR writer for requests ----------------------------------------------- */

typedef struct {
    uint8_t buf[4096];
    size_t n;
} cb_t;

static void cb_head(cb_t *c, uint8_t major, uint64_t v)
{
    if (c->n + 9u > sizeof(c->buf)) {
        TL_EXPECT(!"request buffer too small");
        return;
    }
    uint8_t mt = (uint8_t)(major << 5);
    if (v < 24u) {
        c->buf[c->n++] = (uint8_t)(mt | v);
    } else if (v <= 0xFFu) {
        c->buf[c->n++] = (uint8_t)(mt | 24u);
        c->buf[c->n++] = (uint8_t)v;
    } else if (v <= 0xFFFFu) {
        c->buf[c->n++] = (uint8_t)(mt | 25u);
        c->buf[c->n++] = (uint8_t)(v >> 8);
        c->buf[c->n++] = (uint8_t)v;
    } else {
        c->buf[c->n++] = (uint8_t)(mt | 26u);
        for (int s = 24; s >= 0; s -= 8) {
            c->buf[c->n++] = (uint8_t)(v >> s);
        }
    }
}

static void cb_key(cb_t *c, const char *k)
{
    cb_head(c, 3, strlen(k));
    memcpy(c->buf + c->n, k, strlen(k));
    c->n += strlen(k);
}

static void cb_uint(cb_t *c, const char *k, uint64_t v)
{
    cb_key(c, k);
    cb_head(c, 0, v);
}

static void cb_bstr_raw(cb_t *c, const uint8_t *p, size_t n)
{
    cb_head(c, 2, n);
    if (c->n + n > sizeof(c->buf)) {
        TL_EXPECT(!"request buffer too small");
        return;
    }
    if (n > 0u) {
        memcpy(c->buf + c->n, p, n);
    }
    c->n += n;
}

static void cb_bstr(cb_t *c, const char *k, const uint8_t *p, size_t n)
{
    cb_key(c, k);
    cb_bstr_raw(c, p, n);
}

/* --- requests and responses ------------------------------------------------------------ */

static void send_req(uint8_t op, uint8_t ver, uint8_t id, const cb_t *body)
{
    static uint8_t pkt[4200];
    size_t len = (body != NULL) ? body->n : 0u;
    tl_smp_hdr_t h = {op, ver, 0, (uint16_t)len, TL_SMP_GROUP_NN, 7, id};
    tl_smp_hdr_encode(&h, pkt);
    if (len > 0u) {
        memcpy(pkt + TL_SMP_HDR_SIZE, body->buf, len);
    }
    memset(&g_out, 0, sizeof(g_out));
    tl_smp_server_process(&g_srv, pkt, TL_SMP_HDR_SIZE + len);
}

static const uint8_t *body_of(size_t *len)
{
    TL_EXPECT_EQ(g_out.n, 1);
    *len = (g_out.n == 1) ? g_out.len[0] - TL_SMP_HDR_SIZE : 0u;
    return g_out.pkt[0] + TL_SMP_HDR_SIZE;
}

#define NSTATES 8

/* Position d (a started map) at the value of `key`. */
static bool map_find(zcbor_state_t *d, const char *key)
{
    while (!zcbor_array_at_end(d)) {
        struct zcbor_string k;
        if (!zcbor_tstr_decode(d, &k)) {
            return false;
        }
        if (k.len == strlen(key) && memcmp(k.value, key, k.len) == 0) {
            return true;
        }
        if (!zcbor_any_skip(d, NULL)) {
            return false;
        }
    }
    return false;
}

/* Decoder at the value of top-level `key` of the last response. */
static bool rsp_find(zcbor_state_t *d, const char *key)
{
    size_t len = 0;
    const uint8_t *b = body_of(&len);
    zcbor_new_decode_state(d, NSTATES, b, len, 1, NULL, 0);
    return zcbor_map_start_decode(d) && map_find(d, key);
}

static bool rsp_u64(const char *key, uint64_t *v)
{
    zcbor_state_t d[NSTATES];
    return rsp_find(d, key) && zcbor_uint64_decode(d, v);
}

static uint64_t rsp_uint(const char *key)
{
    uint64_t v = UINT64_MAX;
    TL_EXPECT(rsp_u64(key, &v));
    return v;
}

static bool rsp_has(const char *key)
{
    zcbor_state_t d[NSTATES];
    return rsp_find(d, key);
}

static bool rsp_is_nil(const char *key)
{
    zcbor_state_t d[NSTATES];
    return rsp_find(d, key) && zcbor_nil_expect(d, NULL);
}

/* The response is the v2 group error {"err": {"group": 65, "rc": rc}}. */
static void expect_group_err(uint32_t rc)
{
    zcbor_state_t d[NSTATES];
    uint32_t group = 0, got = 0;
    bool ok = rsp_find(d, "err") && zcbor_map_start_decode(d) && map_find(d, "group") &&
              zcbor_uint32_decode(d, &group) && map_find(d, "rc") && zcbor_uint32_decode(d, &got);
    TL_EXPECT(ok);
    TL_EXPECT_EQ(group, TL_SMP_GROUP_NN);
    TL_EXPECT_EQ(got, rc);
}

static void expect_rc(uint32_t rc)
{
    TL_EXPECT_EQ(rsp_uint("rc"), rc);
}

/* --- commands ----------------------------------------------------------------------------- */

static void upload_chunk(uint32_t off, const uint8_t *data, size_t n, int64_t len,
                         const uint8_t *sha, size_t sha_len)
{
    cb_t c = {.n = 0};
    cb_head(&c, 5, 2u + (len >= 0 ? 1u : 0u) + (sha != NULL ? 1u : 0u));
    cb_uint(&c, "off", off);
    cb_bstr(&c, "data", data, n);
    if (len >= 0) {
        cb_uint(&c, "len", (uint64_t)len);
    }
    if (sha != NULL) {
        cb_bstr(&c, "sha", sha, sha_len);
    }
    send_req(TL_SMP_OP_WRITE, V2, TL_MGMT_NN_UPLOAD, &c);
}

/* Upload `data` in chunks of `chunk` bytes; true if every answer was the next offset. */
static bool upload(const uint8_t *data, size_t len, size_t chunk)
{
    uint8_t digest[TL_SHA256_SIZE];
    tl_sha256(data, len, digest);
    size_t off = 0;
    while (off < len) {
        size_t n = (len - off < chunk) ? len - off : chunk;
        if (off == 0u) {
            upload_chunk(0, data, n, (int64_t)len, digest, 8);
        } else {
            upload_chunk((uint32_t)off, data + off, n, -1, NULL, 0);
        }
        uint64_t next = 0;
        if (!rsp_u64("off", &next) || next != off + n) {
            return false;
        }
        off += n;
    }
    zcbor_state_t d[NSTATES];
    struct zcbor_string s;
    return rsp_find(d, "sha256") && zcbor_bstr_decode(d, &s) && s.len == TL_SHA256_SIZE &&
           memcmp(s.value, digest, TL_SHA256_SIZE) == 0;
}

static void load(int64_t arena)
{
    cb_t c = {.n = 0};
    cb_head(&c, 5, arena >= 0 ? 1u : 0u);
    if (arena >= 0) {
        cb_uint(&c, "arena", (uint64_t)arena);
    }
    send_req(TL_SMP_OP_WRITE, V2, TL_MGMT_NN_LOAD, &c);
}

static void invoke_raw(const uint8_t *const *ins, const size_t *lens, size_t n)
{
    cb_t c = {.n = 0};
    cb_head(&c, 5, 1);
    cb_key(&c, "in");
    cb_head(&c, 4, n);
    for (size_t i = 0; i < n; i++) {
        cb_bstr_raw(&c, ins[i], lens[i]);
    }
    send_req(TL_SMP_OP_WRITE, V2, TL_MGMT_NN_INVOKE, &c);
}

/* two_io: inputs [1,5] and [1,16,2] (int8), outputs [1,1] and [1,3]. */
static uint8_t g_in0[5], g_in1[32];

static void make_inputs(uint32_t seed)
{
    for (size_t i = 0; i < sizeof(g_in0); i++) {
        g_in0[i] = (uint8_t)(seed * 31u + i * 7u);
    }
    for (size_t i = 0; i < sizeof(g_in1); i++) {
        g_in1[i] = (uint8_t)(seed * 17u + i * 13u + 3u);
    }
}

static void invoke_two_io(void)
{
    const uint8_t *ins[2] = {g_in0, g_in1};
    size_t lens[2] = {sizeof(g_in0), sizeof(g_in1)};
    invoke_raw(ins, lens, 2);
}

/* The engine's outputs for the current inputs, computed directly. */
static void expected_outputs(uint8_t *out0, uint8_t *out1)
{
    static alignas(16) uint8_t arena[4096];
    tl_nn_model_t m;
    TL_EXPECT_EQ(tl_nn_load(&m, two_io_tflite, sizeof(two_io_tflite), arena, sizeof(arena)),
                 TL_NN_OK);
    tl_nn_tensor_t t;
    TL_EXPECT_EQ(tl_nn_input(&m, 0, &t), TL_NN_OK);
    memcpy(t.data, g_in0, sizeof(g_in0));
    TL_EXPECT_EQ(tl_nn_input(&m, 1, &t), TL_NN_OK);
    memcpy(t.data, g_in1, sizeof(g_in1));
    TL_EXPECT_EQ(tl_nn_invoke(&m), TL_NN_OK);
    TL_EXPECT_EQ(tl_nn_output(&m, 0, &t), TL_NN_OK);
    memcpy(out0, t.data, 1);
    TL_EXPECT_EQ(tl_nn_output(&m, 1, &t), TL_NN_OK);
    memcpy(out1, t.data, 3);
}

/* The last invoke answered the outputs the engine computes for the current inputs. */
static void expect_invoke_matches(void)
{
    uint8_t want0[1], want1[3];
    expected_outputs(want0, want1);
    zcbor_state_t d[NSTATES];
    struct zcbor_string o0 = {0}, o1 = {0};
    bool ok = rsp_find(d, "out") && zcbor_list_start_decode(d) && zcbor_bstr_decode(d, &o0) &&
              zcbor_bstr_decode(d, &o1) && zcbor_array_at_end(d);
    TL_EXPECT(ok);
    TL_EXPECT_EQ(o0.len, 1);
    TL_EXPECT_EQ(o1.len, 3);
    if (ok && o0.len == 1u && o1.len == 3u) {
        TL_EXPECT_MEM_EQ(o0.value, want0, 1);
        TL_EXPECT_MEM_EQ(o1.value, want1, 3);
    }
}

static void load_two_io(void)
{
    TL_EXPECT(upload(two_io_tflite, sizeof(two_io_tflite), 1000));
    load(-1);
    TL_EXPECT_EQ(rsp_uint("arena_bytes"), TWO_IO_ARENA_BYTES);
}

/* last_error.<key> of `state` as text (or "" if absent). */
static void state_error_field(const char *key, char *out, size_t cap)
{
    send_req(TL_SMP_OP_READ, V2, TL_MGMT_NN_STATE, NULL);
    zcbor_state_t d[NSTATES];
    struct zcbor_string s = {0};
    out[0] = '\0';
    if (rsp_find(d, "last_error") && zcbor_map_start_decode(d) && map_find(d, key) &&
        zcbor_tstr_decode(d, &s) && s.len < cap) {
        memcpy(out, s.value, s.len);
        out[s.len] = '\0';
    }
}

static int64_t state_error_int(const char *key)
{
    send_req(TL_SMP_OP_READ, V2, TL_MGMT_NN_STATE, NULL);
    zcbor_state_t d[NSTATES];
    int32_t v = 0;
    if (rsp_find(d, "last_error") && zcbor_map_start_decode(d) && map_find(d, key) &&
        zcbor_int32_decode(d, &v)) {
        return v;
    }
    return INT64_MIN;
}

/* --- tests --------------------------------------------------------------------------------- */

static void test_state_when_empty(void)
{
    setup();
    send_req(TL_SMP_OP_READ, V2, TL_MGMT_NN_STATE, NULL);
    TL_EXPECT_EQ(rsp_uint("slot_bytes"), TL_MGMT_NN_SLOT_BYTES);
    TL_EXPECT_EQ(rsp_uint("arena_bytes"), TL_MGMT_NN_ARENA_BYTES);
    TL_EXPECT_EQ(rsp_uint("io_max"), TL_MGMT_NN_IO_MAX);
    TL_EXPECT(rsp_is_nil("model"));
    TL_EXPECT(rsp_is_nil("upload"));
    TL_EXPECT(rsp_is_nil("last_error"));
    zcbor_state_t d[NSTATES];
    bool dsp = true;
    TL_EXPECT(rsp_find(d, "dsp") && zcbor_bool_decode(d, &dsp));
    TL_EXPECT(!dsp); /* the host build runs the portable kernels */
}

static void test_upload_load_invoke(void)
{
    setup();
    TL_EXPECT(upload(two_io_tflite, sizeof(two_io_tflite), 1000));
    load(-1);
    TL_EXPECT_EQ(rsp_uint("bytes"), sizeof(two_io_tflite));
    TL_EXPECT_EQ(rsp_uint("arena_bytes"), TWO_IO_ARENA_BYTES);
    TL_EXPECT_EQ(rsp_uint("arena_limit"), TL_MGMT_NN_ARENA_BYTES);
    TL_EXPECT_EQ(rsp_uint("macs"), TWO_IO_MACS);
    TL_EXPECT_EQ(rsp_uint("n_inputs"), 2);
    TL_EXPECT_EQ(rsp_uint("n_outputs"), 2);
    TL_EXPECT_EQ(rsp_uint("slot"), 0);
    zcbor_state_t d[NSTATES];
    uint32_t dims[3] = {0};
    /* the second input's shape */
    bool ok = rsp_find(d, "inputs") && zcbor_list_start_decode(d) && zcbor_any_skip(d, NULL) &&
         zcbor_map_start_decode(d) && map_find(d, "shape") && zcbor_list_start_decode(d) &&
         zcbor_uint32_decode(d, &dims[0]) && zcbor_uint32_decode(d, &dims[1]) &&
         zcbor_uint32_decode(d, &dims[2]);
    TL_EXPECT(ok);
    TL_EXPECT_EQ(dims[0], 1);
    TL_EXPECT_EQ(dims[1], 16);
    TL_EXPECT_EQ(dims[2], 2);
    for (uint32_t seed = 0; seed < 20; seed++) {
        make_inputs(seed);
        invoke_two_io();
        expect_invoke_matches();
    }
    /* state describes the loaded model and no upload */
    send_req(TL_SMP_OP_READ, V2, TL_MGMT_NN_STATE, NULL);
    TL_EXPECT(!rsp_is_nil("model"));
    TL_EXPECT(rsp_is_nil("upload"));
}

static void test_wrong_offset_answers_expected_offset(void)
{
    setup();
    upload_chunk(0, two_io_tflite, 100, sizeof(two_io_tflite), NULL, 0);
    TL_EXPECT_EQ(rsp_uint("off"), 100);
    upload_chunk(300, two_io_tflite + 300, 100, -1, NULL, 0); /* ahead: ignored */
    TL_EXPECT_EQ(rsp_uint("off"), 100);
    upload_chunk(50, two_io_tflite + 50, 100, -1, NULL, 0); /* behind: ignored */
    TL_EXPECT_EQ(rsp_uint("off"), 100);
    for (size_t off = 100; off < sizeof(two_io_tflite); off += 1500u) {
        size_t n = (sizeof(two_io_tflite) - off < 1500u) ? sizeof(two_io_tflite) - off : 1500u;
        upload_chunk((uint32_t)off, two_io_tflite + off, n, -1, NULL, 0);
        TL_EXPECT_EQ(rsp_uint("off"), off + n);
    }
    load(-1);
    TL_EXPECT_EQ(rsp_uint("macs"), TWO_IO_MACS); /* the file arrived intact */
    /* nothing in progress: any offset is answered with 0 */
    upload_chunk(64, two_io_tflite, 10, -1, NULL, 0);
    TL_EXPECT_EQ(rsp_uint("off"), 0);
}

static void test_resume_same_file(void)
{
    setup();
    uint8_t digest[TL_SHA256_SIZE];
    tl_sha256(two_io_tflite, sizeof(two_io_tflite), digest);
    upload_chunk(0, two_io_tflite, 1000, sizeof(two_io_tflite), digest, 16);
    upload_chunk(1000, two_io_tflite + 1000, 1000, -1, NULL, 0);
    TL_EXPECT_EQ(rsp_uint("off"), 2000);
    /* the client restarts (e.g. after losing the connection) with the same file: resume */
    upload_chunk(0, two_io_tflite, 1000, sizeof(two_io_tflite), digest, 16);
    TL_EXPECT_EQ(rsp_uint("off"), 2000);
    /* a different hash is a different file: start over */
    uint8_t other[16];
    memcpy(other, digest, sizeof(other));
    other[0] ^= 1u;
    upload_chunk(0, two_io_tflite, 1000, sizeof(two_io_tflite), other, sizeof(other));
    TL_EXPECT_EQ(rsp_uint("off"), 1000);
}

static void test_hash_mismatch_discards_upload(void)
{
    setup();
    uint8_t wrong[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    upload_chunk(0, two_io_tflite, 2000, sizeof(two_io_tflite), wrong, sizeof(wrong));
    upload_chunk(2000, two_io_tflite + 2000, 2000, -1, NULL, 0);
    TL_EXPECT_EQ(rsp_uint("off"), 4000);
    upload_chunk(4000, two_io_tflite + 4000, sizeof(two_io_tflite) - 4000, -1, NULL, 0);
    expect_group_err(TL_MGMT_NN_ERR_HASH_MISMATCH);
    send_req(TL_SMP_OP_READ, V2, TL_MGMT_NN_STATE, NULL);
    TL_EXPECT(rsp_is_nil("upload"));
    load(-1);
    expect_group_err(TL_MGMT_NN_ERR_NO_UPLOAD);
}

static void test_upload_limits(void)
{
    setup();
    uint8_t b[16] = {0};
    upload_chunk(0, b, 16, TL_MGMT_NN_SLOT_BYTES + 1u, NULL, 0);
    expect_group_err(TL_MGMT_NN_ERR_TOO_LARGE);
    upload_chunk(0, b, 0, 0, NULL, 0);
    expect_group_err(TL_MGMT_NN_ERR_INVALID);
    upload_chunk(0, b, 16, 8, NULL, 0); /* more data than announced */
    expect_group_err(TL_MGMT_NN_ERR_INVALID);
    uint8_t sha33[33] = {0};
    upload_chunk(0, b, 8, 8, sha33, sizeof(sha33)); /* sha longer than SHA-256 */
    expect_group_err(TL_MGMT_NN_ERR_INVALID);
    /* the first chunk needs len; off and data are always required */
    upload_chunk(0, b, 8, -1, NULL, 0);
    expect_rc(TL_MGMT_ERR_EINVAL);
    cb_t c = {.n = 0};
    cb_head(&c, 5, 1);
    cb_uint(&c, "off", 0);
    send_req(TL_SMP_OP_WRITE, V2, TL_MGMT_NN_UPLOAD, &c);
    expect_rc(TL_MGMT_ERR_EINVAL);
    /* the largest model a slot holds is accepted */
    upload_chunk(0, b, 16, TL_MGMT_NN_SLOT_BYTES, NULL, 0);
    TL_EXPECT_EQ(rsp_uint("off"), 16);
    /* a too-large upload with a v1 request: the translated generic code */
    cb_t v1 = {.n = 0};
    cb_head(&v1, 5, 3);
    cb_uint(&v1, "off", 0);
    cb_bstr(&v1, "data", b, 4);
    cb_uint(&v1, "len", TL_MGMT_NN_SLOT_BYTES + 16u);
    send_req(TL_SMP_OP_WRITE, V1, TL_MGMT_NN_UPLOAD, &v1);
    expect_rc(TL_MGMT_ERR_ENOMEM);
}

static void test_bad_model_keeps_previous(void)
{
    setup();
    load_two_io();
    make_inputs(5);
    invoke_two_io();
    expect_invoke_matches();

    static uint8_t bad[sizeof(two_io_tflite)];
    memcpy(bad, two_io_tflite, sizeof(bad));
    memcpy(bad + 4, "TFL2", 4);
    TL_EXPECT(upload(bad, sizeof(bad), 1500));
    send_req(TL_SMP_OP_READ, V2, TL_MGMT_NN_STATE, NULL);
    TL_EXPECT(!rsp_is_nil("upload"));
    load(-1);
    expect_group_err(TL_MGMT_NN_ERR_ENGINE + TL_NN_ERR_BAD_IDENTIFIER);
    char name[40];
    state_error_field("name", name, sizeof(name));
    TL_EXPECT(strcmp(name, "BAD_IDENTIFIER") == 0);
    /* the previous model still runs */
    make_inputs(6);
    invoke_two_io();
    expect_invoke_matches();

    /* a truncated file: the engine says so, the previous model still runs */
    TL_EXPECT(upload(two_io_tflite, 1200, 600));
    load(-1);
    size_t len = 0;
    body_of(&len);
    state_error_field("name", name, sizeof(name));
    TL_EXPECT(strcmp(name, "TRUNCATED") == 0 || strcmp(name, "MALFORMED") == 0);
    make_inputs(7);
    invoke_two_io();
    expect_invoke_matches();
}

static void test_arena_limit_is_exact(void)
{
    setup();
    TL_EXPECT(upload(two_io_tflite, sizeof(two_io_tflite), 2048));
    load(TWO_IO_ARENA_BYTES - 1u);
    expect_group_err(TL_MGMT_NN_ERR_ENGINE + TL_NN_ERR_ARENA_TOO_SMALL);
    char name[40];
    state_error_field("name", name, sizeof(name));
    TL_EXPECT(strcmp(name, "ARENA_TOO_SMALL") == 0);
    TL_EXPECT_EQ(state_error_int("arena_required"), TWO_IO_ARENA_BYTES);
    /* the upload is still there: load it with exactly the reported arena */
    load(TWO_IO_ARENA_BYTES);
    TL_EXPECT_EQ(rsp_uint("arena_limit"), TWO_IO_ARENA_BYTES);
    make_inputs(9);
    invoke_two_io();
    expect_invoke_matches();
    send_req(TL_SMP_OP_READ, V2, TL_MGMT_NN_STATE, NULL);
    TL_EXPECT(rsp_is_nil("last_error")); /* a successful load clears it */
    load(0);
    expect_group_err(TL_MGMT_NN_ERR_INVALID);
    load(TL_MGMT_NN_ARENA_BYTES + 16u);
    expect_group_err(TL_MGMT_NN_ERR_INVALID);
}

static void test_uploads_alternate_slots(void)
{
    setup();
    load_two_io();
    TL_EXPECT_EQ(rsp_uint("slot"), 0);
    upload_chunk(0, two_io_tflite, 10, sizeof(two_io_tflite), NULL, 0);
    send_req(TL_SMP_OP_READ, V2, TL_MGMT_NN_STATE, NULL);
    zcbor_state_t d[NSTATES];
    uint32_t slot = 9;
    TL_EXPECT(rsp_find(d, "upload") && zcbor_map_start_decode(d) && map_find(d, "slot") &&
              zcbor_uint32_decode(d, &slot));
    TL_EXPECT_EQ(slot, 1);
    TL_EXPECT(upload(two_io_tflite, sizeof(two_io_tflite), 2000));
    load(-1);
    TL_EXPECT_EQ(rsp_uint("slot"), 1);
    make_inputs(3);
    invoke_two_io();
    expect_invoke_matches();
}

static void test_invoke_checks(void)
{
    setup();
    make_inputs(1);
    invoke_two_io();
    expect_group_err(TL_MGMT_NN_ERR_NOT_LOADED);
    load_two_io();
    const uint8_t *ins[3] = {g_in0, g_in1, g_in1};
    size_t lens[3] = {sizeof(g_in0), sizeof(g_in1), sizeof(g_in1)};
    invoke_raw(ins, lens, 1); /* one input short */
    expect_group_err(TL_MGMT_NN_ERR_IO_MISMATCH);
    invoke_raw(ins, lens, 3); /* one too many */
    expect_group_err(TL_MGMT_NN_ERR_IO_MISMATCH);
    size_t short_lens[2] = {sizeof(g_in0), sizeof(g_in1) - 1u};
    invoke_raw(ins, short_lens, 2);
    expect_group_err(TL_MGMT_NN_ERR_IO_MISMATCH);
    size_t swapped[2] = {sizeof(g_in1), sizeof(g_in0)};
    const uint8_t *swapped_ins[2] = {g_in1, g_in0};
    invoke_raw(swapped_ins, swapped, 2);
    expect_group_err(TL_MGMT_NN_ERR_IO_MISMATCH);
    uint8_t many[12][1] = {{0}};
    const uint8_t *many_ins[12];
    size_t many_lens[12];
    for (size_t i = 0; i < 12; i++) {
        many_ins[i] = many[i];
        many_lens[i] = 1;
    }
    invoke_raw(many_ins, many_lens, 12); /* more items than the group decodes */
    expect_group_err(TL_MGMT_NN_ERR_IO_MISMATCH);
    send_req(TL_SMP_OP_WRITE, V2, TL_MGMT_NN_INVOKE, NULL); /* no "in" */
    expect_rc(TL_MGMT_ERR_EINVAL);
    cb_t c = {.n = 0};
    cb_head(&c, 5, 1);
    cb_uint(&c, "in", 5); /* not an array */
    send_req(TL_SMP_OP_WRITE, V2, TL_MGMT_NN_INVOKE, &c);
    expect_rc(TL_MGMT_ERR_EINVAL);
    /* after all that, it still runs */
    make_inputs(2);
    invoke_two_io();
    expect_invoke_matches();
}

static void bench(uint64_t n, int64_t loop, bool with_inputs)
{
    cb_t c = {.n = 0};
    cb_head(&c, 5, 1u + (loop >= 0 ? 1u : 0u) + (with_inputs ? 1u : 0u));
    cb_uint(&c, "n", n);
    if (loop >= 0) {
        cb_uint(&c, "loop", (uint64_t)loop);
    }
    if (with_inputs) {
        cb_key(&c, "in");
        cb_head(&c, 4, 2);
        cb_bstr_raw(&c, g_in0, sizeof(g_in0));
        cb_bstr_raw(&c, g_in1, sizeof(g_in1));
    }
    send_req(TL_SMP_OP_WRITE, V2, TL_MGMT_NN_BENCH, &c);
}

static void test_bench(void)
{
    setup();
    bench(5, -1, false);
    expect_group_err(TL_MGMT_NN_ERR_NOT_LOADED);
    bench(3, 100, false); /* the calibration loop needs no model */
    TL_EXPECT_EQ(rsp_uint("n"), 3);
    TL_EXPECT_EQ(rsp_uint("loop"), 100);
    TL_EXPECT_EQ(rsp_uint("tick_hz"), 1000000000u);
    TL_EXPECT(!rsp_has("loop_insns")); /* not exact off the Cortex-M */
    TL_EXPECT(rsp_uint("min") <= rsp_uint("max"));

    load_two_io();
    make_inputs(4);
    bench(7, -1, true);
    TL_EXPECT_EQ(rsp_uint("n"), 7);
    TL_EXPECT_EQ(rsp_uint("macs"), TWO_IO_MACS);
    uint64_t ticks = rsp_uint("ticks");
    TL_EXPECT(ticks >= rsp_uint("max"));
    TL_EXPECT(ticks >= 7u * rsp_uint("min"));
    bench(2, -1, false); /* inputs at their zero points */
    TL_EXPECT_EQ(rsp_uint("n"), 2);

    /* a bench leaves the model usable */
    make_inputs(8);
    invoke_two_io();
    expect_invoke_matches();

    bench(0, -1, false);
    expect_group_err(TL_MGMT_NN_ERR_INVALID);
    bench(TL_MGMT_NN_BENCH_MAX_RUNS + 1u, -1, false);
    expect_group_err(TL_MGMT_NN_ERR_INVALID);
    bench(1, 0, false);
    expect_group_err(TL_MGMT_NN_ERR_INVALID);
    bench(100000, 100000, false); /* 10^10 loop iterations: refused */
    expect_group_err(TL_MGMT_NN_ERR_INVALID);
    cb_t c = {.n = 0};
    cb_head(&c, 5, 1);
    cb_key(&c, "in");
    cb_head(&c, 4, 0);
    send_req(TL_SMP_OP_WRITE, V2, TL_MGMT_NN_BENCH, &c); /* no "n" */
    expect_rc(TL_MGMT_ERR_EINVAL);
}

/* The loaded model is the control loop's "ram" model source, kept up to date. */
static void test_loaded_model_is_the_loops_ram_model(void)
{
    setup();
    tl_model_active_t a;
    tl_model_source_acquire(TL_MODEL_SRC_RAM, &a);
    TL_EXPECT(a.model == NULL);
    load_two_io();
    uint32_t gen = tl_model_source_generation();
    tl_model_source_acquire(TL_MODEL_SRC_RAM, &a);
    TL_EXPECT(a.model != NULL);
    uint8_t digest[TL_SHA256_SIZE];
    tl_sha256(two_io_tflite, sizeof(two_io_tflite), digest);
    if (a.model != NULL && a.sha256 != NULL) {
        TL_EXPECT_MEM_EQ(a.sha256, digest, sizeof(digest));
        TL_EXPECT_EQ(tl_nn_input_count(a.model), 2);
        /* the loop runs it through its handle */
        tl_nn_tensor_t t;
        TL_EXPECT_EQ(tl_nn_input(a.model, 0, &t), TL_NN_OK);
        TL_EXPECT_EQ(tl_nn_invoke(a.model), TL_NN_OK);
    }
    /* a refused load re-initialises the arena: the loop is told (new generation), and
     * the handle is the previous model again */
    static uint8_t bad[sizeof(two_io_tflite)];
    memcpy(bad, two_io_tflite, sizeof(bad));
    memcpy(bad + 4, "XXXX", 4);
    TL_EXPECT(upload(bad, sizeof(bad), 2000));
    load(-1);
    expect_group_err(TL_MGMT_NN_ERR_ENGINE + TL_NN_ERR_BAD_IDENTIFIER);
    TL_EXPECT(tl_model_source_generation() != gen);
    tl_model_source_acquire(TL_MODEL_SRC_RAM, &a);
    TL_EXPECT(a.model != NULL && a.model->loaded);
    /* a new registration (a reboot) forgets it */
    setup();
    tl_model_source_acquire(TL_MODEL_SRC_RAM, &a);
    TL_EXPECT(a.model == NULL);
}

static void test_unknown_command_and_ops(void)
{
    setup();
    send_req(TL_SMP_OP_WRITE, V2, TL_MGMT_NN_STATE, NULL); /* state is read-only */
    expect_rc(TL_MGMT_ERR_ENOTSUP);
    send_req(TL_SMP_OP_READ, V2, TL_MGMT_NN_UPLOAD, NULL);
    expect_rc(TL_MGMT_ERR_ENOTSUP);
    send_req(TL_SMP_OP_READ, V2, 9, NULL);
    expect_rc(TL_MGMT_ERR_ENOTSUP);
}

int main(void)
{
    TL_RUN(test_state_when_empty);
    TL_RUN(test_upload_load_invoke);
    TL_RUN(test_wrong_offset_answers_expected_offset);
    TL_RUN(test_resume_same_file);
    TL_RUN(test_hash_mismatch_discards_upload);
    TL_RUN(test_upload_limits);
    TL_RUN(test_bad_model_keeps_previous);
    TL_RUN(test_arena_limit_is_exact);
    TL_RUN(test_uploads_alternate_slots);
    TL_RUN(test_invoke_checks);
    TL_RUN(test_bench);
    TL_RUN(test_loaded_model_is_the_loops_ram_model);
    TL_RUN(test_unknown_command_and_ops);
    return tl_test_summary();
}
