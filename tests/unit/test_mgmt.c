/* The OS group (echo, reset, MCUmgr parameters, OS info) and the theraloop group (info,
 * fault_test) on the host platform: response contents, argument checks, and the deferred
 * reset/fault that must happen only after the response was sent. */
#include <zcbor_decode.h>

#include "platform_host.h"
#include "smp_test_util.h"
#include "theraloop/mgmt.h"
#include "theraloop/smp.h"
#include "theraloop/version.h"
#include "tl_test.h"

static tl_smp_server_t g_srv;
static pkt_capture_t g_out;

static void setup(void)
{
    tl_host_boot(TL_RESET_POWER_ON);
    memset(&g_out, 0, sizeof(g_out));
    tl_smp_server_init(&g_srv, pkt_capture_output, &g_out);
    TL_EXPECT_EQ(tl_mgmt_os_register(&g_srv), TL_SMP_OK);
    TL_EXPECT_EQ(tl_mgmt_theraloop_register(&g_srv), TL_SMP_OK);
}

static void send(uint8_t op, uint8_t ver, uint16_t group, uint8_t id, const void *body,
                 size_t body_len)
{
    static uint8_t buf[4096];
    tl_smp_hdr_t h = {op, ver, 0, (uint16_t)body_len, group, 1, id};
    tl_smp_hdr_encode(&h, buf);
    memcpy(buf + TL_SMP_HDR_SIZE, body, body_len);
    memset(&g_out, 0, sizeof(g_out));
    tl_smp_server_process(&g_srv, buf, TL_SMP_HDR_SIZE + body_len);
}

static const uint8_t *rsp_body(size_t *len)
{
    TL_EXPECT_EQ(g_out.n, 1);
    *len = g_out.len[0] - TL_SMP_HDR_SIZE;
    TL_EXPECT_EQ(((size_t)g_out.pkt[0][2] << 8) | g_out.pkt[0][3], *len);
    return g_out.pkt[0] + TL_SMP_HDR_SIZE;
}

static void expect_body(const uint8_t *want, size_t n)
{
    size_t len = 0;
    const uint8_t *body = rsp_body(&len);
    TL_EXPECT_EQ(len, n);
    if (len == n) {
        TL_EXPECT_MEM_EQ(body, want, n);
    }
    if (len != n || memcmp(body, want, n) != 0) {
        printf("  got:");
        for (size_t i = 0; i < len; i++) {
            printf(" %02x", body[i]);
        }
        printf("\n");
    }
}

static const uint8_t k_empty_map[] = {0xbf, 0xff};

static void expect_rc(uint8_t rc)
{
    const uint8_t want[] = {0xbf, 0x62, 'r', 'c', rc, 0xff};
    expect_body(want, sizeof(want));
}

/* --- a minimal reader for the info response ------------------------------------------ */

typedef struct {
    char key[24];
    int type; /* 's' text, 'u' unsigned, 'n' null, 'm' map */
    char str[128];
    uint32_t u;
} entry_t;

/* Read a map of scalars (text, uint, null) into entries; nested maps are read into
 * `nested` (only one level is needed). */
static size_t read_map(zcbor_state_t *d, entry_t *out, size_t max, entry_t *nested,
                       size_t *n_nested)
{
    size_t n = 0;
    TL_EXPECT(zcbor_map_start_decode(d));
    while (!zcbor_array_at_end(d) && n < max) {
        struct zcbor_string k;
        TL_EXPECT(zcbor_tstr_decode(d, &k));
        entry_t *e = &out[n++];
        memset(e, 0, sizeof(*e));
        memcpy(e->key, k.value, k.len < sizeof(e->key) - 1 ? k.len : sizeof(e->key) - 1);
        struct zcbor_string s;
        if (zcbor_tstr_decode(d, &s)) {
            e->type = 's';
            memcpy(e->str, s.value, s.len < sizeof(e->str) - 1 ? s.len : sizeof(e->str) - 1);
        } else if (zcbor_uint32_decode(d, &e->u)) {
            e->type = 'u';
        } else if (zcbor_nil_expect(d, NULL)) {
            e->type = 'n';
        } else {
            e->type = 'm';
            TL_EXPECT(nested != NULL);
            if (nested != NULL) {
                *n_nested = read_map(d, nested, 16, NULL, NULL);
            }
        }
    }
    TL_EXPECT(zcbor_map_end_decode(d));
    return n;
}

static const entry_t *find(const entry_t *e, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(e[i].key, key) == 0) {
            return &e[i];
        }
    }
    printf("missing key %s\n", key);
    return NULL;
}

typedef struct {
    entry_t top[16];
    size_t n_top;
    entry_t fault[16];
    size_t n_fault;
    entry_t stats[16];
    size_t n_stats;
    entry_t storage[16];
    size_t n_storage;
} info_t;

static void read_info(info_t *info)
{
    memset(info, 0, sizeof(*info));
    send(TL_SMP_OP_READ, TL_SMP_VERSION_2, 64, TL_MGMT_TL_INFO, "\xa0", 1);
    size_t len = 0;
    const uint8_t *body = rsp_body(&len);
    TL_EXPECT_EQ(g_out.pkt[0][0], 0x09); /* v2 read response */
    /* Top level: scalars, then "fault" (map or null) and "smp_stats" (map). */
    zcbor_state_t d[6];
    zcbor_new_decode_state(d, 6, body, len, 1, NULL, 0);
    TL_EXPECT(zcbor_map_start_decode(d));
    while (!zcbor_array_at_end(d) && info->n_top < 16) {
        struct zcbor_string k;
        TL_EXPECT(zcbor_tstr_decode(d, &k));
        entry_t *e = &info->top[info->n_top++];
        memset(e, 0, sizeof(*e));
        memcpy(e->key, k.value, k.len < sizeof(e->key) - 1 ? k.len : sizeof(e->key) - 1);
        struct zcbor_string s;
        if (zcbor_tstr_decode(d, &s)) {
            e->type = 's';
            memcpy(e->str, s.value, s.len < sizeof(e->str) - 1 ? s.len : sizeof(e->str) - 1);
        } else if (zcbor_uint32_decode(d, &e->u)) {
            e->type = 'u';
        } else if (zcbor_nil_expect(d, NULL)) {
            e->type = 'n';
        } else if (strcmp(e->key, "fault") == 0) {
            e->type = 'm';
            info->n_fault = read_map(d, info->fault, 16, NULL, NULL);
        } else if (strcmp(e->key, "smp_stats") == 0) {
            e->type = 'm';
            info->n_stats = read_map(d, info->stats, 16, NULL, NULL);
        } else if (strcmp(e->key, "storage") == 0) {
            e->type = 'm';
            info->n_storage = read_map(d, info->storage, 16, NULL, NULL);
        } else {
            e->type = 'm';
            entry_t ignored[16];
            (void)read_map(d, ignored, 16, NULL, NULL); /* "image" (tested in QEMU) */
        }
    }
    TL_EXPECT(zcbor_map_end_decode(d));
    TL_EXPECT(d->payload == body + len);
}

static void expect_str(const entry_t *e, size_t n, const char *key, const char *value)
{
    const entry_t *x = find(e, n, key);
    TL_EXPECT(x != NULL && x->type == 's');
    if (x != NULL && strcmp(x->str, value) != 0) {
        printf("%s: \"%s\" != \"%s\"\n", key, x->str, value);
        TL_EXPECT(0);
    }
}

static void expect_u32(const entry_t *e, size_t n, const char *key, uint32_t value)
{
    const entry_t *x = find(e, n, key);
    TL_EXPECT(x != NULL && x->type == 'u');
    if (x != NULL) {
        TL_EXPECT_EQ(x->u, value);
    }
}

/* --- OS group ------------------------------------------------------------------------- */

static void test_echo(void)
{
    setup();
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 0, TL_MGMT_OS_ECHO, "\xa1\x61\x64\x60", 4);
    expect_body((const uint8_t *)"\xbf\x61r\x60\xff", 5); /* empty string */
    /* extra keys are ignored, "d" may come last */
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_1, 0, TL_MGMT_OS_ECHO,
         "\xa2\x61x\x82\x01\x02\x61\x64\x62hi", 11);
    expect_body((const uint8_t *)"\xbf\x61r\x62hi\xff", 7);
    TL_EXPECT_EQ(g_out.pkt[0][0], 0x03); /* v1 write response */
    /* missing "d", or not text */
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 0, TL_MGMT_OS_ECHO, "\xa0", 1);
    expect_rc(TL_MGMT_ERR_EINVAL);
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 0, TL_MGMT_OS_ECHO, "\xa1\x61\x64\x05", 4);
    expect_rc(TL_MGMT_ERR_EINVAL);
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 0, TL_MGMT_OS_ECHO, "\xa1\x61\x64\x41x", 5);
    expect_rc(TL_MGMT_ERR_EINVAL);
}

static void test_params(void)
{
    setup();
    send(TL_SMP_OP_READ, TL_SMP_VERSION_2, 0, TL_MGMT_OS_PARAMS, "\xa0", 1);
    const uint8_t want[] = {0xbf, 0x68, 'b', 'u', 'f', '_', 's', 'i', 'z', 'e', 0x19,
                            (uint8_t)(TL_SMP_BUF_SIZE >> 8), (uint8_t)(TL_SMP_BUF_SIZE & 0xff),
                            0x69, 'b', 'u', 'f', '_', 'c', 'o', 'u', 'n', 't', 0x01, 0xff};
    expect_body(want, sizeof(want));
}

static void test_reset_is_deferred(void)
{
    setup();
    tl_host_counters_t before;
    tl_host_counters_t after;
    tl_host_counters(&before);
    tl_reset_reason_t why;
    TL_EXPECT(!tl_host_take_reboot(&why));
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 0, TL_MGMT_OS_RESET, "\xa0", 1);
    expect_body(k_empty_map, 2);
    tl_host_counters(&after);
    TL_EXPECT_EQ(after.resets, before.resets); /* the response goes out first */
    TL_EXPECT(tl_smp_server_pending(&g_srv));
    /* a second reset before the first happened is refused */
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 0, TL_MGMT_OS_RESET, "\xa0", 1);
    expect_rc(TL_MGMT_ERR_EBUSY);
    TL_EXPECT(tl_smp_server_poll(&g_srv));
    tl_host_counters(&after);
    TL_EXPECT_EQ(after.resets, before.resets + 1);
    TL_EXPECT_EQ(after.stim_safe, before.stim_safe + 1);
    TL_EXPECT(tl_host_take_reboot(&why));
    TL_EXPECT_EQ(why, TL_RESET_SOFTWARE);
    TL_EXPECT(!tl_host_take_reboot(&why));
    /* after the virtual reboot, info reports the reason */
    tl_host_boot(why);
    info_t info;
    read_info(&info);
    expect_str(info.top, info.n_top, "reset_reason", "software");
}

static void test_reset_arguments(void)
{
    static const struct {
        const char *body;
        size_t len;
        uint8_t rc;
    } cases[] = {
        {"\xa1\x65" "force\xf5", 8, 0},
        {"\xa1\x65" "force\x01", 8, 0},
        {"\xa1\x65" "force\x00", 8, 0},
        {"\xa2\x65" "force\x01\x69" "boot_mode\x00", 19, 0},
        {"\xa1\x65" "force\x61x", 9, TL_MGMT_ERR_EINVAL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        setup();
        send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 0, TL_MGMT_OS_RESET, cases[i].body,
             cases[i].len);
        if (cases[i].rc == 0) {
            expect_body(k_empty_map, 2);
            TL_EXPECT(tl_smp_server_poll(&g_srv));
        } else {
            expect_rc(cases[i].rc);
            TL_EXPECT(!tl_smp_server_pending(&g_srv));
        }
        tl_reset_reason_t why;
        (void)tl_host_take_reboot(&why);
    }
}

static void test_os_info(void)
{
    setup();
    send(TL_SMP_OP_READ, TL_SMP_VERSION_2, 0, TL_MGMT_OS_INFO, "\xa0", 1);
    expect_body((const uint8_t *)"\xbf\x66output\x69theraloop\xff", 19);
    send(TL_SMP_OP_READ, TL_SMP_VERSION_2, 0, TL_MGMT_OS_INFO, "\xa1\x66" "format\x62ri", 11);
    char want[128];
    size_t len = 0;
    const uint8_t *body = rsp_body(&len);
    /* {"output": "<version> host"}: fields in canonical order, not request order */
    snprintf(want, sizeof(want), "%s host", TL_VERSION_STRING);
    TL_EXPECT(len > 8 && memcmp(body + len - 1 - strlen(want), want, strlen(want)) == 0);
}

/* --- theraloop group ------------------------------------------------------------------ */

static void test_info_contents(void)
{
    setup();
    g_srv.stats.frames_ok = 7;
    g_srv.stats.bad_crc = 1;
    g_srv.stats.bad_base64 = 2;
    g_srv.stats.oversize = 3;
    g_srv.stats.dropped = 4;
    info_t info;
    read_info(&info);
    TL_EXPECT_EQ(info.n_top, 11);
    expect_str(info.top, info.n_top, "version", TL_VERSION_STRING);
    /* only the group is set up here, not the app that runs the boot self-test */
    expect_str(info.top, info.n_top, "crypto_selftest", "not_run");
    expect_str(info.top, info.n_top, "source_revision", TL_SOURCE_REVISION);
    expect_str(info.top, info.n_top, "board", "host");
    expect_str(info.top, info.n_top, "reset_reason", "power_on");
    /* build id: the platform's bytes in lower-case hex */
    const uint8_t *id = NULL;
    size_t id_len = tl_platform_build_id(&id);
    char hex[65] = {0};
    for (size_t i = 0; i < id_len; i++) {
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    }
    TL_EXPECT_EQ(id_len, 8);
    expect_str(info.top, info.n_top, "build_id", hex);
    const entry_t *up = find(info.top, info.n_top, "uptime_ms");
    TL_EXPECT(up != NULL && up->type == 'u' && up->u < 60000);
    const entry_t *fault = find(info.top, info.n_top, "fault");
    TL_EXPECT(fault != NULL && fault->type == 'n');
    TL_EXPECT_EQ(info.n_stats, 5);
    expect_u32(info.stats, info.n_stats, "frames_ok", 7);
    expect_u32(info.stats, info.n_stats, "bad_crc", 1);
    expect_u32(info.stats, info.n_stats, "bad_base64", 2);
    expect_u32(info.stats, info.n_stats, "oversize", 3);
    expect_u32(info.stats, info.n_stats, "dropped", 4);
    /* the host board's storage, and no configuration restore (the app is not set up) */
    TL_EXPECT_EQ(info.n_storage, 4);
    expect_str(info.storage, info.n_storage, "device", "ram");
    expect_str(info.storage, info.n_storage, "config", "not_run");
}

static void test_info_with_fault_record(void)
{
    setup();
    tl_fault_record_t rec = {TL_FAULT_HARD, 0x08001234u, 0xFFFFFFF9u, 0x21000003u,
                             0x2001FFA0u, 0x00000400u, 0x40000000u, 0xE000ED34u,
                             0xE000ED38u, 123456u};
    tl_host_set_fault_record(&rec);
    info_t info;
    read_info(&info);
    TL_EXPECT_EQ(info.n_fault, 10);
    expect_str(info.fault, info.n_fault, "kind", "hard");
    expect_u32(info.fault, info.n_fault, "pc", 0x08001234u);
    expect_u32(info.fault, info.n_fault, "lr", 0xFFFFFFF9u);
    expect_u32(info.fault, info.n_fault, "xpsr", 0x21000003u);
    expect_u32(info.fault, info.n_fault, "sp", 0x2001FFA0u);
    expect_u32(info.fault, info.n_fault, "cfsr", 0x00000400u);
    expect_u32(info.fault, info.n_fault, "hfsr", 0x40000000u);
    expect_u32(info.fault, info.n_fault, "mmfar", 0xE000ED34u);
    expect_u32(info.fault, info.n_fault, "bfar", 0xE000ED38u);
    expect_u32(info.fault, info.n_fault, "uptime_ms", 123456u);
    tl_host_set_fault_record(NULL);
}

static void test_fault_test_flow(void)
{
    static const struct {
        uint8_t kind;
        const char *name;
        uint32_t cfsr;
    } kinds[] = {{1, "bus", 0x8200u}, {2, "usage", 0x10000u}, {3, "usage", 0x2000000u}};
    for (size_t i = 0; i < 3; i++) {
        setup();
        tl_host_counters_t before;
        tl_host_counters_t after;
        tl_host_counters(&before);
        const uint8_t body[] = {0xa1, 0x64, 'k', 'i', 'n', 'd', kinds[i].kind};
        send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 64, TL_MGMT_TL_FAULT_TEST, body, sizeof(body));
        expect_body(k_empty_map, 2);
        tl_host_counters(&after);
        TL_EXPECT_EQ(after.fault_triggers, before.fault_triggers); /* response first */
        TL_EXPECT(tl_smp_server_poll(&g_srv));
        tl_host_counters(&after);
        TL_EXPECT_EQ(after.fault_triggers, before.fault_triggers + 1);
        TL_EXPECT_EQ(after.last_fault_kind, kinds[i].kind);
        TL_EXPECT_EQ(after.stim_safe, before.stim_safe + 1);
        tl_reset_reason_t why;
        TL_EXPECT(tl_host_take_reboot(&why));
        TL_EXPECT_EQ(why, TL_RESET_FAULT);
        /* next (virtual) boot: reason "fault" and the record */
        tl_host_boot(why);
        info_t info;
        read_info(&info);
        expect_str(info.top, info.n_top, "reset_reason", "fault");
        expect_str(info.fault, info.n_fault, "kind", kinds[i].name);
        expect_u32(info.fault, info.n_fault, "cfsr", kinds[i].cfsr);
        /* a later software reset clears it */
        tl_host_boot(TL_RESET_SOFTWARE);
        read_info(&info);
        const entry_t *fault = find(info.top, info.n_top, "fault");
        TL_EXPECT(fault != NULL && fault->type == 'n');
    }
}

static void test_fault_test_arguments(void)
{
    setup();
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 64, TL_MGMT_TL_FAULT_TEST, "\xa0", 1);
    expect_rc(TL_MGMT_ERR_EINVAL);
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 64, TL_MGMT_TL_FAULT_TEST, "\xa1\x64kind\x61x", 8);
    expect_rc(TL_MGMT_ERR_EINVAL);
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 64, TL_MGMT_TL_FAULT_TEST, "\xa1\x64kind\x20", 7);
    expect_rc(TL_MGMT_ERR_EINVAL); /* negative */
    const uint8_t invalid[] = {0xbf, 0x63, 'e', 'r', 'r', 0xbf, 0x65, 'g', 'r', 'o',
                               'u',  'p',  0x18, 0x40, 0x62, 'r', 'c', 0x02, 0xff, 0xff};
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 64, TL_MGMT_TL_FAULT_TEST, "\xa1\x64kind\x00", 7);
    expect_body(invalid, sizeof(invalid));
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 64, TL_MGMT_TL_FAULT_TEST, "\xa1\x64kind\x04", 7);
    expect_body(invalid, sizeof(invalid));
    TL_EXPECT(!tl_smp_server_pending(&g_srv));
    /* while a reset is pending: BUSY (4) */
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 0, TL_MGMT_OS_RESET, "\xa0", 1);
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_2, 64, TL_MGMT_TL_FAULT_TEST, "\xa1\x64kind\x01", 7);
    const uint8_t busy[] = {0xbf, 0x63, 'e', 'r', 'r', 0xbf, 0x65, 'g', 'r', 'o',
                            'u',  'p',  0x18, 0x40, 0x62, 'r', 'c', 0x04, 0xff, 0xff};
    expect_body(busy, sizeof(busy));
    send(TL_SMP_OP_WRITE, TL_SMP_VERSION_1, 64, TL_MGMT_TL_FAULT_TEST, "\xa1\x64kind\x01", 7);
    expect_rc(TL_MGMT_ERR_EBUSY);
    tl_host_counters_t before;
    tl_host_counters_t after;
    tl_host_counters(&before);
    TL_EXPECT(tl_smp_server_poll(&g_srv));
    tl_host_counters(&after);
    TL_EXPECT_EQ(after.resets, before.resets + 1);
    TL_EXPECT_EQ(after.fault_triggers, before.fault_triggers);
    tl_reset_reason_t why;
    TL_EXPECT(tl_host_take_reboot(&why));
}

static void test_names(void)
{
    TL_EXPECT(strcmp(tl_reset_reason_name(TL_RESET_UNKNOWN), "unknown") == 0);
    TL_EXPECT(strcmp(tl_reset_reason_name(TL_RESET_POWER_ON), "power_on") == 0);
    TL_EXPECT(strcmp(tl_reset_reason_name(TL_RESET_PIN), "pin") == 0);
    TL_EXPECT(strcmp(tl_reset_reason_name(TL_RESET_SOFTWARE), "software") == 0);
    TL_EXPECT(strcmp(tl_reset_reason_name(TL_RESET_WATCHDOG), "watchdog") == 0);
    TL_EXPECT(strcmp(tl_reset_reason_name(TL_RESET_FAULT), "fault") == 0);
    TL_EXPECT(strcmp(tl_reset_reason_name(TL_RESET_BROWNOUT), "brownout") == 0);
    TL_EXPECT(strcmp(tl_reset_reason_name((tl_reset_reason_t)77), "unknown") == 0);
    TL_EXPECT(strcmp(tl_fault_kind_name(TL_FAULT_NONE), "none") == 0);
    TL_EXPECT(strcmp(tl_fault_kind_name(TL_FAULT_HARD), "hard") == 0);
    TL_EXPECT(strcmp(tl_fault_kind_name(TL_FAULT_MEMMANAGE), "memmanage") == 0);
    TL_EXPECT(strcmp(tl_fault_kind_name(TL_FAULT_BUS), "bus") == 0);
    TL_EXPECT(strcmp(tl_fault_kind_name(TL_FAULT_USAGE), "usage") == 0);
    TL_EXPECT(strcmp(tl_fault_kind_name(99), "unknown") == 0);
}

int main(void)
{
    TL_RUN(test_echo);
    TL_RUN(test_params);
    TL_RUN(test_reset_is_deferred);
    TL_RUN(test_reset_arguments);
    TL_RUN(test_os_info);
    TL_RUN(test_info_contents);
    TL_RUN(test_info_with_fault_record);
    TL_RUN(test_fault_test_flow);
    TL_RUN(test_fault_test_arguments);
    TL_RUN(test_names);
    return tl_test_summary();
}
