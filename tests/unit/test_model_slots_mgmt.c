/*
 * test_model_slots_mgmt.c - the SMP group "model" (66) through the SMP server: list with
 * empty / valid / invalid slots, activate (test run), confirm, rollback, request checks,
 * group errors and their v1 translation. Real signed images on a RAM flash.
 */
#include <string.h>

#include <zcbor_decode.h>

#include "data/model_slots/model_slot_images.h"
#include "platform_host.h"
#include "smp_test_util.h"
#include "storage_ram.h"
#include "theraloop/loop/loop.h"
#include "theraloop/mgmt_model.h"
#include "theraloop/storage/flash_map.h"
#include "theraloop/update/model_slots.h"
#include "tl_test.h"

static const tl_storage_region_t k_regions[] = {
    {4u, 16u * 1024u}, {1u, 64u * 1024u}, {7u, 128u * 1024u}};
static uint8_t g_mem[TL_FLASH_SIZE];
static tl_storage_ram_t g_ram;
static tl_sysstate_t g_st;
static tl_loop_t g_loop;
static tl_smp_server_t g_srv;
static pkt_capture_t g_out;

static void out_fn(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    (void)data;
    (void)len;
}

static void write_slot(uint32_t area_id, const uint8_t *img, uint32_t len)
{
    tl_flash_area_t a;
    TL_EXPECT_EQ(tl_flash_area_get(&g_ram.dev, area_id, &a), TL_STORAGE_OK);
    TL_EXPECT_EQ(tl_flash_area_erase(&g_ram.dev, &a), TL_STORAGE_OK);
    uint8_t buf[8192];
    memset(buf, 0xFF, sizeof buf);
    memcpy(buf, img, len);
    TL_EXPECT_EQ(tl_storage_write(&g_ram.dev, a.off, buf, (len + 3u) & ~3u), TL_STORAGE_OK);
}

static void setup(void)
{
    tl_host_boot(TL_RESET_POWER_ON);
    tl_host_use_virtual_clock(true);
    memset(g_mem, 0xFF, sizeof g_mem);
    tl_storage_ram_init(&g_ram, g_mem, k_regions, 3u, 4u);
    write_slot(TL_AREA_MODEL_A, ms_good_v1, sizeof ms_good_v1);
    write_slot(TL_AREA_MODEL_B, ms_contract, sizeof ms_contract);
    tl_loop_init(&g_loop, out_fn, NULL);
    (void)tl_sysstate_open(&g_st, &g_ram.dev);
    tl_img_policy_t pol = {ms_test_pubkey, ms_test_key_hash, TL_IMG_KIND_MODEL, 0};
    tl_model_slots_set_policy(&pol);
    tl_model_slots_set_persist(NULL);
    tl_model_slots_set_busy_check(NULL);
    tl_model_slots_init(&g_ram.dev, &g_st, &g_loop);
    memset(&g_out, 0, sizeof g_out);
    tl_smp_server_init(&g_srv, pkt_capture_output, &g_out);
    TL_EXPECT_EQ(tl_mgmt_model_register(&g_srv, &g_loop), TL_SMP_OK);
}

/* op, version, id, CBOR body (already encoded). */
static void send_req(uint8_t op, uint8_t ver, uint8_t id, const uint8_t *body, size_t len)
{
    static uint8_t pkt[512];
    tl_smp_hdr_t h = {op, ver, 0, (uint16_t)len, TL_SMP_GROUP_MODEL, 3, id};
    tl_smp_hdr_encode(&h, pkt);
    memcpy(pkt + TL_SMP_HDR_SIZE, body, len);
    memset(&g_out, 0, sizeof g_out);
    tl_smp_server_process(&g_srv, pkt, TL_SMP_HDR_SIZE + len);
    TL_EXPECT_EQ(g_out.n, 1);
}

#define NST 8

static bool find(zcbor_state_t *d, const char *key)
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

static void start(zcbor_state_t *d)
{
    zcbor_new_decode_state(d, NST, g_out.pkt[0] + TL_SMP_HDR_SIZE,
                           g_out.len[0] - TL_SMP_HDR_SIZE, 1, NULL, 0);
    TL_EXPECT(zcbor_map_start_decode(d));
}

/* Top-level text value. */
static bool rsp_str(const char *key, const char *want)
{
    zcbor_state_t d[NST];
    start(d);
    struct zcbor_string s;
    return find(d, key) && zcbor_tstr_decode(d, &s) && s.len == strlen(want) &&
           memcmp(s.value, want, s.len) == 0;
}

/* active.<key> */
static bool active_has(const char *key, const char *want_str, int32_t want_int)
{
    zcbor_state_t d[NST];
    start(d);
    if (!find(d, "active") || !zcbor_map_start_decode(d) || !find(d, key)) {
        return false;
    }
    if (want_str != NULL) {
        struct zcbor_string s;
        return zcbor_tstr_decode(d, &s) && s.len == strlen(want_str) &&
               memcmp(s.value, want_str, s.len) == 0;
    }
    int32_t v;
    return zcbor_int32_decode(d, &v) && v == want_int;
}

/* slots[k].<key> as text. */
static bool slot_str(uint32_t k, const char *key, const char *want)
{
    zcbor_state_t d[NST];
    start(d);
    if (!find(d, "slots") || !zcbor_list_start_decode(d)) {
        return false;
    }
    for (uint32_t i = 0; i < k; i++) {
        if (!zcbor_any_skip(d, NULL)) {
            return false;
        }
    }
    struct zcbor_string s;
    if (!zcbor_map_start_decode(d) || !find(d, key) || !zcbor_tstr_decode(d, &s)) {
        return false;
    }
    size_t n = strlen(want);
    return s.len >= n && memcmp(s.value, want, n) == 0; /* prefix */
}

static bool group_err(uint32_t rc)
{
    zcbor_state_t d[NST];
    start(d);
    uint32_t g = 0;
    uint32_t r = 0;
    return find(d, "err") && zcbor_map_start_decode(d) && find(d, "group") &&
           zcbor_uint32_decode(d, &g) && g == TL_SMP_GROUP_MODEL && find(d, "rc") &&
           zcbor_uint32_decode(d, &r) && r == rc;
}

static bool v1_rc(uint32_t rc)
{
    zcbor_state_t d[NST];
    start(d);
    uint32_t r = 0;
    return find(d, "rc") && zcbor_uint32_decode(d, &r) && r == rc;
}

static const uint8_t k_empty[] = {0xA0};

static void test_list(void)
{
    setup();
    send_req(0, 1, TL_MGMT_MODEL_LIST, k_empty, 1);
    TL_EXPECT(active_has("source", tl_factory_get(0)->info->name, 0));
    TL_EXPECT(active_has("slot", NULL, -1));
    TL_EXPECT(slot_str(0, "state", "valid"));
    TL_EXPECT(slot_str(0, "area", "model_a"));
    TL_EXPECT(slot_str(0, "version", "1.0.0+1"));
    TL_EXPECT(slot_str(0, "error", ""));
    TL_EXPECT(slot_str(1, "state", "invalid"));
    TL_EXPECT(slot_str(1, "error", "contract: input_size (16)"));
    TL_EXPECT(rsp_str("previous", ""));
}

static void test_activate_confirm_rollback(void)
{
    setup();
    /* {"slot": 1}: invalid slot */
    static const uint8_t act_b[] = {0xA1, 0x64, 's', 'l', 'o', 't', 0x01};
    send_req(2, 1, TL_MGMT_MODEL_ACTIVATE, act_b, sizeof act_b);
    TL_EXPECT(group_err(TL_MGMT_MODEL_ERR_INVALID));
    send_req(2, 0, TL_MGMT_MODEL_ACTIVATE, act_b, sizeof act_b);
    TL_EXPECT(v1_rc(TL_MGMT_ERR_EBADSTATE));
    /* missing slot, slot out of range */
    send_req(2, 1, TL_MGMT_MODEL_ACTIVATE, k_empty, 1);
    TL_EXPECT(v1_rc(TL_MGMT_ERR_EINVAL));
    static const uint8_t act_9[] = {0xA1, 0x64, 's', 'l', 'o', 't', 0x09};
    send_req(2, 1, TL_MGMT_MODEL_ACTIVATE, act_9, sizeof act_9);
    TL_EXPECT(group_err(TL_MGMT_MODEL_ERR_ARG));
    /* {"slot": 0, "confirm_after": 500}: a test run */
    static const uint8_t act_a[] = {0xA2, 0x64, 's',  'l',  'o',  't',  0x00, 0x6D, 'c', 'o',
                                    'n',  'f',  'i',  'r',  'm',  '_',  'a',  'f',  't', 'e',
                                    'r',  0x19, 0x01, 0xF4};
    send_req(2, 1, TL_MGMT_MODEL_ACTIVATE, act_a, sizeof act_a);
    TL_EXPECT(active_has("source", "slot_a", 0));
    TL_EXPECT(active_has("slot", NULL, 0));
    zcbor_state_t d[NST];
    start(d);
    uint32_t ca = 0;
    TL_EXPECT(find(d, "test") && zcbor_map_start_decode(d) && find(d, "confirm_after") &&
              zcbor_uint32_decode(d, &ca) && ca == 500u);
    send_req(2, 1, TL_MGMT_MODEL_ACTIVATE, act_a, sizeof act_a);
    TL_EXPECT(group_err(TL_MGMT_MODEL_ERR_BUSY));
    send_req(2, 1, TL_MGMT_MODEL_CONFIRM, k_empty, 1);
    TL_EXPECT(active_has("source", "slot_a", 0));
    TL_EXPECT(rsp_str("previous", tl_factory_get(0)->info->name));
    start(d);
    TL_EXPECT(!find(d, "test"));
    send_req(2, 1, TL_MGMT_MODEL_CONFIRM, k_empty, 1);
    TL_EXPECT(group_err(TL_MGMT_MODEL_ERR_NO_TEST));
    /* {"to": "nowhere"} is refused; {"to": "previous"} goes back */
    static const uint8_t rb_bad[] = {0xA1, 0x62, 't', 'o', 0x67, 'n', 'o', 'w', 'h', 'e', 'r', 'e'};
    send_req(2, 1, TL_MGMT_MODEL_ROLLBACK, rb_bad, sizeof rb_bad);
    TL_EXPECT(v1_rc(TL_MGMT_ERR_EINVAL));
    static const uint8_t rb_prev[] = {0xA1, 0x62, 't', 'o', 0x68, 'p', 'r',
                                      'e',  'v',  'i', 'o', 'u',  's'};
    send_req(2, 1, TL_MGMT_MODEL_ROLLBACK, rb_prev, sizeof rb_prev);
    TL_EXPECT(active_has("source", tl_factory_get(0)->info->name, 0));
    send_req(2, 1, TL_MGMT_MODEL_ROLLBACK, rb_prev, sizeof rb_prev);
    TL_EXPECT(group_err(TL_MGMT_MODEL_ERR_NO_PREVIOUS));
    send_req(2, 0, TL_MGMT_MODEL_ROLLBACK, rb_prev, sizeof rb_prev);
    TL_EXPECT(v1_rc(TL_MGMT_ERR_ENOENT));
}

int main(void)
{
    TL_RUN(test_list);
    TL_RUN(test_activate_confirm_rollback);
    return tl_test_summary();
}
