/* SMP server: header codec, dispatch, the exact error responses (generic {"rc"} vs v2 group
 * {"err"}), Zephyr's handling of short/long/concatenated packets, the request CBOR checks,
 * the map decoder for handlers, deferred actions and group registration. */
#include <zcbor_encode.h>

#include "smp_test_util.h"
#include "smp_vectors.h"
#include "theraloop/mgmt.h"
#include "theraloop/smp.h"
#include "tl_test.h"

static tl_smp_server_t g_srv;
static pkt_capture_t g_out;
static uint8_t g_req[4096];

/* --- a test group (200) exercising the handler API ------------------------------------ */

static tl_mgmt_err_t h_any(tl_smp_req_t *req)
{
    return zcbor_tstr_put_lit(req->enc, "ok") && zcbor_bool_put(req->enc, true)
               ? TL_MGMT_ERR_EOK
               : TL_MGMT_ERR_EMSGSIZE;
}

static tl_mgmt_err_t h_fields(tl_smp_req_t *req)
{
    struct zcbor_string s = {0};
    struct zcbor_string x = {0};
    uint32_t u = 0;
    int32_t i = 0;
    bool b = false;
    bool f = false;
    tl_smp_field_t fields[] = {
        {"s", TL_SMP_VAL_TSTR, &s, false}, {"u", TL_SMP_VAL_U32, &u, false},
        {"i", TL_SMP_VAL_I32, &i, false},  {"b", TL_SMP_VAL_BOOL, &b, false},
        {"f", TL_SMP_VAL_FLAG, &f, false}, {"x", TL_SMP_VAL_BSTR, &x, false},
    };
    tl_mgmt_err_t rc = tl_smp_decode_map(req, fields, 6);
    if (rc != TL_MGMT_ERR_EOK) {
        return rc;
    }
    zcbor_state_t *e = req->enc;
    bool ok = zcbor_tstr_put_lit(e, "found") && zcbor_uint32_put(e, (uint32_t)(
        (fields[0].found << 0) | (fields[1].found << 1) | (fields[2].found << 2) |
        (fields[3].found << 3) | (fields[4].found << 4) | (fields[5].found << 5)));
    if (fields[0].found) {
        ok = ok && zcbor_tstr_put_lit(e, "s") && zcbor_tstr_encode(e, &s);
    }
    if (fields[1].found) {
        ok = ok && zcbor_tstr_put_lit(e, "u") && zcbor_uint32_put(e, u);
    }
    if (fields[2].found) {
        ok = ok && zcbor_tstr_put_lit(e, "i") && zcbor_int32_put(e, i);
    }
    if (fields[3].found) {
        ok = ok && zcbor_tstr_put_lit(e, "b") && zcbor_bool_put(e, b);
    }
    if (fields[4].found) {
        ok = ok && zcbor_tstr_put_lit(e, "f") && zcbor_bool_put(e, f);
    }
    if (fields[5].found) {
        ok = ok && zcbor_tstr_put_lit(e, "x") && zcbor_bstr_encode(e, &x);
    }
    return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

static tl_mgmt_err_t h_group_err(tl_smp_req_t *req)
{
    (void)zcbor_tstr_put_lit(req->enc, "partial"); /* discarded by the error */
    return tl_smp_group_error(req, 5);
}

static uint32_t g_deferred_calls;
static uint32_t g_deferred_arg;
static size_t g_outputs_when_deferred_ran;

static void deferred(uint32_t arg)
{
    g_deferred_calls++;
    g_deferred_arg = arg;
    g_outputs_when_deferred_ran = g_out.n;
}

static tl_mgmt_err_t h_defer(tl_smp_req_t *req)
{
    bool fail = false;
    tl_smp_field_t fields[] = {{"fail", TL_SMP_VAL_BOOL, &fail, false}};
    tl_mgmt_err_t rc = tl_smp_decode_map(req, fields, 1);
    if (rc != TL_MGMT_ERR_EOK) {
        return rc;
    }
    if (!tl_smp_defer(req, deferred, 42)) {
        return TL_MGMT_ERR_EBUSY;
    }
    return fail ? TL_MGMT_ERR_EINVAL : TL_MGMT_ERR_EOK;
}

static tl_mgmt_err_t h_huge(tl_smp_req_t *req)
{
    static const char big[TL_SMP_BUF_SIZE] = {0};
    bool ok = zcbor_tstr_put_lit(req->enc, "big") &&
              zcbor_tstr_encode_ptr(req->enc, big, sizeof(big));
    return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

static const tl_smp_cmd_t k_test_cmds[] = {
    {0, h_any, h_any}, {1, NULL, h_fields}, {2, NULL, h_group_err},
    {3, NULL, h_defer}, {4, h_huge, NULL},
};
static const tl_smp_group_t k_test_group = {200, k_test_cmds, 5, NULL};

/* --- helpers ------------------------------------------------------------------------- */

static size_t req(uint8_t op, uint8_t ver, uint16_t group, uint8_t seq, uint8_t id,
                  const uint8_t *body, size_t body_len, uint8_t *out)
{
    tl_smp_hdr_t h = {op, ver, 0, (uint16_t)body_len, group, seq, id};
    tl_smp_hdr_encode(&h, out);
    if (body_len > 0) {
        memcpy(out + TL_SMP_HDR_SIZE, body, body_len);
    }
    return TL_SMP_HDR_SIZE + body_len;
}

static void setup(void)
{
    memset(&g_out, 0, sizeof(g_out));
    tl_smp_server_init(&g_srv, pkt_capture_output, &g_out);
    TL_EXPECT_EQ(tl_mgmt_os_register(&g_srv), TL_SMP_OK);
    TL_EXPECT_EQ(tl_mgmt_theraloop_register(&g_srv), TL_SMP_OK);
    TL_EXPECT_EQ(tl_smp_server_register(&g_srv, &k_test_group), TL_SMP_OK);
    g_deferred_calls = 0;
}

static void send(uint8_t op, uint8_t ver, uint16_t group, uint8_t id, const uint8_t *body,
                 size_t body_len)
{
    memset(&g_out, 0, sizeof(g_out));
    size_t n = req(op, ver, group, 7, id, body, body_len, g_req);
    tl_smp_server_process(&g_srv, g_req, n);
}

/* Response i must be exactly header(op, ver, group, seq 7, id) + body. */
static void expect_rsp(size_t i, uint8_t op, uint8_t ver, uint16_t group, uint8_t id,
                       const uint8_t *body, size_t body_len)
{
    TL_EXPECT(g_out.n > i);
    if (g_out.n <= i) {
        return;
    }
    uint8_t want[TL_SMP_HDR_SIZE];
    tl_smp_hdr_t h = {op, ver, 0, (uint16_t)body_len, group, 7, id};
    tl_smp_hdr_encode(&h, want);
    TL_EXPECT_EQ(g_out.len[i], TL_SMP_HDR_SIZE + body_len);
    TL_EXPECT_MEM_EQ(g_out.pkt[i], want, TL_SMP_HDR_SIZE);
    if (g_out.len[i] == TL_SMP_HDR_SIZE + body_len) {
        TL_EXPECT_MEM_EQ(g_out.pkt[i] + TL_SMP_HDR_SIZE, body, body_len);
    }
}

static const uint8_t k_rc[][6] = {
    {0xbf, 0x62, 'r', 'c', 0x00, 0xff}, /* index = rc */
    {0xbf, 0x62, 'r', 'c', 0x01, 0xff}, {0xbf, 0x62, 'r', 'c', 0x02, 0xff},
    {0xbf, 0x62, 'r', 'c', 0x03, 0xff}, {0xbf, 0x62, 'r', 'c', 0x04, 0xff},
    {0xbf, 0x62, 'r', 'c', 0x05, 0xff}, {0xbf, 0x62, 'r', 'c', 0x06, 0xff},
    {0xbf, 0x62, 'r', 'c', 0x07, 0xff}, {0xbf, 0x62, 'r', 'c', 0x08, 0xff},
    {0xbf, 0x62, 'r', 'c', 0x09, 0xff}, {0xbf, 0x62, 'r', 'c', 0x0a, 0xff},
    {0xbf, 0x62, 'r', 'c', 0x0b, 0xff}, {0xbf, 0x62, 'r', 'c', 0x0c, 0xff},
    {0xbf, 0x62, 'r', 'c', 0x0d, 0xff},
};

/* --- tests ---------------------------------------------------------------------------- */

static void test_header_codec(void)
{
    const uint8_t raw[8] = {0x0a, 0x00, 0x01, 0x02, 0x00, 0x40, 0x99, 0x07};
    tl_smp_hdr_t h;
    TL_EXPECT(tl_smp_hdr_decode(raw, sizeof(raw), &h));
    TL_EXPECT_EQ(h.op, TL_SMP_OP_WRITE);
    TL_EXPECT_EQ(h.version, TL_SMP_VERSION_2);
    TL_EXPECT_EQ(h.flags, 0);
    TL_EXPECT_EQ(h.len, 0x0102);
    TL_EXPECT_EQ(h.group, 64);
    TL_EXPECT_EQ(h.seq, 0x99);
    TL_EXPECT_EQ(h.id, 7);
    uint8_t back[8];
    tl_smp_hdr_encode(&h, back);
    TL_EXPECT_MEM_EQ(back, raw, 8);
    /* reserved bits are ignored on input and zero on output */
    const uint8_t reserved[8] = {0xe9, 0x80, 0, 0, 0, 0, 0, 0};
    TL_EXPECT(tl_smp_hdr_decode(reserved, 8, &h));
    TL_EXPECT_EQ(h.op, TL_SMP_OP_READ_RSP);
    TL_EXPECT_EQ(h.version, TL_SMP_VERSION_2);
    TL_EXPECT_EQ(h.flags, 0x80);
    tl_smp_hdr_encode(&h, back);
    TL_EXPECT_EQ(back[0], 0x09);
    TL_EXPECT(!tl_smp_hdr_decode(raw, 7, &h));
}

static void test_echo_from_smpclient_bytes(void)
{
    setup();
    tl_smp_server_process(&g_srv, k_echo_hello_packet, sizeof(k_echo_hello_packet));
    const uint8_t want[] = {0x0b, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x00, 0xbf,
                            0x61, 'r',  0x65, 'h',  'e',  'l',  'l',  'o',  0xff};
    TL_EXPECT_EQ(g_out.n, 1);
    TL_EXPECT_EQ(g_out.len[0], sizeof(want));
    TL_EXPECT_MEM_EQ(g_out.pkt[0], want, sizeof(want));
}

static void test_unknown_group_and_command(void)
{
    setup();
    const uint8_t empty[] = {0xa0};
    send(TL_SMP_OP_READ, TL_SMP_VERSION_2, 99, 0, empty, 1);
    expect_rsp(0, TL_SMP_OP_READ_RSP, TL_SMP_VERSION_2, 99, 0, k_rc[8], 6);
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_1, 99, 3, empty, 1);
    expect_rsp(0, TL_SMP_OP_WRITE_RSP, TL_SMP_VERSION_1, 99, 3, k_rc[8], 6);
    send(TL_SMP_OP_READ, TL_SMP_VERSION_2, TL_SMP_GROUP_OS, 42, empty, 1);
    expect_rsp(0, TL_SMP_OP_READ_RSP, TL_SMP_VERSION_2, 0, 42, k_rc[8], 6);
    /* reserved theraloop ids are not implemented yet */
    send(TL_SMP_OP_READ, TL_SMP_VERSION_2, 64, TL_MGMT_TL_MODEL, empty, 1);
    expect_rsp(0, TL_SMP_OP_READ_RSP, TL_SMP_VERSION_2, 64, 7, k_rc[8], 6);
    /* echo exists for write only */
    send(TL_SMP_OP_READ, TL_SMP_VERSION_2, TL_SMP_GROUP_OS, 0, empty, 1);
    expect_rsp(0, TL_SMP_OP_READ_RSP, TL_SMP_VERSION_2, 0, 0, k_rc[8], 6);
    /* ops 4..7 are not defined */
    send(5, TL_SMP_VERSION_2, TL_SMP_GROUP_OS, 0, empty, 1);
    expect_rsp(0, TL_SMP_OP_WRITE_RSP, TL_SMP_VERSION_2, 0, 0, k_rc[8], 6);
}

static void test_invalid_cbor(void)
{
    static const struct {
        const uint8_t *body;
        size_t len;
    } bad[] = {
        {(const uint8_t *)"\xa1\x61\x64", 3},         /* truncated map */
        {(const uint8_t *)"\x01", 1},                 /* not a map */
        {(const uint8_t *)"\x80", 1},                 /* an array */
        {(const uint8_t *)"\xa0\x00", 2},             /* trailing bytes */
        {(const uint8_t *)"\xbf\x61\x64\xff", 4},     /* key without value */
        {(const uint8_t *)"\xa1\x7f\x61\x64\xff\x60", 6}, /* indefinite-length key */
        {(const uint8_t *)"\xff", 1},                 /* lone break */
    };
    setup();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, TL_SMP_GROUP_OS, TL_MGMT_OS_ECHO, bad[i].body,
             bad[i].len);
        expect_rsp(0, TL_SMP_OP_WRITE_RSP, TL_SMP_VERSION_2, 0, 0, k_rc[3], 6);
        send(TL_SMP_OP_WRITE, TL_SMP_VERSION_1, TL_SMP_GROUP_OS, TL_MGMT_OS_ECHO, bad[i].body,
             bad[i].len);
        expect_rsp(0, TL_SMP_OP_WRITE_RSP, TL_SMP_VERSION_1, 0, 0, k_rc[3], 6);
    }
}

static void test_nesting_limit(void)
{
    /* {"a": [[[...]]]} with the map at depth 1 */
    uint8_t body[32];
    setup();
    for (unsigned depth = 2; depth <= TL_SMP_CBOR_MAX_DEPTH + 1; depth++) {
        size_t n = 0;
        body[n++] = 0xa1;
        body[n++] = 0x61;
        body[n++] = 'a';
        for (unsigned d = 1; d < depth - 1; d++) {
            body[n++] = 0x81;
        }
        body[n++] = 0x80;
        send(TL_SMP_OP_READ, TL_SMP_VERSION_2, 200, 0, body, n);
        if (depth <= TL_SMP_CBOR_MAX_DEPTH) {
            const uint8_t ok[] = {0xbf, 0x62, 'o', 'k', 0xf5, 0xff};
            expect_rsp(0, TL_SMP_OP_READ_RSP, TL_SMP_VERSION_2, 200, 0, ok, sizeof(ok));
        } else {
            expect_rsp(0, TL_SMP_OP_READ_RSP, TL_SMP_VERSION_2, 200, 0, k_rc[3], 6);
        }
    }
}

static void test_short_and_long_packets(void)
{
    setup();
    /* shorter than a header: dropped without an answer */
    tl_smp_server_process(&g_srv, k_echo_hello_packet, 7);
    TL_EXPECT_EQ(g_out.n, 0);
    TL_EXPECT_EQ(g_srv.stats.dropped, 1);
    /* header announces more payload than present: ECORRUPT */
    size_t n = req(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 0, 7, 0, (const uint8_t *)"\xa0", 1, g_req);
    g_req[3] = 5;
    memset(&g_out, 0, sizeof(g_out));
    tl_smp_server_process(&g_srv, g_req, n);
    TL_EXPECT_EQ(g_out.n, 1);
    TL_EXPECT_EQ(g_out.len[0], 14);
    TL_EXPECT_MEM_EQ(g_out.pkt[0] + 8, k_rc[9], 6);
    TL_EXPECT_EQ(g_out.pkt[0][3], 6); /* response length */
    /* empty payload: read commands work, echo wants "d" */
    send(TL_SMP_OP_READ, TL_SMP_VERSION_2, 0, TL_MGMT_OS_PARAMS, NULL, 0);
    TL_EXPECT_EQ(g_out.n, 1);
    TL_EXPECT_EQ(g_out.pkt[0][0], 0x09);
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 0, TL_MGMT_OS_ECHO, NULL, 0);
    expect_rsp(0, TL_SMP_OP_WRITE_RSP, TL_SMP_VERSION_2, 0, 0, k_rc[3], 6);
}

static void test_concatenated_requests(void)
{
    setup();
    size_t n = req(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 0, 7, 0, k_echo_hello_packet + 8,
                   sizeof(k_echo_hello_packet) - 8, g_req);
    n += req(TL_SMP_OP_READ, TL_SMP_VERSION_2, 0, 7, TL_MGMT_OS_PARAMS, (const uint8_t *)"\xa0",
             1, g_req + n);
    memset(&g_out, 0, sizeof(g_out));
    tl_smp_server_process(&g_srv, g_req, n);
    TL_EXPECT_EQ(g_out.n, 2);
    TL_EXPECT_EQ(g_out.pkt[0][7], 0);
    TL_EXPECT_EQ(g_out.pkt[1][7], TL_MGMT_OS_PARAMS);
    /* an error ends the packet: the echo after the unknown group is not answered */
    n = req(TL_SMP_OP_READ, TL_SMP_VERSION_2, 99, 7, 0, (const uint8_t *)"\xa0", 1, g_req);
    n += req(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 0, 7, 0, k_echo_hello_packet + 8,
             sizeof(k_echo_hello_packet) - 8, g_req + n);
    memset(&g_out, 0, sizeof(g_out));
    tl_smp_server_process(&g_srv, g_req, n);
    TL_EXPECT_EQ(g_out.n, 1);
    TL_EXPECT_MEM_EQ(g_out.pkt[0] + 8, k_rc[8], 6);
    /* trailing bytes shorter than a header are dropped silently after the answers */
    n = req(TL_SMP_OP_READ, TL_SMP_VERSION_2, 0, 7, TL_MGMT_OS_PARAMS, NULL, 0, g_req);
    memset(&g_out, 0, sizeof(g_out));
    tl_smp_server_process(&g_srv, g_req, n + 3);
    TL_EXPECT_EQ(g_out.n, 1);
}

static void test_response_ops_dropped(void)
{
    setup();
    send(TL_SMP_OP_READ_RSP, TL_SMP_VERSION_2, 0, TL_MGMT_OS_PARAMS, (const uint8_t *)"\xa0", 1);
    TL_EXPECT_EQ(g_out.n, 0);
    send(TL_SMP_OP_WRITE_RSP, TL_SMP_VERSION_2, 0, 0, (const uint8_t *)"\xa0", 1);
    TL_EXPECT_EQ(g_out.n, 0);
    TL_EXPECT_EQ(g_srv.stats.dropped, 2);
}

static void test_future_versions(void)
{
    setup();
    send(TL_SMP_OP_READ, 2, 0, TL_MGMT_OS_PARAMS, (const uint8_t *)"\xa0", 1);
    expect_rsp(0, TL_SMP_OP_READ_RSP, TL_SMP_VERSION_2, 0, TL_MGMT_OS_PARAMS, k_rc[13], 6);
    send(TL_SMP_OP_READ, 3, 0, TL_MGMT_OS_PARAMS, (const uint8_t *)"\xa0", 1);
    expect_rsp(0, TL_SMP_OP_READ_RSP, TL_SMP_VERSION_2, 0, TL_MGMT_OS_PARAMS, k_rc[13], 6);
}

static void test_group_error_v1_v2(void)
{
    setup();
    /* fault_test with kind 9: the theraloop group's INVALID (2) */
    const uint8_t body[] = {0xa1, 0x64, 'k', 'i', 'n', 'd', 0x09};
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 64, TL_MGMT_TL_FAULT_TEST, body, sizeof(body));
    const uint8_t err[] = {0xbf, 0x63, 'e', 'r', 'r', 0xbf, 0x65, 'g', 'r', 'o',
                           'u',  'p',  0x18, 0x40, 0x62, 'r', 'c', 0x02, 0xff, 0xff};
    expect_rsp(0, TL_SMP_OP_WRITE_RSP, TL_SMP_VERSION_2, 64, 1, err, sizeof(err));
    /* the same for a v1 request: translated to the generic EINVAL */
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_1, 64, TL_MGMT_TL_FAULT_TEST, body, sizeof(body));
    expect_rsp(0, TL_SMP_OP_WRITE_RSP, TL_SMP_VERSION_1, 64, 1, k_rc[3], 6);
    /* OS group: bad info format is OS_MGMT_ERR_INVALID_FORMAT (2) / EINVAL */
    const uint8_t fmt[] = {0xa1, 0x66, 'f', 'o', 'r', 'm', 'a', 't', 0x61, 'z'};
    send(TL_SMP_OP_READ, TL_SMP_VERSION_2, 0, TL_MGMT_OS_INFO, fmt, sizeof(fmt));
    const uint8_t os_err[] = {0xbf, 0x63, 'e', 'r', 'r', 0xbf, 0x65, 'g', 'r', 'o',
                              'u',  'p',  0x00, 0x62, 'r', 'c', 0x02, 0xff, 0xff};
    expect_rsp(0, TL_SMP_OP_READ_RSP, TL_SMP_VERSION_2, 0, TL_MGMT_OS_INFO, os_err,
               sizeof(os_err));
    send(TL_SMP_OP_READ, TL_SMP_VERSION_1, 0, TL_MGMT_OS_INFO, fmt, sizeof(fmt));
    expect_rsp(0, TL_SMP_OP_READ_RSP, TL_SMP_VERSION_1, 0, TL_MGMT_OS_INFO, k_rc[3], 6);
    /* a group without a v1 translation: EUNKNOWN; partial output is discarded */
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_1, 200, 2, NULL, 0);
    expect_rsp(0, TL_SMP_OP_WRITE_RSP, TL_SMP_VERSION_1, 200, 2, k_rc[1], 6);
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 200, 2, NULL, 0);
    const uint8_t err200[] = {0xbf, 0x63, 'e', 'r', 'r', 0xbf, 0x65, 'g', 'r', 'o',
                              'u',  'p',  0x18, 200, 0x62, 'r', 'c', 0x05, 0xff, 0xff};
    expect_rsp(0, TL_SMP_OP_WRITE_RSP, TL_SMP_VERSION_2, 200, 2, err200, sizeof(err200));
}

static void test_response_too_big(void)
{
    setup();
    send(TL_SMP_OP_READ, TL_SMP_VERSION_2, 200, 4, NULL, 0);
    expect_rsp(0, TL_SMP_OP_READ_RSP, TL_SMP_VERSION_2, 200, 4, k_rc[7], 6);
}

static void test_decode_map_types(void)
{
    setup();
    /* {"s": "hi", "u": 70000, "i": -5, "b": true, "f": 1, "x": h'0102',
     *  "zz": {"deep": [1, {"k": 2}]}, 7: "int key"} */
    const uint8_t body[] = {0xa8, 0x61, 's',  0x62, 'h',  'i',  0x61, 'u',  0x1a, 0x00,
                            0x01, 0x11, 0x70, 0x61, 'i',  0x24, 0x61, 'b',  0xf5, 0x61,
                            'f',  0x01, 0x61, 'x',  0x42, 0x01, 0x02, 0x62, 'z',  'z',
                            0xa1, 0x64, 'd',  'e',  'e',  'p',  0x82, 0x01, 0xa1, 0x61,
                            'k',  0x02, 0x07, 0x67, 'i',  'n',  't',  ' ',  'k',  'e',
                            'y'};
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 200, 1, body, sizeof(body));
    const uint8_t want[] = {0xbf, 0x65, 'f', 'o', 'u', 'n', 'd', 0x18, 0x3f, 0x61, 's',
                            0x62, 'h',  'i', 0x61, 'u', 0x1a, 0x00, 0x01, 0x11, 0x70, 0x61,
                            'i',  0x24, 0x61, 'b', 0xf5, 0x61, 'f', 0xf5, 0x61, 'x', 0x42,
                            0x01, 0x02, 0xff};
    expect_rsp(0, TL_SMP_OP_WRITE_RSP, TL_SMP_VERSION_2, 200, 1, want, sizeof(want));
    /* indefinite-length map, flag as a boolean, nothing else */
    const uint8_t indef[] = {0xbf, 0x61, 'f', 0xf4, 0xff};
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 200, 1, indef, sizeof(indef));
    const uint8_t want2[] = {0xbf, 0x65, 'f', 'o', 'u', 'n', 'd', 0x10, 0x61, 'f', 0xf4, 0xff};
    expect_rsp(0, TL_SMP_OP_WRITE_RSP, TL_SMP_VERSION_2, 200, 1, want2, sizeof(want2));
}

static void test_decode_map_rejects(void)
{
    static const struct {
        const uint8_t *body;
        size_t len;
    } bad[] = {
        {(const uint8_t *)"\xa1\x61u\x20", 4},                 /* u32 given -1 */
        {(const uint8_t *)"\xa1\x61u\x1b\x00\x00\x00\x01\x00\x00\x00\x00", 12}, /* 2^32 */
        {(const uint8_t *)"\xa1\x61i\x1a\x80\x00\x00\x00", 8}, /* i32 given 2^31 */
        {(const uint8_t *)"\xa1\x61s\x41x", 5},                /* tstr given bstr */
        {(const uint8_t *)"\xa1\x61x\x61x", 5},                /* bstr given tstr */
        {(const uint8_t *)"\xa1\x61" "b\x01", 4},              /* bool given 1 */
        {(const uint8_t *)"\xa1\x61" "f\x02", 4},              /* flag given 2 */
        {(const uint8_t *)"\xa2\x61u\x01\x61u\x02", 7},        /* duplicate key */
    };
    setup();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 200, 1, bad[i].body, bad[i].len);
        expect_rsp(0, TL_SMP_OP_WRITE_RSP, TL_SMP_VERSION_2, 200, 1, k_rc[3], 6);
    }
}

static void test_deferred_actions(void)
{
    setup();
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 200, 3, NULL, 0);
    const uint8_t empty[] = {0xbf, 0xff};
    expect_rsp(0, TL_SMP_OP_WRITE_RSP, TL_SMP_VERSION_2, 200, 3, empty, 2);
    TL_EXPECT(tl_smp_server_pending(&g_srv));
    TL_EXPECT_EQ(g_deferred_calls, 0); /* not before the poll */
    /* a second request while one is pending is refused */
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 200, 3, NULL, 0);
    expect_rsp(0, TL_SMP_OP_WRITE_RSP, TL_SMP_VERSION_2, 200, 3, k_rc[10], 6);
    TL_EXPECT(tl_smp_server_poll(&g_srv));
    TL_EXPECT_EQ(g_deferred_calls, 1);
    TL_EXPECT_EQ(g_deferred_arg, 42);
    TL_EXPECT_EQ(g_outputs_when_deferred_ran, 1); /* its response went out first */
    TL_EXPECT(!tl_smp_server_poll(&g_srv));
    TL_EXPECT_EQ(g_deferred_calls, 1);
    /* a request that fails after deferring does not leave the action behind */
    const uint8_t fail[] = {0xa1, 0x64, 'f', 'a', 'i', 'l', 0xf5};
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 200, 3, fail, sizeof(fail));
    expect_rsp(0, TL_SMP_OP_WRITE_RSP, TL_SMP_VERSION_2, 200, 3, k_rc[3], 6);
    TL_EXPECT(!tl_smp_server_pending(&g_srv));
    TL_EXPECT(!tl_smp_server_poll(&g_srv));
}

static void test_registration(void)
{
    tl_smp_server_t *srv = &g_srv;
    tl_smp_server_init(srv, NULL, NULL);
    TL_EXPECT_EQ(tl_smp_server_register(srv, NULL), TL_SMP_ERR_ARG);
    const tl_smp_group_t broken = {300, NULL, 2, NULL};
    TL_EXPECT_EQ(tl_smp_server_register(srv, &broken), TL_SMP_ERR_ARG);
    TL_EXPECT_EQ(tl_mgmt_os_register(srv), TL_SMP_OK);
    TL_EXPECT_EQ(tl_mgmt_os_register(srv), TL_SMP_ERR_DUPLICATE);
    static tl_smp_group_t many[TL_SMP_MAX_GROUPS];
    size_t ok = 0;
    for (size_t i = 0; i < TL_SMP_MAX_GROUPS; i++) {
        many[i].id = (uint16_t)(1000 + i);
        if (tl_smp_server_register(srv, &many[i]) == TL_SMP_OK) {
            ok++;
        }
    }
    TL_EXPECT_EQ(ok, TL_SMP_MAX_GROUPS - 1);
    TL_EXPECT_EQ(tl_smp_server_register(srv, &k_test_group), TL_SMP_ERR_FULL);
    /* no output callback: requests are handled, responses discarded */
    tl_smp_server_process(srv, k_echo_hello_packet, sizeof(k_echo_hello_packet));
}

static void test_cbor_wellformed(void)
{
    static const struct {
        const char *bytes;
        size_t len;
        bool ok;
    } v[] = {
        {"\x00", 1, true},
        {"\x17", 1, true},
        {"\x18\x18", 2, true},
        {"\x19\x01\x00", 3, true},
        {"\x1a\x00\x01\x00\x00", 5, true},
        {"\x1b\x00\x00\x00\x01\x00\x00\x00\x00", 9, true},
        {"\x38\xff", 2, true},
        {"\x40", 1, true},
        {"\x43\x01\x02\x03", 4, true},
        {"\x63" "abc", 4, true},
        {"\x80", 1, true},
        {"\x82\x01\x02", 3, true},
        {"\x9f\xff", 2, true},
        {"\x9f\x01\x9f\xff\xff", 5, true},
        {"\xa0", 1, true},
        {"\xa1\x01\x02", 3, true},
        {"\xbf\xff", 2, true},
        {"\xbf\x01\x02\xff", 4, true},
        {"\xc1\x1a\x00\x00\x00\x01", 6, true},
        {"\xd8\x20\x60", 3, true},
        {"\xf4", 1, true},
        {"\xf6", 1, true},
        {"\xf8\x20", 2, true},
        {"\xf9\x3c\x00", 3, true},
        {"\xfa\x3f\x80\x00\x00", 5, true},
        {"\xfb\x3f\xf0\x00\x00\x00\x00\x00\x00", 9, true},
        {"", 0, false},
        {"\x18", 1, false},
        {"\x1c", 1, false},
        {"\x1f", 1, false},
        {"\x3f", 1, false},
        {"\x5f\x41\x00\xff", 4, false},
        {"\x7f\x61\x61\xff", 4, false},
        {"\x61", 1, false},
        {"\x5a\xff\xff\xff\xff", 5, false},
        {"\x81", 1, false},
        {"\x9b\xff\xff\xff\xff\xff\xff\xff\xff", 9, false},
        {"\xbb\x7f\xff\xff\xff\xff\xff\xff\xff", 9, false},
        {"\xa1\x01", 2, false},
        {"\xbf\x01\xff", 3, false},
        {"\x9f", 1, false},
        {"\xff", 1, false},
        {"\x81\xff", 2, false},
        {"\xf8\x10", 2, false},
        {"\xfc", 1, false},
        {"\xc1", 1, false},
        {"\x00\x00", 2, false},
        {"\xa0\xa0", 2, false},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        bool got = tl_cbor_wellformed((const uint8_t *)v[i].bytes, v[i].len, 8);
        if (got != v[i].ok) {
            printf("vector %zu: expected %d\n", i, v[i].ok);
        }
        TL_EXPECT_EQ(got, v[i].ok);
    }
    /* depth: [[[[]]]] is depth 4 */
    const uint8_t nested[] = {0x81, 0x81, 0x81, 0x80};
    TL_EXPECT(tl_cbor_wellformed(nested, 4, 4));
    TL_EXPECT(!tl_cbor_wellformed(nested, 4, 3));
    /* deep nesting is rejected without recursion, whatever the input length */
    static uint8_t deep[100000];
    memset(deep, 0x81, sizeof(deep));
    deep[sizeof(deep) - 1] = 0x80;
    TL_EXPECT(!tl_cbor_wellformed(deep, sizeof(deep), TL_SMP_CBOR_MAX_DEPTH));
}

int main(void)
{
    TL_RUN(test_header_codec);
    TL_RUN(test_echo_from_smpclient_bytes);
    TL_RUN(test_unknown_group_and_command);
    TL_RUN(test_invalid_cbor);
    TL_RUN(test_nesting_limit);
    TL_RUN(test_short_and_long_packets);
    TL_RUN(test_concatenated_requests);
    TL_RUN(test_response_ops_dropped);
    TL_RUN(test_future_versions);
    TL_RUN(test_group_error_v1_v2);
    TL_RUN(test_response_too_big);
    TL_RUN(test_decode_map_types);
    TL_RUN(test_decode_map_rejects);
    TL_RUN(test_deferred_actions);
    TL_RUN(test_registration);
    TL_RUN(test_cbor_wellformed);
    return tl_test_summary();
}
