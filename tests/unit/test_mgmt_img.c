/* The SMP image group (1) driven through the SMP server with real CBOR requests, image 0 =
 * the real fw_update target on the host RAM flash (signed imgtool images), image 1 = a
 * minimal target defined here only to exercise the group's dispatch by image number:
 * chunked upload with "match", lost-chunk resume, wrong offsets, sha mismatch, oversize,
 * busy, bad images -> img_mgmt codes (v2) and {"rc", "rsn"} (v1), state read/write, erase,
 * "upgrade". */
#include <stdint.h>
#include <string.h>

#include "cbor_test_util.h"
#include "fwu_test_util.h"
#include "smp_test_util.h"
#include "theraloop/mgmt_img.h"
#include "theraloop/sha256.h"
#include "theraloop/smp.h"
#include "tl_test.h"

#define V2 1u
#define V1 0u

static tl_smp_server_t g_srv;
static pkt_capture_t g_out;
static uint8_t g_img[0x2000];

/* --- image 1: a minimal target writing into model_b (dispatch only) ---------------------- */

static struct {
    uint32_t begins;
    uint32_t dones;
    uint32_t erased;
    uint32_t set_calls;
    bool set_confirm;
    tl_imgt_err_t done_result;
} g_t1;

static const uint8_t k_t1_hash[32] = {0xAB, 1, 2, 3};

static tl_imgt_err_t t1_begin(uint32_t len, uint32_t *slot, tl_flash_area_t *area)
{
    (void)len;
    g_t1.begins++;
    *slot = 1;
    *area = fwu_area(TL_AREA_MODEL_B);
    return TL_IMGT_OK;
}

static tl_imgt_err_t t1_done(uint32_t slot, uint32_t *detail)
{
    TL_EXPECT_EQ(slot, 1);
    g_t1.dones++;
    *detail = (g_t1.done_result == TL_IMGT_OK) ? 0u : 7u;
    return g_t1.done_result;
}

static tl_imgt_err_t t1_state(uint32_t slot, tl_imgt_slot_t *out)
{
    memset(out, 0, sizeof(*out));
    if (slot != 0u) {
        return TL_IMGT_ERR_NO_IMAGE;
    }
    out->present = true;
    out->active = true;
    out->confirmed = true;
    out->version.major = 2;
    out->version.build = 9;
    memcpy(out->hash, k_t1_hash, 32);
    return TL_IMGT_OK;
}

static tl_imgt_err_t t1_set(const uint8_t *hash, bool confirm, uint32_t *detail)
{
    *detail = 0;
    TL_EXPECT(hash != NULL && memcmp(hash, k_t1_hash, 32) == 0);
    g_t1.set_calls++;
    g_t1.set_confirm = confirm;
    return TL_IMGT_OK;
}

static tl_imgt_err_t t1_erase(uint32_t slot)
{
    g_t1.erased |= 1u << slot;
    return TL_IMGT_OK;
}

static void t1_describe(uint32_t err, uint32_t detail, char *buf, uint32_t cap)
{
    (void)err;
    buf[0] = '\0';
    tl_imgt_text_add(buf, cap, "engine: unsupported op ");
    tl_imgt_text_add_u32(buf, cap, detail);
}

static const tl_image_target_t k_t1 = {
    .name = "test",
    .slot_count = 2,
    .upload_begin = t1_begin,
    .upload_done = t1_done,
    .slot_state = t1_state,
    .set_state = t1_set,
    .erase = t1_erase,
    .busy = NULL,
    .describe = t1_describe,
};

/* --- plumbing ------------------------------------------------------------------------------ */

static void setup(void)
{
    TL_EXPECT(fwu_fresh_device());
    memset(&g_t1, 0, sizeof(g_t1));
    tl_smp_server_init(&g_srv, pkt_capture_output, &g_out);
    const tl_image_target_t *targets[2] = {tl_fw_update_target(), &k_t1};
    TL_EXPECT_EQ(tl_mgmt_img_register(&g_srv, &fwu_ram.dev, targets, 2), TL_SMP_OK);
}

/* Send one request, return the response body (exactly one response expected). */
static cr_t request(uint8_t op, uint8_t ver, uint8_t id, const cw_t *body)
{
    static uint8_t pkt[4200];
    TL_EXPECT(!body->overflow);
    tl_smp_hdr_t h = {.op = op, .version = ver, .len = (uint16_t)body->n,
                      .group = TL_SMP_GROUP_IMAGE, .seq = 7, .id = id};
    tl_smp_hdr_encode(&h, pkt);
    memcpy(pkt + TL_SMP_HDR_SIZE, body->buf, body->n);
    memset(&g_out, 0, sizeof(g_out));
    tl_smp_server_process(&g_srv, pkt, TL_SMP_HDR_SIZE + body->n);
    TL_EXPECT_EQ(g_out.n, 1);
    tl_smp_hdr_t rh;
    TL_EXPECT(tl_smp_hdr_decode(g_out.pkt[0], g_out.len[0], &rh));
    TL_EXPECT_EQ(rh.group, TL_SMP_GROUP_IMAGE);
    TL_EXPECT_EQ(rh.id, id);
    cr_t r = {g_out.pkt[0] + TL_SMP_HDR_SIZE, g_out.len[0] - TL_SMP_HDR_SIZE, 0};
    return r;
}

/* v2 group error code, or -1 if the response is not one. */
static long group_rc(cr_t r)
{
    cr_t err;
    uint64_t g = 0;
    uint64_t rc = 0;
    if (!cr_find(r, "err", &err) || !cr_uint(err, "group", &g) || !cr_uint(err, "rc", &rc) ||
        g != TL_SMP_GROUP_IMAGE || cr_map_size(r) != 1) {
        return -1;
    }
    return (long)rc;
}

static long generic_rc(cr_t r)
{
    uint64_t rc = 0;
    return cr_uint(r, "rc", &rc) ? (long)rc : -1;
}

static long resp_off(cr_t r)
{
    uint64_t off = 0;
    return cr_uint(r, "off", &off) ? (long)off : -1;
}

/* One upload chunk. first: with image/len (and sha if sha != NULL). */
static cr_t chunk(uint8_t ver, uint32_t image, const uint8_t *img, uint32_t len, uint32_t off,
                  uint32_t n, const uint8_t *sha, bool first, int upgrade)
{
    cw_t c = {0};
    size_t entries = 2u + (first ? 2u : 0u) + (sha != NULL ? 1u : 0u) + (upgrade >= 0 ? 1u : 0u);
    cw_map(&c, entries);
    cw_uint(&c, "off", off);
    cw_bstr(&c, "data", img + off, n);
    if (first) {
        cw_uint(&c, "image", image);
        cw_uint(&c, "len", len);
    }
    if (sha != NULL) {
        cw_bstr(&c, "sha", sha, 32);
    }
    if (upgrade >= 0) {
        cw_bool(&c, "upgrade", upgrade != 0);
    }
    return request(TL_SMP_OP_WRITE, ver, TL_MGMT_IMG_UPLOAD, &c);
}

static void file_sha(const uint8_t *img, uint32_t len, uint8_t out[32])
{
    tl_sha256_t h;
    tl_sha256_init(&h);
    tl_sha256_update(&h, img, len);
    tl_sha256_final(&h, out);
}

/* Upload a whole image like smpclient; returns the last response. */
static cr_t upload_all(uint32_t image, const uint8_t *img, uint32_t len, uint32_t step,
                       bool with_sha)
{
    uint8_t sha[32];
    file_sha(img, len, sha);
    uint32_t off = 0;
    cr_t r = {0};
    for (int guard = 0; guard < 1000; guard++) {
        uint32_t n = (len - off < step) ? len - off : step;
        r = chunk(V2, image, img, len, off, n, (off == 0u && with_sha) ? sha : NULL, off == 0u,
                  -1);
        long next = resp_off(r);
        if (next < 0 || (uint32_t)next == len) {
            break;
        }
        TL_EXPECT_EQ(next, off + n);
        off = (uint32_t)next;
    }
    return r;
}

typedef struct {
    uint64_t image, slot;
    const uint8_t *hash;
    size_t hash_len;
    const uint8_t *version;
    size_t version_len;
    bool bootable, pending, confirmed, active, permanent;
} img_entry_t;

/* Parse {"images": [...], "splitStatus": 0}; returns the number of entries. */
static int parse_states(cr_t r, img_entry_t *out, int max)
{
    uint64_t split = 99;
    TL_EXPECT(cr_uint(r, "splitStatus", &split));
    TL_EXPECT_EQ(split, 0);
    TL_EXPECT_EQ(cr_map_size(r), 2);
    cr_t list;
    if (!cr_find(r, "images", &list)) {
        TL_EXPECT(!"no images");
        return -1;
    }
    cr_head_t h;
    TL_EXPECT(cr_head(&list, &h) && h.major == 4u);
    int n = 0;
    for (uint64_t i = 0; h.indefinite ? !cr_at_break(&list) : i < h.arg; i++) {
        cr_t m = list;
        if (n < max) {
            img_entry_t *e = &out[n];
            memset(e, 0, sizeof(*e));
            TL_EXPECT_EQ(cr_map_size(m), 9);
            TL_EXPECT(cr_uint(m, "image", &e->image) && cr_uint(m, "slot", &e->slot));
            TL_EXPECT(cr_str(m, "hash", 2, &e->hash, &e->hash_len));
            TL_EXPECT(cr_str(m, "version", 3, &e->version, &e->version_len));
            TL_EXPECT(cr_bool(m, "bootable", &e->bootable) && cr_bool(m, "pending", &e->pending) &&
                      cr_bool(m, "confirmed", &e->confirmed) && cr_bool(m, "active", &e->active) &&
                      cr_bool(m, "permanent", &e->permanent));
        }
        TL_EXPECT(cr_skip(&list, 0));
        n++;
    }
    return n;
}

static cr_t state_read(void)
{
    cw_t c = {0};
    return request(TL_SMP_OP_READ, V2, TL_MGMT_IMG_STATE, &c);
}

static cr_t state_write(uint8_t ver, const uint8_t *hash, size_t hash_len, int confirm)
{
    cw_t c = {0};
    cw_map(&c, (hash != NULL ? 1u : 0u) + (confirm >= 0 ? 1u : 0u));
    if (hash != NULL) {
        cw_bstr(&c, "hash", hash, hash_len);
    }
    if (confirm >= 0) {
        cw_bool(&c, "confirm", confirm != 0);
    }
    return request(TL_SMP_OP_WRITE, ver, TL_MGMT_IMG_STATE, &c);
}

static cr_t erase(uint8_t ver, long slot)
{
    cw_t c = {0};
    cw_map(&c, slot >= 0 ? 1u : 0u);
    if (slot >= 0) {
        cw_uint(&c, "slot", (uint64_t)slot);
    }
    return request(TL_SMP_OP_WRITE, ver, TL_MGMT_IMG_ERASE, &c);
}

static bool version_is(const img_entry_t *e, const char *s)
{
    return e->version_len == strlen(s) && memcmp(e->version, s, e->version_len) == 0;
}

/* --- tests ---------------------------------------------------------------------------------- */

static void test_upload_state_and_test_request(void)
{
    setup();
    img_entry_t e[6];
    int n = parse_states(state_read(), e, 6);
    TL_EXPECT_EQ(n, 2); /* firmware slot 0, image 1 slot 0 */
    TL_EXPECT(e[0].image == 0 && e[0].slot == 0 && e[0].active && e[0].confirmed &&
              e[0].bootable && !e[0].pending && !e[0].permanent);
    TL_EXPECT(version_is(&e[0], "1.0.0"));
    TL_EXPECT(e[0].hash_len == 32 && memcmp(e[0].hash, fw_v1_0_hash, 32) == 0);
    TL_EXPECT(e[1].image == 1 && e[1].slot == 0 && version_is(&e[1], "2.0.0.9"));

    cr_t r = upload_all(0, fw_v1_1, sizeof(fw_v1_1), 700, true);
    TL_EXPECT_EQ(resp_off(r), sizeof(fw_v1_1));
    bool match = false;
    TL_EXPECT(cr_bool(r, "match", &match) && match);
    TL_EXPECT_EQ(cr_map_size(r), 2);
    TL_EXPECT_MEM_EQ(&fwu_mem[0x60000], fw_v1_1, sizeof(fw_v1_1));
    TL_EXPECT(!tl_mgmt_img_last_error()->set);

    n = parse_states(state_read(), e, 6);
    TL_EXPECT_EQ(n, 3);
    TL_EXPECT(e[1].image == 0 && e[1].slot == 1 && !e[1].pending && !e[1].active);
    TL_EXPECT(version_is(&e[1], "1.1.0"));
    TL_EXPECT(memcmp(e[1].hash, fw_v1_1_hash, 32) == 0);

    /* test it: the answer is the new state list */
    n = parse_states(state_write(V2, fw_v1_1_hash, 32, 0), e, 6);
    TL_EXPECT_EQ(n, 3);
    TL_EXPECT(e[1].pending && !e[1].permanent);
    TL_EXPECT_EQ(fwu_stored_boot().request, TL_BOOT_REQ_TEST);
    /* confirm it: permanent */
    n = parse_states(state_write(V2, fw_v1_1_hash, 32, 1), e, 6);
    TL_EXPECT(e[1].pending && e[1].permanent);
    TL_EXPECT_EQ(fwu_stored_boot().request, TL_BOOT_REQ_PERM);
    /* confirm without hash: the running image (already confirmed) */
    n = parse_states(state_write(V2, NULL, 0, 1), e, 6);
    TL_EXPECT_EQ(n, 3);
    /* hash of image 1: dispatched to its target */
    parse_states(state_write(V2, k_t1_hash, 32, 1), e, 6);
    TL_EXPECT_EQ(g_t1.set_calls, 1);
    TL_EXPECT(g_t1.set_confirm);
}

static void test_upload_without_sha(void)
{
    setup();
    cr_t r = upload_all(0, fw_v1_1, sizeof(fw_v1_1), 1000, false);
    TL_EXPECT_EQ(resp_off(r), sizeof(fw_v1_1));
    TL_EXPECT_EQ(cr_map_size(r), 1); /* no "match" without a sha */
    /* a late resend of the last chunk is answered with the end */
    uint32_t last = (uint32_t)(sizeof(fw_v1_1) / 1000u) * 1000u;
    r = chunk(V2, 0, fw_v1_1, sizeof(fw_v1_1), last, sizeof(fw_v1_1) - last, NULL, false, -1);
    TL_EXPECT_EQ(resp_off(r), sizeof(fw_v1_1));
}

static void test_resume_and_wrong_offsets(void)
{
    setup();
    uint8_t sha[32];
    file_sha(fw_v1_1, sizeof(fw_v1_1), sha);
    const uint32_t len = sizeof(fw_v1_1);
    /* nothing in progress: a chunk at off != 0 is sent back to 0 */
    TL_EXPECT_EQ(resp_off(chunk(V2, 0, fw_v1_1, len, 600, 100, NULL, false, -1)), 0);
    TL_EXPECT_EQ(resp_off(chunk(V2, 0, fw_v1_1, len, 0, 600, sha, true, -1)), 600);
    TL_EXPECT_EQ(resp_off(chunk(V2, 0, fw_v1_1, len, 600, 600, NULL, false, -1)), 1200);
    /* a chunk is lost (1200..1800 never arrives); the next one is answered with 1200 */
    TL_EXPECT_EQ(resp_off(chunk(V2, 0, fw_v1_1, len, 1800, 600, NULL, false, -1)), 1200);
    /* a resend of an old chunk: also 1200, nothing rewritten */
    uint32_t writes = fwu_ram.writes;
    TL_EXPECT_EQ(resp_off(chunk(V2, 0, fw_v1_1, len, 600, 600, NULL, false, -1)), 1200);
    TL_EXPECT_EQ(fwu_ram.writes, writes);
    /* the client restarts the same file at 0 (same len + sha): resumed at 1200 */
    TL_EXPECT_EQ(resp_off(chunk(V2, 0, fw_v1_1, len, 0, 600, sha, true, -1)), 1200);
    TL_EXPECT_EQ(fwu_ram.writes, writes);
    tl_mgmt_img_upload_t st;
    tl_mgmt_img_upload_status(&st);
    TL_EXPECT(st.active && st.image == 0 && st.slot == 1 && st.len == len && st.off == 1200);
    uint32_t off = 1200;
    cr_t r = {0};
    while (off < len) {
        uint32_t n = (len - off < 600u) ? len - off : 600u;
        r = chunk(V2, 0, fw_v1_1, len, off, n, NULL, false, -1);
        off += n;
        TL_EXPECT_EQ(resp_off(r), off);
    }
    bool match = false;
    TL_EXPECT(cr_bool(r, "match", &match) && match);
    TL_EXPECT_MEM_EQ(&fwu_mem[0x60000], fw_v1_1, len);

    /* a different file at off 0 replaces an unfinished upload */
    TL_EXPECT_EQ(resp_off(chunk(V2, 0, fw_v1_1, len, 0, 600, sha, true, -1)), 600);
    uint8_t other[32];
    file_sha(fw_v1_0, sizeof(fw_v1_0), other);
    TL_EXPECT_EQ(resp_off(chunk(V2, 0, fw_v1_0, sizeof(fw_v1_0), 0, 500, other, true, -1)), 500);
    tl_mgmt_img_abort_upload();
    tl_mgmt_img_upload_status(&st);
    TL_EXPECT(!st.active);
}

static void test_sha_mismatch(void)
{
    setup();
    uint8_t wrong[32];
    file_sha(fw_v1_0, sizeof(fw_v1_0), wrong);
    const uint32_t len = sizeof(fw_v1_1);
    uint32_t off = 0;
    cr_t r = {0};
    while (off < len) {
        uint32_t n = (len - off < 1000u) ? len - off : 1000u;
        r = chunk(V2, 0, fw_v1_1, len, off, n, off == 0 ? wrong : NULL, off == 0, -1);
        off += n;
    }
    TL_EXPECT_EQ(resp_off(r), len);
    bool match = true;
    TL_EXPECT(cr_bool(r, "match", &match) && !match);
    const tl_mgmt_img_error_t *le = tl_mgmt_img_last_error();
    TL_EXPECT(le->set && le->rc == TL_IMG_MGMT_ERR_INVALID_HASH);
    TL_EXPECT_EQ(strcmp(le->reason, "upload: sha mismatch"), 0);
    /* the upload is over: a resend starts again */
    TL_EXPECT_EQ(resp_off(chunk(V2, 0, fw_v1_1, len, 1000, 1000, NULL, false, -1)), 0);
}

static void test_size_and_field_errors(void)
{
    setup();
    uint8_t sha[32];
    file_sha(fw_v1_1, sizeof(fw_v1_1), sha);
    /* longer than fw_secondary */
    TL_EXPECT_EQ(group_rc(chunk(V2, 0, fw_v1_1, 0x40001u, 0, 600, NULL, true, -1)),
                 TL_IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE);
    /* first chunk longer than len */
    TL_EXPECT_EQ(group_rc(chunk(V2, 0, fw_v1_1, 100u, 0, 600, NULL, true, -1)),
                 TL_IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN);
    /* first chunk too short for the header */
    TL_EXPECT_EQ(group_rc(chunk(V2, 0, fw_v1_1, 1000u, 0, 16, NULL, true, -1)),
                 TL_IMG_MGMT_ERR_INVALID_IMAGE_HEADER);
    /* no image magic: refused before any flash is touched */
    memset(g_img, 0x33, 1000);
    uint32_t erases = fwu_ram.erases;
    TL_EXPECT_EQ(group_rc(chunk(V2, 0, g_img, 1000u, 0, 600, NULL, true, -1)),
                 TL_IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC);
    TL_EXPECT_EQ(fwu_ram.erases, erases);
    /* unknown image number */
    TL_EXPECT_EQ(group_rc(chunk(V2, 2, fw_v1_1, 1000u, 0, 600, NULL, true, -1)),
                 TL_IMG_MGMT_ERR_INVALID_SLOT);
    /* no len */
    cw_t c = {0};
    cw_map(&c, 2);
    cw_uint(&c, "off", 0);
    cw_bstr(&c, "data", fw_v1_1, 64);
    TL_EXPECT_EQ(group_rc(request(TL_SMP_OP_WRITE, V2, TL_MGMT_IMG_UPLOAD, &c)),
                 TL_IMG_MGMT_ERR_INVALID_LENGTH);
    /* no off */
    c.n = 0;
    cw_map(&c, 1);
    cw_bstr(&c, "data", fw_v1_1, 64);
    TL_EXPECT_EQ(group_rc(request(TL_SMP_OP_WRITE, V2, TL_MGMT_IMG_UPLOAD, &c)),
                 TL_IMG_MGMT_ERR_INVALID_OFFSET);
    /* no data: generic EINVAL */
    c.n = 0;
    cw_map(&c, 1);
    cw_uint(&c, "off", 0);
    TL_EXPECT_EQ(generic_rc(request(TL_SMP_OP_WRITE, V2, TL_MGMT_IMG_UPLOAD, &c)),
                 TL_MGMT_ERR_EINVAL);
    /* sha longer than 32 bytes */
    c.n = 0;
    uint8_t long_sha[33] = {0};
    cw_map(&c, 4);
    cw_uint(&c, "off", 0);
    cw_bstr(&c, "data", fw_v1_1, 64);
    cw_uint(&c, "len", 1000);
    cw_bstr(&c, "sha", long_sha, sizeof(long_sha));
    TL_EXPECT_EQ(group_rc(request(TL_SMP_OP_WRITE, V2, TL_MGMT_IMG_UPLOAD, &c)),
                 TL_IMG_MGMT_ERR_INVALID_HASH);
    /* a chunk running past len */
    TL_EXPECT_EQ(resp_off(chunk(V2, 0, fw_v1_1, 1000u, 0, 600, sha, true, -1)), 600);
    TL_EXPECT_EQ(group_rc(chunk(V2, 0, fw_v1_1, 1000u, 600, 401, NULL, false, -1)),
                 TL_IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN);
    TL_EXPECT_EQ(resp_off(chunk(V2, 0, fw_v1_1, 1000u, 600, 100, NULL, false, -1)), 700);
}

static bool g_busy;
static bool busy_fn(void)
{
    return g_busy;
}

static void test_busy(void)
{
    setup();
    tl_fw_update_set_busy_check(busy_fn);
    uint8_t sha[32];
    file_sha(fw_v1_1, sizeof(fw_v1_1), sha);
    const uint32_t len = sizeof(fw_v1_1);
    g_busy = true;
    uint32_t erases = fwu_ram.erases;
    cr_t r = chunk(V2, 0, fw_v1_1, len, 0, 600, sha, true, -1);
    TL_EXPECT_EQ(generic_rc(r), TL_MGMT_ERR_EBUSY);
    TL_EXPECT_EQ(cr_map_size(r), 1);
    TL_EXPECT_EQ(fwu_ram.erases, erases);
    TL_EXPECT_EQ(strcmp(tl_mgmt_img_last_error()->reason, "busy: therapy running"), 0);
    g_busy = false;
    TL_EXPECT_EQ(resp_off(chunk(V2, 0, fw_v1_1, len, 0, 600, sha, true, -1)), 600);
    /* therapy starts mid-upload: the upload pauses, nothing is erased or written */
    g_busy = true;
    uint32_t writes = fwu_ram.writes;
    TL_EXPECT_EQ(generic_rc(chunk(V2, 0, fw_v1_1, len, 600, 600, NULL, false, -1)),
                 TL_MGMT_ERR_EBUSY);
    TL_EXPECT_EQ(generic_rc(chunk(V2, 0, fw_v1_1, len, 0, 600, sha, true, -1)), TL_MGMT_ERR_EBUSY);
    TL_EXPECT_EQ(fwu_ram.writes, writes);
    /* v1: with a reason */
    r = chunk(V1, 0, fw_v1_1, len, 600, 600, NULL, false, -1);
    TL_EXPECT_EQ(generic_rc(r), TL_MGMT_ERR_EBUSY);
    const uint8_t *rsn = NULL;
    size_t rsn_len = 0;
    TL_EXPECT(cr_str(r, "rsn", 3, &rsn, &rsn_len));
    TL_EXPECT(rsn_len == 21 && memcmp(rsn, "busy: therapy running", 21) == 0);
    /* erase refused too */
    TL_EXPECT_EQ(generic_rc(erase(V2, 1)), TL_MGMT_ERR_EBUSY);
    /* stopped: the upload goes on where it was */
    g_busy = false;
    TL_EXPECT_EQ(resp_off(chunk(V2, 0, fw_v1_1, len, 0, 600, sha, true, -1)), 600);
    uint32_t off = 600;
    cr_t last = {0};
    while (off < len) {
        uint32_t n = (len - off < 600u) ? len - off : 600u;
        last = chunk(V2, 0, fw_v1_1, len, off, n, NULL, false, -1);
        off += n;
    }
    bool match = false;
    TL_EXPECT(cr_bool(last, "match", &match) && match);
    tl_fw_update_set_busy_check(NULL);
}

static void test_bad_images(void)
{
    setup();
    /* another key: INVALID_TLV (v2), {"rc": EINVAL, "rsn"} (v1) */
    cr_t r = upload_all(0, fw_v1_5_other_key, sizeof(fw_v1_5_other_key), 800, true);
    TL_EXPECT_EQ(group_rc(r), TL_IMG_MGMT_ERR_INVALID_TLV);
    const tl_mgmt_img_error_t *le = tl_mgmt_img_last_error();
    TL_EXPECT(le->set && le->image == 0 && le->cmd == TL_MGMT_IMG_UPLOAD);
    TL_EXPECT_EQ(le->target_err, TL_IMGT_ERR_IMAGE);
    TL_EXPECT_EQ(strcmp(le->reason, "image: key: wrong key"), 0);
    /* the failed upload is over: a resend of its last chunk starts again */
    TL_EXPECT_EQ(resp_off(chunk(V2, 0, fw_v1_5_other_key, sizeof(fw_v1_5_other_key), 800, 10,
                                NULL, false, -1)),
                 0);

    /* v1 client */
    uint8_t sha[32];
    file_sha(fw_v1_5_other_key, sizeof(fw_v1_5_other_key), sha);
    r = chunk(V1, 0, fw_v1_5_other_key, sizeof(fw_v1_5_other_key), 0,
              sizeof(fw_v1_5_other_key), sha, true, -1);
    TL_EXPECT_EQ(generic_rc(r), TL_MGMT_ERR_EINVAL);
    const uint8_t *rsn = NULL;
    size_t rsn_len = 0;
    TL_EXPECT(cr_str(r, "rsn", 3, &rsn, &rsn_len));
    TL_EXPECT(rsn_len == strlen("image: key: wrong key") &&
              memcmp(rsn, "image: key: wrong key", rsn_len) == 0);
    TL_EXPECT_EQ(cr_map_size(r), 2);

    /* tampered payload: INVALID_HASH */
    memcpy(g_img, fw_v1_1, sizeof(fw_v1_1));
    g_img[0x400] ^= 0x10u;
    r = upload_all(0, g_img, sizeof(fw_v1_1), 900, true);
    TL_EXPECT_EQ(group_rc(r), TL_IMG_MGMT_ERR_INVALID_HASH);
    /* older than the running image */
    r = upload_all(0, fw_v0_9, sizeof(fw_v0_9), 900, true);
    TL_EXPECT_EQ(group_rc(r), TL_IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER);
    TL_EXPECT_EQ(strcmp(tl_mgmt_img_last_error()->reason, "older: older than the running image"),
                 0);
    /* not bootable */
    r = upload_all(0, fw_v1_4_model, sizeof(fw_v1_4_model), 900, true);
    TL_EXPECT_EQ(group_rc(r), TL_IMG_MGMT_ERR_INVALID_IMAGE_HEADER);

    /* image 1's validation failure, with its own reason text */
    g_t1.done_result = TL_IMGT_ERR_VALIDATION;
    r = upload_all(1, fw_v1_1, sizeof(fw_v1_1), 900, true);
    TL_EXPECT_EQ(group_rc(r), TL_IMG_MGMT_ERR_INVALID_IMAGE_VECTOR_TABLE);
    TL_EXPECT_EQ(g_t1.begins, 1);
    TL_EXPECT_EQ(g_t1.dones, 1);
    TL_EXPECT_EQ(strcmp(tl_mgmt_img_last_error()->reason, "engine: unsupported op 7"), 0);
    TL_EXPECT_EQ(tl_mgmt_img_last_error()->image, 1);
    /* and a good one: written into its area */
    g_t1.done_result = TL_IMGT_OK;
    r = upload_all(1, fw_v1_1, sizeof(fw_v1_1), 900, true);
    TL_EXPECT_EQ(resp_off(r), sizeof(fw_v1_1));
    TL_EXPECT_MEM_EQ(&fwu_mem[0xE0000], fw_v1_1, sizeof(fw_v1_1));
    TL_EXPECT_EQ(g_t1.dones, 2);
}

static void test_upgrade_flag(void)
{
    setup();
    /* the same version as the running one is not an upgrade */
    TL_EXPECT_EQ(group_rc(chunk(V2, 0, fw_v1_0, sizeof(fw_v1_0), 0, 600, NULL, true, 1)),
                 TL_IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER);
    TL_EXPECT_EQ(resp_off(chunk(V2, 0, fw_v1_0, sizeof(fw_v1_0), 0, 600, NULL, true, 0)), 600);
    TL_EXPECT_EQ(resp_off(chunk(V2, 0, fw_v1_1, sizeof(fw_v1_1), 0, 600, NULL, true, 1)), 600);
}

static void test_state_write_errors(void)
{
    setup();
    uint8_t h[32];
    memset(h, 0x77, sizeof(h));
    TL_EXPECT_EQ(group_rc(state_write(V2, h, 32, 0)), TL_IMG_MGMT_ERR_HASH_NOT_FOUND);
    TL_EXPECT_EQ(group_rc(state_write(V2, h, 31, 0)), TL_IMG_MGMT_ERR_INVALID_HASH);
    TL_EXPECT_EQ(generic_rc(state_write(V2, NULL, 0, 0)), TL_MGMT_ERR_EINVAL);
    TL_EXPECT_EQ(generic_rc(state_write(V2, NULL, 0, -1)), TL_MGMT_ERR_EINVAL);
    /* testing the running image */
    TL_EXPECT_EQ(group_rc(state_write(V2, fw_v1_0_hash, 32, 0)),
                 TL_IMG_MGMT_ERR_IMAGE_SETTING_TEST_TO_ACTIVE_DENIED);
    /* v1: translated, with a reason */
    cr_t r = state_write(V1, fw_v1_0_hash, 32, 0);
    TL_EXPECT_EQ(generic_rc(r), TL_MGMT_ERR_EACCESSDENIED);
    const uint8_t *rsn = NULL;
    size_t rsn_len = 0;
    TL_EXPECT(cr_str(r, "rsn", 3, &rsn, &rsn_len) && rsn_len > 0);
    /* an image that fails its check cannot be requested */
    TL_EXPECT(fwu_flash_image(TL_AREA_FW_SECONDARY, fw_v0_9, sizeof(fw_v0_9)));
    TL_EXPECT_EQ(group_rc(state_write(V2, fw_v0_9_hash, 32, 0)),
                 TL_IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER);
    TL_EXPECT_EQ(fwu_stored_boot().request, TL_BOOT_REQ_NONE);
}

static void test_erase(void)
{
    setup();
    cr_t r = upload_all(0, fw_v1_1, sizeof(fw_v1_1), 1000, true);
    TL_EXPECT_EQ(resp_off(r), sizeof(fw_v1_1));
    /* the running slot cannot be erased */
    TL_EXPECT_EQ(group_rc(erase(V2, 0)), TL_IMG_MGMT_ERR_NO_FREE_SLOT);
    TL_EXPECT_MEM_EQ(&fwu_mem[0x20000], fw_v1_0, sizeof(fw_v1_0));
    /* no slot given: slot 1 */
    r = erase(V2, -1);
    TL_EXPECT_EQ(cr_map_size(r), 0);
    img_entry_t e[6];
    TL_EXPECT_EQ(parse_states(state_read(), e, 6), 2);
    TL_EXPECT_EQ(fwu_mem[0x60000], 0xFF);
    /* slots 2 and 3 are image 1's slots 0 and 1 */
    TL_EXPECT_EQ(cr_map_size(erase(V2, 3)), 0);
    TL_EXPECT_EQ(g_t1.erased, 2u);
    TL_EXPECT_EQ(group_rc(erase(V2, 4)), TL_IMG_MGMT_ERR_INVALID_SLOT);
    TL_EXPECT_EQ(group_rc(erase(V2, 0xFFFFFFFFL)), TL_IMG_MGMT_ERR_INVALID_SLOT);
    /* erasing the slot of an unfinished upload ends it */
    uint8_t sha[32];
    file_sha(fw_v1_1, sizeof(fw_v1_1), sha);
    TL_EXPECT_EQ(resp_off(chunk(V2, 0, fw_v1_1, sizeof(fw_v1_1), 0, 600, sha, true, -1)), 600);
    TL_EXPECT_EQ(cr_map_size(erase(V2, 1)), 0);
    TL_EXPECT_EQ(resp_off(chunk(V2, 0, fw_v1_1, sizeof(fw_v1_1), 600, 600, NULL, false, -1)), 0);
}

static void test_register_and_no_storage(void)
{
    tl_smp_server_t srv;
    tl_smp_server_init(&srv, pkt_capture_output, &g_out);
    const tl_image_target_t *bad[1] = {NULL};
    TL_EXPECT_EQ(tl_mgmt_img_register(&srv, NULL, bad, 1), TL_SMP_ERR_ARG);
    TL_EXPECT_EQ(tl_mgmt_img_register(&srv, NULL, NULL, 5), TL_SMP_ERR_ARG);
    /* a board without storage: the state list is empty, uploads fail cleanly */
    setup();
    tl_smp_server_init(&g_srv, pkt_capture_output, &g_out);
    tl_fw_update_init_with_key(NULL, NULL, fwu_test_pubkey, fwu_test_key_hash);
    const tl_image_target_t *fw[1] = {tl_fw_update_target()};
    TL_EXPECT_EQ(tl_mgmt_img_register(&g_srv, NULL, fw, 1), TL_SMP_OK);
    TL_EXPECT_EQ(tl_mgmt_img_register(&g_srv, NULL, fw, 1), TL_SMP_ERR_DUPLICATE);
    img_entry_t e[2];
    TL_EXPECT_EQ(parse_states(state_read(), e, 2), 0);
    TL_EXPECT_EQ(group_rc(chunk(V2, 0, fw_v1_1, sizeof(fw_v1_1), 0, 600, NULL, true, -1)),
                 TL_IMG_MGMT_ERR_FLASH_CONFIG_QUERY_FAIL);
    TL_EXPECT_EQ(group_rc(state_write(V2, NULL, 0, 1)), TL_IMG_MGMT_ERR_FLASH_CONFIG_QUERY_FAIL);
    TL_EXPECT_EQ(group_rc(erase(V2, 1)), TL_IMG_MGMT_ERR_FLASH_CONFIG_QUERY_FAIL);
}

int main(void)
{
    TL_RUN(test_upload_state_and_test_request);
    TL_RUN(test_upload_without_sha);
    TL_RUN(test_resume_and_wrong_offsets);
    TL_RUN(test_sha_mismatch);
    TL_RUN(test_size_and_field_errors);
    TL_RUN(test_busy);
    TL_RUN(test_bad_images);
    TL_RUN(test_upgrade_flag);
    TL_RUN(test_state_write_errors);
    TL_RUN(test_erase);
    TL_RUN(test_register_and_no_storage);
    return tl_test_summary();
}
