/*
 * test_model_slots.c - updatable model slots (update/model_slots.h) on a RAM flash with the
 * STM32F4 geometry: upload + validation of real signed images (made by imgtool,
 * data/model_slots/gen_model_slot_images.py), every kind of bad image, activation as a
 * test run (auto-confirm, auto-revert, explicit confirm), rollback to the previous and to
 * the factory model, a reset before confirmation, and power cuts during the confirm commit.
 * The real system state store and configuration persistence are used for the "reboots".
 */
#include <stdlib.h>
#include <string.h>

#include "data/model_slots/model_slot_images.h"
#include "platform_host.h"
#include "storage_ram.h"
#include "theraloop/afe_link.h"
#include "theraloop/loop/config_persist.h"
#include "theraloop/loop/loop.h"
#include "theraloop/storage/flash_map.h"
#include "theraloop/storage/system_state.h"
#include "theraloop/update/model_slots.h"
#include "tl_test.h"

static const tl_storage_region_t k_regions[] = {
    {4u, 16u * 1024u}, {1u, 64u * 1024u}, {7u, 128u * 1024u}};
static uint8_t g_mem[TL_FLASH_SIZE];
static tl_storage_ram_t g_ram;
static const tl_storage_t *g_dev;
static tl_sysstate_t g_st;
static tl_loop_t g_loop;
static uint16_t g_seq;
static bool g_busy;
static int16_t g_x[4096];

static void out_fn(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    (void)data;
    (void)len;
}

static bool busy(void)
{
    return g_busy;
}

/* A (virtual) boot: the order of app.c. */
static void boot(void)
{
    tl_storage_ram_power_on(&g_ram);
    tl_host_use_virtual_clock(true);
    tl_model_source_ram_update(NULL, NULL);
    g_seq = 0;
    tl_loop_init(&g_loop, out_fn, NULL);
    (void)tl_sysstate_open(&g_st, g_dev);
    tl_img_policy_t pol = {ms_test_pubkey, ms_test_key_hash, TL_IMG_KIND_MODEL, 0};
    tl_model_slots_set_policy(&pol);
    tl_model_slots_set_persist(tl_config_persist_hook);
    tl_model_slots_set_busy_check(busy);
    tl_model_slots_init(g_dev, &g_st, &g_loop);
    (void)tl_config_persist_init(&g_loop, &g_st);
}

/* A fresh, erased device. */
static void fresh(void)
{
    memset(g_mem, 0xFF, sizeof g_mem);
    tl_storage_ram_init(&g_ram, g_mem, k_regions, 3u, 4u);
    g_dev = &g_ram.dev;
    g_busy = false;
    boot();
}

/* Write an image into a slot area directly (erase + program, 0xFF padded). */
static void write_area(uint32_t slot, const uint8_t *img, uint32_t len)
{
    tl_flash_area_t a;
    TL_EXPECT_EQ(tl_flash_area_get(g_dev, slot == 0u ? TL_AREA_MODEL_A : TL_AREA_MODEL_B, &a),
                 TL_STORAGE_OK);
    TL_EXPECT_EQ(tl_flash_area_erase(g_dev, &a), TL_STORAGE_OK);
    uint32_t whole = len & ~3u;
    if (whole > 0u) {
        TL_EXPECT_EQ(tl_storage_write(g_dev, a.off, img, whole), TL_STORAGE_OK);
    }
    if (len > whole) {
        uint8_t tail[4] = {0xFF, 0xFF, 0xFF, 0xFF};
        memcpy(tail, img + whole, len - whole);
        TL_EXPECT_EQ(tl_storage_write(g_dev, a.off + whole, tail, 4u), TL_STORAGE_OK);
    }
}

/* An upload through the image target: returns upload_done's result. */
static tl_imgt_err_t upload(const uint8_t *img, uint32_t len, uint32_t *slot, uint32_t *detail)
{
    const tl_image_target_t *t = tl_model_slots_target();
    tl_flash_area_t a;
    tl_imgt_err_t e = t->upload_begin(len, slot, &a);
    if (e != TL_IMGT_OK) {
        return e;
    }
    write_area(*slot, img, len);
    return t->upload_done(*slot, detail);
}

static uint32_t factory_source(void)
{
    return TL_MODEL_SRC_FACTORY; /* the first factory model: the default preset */
}

/* Feed `steps` hops of noise as AFE blocks, polling the slots after every block. */
static void run_steps(uint32_t steps)
{
    const tl_loop_config_t *cfg = tl_loop_config(&g_loop);
    uint32_t ch = cfg->afe_channels;
    uint32_t hop = cfg->hop_samples;
    uint8_t block = 10;
    uint32_t frames = steps * hop;
    uint8_t buf[TL_AFE_MAX_FRAME];
    for (size_t i = 0; i < sizeof g_x / sizeof g_x[0]; i++) {
        g_x[i] = (int16_t)((rand() % 2001) - 1000);
    }
    while (frames > 0u) {
        uint8_t n = frames < block ? (uint8_t)frames : block;
        size_t len = tl_afe_encode(buf, sizeof buf, g_seq++, 0, (uint16_t)cfg->afe_rate_hz,
                                   (uint8_t)ch, n, g_x);
        TL_EXPECT(len > 0u);
        tl_loop_afe_input(&g_loop, buf, len);
        tl_model_slots_poll();
        frames -= n;
    }
}

/* Model events in the log, in order (action, slot). */
static size_t model_events(uint32_t *action, uint32_t *slot, uint8_t (*hash)[8], size_t max)
{
    static tl_event_t ev[TL_LOOP_EVENTS];
    tl_ring_read_t r = tl_event_log_read(tl_loop_event_log(&g_loop), 0, ev, TL_LOOP_EVENTS);
    size_t n = 0;
    for (uint32_t i = 0; i < r.count; i++) {
        if (ev[i].type == TL_EVENT_MODEL && n < max) {
            action[n] = ev[i].detail;
            slot[n] = ev[i].aux;
            if (hash != NULL) {
                memcpy(hash[n], ev[i].model_hash, 8);
            }
            n++;
        }
    }
    return n;
}

static void test_empty_and_valid_upload(void)
{
    fresh();
    for (uint32_t k = 0; k < 2u; k++) {
        TL_EXPECT_EQ(tl_model_slots_slot(k)->state, TL_MSLOT_EMPTY);
    }
    TL_EXPECT_EQ(tl_model_slots_active_slot(), -1);
    uint32_t slot = 99;
    uint32_t detail = 99;
    TL_EXPECT_EQ(upload(ms_good_v1, sizeof ms_good_v1, &slot, &detail), TL_IMGT_OK);
    TL_EXPECT_EQ(slot, 0u);
    const tl_model_slot_t *s = tl_model_slots_slot(0);
    TL_EXPECT_EQ(s->state, TL_MSLOT_VALID);
    TL_EXPECT(s->loaded);
    TL_EXPECT_EQ(s->info.payload_len, MS_BETA_LEN);
    TL_EXPECT(memcmp(s->model_sha256, ms_beta_sha256, 32) == 0);
    TL_EXPECT_EQ(s->info.version.major, 1);
    TL_EXPECT_EQ(s->info.version.build, 1u);
    /* the model runs in place: the handle points into the flash image */
    TL_EXPECT(s->model.model >= g_mem && s->model.model < g_mem + sizeof g_mem);
    tl_imgt_slot_t st;
    TL_EXPECT_EQ(tl_model_slots_target()->slot_state(0, &st), TL_IMGT_OK);
    TL_EXPECT(st.present && st.bootable && !st.active && !st.pending && !st.confirmed);
    TL_EXPECT(memcmp(st.hash, s->info.sha256, 32) == 0);
    /* a reboot finds it valid again */
    boot();
    TL_EXPECT_EQ(tl_model_slots_slot(0)->state, TL_MSLOT_VALID);
    TL_EXPECT_EQ(tl_model_slots_slot(1)->state, TL_MSLOT_EMPTY);
    /* the slot sources exist after the factory models, by name */
    TL_EXPECT_EQ(tl_model_source_find("slot_a", 6), (int32_t)tl_model_source_slot(0));
    TL_EXPECT_EQ(tl_model_source_find("slot_b", 6), (int32_t)tl_model_source_slot(1));
    TL_EXPECT_EQ(tl_model_source_slot(0), TL_MODEL_SRC_FACTORY + (uint32_t)tl_factory_count());
    TL_EXPECT_EQ(tl_model_source_count(), tl_model_source_slot(1) + 1u);
    TL_EXPECT(strcmp(tl_model_source_name(tl_model_source_slot(1)), "slot_b") == 0);
}

static uint8_t g_img[8192];

/* Upload img (len bytes) into slot 0; expect `want` and, for IMAGE, the image error. */
static void expect_bad(const char *what, const uint8_t *img, uint32_t len, tl_imgt_err_t want,
                       uint32_t want_fail, uint32_t want_img_err)
{
    fresh();
    uint32_t slot = 0;
    uint32_t detail = 0;
    tl_imgt_err_t e = upload(img, len, &slot, &detail);
    if (e != want) {
        printf("%s: %s (detail 0x%x)\n", what, tl_imgt_err_name(e), (unsigned)detail);
    }
    TL_EXPECT_EQ(e, want);
    const tl_model_slot_t *s = tl_model_slots_slot(slot);
    TL_EXPECT_EQ(s->state, TL_MSLOT_INVALID);
    TL_EXPECT_EQ(s->fail, want_fail);
    /* only a contract mismatch keeps the (loadable) model loaded, for another pipeline */
    TL_EXPECT_EQ(s->loaded != 0u, want_fail == TL_MSLOT_FAIL_CONTRACT);
    if (want == TL_IMGT_ERR_IMAGE) {
        TL_EXPECT_EQ(detail >> 16, want_img_err);
    } else {
        TL_EXPECT_EQ(detail >> 24, want_fail);
    }
    /* an invalid slot cannot be activated and the running model is untouched */
    TL_EXPECT_EQ(tl_model_slots_activate(slot, false, 0), TL_MSLOTS_ERR_INVALID);
    TL_EXPECT_EQ(tl_loop_config(&g_loop)->model, factory_source());
    TL_EXPECT(tl_model_step_bound(tl_loop_model_step(&g_loop)));
}

static void test_bad_images(void)
{
    uint32_t n = sizeof ms_good_v1;
    /* payload byte changed: hash mismatch */
    memcpy(g_img, ms_good_v1, n);
    g_img[0x20 + 100] ^= 0x01;
    expect_bad("bad hash", g_img, n, TL_IMGT_ERR_IMAGE, TL_MSLOT_FAIL_IMAGE, TL_IMG_ERR_HASH);
    /* truncated: the TLV area never arrived */
    expect_bad("truncated", ms_good_v1, n / 2u, TL_IMGT_ERR_IMAGE, TL_MSLOT_FAIL_IMAGE,
               TL_IMG_ERR_FORMAT);
    /* wrong magic */
    memcpy(g_img, ms_good_v1, n);
    g_img[0] ^= 0x40;
    expect_bad("magic", g_img, n, TL_IMGT_ERR_IMAGE, TL_MSLOT_FAIL_IMAGE, TL_IMG_ERR_FORMAT);
    /* header claims a payload larger than the slot */
    memcpy(g_img, ms_good_v1, n);
    g_img[12] = 0x00;
    g_img[13] = 0x00;
    g_img[14] = 0x03; /* ih_img_size = 0x30000 */
    g_img[15] = 0x00;
    expect_bad("oversized", g_img, n, TL_IMGT_ERR_IMAGE, TL_MSLOT_FAIL_IMAGE, TL_IMG_ERR_FORMAT);
    expect_bad("unsigned", ms_unsigned, sizeof ms_unsigned, TL_IMGT_ERR_IMAGE,
               TL_MSLOT_FAIL_IMAGE, TL_IMG_ERR_UNSIGNED);
    expect_bad("other key", ms_other_key, sizeof ms_other_key, TL_IMGT_ERR_IMAGE,
               TL_MSLOT_FAIL_IMAGE, TL_IMG_ERR_KEY);
    expect_bad("bootable", ms_bootable, sizeof ms_bootable, TL_IMGT_ERR_IMAGE,
               TL_MSLOT_FAIL_IMAGE, TL_IMG_ERR_KIND);
    expect_bad("garbage", ms_garbage, sizeof ms_garbage, TL_IMGT_ERR_VALIDATION,
               TL_MSLOT_FAIL_LOAD, 0);
    expect_bad("contract", ms_contract, sizeof ms_contract, TL_IMGT_ERR_VALIDATION,
               TL_MSLOT_FAIL_CONTRACT, 0);
    TL_EXPECT_EQ(tl_model_slots_slot(0)->detail >> 16, TL_MODEL_ERR_INPUT_SIZE);
    expect_bad("arena", ms_arena, sizeof ms_arena, TL_IMGT_ERR_VALIDATION, TL_MSLOT_FAIL_ARENA,
               0);
    TL_EXPECT(tl_model_slots_slot(0)->detail > TL_MODEL_SLOT_ARENA_BYTES);
    /* an image larger than the slot is refused before anything is written */
    fresh();
    uint32_t slot = 0;
    tl_flash_area_t a;
    TL_EXPECT_EQ(tl_model_slots_target()->upload_begin(TL_MODEL_SLOT_SIZE + 4u, &slot, &a),
                 TL_IMGT_ERR_TOO_BIG);
}

static void test_activate_auto_confirm(void)
{
    fresh();
    uint32_t slot = 0;
    uint32_t detail = 0;
    TL_EXPECT_EQ(upload(ms_good_v1, sizeof ms_good_v1, &slot, &detail), TL_IMGT_OK);
    TL_EXPECT_EQ(tl_model_slots_activate(0, false, 60), TL_MSLOTS_OK);
    uint32_t prev = 0;
    TL_EXPECT(tl_model_slots_test_active(&prev));
    TL_EXPECT_EQ(prev, factory_source());
    TL_EXPECT_EQ(tl_loop_config(&g_loop)->model, tl_model_source_slot(0));
    TL_EXPECT_EQ(tl_model_slots_active_slot(), 0);
    TL_EXPECT(tl_loop_model_active(&g_loop)->model == &tl_model_slots_slot(0)->model);
    /* a second activation during the test is refused */
    TL_EXPECT_EQ(tl_model_slots_activate(1, false, 0), TL_MSLOTS_ERR_BUSY);
    tl_imgt_slot_t st;
    TL_EXPECT_EQ(tl_model_slots_target()->slot_state(0, &st), TL_IMGT_OK);
    TL_EXPECT(st.active && st.pending && !st.confirmed);
    run_steps(40);
    TL_EXPECT(tl_model_slots_test_active(NULL));
    TL_EXPECT(tl_model_slots_test()->steps >= 30u);
    run_steps(60);
    TL_EXPECT(!tl_model_slots_test_active(NULL));
    TL_EXPECT(tl_loop_counters(&g_loop)->inferences > 0u);
    TL_EXPECT_EQ(tl_loop_config(&g_loop)->model, tl_model_source_slot(0));
    TL_EXPECT(tl_model_slots_slot(0)->confirmed);
    TL_EXPECT(strcmp(tl_model_slots_previous(), tl_factory_get(0)->info->name) == 0);
    uint32_t act[8];
    uint32_t sl[8];
    uint8_t hash[8][8];
    size_t n = model_events(act, sl, hash, 8);
    TL_EXPECT_EQ(n, 2u);
    TL_EXPECT_EQ(act[0], TL_MSLOT_ACT_ACTIVATE);
    TL_EXPECT_EQ(act[1], TL_MSLOT_ACT_AUTO_CONFIRM);
    TL_EXPECT_EQ(sl[0], 0u);
    TL_EXPECT(memcmp(hash[1], ms_beta_sha256, 8) == 0);
    /* persisted: after a reset the slot runs, confirmed */
    boot();
    TL_EXPECT_EQ(tl_config_persist_status()->outcome, TL_CFGP_RESTORED);
    TL_EXPECT_EQ(tl_loop_config(&g_loop)->model, tl_model_source_slot(0));
    TL_EXPECT(tl_model_step_bound(tl_loop_model_step(&g_loop)));
    TL_EXPECT(tl_model_slots_slot(0)->confirmed);
    TL_EXPECT(strcmp(tl_model_slots_previous(), tl_factory_get(0)->info->name) == 0);
    TL_EXPECT_EQ(tl_model_slots_target()->slot_state(0, &st), TL_IMGT_OK);
    TL_EXPECT(st.active && !st.pending && st.confirmed);
    /* the running slot can be neither erased nor overwritten */
    TL_EXPECT_EQ(tl_model_slots_target()->erase(0), TL_IMGT_ERR_DENIED);
    TL_EXPECT_EQ(upload(ms_good_v2, sizeof ms_good_v2, &slot, &detail), TL_IMGT_OK);
    TL_EXPECT_EQ(slot, 1u);
}

static void test_auto_revert_on_model_failure(void)
{
    fresh();
    uint32_t slot = 0;
    uint32_t detail = 0;
    TL_EXPECT_EQ(upload(ms_good_v1, sizeof ms_good_v1, &slot, &detail), TL_IMGT_OK);
    TL_EXPECT_EQ(tl_model_slots_activate(0, false, 0), TL_MSLOTS_OK);
    TL_EXPECT_EQ(tl_model_slots_test()->confirm_after, TL_MODEL_CONFIRM_AFTER_DEFAULT);
    run_steps(30);
    TL_EXPECT(tl_model_slots_test_active(NULL));
    /* the slot is overwritten underneath (a bit cleared in the payload); the next re-bind
     * (here: an RAM model change) re-hashes it and refuses it: a model failure */
    tl_flash_area_t a;
    TL_EXPECT_EQ(tl_flash_area_get(g_dev, TL_AREA_MODEL_A, &a), TL_STORAGE_OK);
    uint32_t off = a.off + 0x20u + 200u;
    uint8_t w[4];
    TL_EXPECT_EQ(tl_storage_read(g_dev, off, w, 4), TL_STORAGE_OK);
    w[0] = (uint8_t)(w[0] & (w[0] - 1u)); /* clear the lowest set bit */
    if (w[0] == g_mem[off]) {
        w[1] = 0;
    }
    TL_EXPECT_EQ(tl_storage_write(g_dev, off, w, 4), TL_STORAGE_OK);
    tl_model_source_ram_update(NULL, NULL);
    run_steps(10);
    TL_EXPECT(!tl_model_slots_test_active(NULL));
    TL_EXPECT_EQ(tl_loop_config(&g_loop)->model, factory_source());
    TL_EXPECT(tl_model_step_bound(tl_loop_model_step(&g_loop)));
    TL_EXPECT_EQ(tl_model_slots_slot(0)->state, TL_MSLOT_INVALID);
    TL_EXPECT_EQ(tl_model_slots_slot(0)->fail, TL_MSLOT_FAIL_CHANGED);
    TL_EXPECT(!tl_model_slots_slot(0)->confirmed);
    uint32_t act[8];
    uint32_t sl[8];
    size_t n = model_events(act, sl, NULL, 8);
    TL_EXPECT_EQ(n, 2u);
    TL_EXPECT_EQ(act[1], TL_MSLOT_ACT_REVERT);
    /* nothing was persisted: a reboot runs the factory model, no previous recorded */
    boot();
    TL_EXPECT_EQ(tl_loop_config(&g_loop)->model, factory_source());
    TL_EXPECT(tl_model_slots_previous()[0] == '\0');
    const uint8_t *d = NULL;
    uint16_t len = 0;
    TL_EXPECT(!tl_sysstate_get(&g_st, TL_SYSSTATE_MODELS, &d, &len));
}

static void test_reset_before_confirm_reverts(void)
{
    fresh();
    uint32_t slot = 0;
    uint32_t detail = 0;
    TL_EXPECT_EQ(upload(ms_good_v1, sizeof ms_good_v1, &slot, &detail), TL_IMGT_OK);
    TL_EXPECT_EQ(tl_config_persist_save(&g_loop), TL_CFGSTORE_OK); /* factory persisted */
    TL_EXPECT_EQ(tl_model_slots_activate(0, false, 1000), TL_MSLOTS_OK);
    run_steps(50);
    /* a configuration save during the test keeps the previous model */
    TL_EXPECT_EQ(tl_config_persist_save(&g_loop), TL_CFGSTORE_OK);
    TL_EXPECT(tl_model_slots_test_active(NULL));
    boot();
    TL_EXPECT(!tl_model_slots_test_active(NULL));
    TL_EXPECT_EQ(tl_loop_config(&g_loop)->model, factory_source());
    TL_EXPECT_EQ(tl_model_slots_slot(0)->state, TL_MSLOT_VALID);
    TL_EXPECT(!tl_model_slots_slot(0)->confirmed);
}

static void test_confirm_and_rollback(void)
{
    fresh();
    uint32_t slot = 0;
    uint32_t detail = 0;
    TL_EXPECT_EQ(tl_model_slots_confirm(), TL_MSLOTS_ERR_NO_TEST);
    TL_EXPECT_EQ(tl_model_slots_rollback(false), TL_MSLOTS_ERR_NO_PREVIOUS);
    TL_EXPECT_EQ(upload(ms_good_v1, sizeof ms_good_v1, &slot, &detail), TL_IMGT_OK);
    TL_EXPECT_EQ(tl_model_slots_activate(0, false, 0), TL_MSLOTS_OK);
    TL_EXPECT_EQ(tl_model_slots_activate(0, false, 0), TL_MSLOTS_ERR_BUSY);
    TL_EXPECT_EQ(tl_model_slots_confirm(), TL_MSLOTS_OK);
    TL_EXPECT(!tl_model_slots_test_active(NULL));
    TL_EXPECT_EQ(tl_model_slots_activate(0, false, 0), TL_MSLOTS_ERR_DENIED);
    /* slot b gets v2 (slot a runs); activated and confirmed at once through the target */
    TL_EXPECT_EQ(upload(ms_good_v2, sizeof ms_good_v2, &slot, &detail), TL_IMGT_OK);
    TL_EXPECT_EQ(slot, 1u);
    tl_imgt_slot_t st;
    TL_EXPECT_EQ(tl_model_slots_target()->slot_state(1, &st), TL_IMGT_OK);
    TL_EXPECT_EQ(tl_model_slots_target()->set_state(st.hash, true, &detail), TL_IMGT_OK);
    TL_EXPECT_EQ(tl_loop_config(&g_loop)->model, tl_model_source_slot(1));
    TL_EXPECT(!tl_model_slots_test_active(NULL));
    TL_EXPECT(strcmp(tl_model_slots_previous(), "slot_a") == 0);
    /* now both slots are in use (running, way back): no upload slot */
    TL_EXPECT_EQ(tl_model_slots_target()->erase(1), TL_IMGT_ERR_DENIED);
    /* rollback to the previous (slot a) and persist */
    TL_EXPECT_EQ(tl_model_slots_rollback(false), TL_MSLOTS_OK);
    TL_EXPECT_EQ(tl_loop_config(&g_loop)->model, tl_model_source_slot(0));
    TL_EXPECT(tl_model_slots_previous()[0] == '\0');
    boot();
    TL_EXPECT_EQ(tl_loop_config(&g_loop)->model, tl_model_source_slot(0));
    TL_EXPECT(tl_model_step_bound(tl_loop_model_step(&g_loop)));
    /* rollback to the factory model of the pipeline */
    TL_EXPECT_EQ(tl_model_slots_rollback(true), TL_MSLOTS_OK);
    TL_EXPECT_EQ(tl_loop_config(&g_loop)->model, factory_source());
    TL_EXPECT(tl_model_step_bound(tl_loop_model_step(&g_loop)));
    boot();
    TL_EXPECT_EQ(tl_loop_config(&g_loop)->model, factory_source());
    uint32_t act[8];
    uint32_t sl[8];
    size_t n = model_events(act, sl, NULL, 8);
    TL_EXPECT_EQ(n, 0u); /* the event log starts over at boot */
    /* slot b is no longer in use: it can be erased */
    TL_EXPECT_EQ(tl_model_slots_target()->erase(1), TL_IMGT_OK);
    TL_EXPECT_EQ(tl_model_slots_slot(1)->state, TL_MSLOT_EMPTY);
}

static void test_busy_and_events(void)
{
    fresh();
    uint32_t slot = 0;
    uint32_t detail = 0;
    g_busy = true;
    TL_EXPECT_EQ(upload(ms_good_v1, sizeof ms_good_v1, &slot, &detail), TL_IMGT_ERR_BUSY);
    TL_EXPECT_EQ(tl_model_slots_target()->erase(0), TL_IMGT_ERR_BUSY);
    g_busy = false;
    TL_EXPECT_EQ(upload(ms_good_v1, sizeof ms_good_v1, &slot, &detail), TL_IMGT_OK);
    /* set_state without hash and without a test: nothing to confirm */
    TL_EXPECT_EQ(tl_model_slots_target()->set_state(NULL, true, &detail), TL_IMGT_OK);
    uint8_t nohash[32] = {0};
    TL_EXPECT_EQ(tl_model_slots_target()->set_state(nohash, false, &detail),
                 TL_IMGT_ERR_NO_IMAGE);
    tl_imgt_slot_t st;
    TL_EXPECT_EQ(tl_model_slots_target()->slot_state(0, &st), TL_IMGT_OK);
    TL_EXPECT_EQ(tl_model_slots_target()->set_state(st.hash, false, &detail), TL_IMGT_OK);
    TL_EXPECT(tl_model_slots_test_active(NULL));
    TL_EXPECT_EQ(tl_model_slots_target()->set_state(NULL, true, &detail), TL_IMGT_OK);
    TL_EXPECT(!tl_model_slots_test_active(NULL));
    TL_EXPECT(tl_model_slots_slot(0)->confirmed);
    /* configured away during a test: the test ends without confirm */
    TL_EXPECT_EQ(upload(ms_good_v2, sizeof ms_good_v2, &slot, &detail), TL_IMGT_OK);
    TL_EXPECT_EQ(tl_model_slots_activate(1, false, 0), TL_MSLOTS_OK);
    tl_loop_config_t cfg = *tl_loop_config(&g_loop);
    cfg.model = tl_model_source_slot(0);
    TL_EXPECT_EQ(tl_loop_configure(&g_loop, &cfg, NULL), TL_LOOP_CFG_OK);
    tl_model_slots_poll();
    TL_EXPECT(!tl_model_slots_test_active(NULL));
    TL_EXPECT(!tl_model_slots_slot(1)->confirmed);
    uint32_t act[8];
    uint32_t sl[8];
    size_t n = model_events(act, sl, NULL, 8);
    TL_EXPECT_EQ(n, 4u);
    TL_EXPECT_EQ(act[1], TL_MSLOT_ACT_CONFIRM);
    TL_EXPECT_EQ(act[2], TL_MSLOT_ACT_ACTIVATE);
    TL_EXPECT_EQ(sl[2], 1u);
    TL_EXPECT_EQ(act[3], TL_MSLOT_ACT_ABANDON);
}

/* A power cut at every write/erase of the confirm commit: after the reboot the device runs
 * either the previous model or the confirmed slot, never anything inconsistent. */
static void test_power_cut_during_confirm(void)
{
    bool completed = false;
    uint32_t old_runs = 0;
    uint32_t new_runs = 0;
    for (int64_t cut = 0; cut < 64 && !completed; cut++) {
        fresh();
        uint32_t slot = 0;
        uint32_t detail = 0;
        TL_EXPECT_EQ(upload(ms_good_v1, sizeof ms_good_v1, &slot, &detail), TL_IMGT_OK);
        TL_EXPECT_EQ(tl_config_persist_save(&g_loop), TL_CFGSTORE_OK);
        TL_EXPECT_EQ(tl_model_slots_activate(0, false, 0), TL_MSLOTS_OK);
        tl_storage_ram_cut_after(&g_ram, cut);
        tl_mslots_err_t e = tl_model_slots_confirm();
        completed = !g_ram.powered_off;
        if (completed) {
            TL_EXPECT_EQ(e, TL_MSLOTS_OK);
        } else {
            TL_EXPECT_EQ(e, TL_MSLOTS_ERR_PERSIST);
        }
        boot(); /* power_on + re-init from storage */
        TL_EXPECT(g_st.load_err == TL_CFGSTORE_OK);
        TL_EXPECT(!tl_model_slots_test_active(NULL));
        TL_EXPECT(tl_model_step_bound(tl_loop_model_step(&g_loop)));
        uint32_t m = tl_loop_config(&g_loop)->model;
        if (m == tl_model_source_slot(0)) {
            /* the new state: confirmed, with the way back recorded */
            TL_EXPECT(tl_model_slots_slot(0)->confirmed);
            TL_EXPECT(strcmp(tl_model_slots_previous(), tl_factory_get(0)->info->name) == 0);
            new_runs++;
        } else {
            TL_EXPECT_EQ(m, factory_source());
            old_runs++;
        }
    }
    TL_EXPECT(completed);
    TL_EXPECT(old_runs > 0u);
    TL_EXPECT(new_runs > 0u);
}

static void test_no_storage(void)
{
    tl_loop_init(&g_loop, out_fn, NULL);
    tl_model_slots_init(NULL, NULL, &g_loop);
    TL_EXPECT_EQ(tl_model_slots_activate(0, false, 0), TL_MSLOTS_ERR_NOT_READY);
    uint32_t slot = 0;
    tl_flash_area_t a;
    TL_EXPECT_EQ(tl_model_slots_target()->upload_begin(100, &slot, &a), TL_IMGT_ERR_NO_STORAGE);
    tl_model_active_t act;
    tl_model_source_acquire(tl_model_source_slot(0), &act);
    TL_EXPECT(act.model == NULL);
}

int main(void)
{
    TL_RUN(test_empty_and_valid_upload);
    TL_RUN(test_bad_images);
    TL_RUN(test_activate_auto_confirm);
    TL_RUN(test_auto_revert_on_model_failure);
    TL_RUN(test_reset_before_confirm_reverts);
    TL_RUN(test_confirm_and_rollback);
    TL_RUN(test_busy_and_events);
    TL_RUN(test_power_cut_during_confirm);
    TL_RUN(test_no_storage);
    return tl_test_summary();
}
