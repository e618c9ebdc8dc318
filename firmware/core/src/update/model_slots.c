/*
 * model_slots.c - the two updatable model slots: validation, the slot model sources,
 * test-run activation with automatic confirm / revert, rollback, persistence in the
 * MODELS section of the system state, and the SMP image-group target of image 1.
 * See update/model_slots.h and docs/model-update.md.
 */
#include "theraloop/update/model_slots.h"

#include <stdalign.h>
#include <string.h>

#include "theraloop/sha256.h"
#include "theraloop/storage/flash_map.h"
#include "theraloop/therapy/event_log.h"
#include "theraloop/update/signing_key.h"

_Static_assert(TL_MODEL_SLOT_ARENA_BYTES >= 16u && TL_MODEL_SLOT_ARENA_BYTES % 16u == 0u,
               "TL_MODEL_SLOT_ARENA_BYTES must be a positive multiple of 16");

/* MODELS section (TL_SYSSTATE_MODELS) of the system state, little-endian:
 *   0  u8  version (1)
 *   1  u8  length of the previous source's name (0..TL_MODEL_NAME_MAX)
 *   2  u16 reserved (0)
 *   4  u32 confirm_after default
 *   8  32 bytes x 2: image hash confirmed in slot a / b (zeros: none)
 *   72 previous source's name (not NUL-terminated)                                    */
#define MODELS_VERSION 1u
#define MODELS_FIXED 72u
#define MODELS_MAX (MODELS_FIXED + TL_MODEL_NAME_MAX)

static TL_AUX_BSS alignas(16) uint8_t g_arena[TL_MODEL_SLOT_COUNT][TL_MODEL_SLOT_ARENA_BYTES];

typedef struct {
    uint32_t data_steps;  /* steps - silence_steps at the start */
    uint32_t inferences;
    uint32_t inference_errors;
    uint32_t deadline_misses;
} health_t;

static struct {
    bool ready;
    const tl_storage_t *dev;
    tl_sysstate_t *st;
    tl_loop_t *loop;
    tl_img_policy_t policy;
    tl_model_persist_fn persist;
    bool (*busy)(void);
    tl_model_slot_t slot[TL_MODEL_SLOT_COUNT];
    tl_model_test_t test;
    health_t base;
    /* persisted (MODELS) */
    uint32_t confirm_after;
    char previous[TL_MODEL_NAME_MAX + 1u];
    uint8_t confirmed[TL_MODEL_SLOT_COUNT][32];
    tl_cfgstore_err_t last_commit;
} g_ms;

static const uint32_t k_areas[TL_MODEL_SLOT_COUNT] = {TL_AREA_MODEL_A, TL_AREA_MODEL_B};

/* --- names ------------------------------------------------------------------------------ */

const char *tl_mslots_err_name(uint32_t err)
{
    static const char *const names[] = {"ok",         "not_ready",   "arg",
                                        "invalid",    "busy",        "denied",
                                        "no_test",    "no_previous", "no_factory",
                                        "loop",       "persist"};
    return err < sizeof names / sizeof names[0] ? names[err] : "unknown";
}

const char *tl_mslot_state_name(uint32_t state)
{
    static const char *const names[] = {"empty", "invalid", "valid"};
    return state < sizeof names / sizeof names[0] ? names[state] : "unknown";
}

const char *tl_mslot_fail_name(uint32_t fail)
{
    static const char *const names[] = {"none", "storage", "image",    "not_mapped",
                                        "load", "arena",   "contract", "changed"};
    return fail < sizeof names / sizeof names[0] ? names[fail] : "unknown";
}

const char *tl_mslot_action_name(uint32_t action)
{
    static const char *const names[] = {"?",      "activate", "confirm",  "auto_confirm",
                                        "revert", "rollback", "factory", "abandon"};
    return action < sizeof names / sizeof names[0] ? names[action] : "unknown";
}

/* --- helpers -------------------------------------------------------------------------------- */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static bool is_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= p[i];
    }
    return acc == 0u;
}

static uint32_t current_source(void)
{
    return tl_loop_config(g_ms.loop)->model;
}

int32_t tl_model_slots_active_slot(void)
{
    return g_ms.ready ? tl_model_source_slot_index(current_source()) : -1;
}

/* The contract the loop asks of its model (as the loop binds it). */
static void loop_contract(tl_model_contract_t *c)
{
    const tl_loop_config_t *cfg = tl_loop_config(g_ms.loop);
    memset(c, 0, sizeof *c);
    c->input_len = tl_loop_config_model_input_len(cfg);
    c->kind = (uint8_t)cfg->pipeline;
    c->score_class = (uint8_t)cfg->score_class;
    c->artifact_class =
        cfg->artifact_class < 0 ? (uint8_t)TL_MODEL_NO_CLASS : (uint8_t)cfg->artifact_class;
}

static void log_event(uint32_t action, uint32_t slot)
{
    tl_loop_t *l = g_ms.loop;
    tl_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.time_ms = tl_loop_now_ms(l);
    ev.type = (uint8_t)TL_EVENT_MODEL;
    ev.therapy_state = l->th.sup.therapy_state;
    ev.policy_state = l->th.last_request.state;
    ev.detail = action;
    ev.aux = slot;
    ev.before = l->last_out.stim;
    ev.after = l->last_out.stim;
    (void)tl_event_log_append(&l->log, &ev);
}

/* --- the MODELS section -------------------------------------------------------------------- */

static void models_load(void)
{
    g_ms.confirm_after = TL_MODEL_CONFIRM_AFTER_DEFAULT;
    g_ms.previous[0] = '\0';
    memset(g_ms.confirmed, 0, sizeof g_ms.confirmed);
    const uint8_t *d = NULL;
    uint16_t len = 0;
    if (g_ms.st == NULL || !tl_sysstate_get(g_ms.st, TL_SYSSTATE_MODELS, &d, &len)) {
        return;
    }
    if (len < MODELS_FIXED || d[0] != MODELS_VERSION || d[1] > TL_MODEL_NAME_MAX ||
        (uint32_t)MODELS_FIXED + d[1] > len) {
        return; /* unknown or malformed: defaults (the section is rewritten at the next commit) */
    }
    uint32_t ca = rd32(d + 4);
    if (ca >= 1u && ca <= TL_MODEL_CONFIRM_AFTER_MAX) {
        g_ms.confirm_after = ca;
    }
    memcpy(g_ms.confirmed, d + 8, sizeof g_ms.confirmed);
    memcpy(g_ms.previous, d + MODELS_FIXED, d[1]);
    g_ms.previous[d[1]] = '\0';
}

/* Write the MODELS section and commit the system state; then the loop configuration. */
static tl_mslots_err_t persist_all(void)
{
    tl_mslots_err_t result = TL_MSLOTS_OK;
    if (g_ms.st != NULL) {
        uint8_t buf[MODELS_MAX];
        memset(buf, 0, sizeof buf);
        size_t n = strlen(g_ms.previous);
        buf[0] = MODELS_VERSION;
        buf[1] = (uint8_t)n;
        wr32(buf + 4, g_ms.confirm_after);
        memcpy(buf + 8, g_ms.confirmed, sizeof g_ms.confirmed);
        memcpy(buf + MODELS_FIXED, g_ms.previous, n);
        if (!tl_sysstate_put(g_ms.st, TL_SYSSTATE_MODELS, buf, (uint16_t)(MODELS_FIXED + n))) {
            g_ms.last_commit = TL_CFGSTORE_TOO_BIG;
            return TL_MSLOTS_ERR_PERSIST;
        }
        g_ms.last_commit = tl_sysstate_commit(g_ms.st);
        if (g_ms.last_commit != TL_CFGSTORE_OK) {
            result = TL_MSLOTS_ERR_PERSIST;
        }
    }
    /* The configuration after the MODELS section: a reset in between leaves the previous
     * model running with its rollback information intact. */
    if (result == TL_MSLOTS_OK && g_ms.persist != NULL && !g_ms.persist(g_ms.loop)) {
        result = TL_MSLOTS_ERR_PERSIST;
    }
    return result;
}

/* --- validation ------------------------------------------------------------------------------ */

static void slot_unload(tl_model_slot_t *s)
{
    bool was = s->loaded != 0u;
    s->loaded = 0;
    memset(&s->model, 0, sizeof s->model);
    memset(s->model_sha256, 0, sizeof s->model_sha256);
    if (was) {
        tl_model_source_changed(); /* holders of the handle re-acquire */
    }
}

static void slot_fail(tl_model_slot_t *s, uint32_t fail, uint32_t detail)
{
    s->state = (uint8_t)TL_MSLOT_INVALID;
    s->fail = (uint8_t)fail;
    s->detail = detail;
}

/* Contract of a loaded slot against the loop's configuration: sets VALID / INVALID. */
static void slot_contract(tl_model_slot_t *s)
{
    if (!s->loaded) {
        return;
    }
    tl_model_contract_t c;
    loop_contract(&c);
    tl_model_step_t ms;
    memset(&ms, 0, sizeof ms);
    tl_model_err_t e = tl_model_step_bind(&ms, &s->model, &c);
    if (e == TL_MODEL_OK) {
        s->state = (uint8_t)TL_MSLOT_VALID;
        s->fail = (uint8_t)TL_MSLOT_FAIL_NONE;
        s->detail = 0;
    } else {
        slot_fail(s, TL_MSLOT_FAIL_CONTRACT, ((uint32_t)e << 16) | (ms.detail & 0xFFFFu));
    }
}

/* The whole check of slot k: image, mapping, engine load (into the slot's own arena),
 * contract. Never call it for the slot the loop runs (it re-loads the handle). */
static void slot_validate(uint32_t k)
{
    tl_model_slot_t *s = &g_ms.slot[k];
    slot_unload(s);
    memset(&s->info, 0, sizeof s->info);
    s->state = (uint8_t)TL_MSLOT_EMPTY;
    s->fail = (uint8_t)TL_MSLOT_FAIL_NONE;
    s->detail = 0;
    s->confirmed = 0;
    s->arena_required = 0;
    s->area = k_areas[k];
    tl_flash_area_t area;
    tl_storage_err_t se = tl_flash_area_get(g_ms.dev, k_areas[k], &area);
    if (se != TL_STORAGE_OK) {
        slot_fail(s, TL_MSLOT_FAIL_STORAGE, (uint32_t)se);
        return;
    }
    uint8_t magic[4];
    se = tl_storage_read(g_ms.dev, area.off, magic, sizeof magic);
    if (se != TL_STORAGE_OK) {
        slot_fail(s, TL_MSLOT_FAIL_STORAGE, (uint32_t)se);
        return;
    }
    if (rd32(magic) == 0xFFFFFFFFu) {
        return; /* erased: empty */
    }
    tl_mcuboot_storage_ctx_t ctx;
    tl_mcuboot_src_t src = tl_mcuboot_src_storage(&ctx, g_ms.dev, area.off, area.size);
    uint32_t detail = 0;
    tl_img_err_t ie = tl_image_check(&src, area.size, &g_ms.policy, &s->info, &detail);
    if (ctx.err != TL_STORAGE_OK) {
        slot_fail(s, TL_MSLOT_FAIL_STORAGE, (uint32_t)ctx.err);
        return;
    }
    if (ie != TL_IMG_OK) {
        slot_fail(s, TL_MSLOT_FAIL_IMAGE, ((uint32_t)ie << 16) | (detail & 0xFFFFu));
        return;
    }
    const uint8_t *payload =
        tl_storage_mapped(g_ms.dev, area.off + s->info.payload_off, s->info.payload_len);
    if (payload == NULL) {
        slot_fail(s, TL_MSLOT_FAIL_NOT_MAPPED, 0);
        return;
    }
    s->confirmed = memcmp(s->info.sha256, g_ms.confirmed[k], 32) == 0 &&
                           !is_zero(g_ms.confirmed[k], 32)
                       ? 1u
                       : 0u;
    tl_nn_status_t st =
        tl_nn_load(&s->model, payload, s->info.payload_len, g_arena[k], sizeof g_arena[k]);
    if (st == TL_NN_ERR_ARENA_TOO_SMALL) {
        s->arena_required = s->model.arena_required;
        slot_fail(s, TL_MSLOT_FAIL_ARENA, s->model.arena_required);
        memset(&s->model, 0, sizeof s->model);
        return;
    }
    if (st != TL_NN_OK) {
        slot_fail(s, TL_MSLOT_FAIL_LOAD, (uint32_t)st);
        memset(&s->model, 0, sizeof s->model);
        return;
    }
    tl_sha256(payload, s->info.payload_len, s->model_sha256);
    s->arena_required = s->model.arena_required;
    s->loaded = 1;
    slot_contract(s);
}

/* The image in slot k is still the one that was validated: structure and SHA-256 again. */
static bool slot_unchanged(uint32_t k)
{
    tl_model_slot_t *s = &g_ms.slot[k];
    tl_flash_area_t area;
    if (tl_flash_area_get(g_ms.dev, k_areas[k], &area) != TL_STORAGE_OK) {
        return false;
    }
    tl_mcuboot_storage_ctx_t ctx;
    tl_mcuboot_src_t src = tl_mcuboot_src_storage(&ctx, g_ms.dev, area.off, area.size);
    tl_mcuboot_info_t now;
    if (tl_mcuboot_parse(&src, area.size, &now) != TL_MCUBOOT_OK ||
        now.hashed_len != s->info.hashed_len || now.payload_off != s->info.payload_off ||
        now.payload_len != s->info.payload_len ||
        memcmp(now.sha256, s->info.sha256, sizeof now.sha256) != 0) {
        return false;
    }
    return tl_mcuboot_verify_hash(&src, &now, NULL) == TL_MCUBOOT_OK;
}

void tl_model_slots_acquire(uint32_t slot, tl_model_active_t *out)
{
    if (!g_ms.ready || slot >= TL_MODEL_SLOT_COUNT) {
        return;
    }
    tl_model_slot_t *s = &g_ms.slot[slot];
    if (!s->loaded) {
        if (s->state == TL_MSLOT_INVALID && s->fail == TL_MSLOT_FAIL_LOAD) {
            out->load_status = (tl_nn_status_t)s->detail;
        } else if (s->state == TL_MSLOT_INVALID && s->fail == TL_MSLOT_FAIL_ARENA) {
            out->load_status = TL_NN_ERR_ARENA_TOO_SMALL;
            out->arena_required = s->detail;
        }
        return;
    }
    if (!slot_unchanged(slot)) {
        slot_unload(s);
        slot_fail(s, TL_MSLOT_FAIL_CHANGED, 0);
        return;
    }
    out->model = &s->model;
    out->sha256 = s->model_sha256;
}

const tl_model_slot_t *tl_model_slots_slot(uint32_t slot)
{
    if (slot >= TL_MODEL_SLOT_COUNT) {
        return NULL;
    }
    if (g_ms.ready) {
        slot_contract(&g_ms.slot[slot]);
    }
    return &g_ms.slot[slot];
}

/* --- init and settings -------------------------------------------------------------------------- */

static void validate_all(void)
{
    for (uint32_t k = 0; k < TL_MODEL_SLOT_COUNT; k++) {
        slot_validate(k);
    }
    tl_model_source_changed(); /* a loop configured for a slot binds it now */
}

void tl_model_slots_init(const tl_storage_t *dev, tl_sysstate_t *st, tl_loop_t *loop)
{
    /* The wiring (hooks, key policy) survives a re-init; everything else starts over. */
    tl_model_persist_fn persist = g_ms.persist;
    bool (*busy)(void) = g_ms.busy;
    tl_img_policy_t policy = g_ms.policy;
    memset(&g_ms, 0, sizeof g_ms);
    g_ms.persist = persist;
    g_ms.busy = busy;
    g_ms.policy = policy;
    if (g_ms.policy.pubkey == NULL || g_ms.policy.key_hash == NULL) {
        g_ms.policy.pubkey = tl_signing_pubkey;
        g_ms.policy.key_hash = tl_signing_key_hash;
        g_ms.policy.min_security_counter = 0;
    }
    g_ms.policy.kind = TL_IMG_KIND_MODEL;
    g_ms.last_commit = TL_CFGSTORE_OK;
    g_ms.st = st;
    g_ms.loop = loop;
    g_ms.dev = dev;
    models_load();
    for (uint32_t k = 0; k < TL_MODEL_SLOT_COUNT; k++) {
        g_ms.slot[k].area = k_areas[k];
    }
    if (dev == NULL || loop == NULL) {
        return;
    }
    g_ms.ready = true;
    validate_all();
}

void tl_model_slots_set_policy(const tl_img_policy_t *policy)
{
    if (policy == NULL) {
        return;
    }
    g_ms.policy = *policy;
    g_ms.policy.kind = TL_IMG_KIND_MODEL;
    if (g_ms.ready) {
        validate_all();
    }
}

void tl_model_slots_set_persist(tl_model_persist_fn fn)
{
    g_ms.persist = fn;
}

void tl_model_slots_set_busy_check(bool (*busy)(void))
{
    g_ms.busy = busy;
}

tl_mslots_err_t tl_model_slots_revalidate(uint32_t slot)
{
    if (!g_ms.ready) {
        return TL_MSLOTS_ERR_NOT_READY;
    }
    if (slot >= TL_MODEL_SLOT_COUNT) {
        return TL_MSLOTS_ERR_ARG;
    }
    if (tl_model_slots_active_slot() == (int32_t)slot) {
        return TL_MSLOTS_ERR_DENIED;
    }
    slot_validate(slot);
    return g_ms.slot[slot].state == TL_MSLOT_VALID ? TL_MSLOTS_OK : TL_MSLOTS_ERR_INVALID;
}

/* --- queries ------------------------------------------------------------------------------------- */

bool tl_model_slots_test_active(uint32_t *previous_source)
{
    if (!g_ms.test.active) {
        return false;
    }
    if (previous_source != NULL) {
        *previous_source = g_ms.test.previous;
    }
    return true;
}

const tl_model_test_t *tl_model_slots_test(void)
{
    return &g_ms.test;
}

const char *tl_model_slots_previous(void)
{
    return g_ms.previous;
}

uint32_t tl_model_slots_confirm_after(void)
{
    return g_ms.confirm_after;
}

tl_cfgstore_err_t tl_model_slots_last_commit(void)
{
    return g_ms.last_commit;
}

/* --- switching ---------------------------------------------------------------------------------- */

/* Run `source` with the loop's current pipeline (no preset). */
static bool switch_to(uint32_t source)
{
    tl_loop_config_t cfg = *tl_loop_config(g_ms.loop);
    cfg.model = source;
    return tl_loop_configure(g_ms.loop, &cfg, NULL) == TL_LOOP_CFG_OK;
}

static void health_snapshot(health_t *h)
{
    const tl_loop_counters_t *c = tl_loop_counters(g_ms.loop);
    h->data_steps = c->steps - c->silence_steps;
    h->inferences = c->inferences;
    h->inference_errors = c->inference_errors;
    h->deadline_misses = c->deadline_misses;
}

static void set_previous(uint32_t source)
{
    const char *name = tl_model_source_name(source);
    if (name == NULL || source == TL_MODEL_SRC_RAM) {
        name = ""; /* the RAM model does not survive a reset: nothing to roll back to */
    }
    size_t n = strlen(name);
    if (n > TL_MODEL_NAME_MAX) {
        n = 0;
    }
    memcpy(g_ms.previous, name, n);
    g_ms.previous[n] = '\0';
}

static tl_mslots_err_t do_confirm(uint32_t action)
{
    uint32_t k = g_ms.test.slot;
    set_previous(g_ms.test.previous);
    memcpy(g_ms.confirmed[k], g_ms.slot[k].info.sha256, 32);
    g_ms.slot[k].confirmed = 1;
    memset(&g_ms.test, 0, sizeof g_ms.test);
    tl_mslots_err_t e = persist_all();
    log_event(action, k);
    return e;
}

tl_mslots_err_t tl_model_slots_activate(uint32_t slot, bool confirm, uint32_t confirm_after)
{
    if (!g_ms.ready) {
        return TL_MSLOTS_ERR_NOT_READY;
    }
    if (slot >= TL_MODEL_SLOT_COUNT || confirm_after > TL_MODEL_CONFIRM_AFTER_MAX) {
        return TL_MSLOTS_ERR_ARG;
    }
    if (g_ms.test.active) {
        if (g_ms.test.slot == slot && confirm) {
            return do_confirm(TL_MSLOT_ACT_CONFIRM);
        }
        return TL_MSLOTS_ERR_BUSY;
    }
    uint32_t src = tl_model_source_slot(slot);
    uint32_t prev = current_source();
    if (prev == src) {
        return TL_MSLOTS_ERR_DENIED;
    }
    slot_validate(slot);
    if (g_ms.slot[slot].state != TL_MSLOT_VALID) {
        return TL_MSLOTS_ERR_INVALID;
    }
    if (!switch_to(src)) {
        return TL_MSLOTS_ERR_LOOP;
    }
    if (!tl_model_step_bound(tl_loop_model_step(g_ms.loop))) {
        (void)switch_to(prev);
        return TL_MSLOTS_ERR_LOOP;
    }
    g_ms.test.active = true;
    g_ms.test.slot = (uint8_t)slot;
    g_ms.test.steps = 0;
    g_ms.test.confirm_after = confirm_after != 0u ? confirm_after : g_ms.confirm_after;
    g_ms.test.previous = prev;
    health_snapshot(&g_ms.base);
    log_event(TL_MSLOT_ACT_ACTIVATE, slot);
    if (confirm) {
        return do_confirm(TL_MSLOT_ACT_CONFIRM);
    }
    return TL_MSLOTS_OK;
}

tl_mslots_err_t tl_model_slots_confirm(void)
{
    if (!g_ms.ready) {
        return TL_MSLOTS_ERR_NOT_READY;
    }
    if (!g_ms.test.active) {
        return TL_MSLOTS_ERR_NO_TEST;
    }
    return do_confirm(TL_MSLOT_ACT_CONFIRM);
}

/* The test's model failed: back to the previous source at once; nothing persisted. */
static void revert(void)
{
    uint32_t k = g_ms.test.slot;
    uint32_t prev = g_ms.test.previous;
    log_event(TL_MSLOT_ACT_REVERT, k); /* stamped with the failing model's hash */
    memset(&g_ms.test, 0, sizeof g_ms.test);
    if (!switch_to(prev)) {
        (void)switch_to(TL_MODEL_SRC_NONE); /* cannot happen: the pipeline is unchanged */
    }
}

void tl_model_slots_poll(void)
{
    if (!g_ms.ready || !g_ms.test.active) {
        return;
    }
    if (current_source() != tl_model_source_slot(g_ms.test.slot)) {
        uint32_t k = g_ms.test.slot;
        memset(&g_ms.test, 0, sizeof g_ms.test); /* configured away: the test is over */
        log_event(TL_MSLOT_ACT_ABANDON, k);
        return;
    }
    const tl_loop_counters_t *c = tl_loop_counters(g_ms.loop);
    if (c->inference_errors != g_ms.base.inference_errors ||
        c->deadline_misses != g_ms.base.deadline_misses ||
        !tl_model_step_bound(tl_loop_model_step(g_ms.loop))) {
        revert();
        return;
    }
    g_ms.test.steps = (c->steps - c->silence_steps) - g_ms.base.data_steps;
    if (g_ms.test.steps >= g_ms.test.confirm_after && c->inferences != g_ms.base.inferences) {
        (void)do_confirm(TL_MSLOT_ACT_AUTO_CONFIRM);
    }
}

static bool same_pipeline(const tl_loop_config_t *a, const tl_loop_config_t *b)
{
    return a->afe_rate_hz == b->afe_rate_hz && a->afe_channels == b->afe_channels &&
           a->hop_samples == b->hop_samples && a->window_hops == b->window_hops &&
           a->bands == b->bands &&
           memcmp(a->band_frac_bits, b->band_frac_bits, sizeof a->band_frac_bits) == 0 &&
           a->line_length == b->line_length && a->ll_frac_bits == b->ll_frac_bits &&
           a->area == b->area && a->area_frac_bits == b->area_frac_bits &&
           a->raw_len == b->raw_len && a->pipeline == b->pipeline &&
           a->raw_channel == b->raw_channel;
}

/* The factory model of the current pipeline (its preset matches), else the first factory
 * model with its preset. */
static bool switch_to_factory(void)
{
    const tl_loop_config_t *cur = tl_loop_config(g_ms.loop);
    for (size_t i = 0; i < tl_factory_count(); i++) {
        const tl_factory_model_t *f = tl_factory_get(i);
        if (f != NULL && same_pipeline(&f->preset, cur)) {
            tl_loop_config_t cfg = *cur;
            cfg.model = TL_MODEL_SRC_FACTORY + (uint32_t)i;
            cfg.score_class = f->preset.score_class;
            cfg.artifact_class = f->preset.artifact_class;
            return tl_loop_configure(g_ms.loop, &cfg, NULL) == TL_LOOP_CFG_OK;
        }
    }
    if (tl_factory_count() == 0u) {
        return false;
    }
    tl_loop_config_t cfg = *cur;
    cfg.model = TL_MODEL_SRC_FACTORY;
    tl_loop_config_with_preset(cur, &cfg);
    return tl_loop_configure(g_ms.loop, &cfg, NULL) == TL_LOOP_CFG_OK;
}

tl_mslots_err_t tl_model_slots_rollback(bool to_factory)
{
    if (!g_ms.ready) {
        return TL_MSLOTS_ERR_NOT_READY;
    }
    uint32_t left = current_source();
    int32_t left_slot = tl_model_source_slot_index(left);
    if (to_factory) {
        if (tl_factory_count() == 0u) {
            return TL_MSLOTS_ERR_NO_FACTORY;
        }
        memset(&g_ms.test, 0, sizeof g_ms.test);
        if (!switch_to_factory()) {
            return TL_MSLOTS_ERR_LOOP;
        }
    } else {
        int32_t target;
        if (g_ms.test.active) {
            target = (int32_t)g_ms.test.previous;
        } else {
            target = g_ms.previous[0] != '\0'
                         ? tl_model_source_find(g_ms.previous, strlen(g_ms.previous))
                         : -1;
        }
        if (target < 0 || (uint32_t)target == left) {
            return TL_MSLOTS_ERR_NO_PREVIOUS;
        }
        int32_t ts = tl_model_source_slot_index((uint32_t)target);
        if (ts >= 0) {
            slot_validate((uint32_t)ts); /* not running: safe to re-load */
            if (g_ms.slot[ts].state != TL_MSLOT_VALID) {
                return TL_MSLOTS_ERR_INVALID;
            }
        }
        memset(&g_ms.test, 0, sizeof g_ms.test);
        if (!switch_to((uint32_t)target)) {
            return TL_MSLOTS_ERR_LOOP;
        }
    }
    g_ms.previous[0] = '\0'; /* rolled back: nothing further to go back to */
    tl_mslots_err_t e = persist_all();
    log_event(to_factory ? TL_MSLOT_ACT_FACTORY : TL_MSLOT_ACT_ROLLBACK,
              left_slot >= 0 ? (uint32_t)left_slot : TL_MSLOT_NO_SLOT);
    return e;
}

/* --- image target (image 1) ---------------------------------------------------------------------- */

static bool slot_in_use(uint32_t k)
{
    if (tl_model_slots_active_slot() == (int32_t)k) {
        return true;
    }
    /* during a test the previous source is the way back */
    return g_ms.test.active && tl_model_source_slot_index(g_ms.test.previous) == (int32_t)k;
}

static tl_imgt_err_t tgt_upload_begin(uint32_t len, uint32_t *slot, tl_flash_area_t *area)
{
    if (!g_ms.ready) {
        return TL_IMGT_ERR_NO_STORAGE;
    }
    if (g_ms.busy != NULL && g_ms.busy()) {
        return TL_IMGT_ERR_BUSY;
    }
    int32_t pick = -1;
    int32_t prev_slot = g_ms.previous[0] != '\0'
                            ? tl_model_source_slot_index((uint32_t)tl_model_source_find(
                                  g_ms.previous, strlen(g_ms.previous)))
                            : -1;
    for (uint32_t k = 0; k < TL_MODEL_SLOT_COUNT; k++) {
        if (slot_in_use(k)) {
            continue;
        }
        if (pick < 0 || pick == prev_slot) {
            pick = (int32_t)k; /* prefer a slot that is not the rollback target */
        }
    }
    if (pick < 0) {
        return g_ms.test.active ? TL_IMGT_ERR_BUSY : TL_IMGT_ERR_NO_SLOT;
    }
    tl_flash_area_t a;
    if (tl_flash_area_get(g_ms.dev, k_areas[pick], &a) != TL_STORAGE_OK) {
        return TL_IMGT_ERR_STORAGE;
    }
    if (len > a.size) {
        return TL_IMGT_ERR_TOO_BIG;
    }
    tl_model_slot_t *s = &g_ms.slot[pick];
    slot_unload(s); /* its contents are about to change */
    memset(&s->info, 0, sizeof s->info);
    s->state = (uint8_t)TL_MSLOT_EMPTY;
    s->fail = (uint8_t)TL_MSLOT_FAIL_NONE;
    s->detail = 0;
    s->confirmed = 0;
    *slot = (uint32_t)pick;
    *area = a;
    return TL_IMGT_OK;
}

static tl_imgt_err_t tgt_upload_done(uint32_t slot, uint32_t *detail)
{
    *detail = 0;
    if (!g_ms.ready) {
        return TL_IMGT_ERR_NO_STORAGE;
    }
    if (slot >= TL_MODEL_SLOT_COUNT || slot_in_use(slot)) {
        return TL_IMGT_ERR_DENIED;
    }
    slot_validate(slot);
    const tl_model_slot_t *s = &g_ms.slot[slot];
    if (s->state == TL_MSLOT_VALID) {
        return TL_IMGT_OK;
    }
    if (s->state == TL_MSLOT_EMPTY) {
        *detail = (uint32_t)TL_IMG_ERR_FORMAT << 16 | TL_MCUBOOT_ERR_MAGIC;
        return TL_IMGT_ERR_IMAGE;
    }
    if (s->fail == TL_MSLOT_FAIL_IMAGE) {
        *detail = s->detail;
        return TL_IMGT_ERR_IMAGE;
    }
    if (s->fail == TL_MSLOT_FAIL_STORAGE) {
        *detail = s->detail;
        return TL_IMGT_ERR_STORAGE;
    }
    *detail = ((uint32_t)s->fail << 24) | (s->detail & 0xFFFFFFu);
    return TL_IMGT_ERR_VALIDATION;
}

static tl_imgt_err_t tgt_slot_state(uint32_t slot, tl_imgt_slot_t *out)
{
    memset(out, 0, sizeof *out);
    if (!g_ms.ready) {
        return TL_IMGT_ERR_NO_STORAGE;
    }
    const tl_model_slot_t *s = tl_model_slots_slot(slot);
    if (s == NULL) {
        return TL_IMGT_ERR_NO_IMAGE;
    }
    out->present = (s->info.present & TL_MCUBOOT_HAS_SHA256) != 0u;
    out->bootable = s->state == TL_MSLOT_VALID;
    out->pending = g_ms.test.active && g_ms.test.slot == slot;
    out->confirmed = s->confirmed != 0u;
    out->active = tl_model_slots_active_slot() == (int32_t)slot;
    out->permanent = false;
    out->version = s->info.version;
    memcpy(out->hash, s->info.sha256, sizeof out->hash);
    return TL_IMGT_OK;
}

static tl_imgt_err_t map_err(tl_mslots_err_t e, uint32_t slot, uint32_t *detail)
{
    switch (e) {
    case TL_MSLOTS_OK:
        return TL_IMGT_OK;
    case TL_MSLOTS_ERR_NOT_READY:
        return TL_IMGT_ERR_NO_STORAGE;
    case TL_MSLOTS_ERR_BUSY:
        return TL_IMGT_ERR_BUSY;
    case TL_MSLOTS_ERR_INVALID:
        if (slot < TL_MODEL_SLOT_COUNT) {
            const tl_model_slot_t *s = &g_ms.slot[slot];
            *detail = ((uint32_t)s->fail << 24) | (s->detail & 0xFFFFFFu);
        }
        return TL_IMGT_ERR_VALIDATION;
    case TL_MSLOTS_ERR_LOOP:
        return TL_IMGT_ERR_VALIDATION;
    case TL_MSLOTS_ERR_PERSIST:
        return TL_IMGT_ERR_STORAGE;
    default:
        return TL_IMGT_ERR_DENIED;
    }
}

static tl_imgt_err_t tgt_set_state(const uint8_t *hash, bool confirm, uint32_t *detail)
{
    *detail = 0;
    if (!g_ms.ready) {
        return TL_IMGT_ERR_NO_STORAGE;
    }
    if (hash == NULL) {
        /* the running image: confirm a test in progress; nothing to do otherwise */
        if (!confirm) {
            return TL_IMGT_ERR_DENIED;
        }
        return g_ms.test.active ? map_err(tl_model_slots_confirm(), TL_MSLOT_NO_SLOT, detail)
                                : TL_IMGT_OK;
    }
    for (uint32_t k = 0; k < TL_MODEL_SLOT_COUNT; k++) {
        const tl_model_slot_t *s = &g_ms.slot[k];
        if ((s->info.present & TL_MCUBOOT_HAS_SHA256) == 0u ||
            memcmp(s->info.sha256, hash, 32) != 0) {
            continue;
        }
        if (tl_model_slots_active_slot() == (int32_t)k) {
            if (g_ms.test.active && g_ms.test.slot == k) {
                return confirm ? map_err(tl_model_slots_confirm(), k, detail) : TL_IMGT_OK;
            }
            return confirm ? TL_IMGT_OK : TL_IMGT_ERR_DENIED; /* already running, confirmed */
        }
        return map_err(tl_model_slots_activate(k, confirm, 0), k, detail);
    }
    return TL_IMGT_ERR_NO_IMAGE;
}

static tl_imgt_err_t tgt_erase(uint32_t slot)
{
    if (!g_ms.ready) {
        return TL_IMGT_ERR_NO_STORAGE;
    }
    if (slot >= TL_MODEL_SLOT_COUNT) {
        return TL_IMGT_ERR_NO_IMAGE;
    }
    if (slot_in_use(slot)) {
        return TL_IMGT_ERR_DENIED;
    }
    if (g_ms.busy != NULL && g_ms.busy()) {
        return TL_IMGT_ERR_BUSY;
    }
    tl_flash_area_t a;
    if (tl_flash_area_get(g_ms.dev, k_areas[slot], &a) != TL_STORAGE_OK) {
        return TL_IMGT_ERR_STORAGE;
    }
    tl_model_slot_t *s = &g_ms.slot[slot];
    slot_unload(s);
    tl_storage_err_t e = tl_flash_area_erase(g_ms.dev, &a);
    slot_validate(slot);
    return e == TL_STORAGE_OK ? TL_IMGT_OK : TL_IMGT_ERR_STORAGE;
}

static const tl_image_target_t k_target = {
    .name = "model",
    .slot_count = TL_MODEL_SLOT_COUNT,
    .upload_begin = tgt_upload_begin,
    .upload_done = tgt_upload_done,
    .slot_state = tgt_slot_state,
    .set_state = tgt_set_state,
    .erase = tgt_erase,
};

const tl_image_target_t *tl_model_slots_target(void)
{
    return &k_target;
}
