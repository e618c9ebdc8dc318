/*
 * mgmt_model.c - the SMP group "model" (66): list the model slots and sources, activate a
 * slot as a test run, confirm it, roll back (update/model_slots.h). Wire format:
 * theraloop/mgmt_model.h and docs/protocol.md.
 */
#include "theraloop/mgmt_model.h"

#include <string.h>

#include <zcbor_decode.h>
#include <zcbor_encode.h>

#include "../therapy/strbuf.h"
#include "theraloop/storage/flash_map.h"
#include "theraloop/update/model_slots.h"

_Static_assert(TL_MGMT_MODEL_ERR_PERSIST == (int)TL_MSLOTS_ERR_PERSIST &&
                   TL_MGMT_MODEL_ERR_NOT_READY == (int)TL_MSLOTS_ERR_NOT_READY,
               "group rc = tl_mslots_err_t");

static const tl_loop_t *g_mm_loop;

/* --- encoding ------------------------------------------------------------------------------ */

static bool put_key(zcbor_state_t *e, const char *key)
{
    return zcbor_tstr_encode_ptr(e, key, strlen(key));
}

static bool put_u32(zcbor_state_t *e, const char *key, uint32_t v)
{
    return put_key(e, key) && zcbor_uint32_put(e, v);
}

static bool put_i32(zcbor_state_t *e, const char *key, int32_t v)
{
    return put_key(e, key) && zcbor_int32_put(e, v);
}

static bool put_str(zcbor_state_t *e, const char *key, const char *v)
{
    return put_key(e, key) && zcbor_tstr_encode_ptr(e, v, strlen(v));
}

static bool put_bstr(zcbor_state_t *e, const char *key, const uint8_t *v, size_t len)
{
    return put_key(e, key) && zcbor_bstr_encode_ptr(e, (const char *)v, len);
}

static void version_text(const tl_mcuboot_version_t *v, char *buf, size_t cap)
{
    tl_strbuf_t sb;
    tl_sb_init(&sb, buf, cap);
    tl_sb_i64(&sb, v->major);
    tl_sb_str(&sb, ".");
    tl_sb_i64(&sb, v->minor);
    tl_sb_str(&sb, ".");
    tl_sb_i64(&sb, v->revision);
    tl_sb_str(&sb, "+");
    tl_sb_i64(&sb, v->build);
}

/* Why a slot is not valid, one line ("" when valid or empty). */
static void error_text(const tl_model_slot_t *s, char *buf, size_t cap)
{
    tl_strbuf_t sb;
    tl_sb_init(&sb, buf, cap);
    if (s->state != TL_MSLOT_INVALID) {
        return;
    }
    tl_sb_str(&sb, tl_mslot_fail_name(s->fail));
    switch (s->fail) {
    case TL_MSLOT_FAIL_STORAGE:
        tl_sb_str(&sb, ": ");
        tl_sb_str(&sb, tl_storage_err_name(s->detail));
        break;
    case TL_MSLOT_FAIL_IMAGE:
        tl_sb_str(&sb, ": ");
        tl_sb_str(&sb, tl_img_err_name(s->detail >> 16));
        if ((s->detail >> 16) == TL_IMG_ERR_FORMAT) {
            tl_sb_str(&sb, " (");
            tl_sb_str(&sb, tl_mcuboot_err_name(s->detail & 0xFFFFu));
            tl_sb_str(&sb, ")");
        }
        break;
    case TL_MSLOT_FAIL_LOAD:
        tl_sb_str(&sb, ": ");
        tl_sb_str(&sb, tl_nn_status_name((tl_nn_status_t)s->detail));
        break;
    case TL_MSLOT_FAIL_ARENA:
        tl_sb_str(&sb, ": needs ");
        tl_sb_i64(&sb, s->detail);
        tl_sb_str(&sb, " bytes, the slot arena has ");
        tl_sb_i64(&sb, TL_MODEL_SLOT_ARENA_BYTES);
        break;
    case TL_MSLOT_FAIL_CONTRACT:
        tl_sb_str(&sb, ": ");
        tl_sb_str(&sb, tl_model_err_name(s->detail >> 16));
        tl_sb_str(&sb, " (");
        tl_sb_i64(&sb, s->detail & 0xFFFFu);
        tl_sb_str(&sb, ") for the current pipeline");
        break;
    default:
        break;
    }
}

static bool put_slot(zcbor_state_t *e, uint32_t k)
{
    const tl_model_slot_t *s = tl_model_slots_slot(k);
    bool has_image = (s->info.present & TL_MCUBOOT_HAS_SHA256) != 0u;
    char version[32];
    char err[96];
    version_text(&s->info.version, version, sizeof version);
    error_text(s, err, sizeof err);
    return zcbor_map_start_encode(e, 8) && put_u32(e, "slot", k) &&
           put_str(e, "area", tl_flash_area_name(s->area)) &&
           put_str(e, "state", tl_mslot_state_name(s->state)) &&
           put_str(e, "version", has_image ? version : "") &&
           put_bstr(e, "hash", s->info.sha256, has_image ? 32u : 0u) &&
           put_bstr(e, "model_sha256", s->model_sha256, s->loaded ? 32u : 0u) &&
           put_u32(e, "size", s->info.payload_len) && put_str(e, "error", err) &&
           zcbor_map_end_encode(e, 8);
}

static tl_mgmt_err_t put_state(tl_smp_req_t *req)
{
    if (g_mm_loop == NULL) {
        return tl_smp_group_error(req, TL_MGMT_MODEL_ERR_NOT_READY);
    }
    zcbor_state_t *e = req->enc;
    const tl_loop_config_t *cfg = tl_loop_config(g_mm_loop);
    const tl_model_active_t *act = tl_loop_model_active(g_mm_loop);
    const char *name = tl_model_source_name(cfg->model);
    bool bound = tl_model_step_bound(tl_loop_model_step(g_mm_loop)) && act->sha256 != NULL;
    bool ok = put_key(e, "active") && zcbor_map_start_encode(e, 3) &&
              put_str(e, "source", name != NULL ? name : "none") &&
              put_i32(e, "slot", tl_model_source_slot_index(cfg->model)) &&
              put_bstr(e, "hash", bound ? act->sha256 : (const uint8_t *)"", bound ? 32u : 0u) &&
              zcbor_map_end_encode(e, 3);
    const tl_model_test_t *t = tl_model_slots_test();
    if (ok && t->active) {
        ok = put_key(e, "test") && zcbor_map_start_encode(e, 3) && put_u32(e, "slot", t->slot) &&
             put_u32(e, "steps", t->steps) && put_u32(e, "confirm_after", t->confirm_after) &&
             zcbor_map_end_encode(e, 3);
    }
    ok = ok && put_str(e, "previous", tl_model_slots_previous()) && put_key(e, "slots") &&
         zcbor_list_start_encode(e, TL_MODEL_SLOT_COUNT);
    for (uint32_t k = 0; ok && k < TL_MODEL_SLOT_COUNT; k++) {
        ok = put_slot(e, k);
    }
    ok = ok && zcbor_list_end_encode(e, TL_MODEL_SLOT_COUNT) && put_key(e, "factory") &&
         zcbor_list_start_encode(e, tl_factory_count());
    for (size_t i = 0; ok && i < tl_factory_count(); i++) {
        const tl_factory_model_t *f = tl_factory_get(i);
        ok = zcbor_map_start_encode(e, 2) && put_str(e, "name", f->info->name) &&
             put_bstr(e, "hash", f->info->sha256, 32u) && zcbor_map_end_encode(e, 2);
    }
    ok = ok && zcbor_list_end_encode(e, tl_factory_count()) &&
         put_u32(e, "confirm_after", tl_model_slots_confirm_after());
    return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

static tl_mgmt_err_t answer(tl_smp_req_t *req, tl_mslots_err_t e)
{
    if (e != TL_MSLOTS_OK) {
        return tl_smp_group_error(req, (uint16_t)e);
    }
    return put_state(req);
}

/* --- commands ------------------------------------------------------------------------------- */

static tl_mgmt_err_t model_list(tl_smp_req_t *req)
{
    return put_state(req);
}

static tl_mgmt_err_t model_activate(tl_smp_req_t *req)
{
    uint32_t slot = 0;
    bool confirm = false;
    uint32_t confirm_after = 0;
    tl_smp_field_t f[] = {
        {"slot", TL_SMP_VAL_U32, &slot, false},
        {"confirm", TL_SMP_VAL_FLAG, &confirm, false},
        {"confirm_after", TL_SMP_VAL_U32, &confirm_after, false},
    };
    tl_mgmt_err_t err = tl_smp_decode_map(req, f, sizeof f / sizeof f[0]);
    if (err != TL_MGMT_ERR_EOK) {
        return err;
    }
    if (!f[0].found) {
        return TL_MGMT_ERR_EINVAL;
    }
    return answer(req, tl_model_slots_activate(slot, confirm, confirm_after));
}

static tl_mgmt_err_t model_confirm(tl_smp_req_t *req)
{
    tl_mgmt_err_t err = tl_smp_decode_map(req, NULL, 0);
    if (err != TL_MGMT_ERR_EOK) {
        return err;
    }
    return answer(req, tl_model_slots_confirm());
}

static tl_mgmt_err_t model_rollback(tl_smp_req_t *req)
{
    struct zcbor_string to = {NULL, 0};
    tl_smp_field_t f[] = {{"to", TL_SMP_VAL_TSTR, &to, false}};
    tl_mgmt_err_t err = tl_smp_decode_map(req, f, 1);
    if (err != TL_MGMT_ERR_EOK) {
        return err;
    }
    bool factory = false;
    if (f[0].found) {
        if (to.len == 7u && memcmp(to.value, "factory", 7) == 0) {
            factory = true;
        } else if (!(to.len == 8u && memcmp(to.value, "previous", 8) == 0)) {
            return TL_MGMT_ERR_EINVAL;
        }
    }
    return answer(req, tl_model_slots_rollback(factory));
}

static tl_mgmt_err_t model_to_v1(uint16_t rc)
{
    switch (rc) {
    case TL_MGMT_MODEL_ERR_NOT_READY:
        return TL_MGMT_ERR_ENOTSUP;
    case TL_MGMT_MODEL_ERR_ARG:
    case TL_MGMT_MODEL_ERR_LOOP:
        return TL_MGMT_ERR_EINVAL;
    case TL_MGMT_MODEL_ERR_INVALID:
    case TL_MGMT_MODEL_ERR_DENIED:
    case TL_MGMT_MODEL_ERR_NO_TEST:
        return TL_MGMT_ERR_EBADSTATE;
    case TL_MGMT_MODEL_ERR_BUSY:
        return TL_MGMT_ERR_EBUSY;
    case TL_MGMT_MODEL_ERR_NO_PREVIOUS:
    case TL_MGMT_MODEL_ERR_NO_FACTORY:
        return TL_MGMT_ERR_ENOENT;
    case TL_MGMT_MODEL_ERR_PERSIST:
        return TL_MGMT_ERR_ECORRUPT;
    default:
        return TL_MGMT_ERR_EUNKNOWN;
    }
}

static const tl_smp_cmd_t k_model_cmds[] = {
    {TL_MGMT_MODEL_LIST, model_list, NULL},
    {TL_MGMT_MODEL_ACTIVATE, NULL, model_activate},
    {TL_MGMT_MODEL_CONFIRM, NULL, model_confirm},
    {TL_MGMT_MODEL_ROLLBACK, NULL, model_rollback},
};

static const tl_smp_group_t k_model_group = {
    .id = TL_SMP_GROUP_MODEL,
    .cmds = k_model_cmds,
    .n_cmds = sizeof(k_model_cmds) / sizeof(k_model_cmds[0]),
    .to_v1 = model_to_v1,
};

tl_smp_status_t tl_mgmt_model_register(tl_smp_server_t *srv, const tl_loop_t *loop)
{
    g_mm_loop = loop;
    return tl_smp_server_register(srv, &k_model_group);
}
