/*
 * config_persist.c - the configuration kept across resets (see loop/config_persist.h).
 */
#include "theraloop/loop/config_persist.h"

#include <string.h>

#include "theraloop/loop/settings.h"
#include "theraloop/storage/crc32.h"
#include "theraloop/therapy/event_log.h"
#include "theraloop/update/model_slots.h"

/* Upper bound of the namespace for the encoding buffer (checked at run time). */
#define MAX_FIELDS 96u
#define SECTION_MAX (TL_CFGP_HDR_LEN + TL_MODEL_NAME_MAX + 4u * MAX_FIELDS)

static tl_sysstate_t *g_st;
static tl_loop_t *g_loop; /* whose event log records storage events */
static tl_cfgp_status_t g_status;
static bool g_pending; /* the RAM copy holds a configuration the last commit did not write */

const char *tl_cfgp_outcome_name(uint32_t outcome)
{
    static const char *const k_names[] = {"not_run", "restored", "defaults",   "corrupt",
                                          "incompatible", "refused", "unavailable"};
    return outcome < sizeof k_names / sizeof k_names[0] ? k_names[outcome] : "unknown";
}

const tl_cfgp_status_t *tl_config_persist_status(void)
{
    return &g_status;
}

static size_t n_therapy(void)
{
    return tl_therapy_config_field_count();
}

static const tl_cfg_field_t *field(size_t i)
{
    return i < n_therapy() ? tl_therapy_config_field(i) : tl_loop_config_field(i - n_therapy());
}

static size_t model_index(void)
{
    return n_therapy() + (size_t)tl_loop_config_find("model", 5);
}

static uint32_t crc_str(uint32_t crc, const char *s)
{
    if (s == NULL) {
        s = "";
    }
    return tl_crc32(crc, s, strlen(s) + 1u); /* with the terminator: "ab","c" != "a","bc" */
}

uint32_t tl_config_persist_layout(void)
{
    uint32_t crc = crc_str(0, "theraloop-config-1");
    size_t n = tl_settings_count();
    for (size_t i = 0; i < n; i++) {
        const tl_cfg_field_t *f = field(i);
        uint8_t type = f->type;
        crc = crc_str(crc, f->name);
        crc = tl_crc32(crc, &type, 1);
        crc = crc_str(crc, f->unit);
        crc = crc_str(crc, i == model_index() ? NULL : f->choices);
    }
    return crc;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t pad4(uint32_t n)
{
    return (n + 3u) & ~3u;
}

uint32_t tl_config_persist_encode(const tl_loop_t *l, uint32_t source, uint8_t *buf, uint32_t cap)
{
    const char *name = tl_model_source_name(source);
    if (name == NULL) {
        name = "none";
    }
    size_t name_len = strlen(name);
    size_t count = tl_settings_count();
    if (name_len > TL_MODEL_NAME_MAX || count > MAX_FIELDS) {
        return 0;
    }
    uint32_t values = TL_CFGP_HDR_LEN + pad4((uint32_t)name_len);
    uint32_t len = values + 4u * (uint32_t)count;
    if (len > cap) {
        return 0;
    }
    memset(buf, 0, len);
    buf[0] = (uint8_t)TL_CFGP_FORMAT;
    buf[1] = (uint8_t)name_len;
    buf[2] = (uint8_t)count;
    buf[3] = (uint8_t)(count >> 8);
    put32(&buf[4], tl_config_persist_layout());
    memcpy(&buf[TL_CFGP_HDR_LEN], name, name_len);
    const tl_therapy_config_t *tc = tl_loop_therapy_config(l);
    const tl_loop_config_t *lc = tl_loop_config(l);
    for (size_t i = 0; i < count; i++) {
        int64_t v = 0;
        bool ok = i < n_therapy() ? tl_therapy_config_get(tc, i, &v)
                                  : tl_loop_config_get(lc, i - n_therapy(), &v);
        if (!ok) {
            return 0;
        }
        if (i == model_index()) {
            v = (int64_t)source;
        }
        /* every field is a 32-bit field: i32 two's complement, u32 as is */
        put32(&buf[values + 4u * (uint32_t)i], (uint32_t)((uint64_t)v & 0xFFFFFFFFu));
    }
    return len;
}

/* ---- events ---------------------------------------------------------------------------- */

static void log_storage(tl_loop_t *l, uint32_t detail, uint32_t aux)
{
    tl_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.time_ms = tl_loop_now_ms(l);
    ev.type = TL_EVENT_STORAGE;
    ev.reason = TL_REASON_NONE;
    ev.therapy_state = l->th.sup.therapy_state;
    ev.policy_state = l->th.sup.policy_state;
    ev.detail = detail;
    ev.aux = aux;
    ev.before = l->th.sup.out;
    ev.after = l->th.sup.out;
    (void)tl_event_log_append(&l->log, &ev);
}

static uint32_t store_aux(uint32_t cfgstore_err, const tl_sysstate_t *st)
{
    uint32_t storage_err = st != NULL ? (uint32_t)st->store.storage_err : 0u;
    return (cfgstore_err << 16) | (storage_err & 0xFFFFu);
}

/* ---- restore ----------------------------------------------------------------------------- */

typedef struct {
    tl_cfgp_outcome_t outcome;
    uint32_t detail;
} decode_result_t;

static decode_result_t result(tl_cfgp_outcome_t outcome, uint32_t detail)
{
    decode_result_t r = {outcome, detail};
    return r;
}

/* Decode section p[0, n), range-check every field, validate both configurations and, only
 * if all of that passed, apply them. */
static decode_result_t restore(tl_loop_t *l, const uint8_t *p, uint32_t n)
{
    if (n < TL_CFGP_HDR_LEN) {
        return result(TL_CFGP_CORRUPT, 0);
    }
    uint32_t layout = get32(&p[4]);
    uint32_t count = (uint32_t)p[2] | ((uint32_t)p[3] << 8);
    if (p[0] != TL_CFGP_FORMAT || layout != tl_config_persist_layout() ||
        count != tl_settings_count()) {
        return result(TL_CFGP_INCOMPATIBLE, layout);
    }
    uint32_t name_len = p[1];
    if (name_len > TL_MODEL_NAME_MAX) {
        return result(TL_CFGP_CORRUPT, 0);
    }
    uint32_t values = TL_CFGP_HDR_LEN + pad4(name_len);
    if (n != values + 4u * count) {
        return result(TL_CFGP_CORRUPT, 0);
    }
    for (uint32_t i = TL_CFGP_HDR_LEN + name_len; i < values; i++) {
        if (p[i] != 0u) {
            return result(TL_CFGP_CORRUPT, 0);
        }
    }
    int32_t source = tl_model_source_find((const char *)&p[TL_CFGP_HDR_LEN], name_len);
    if (source < 0) {
        /* a model this build does not have (a factory model removed, a slot name
         * changed): not ours to guess a replacement */
        return result(TL_CFGP_INCOMPATIBLE, layout);
    }

    tl_therapy_config_t tc = *tl_loop_therapy_config(l);
    tl_loop_config_t lc = *tl_loop_config(l);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t raw = get32(&p[values + 4u * i]);
        int64_t v = raw;
        if (field(i)->type == TL_CFG_TYPE_I32 && raw >= 0x80000000u) {
            v = (int64_t)raw - 0x100000000;
        }
        if (i == model_index()) {
            v = source;
        }
        if (i < n_therapy()) {
            tl_therapy_check_t c;
            tl_therapy_cfg_err_t e = tl_therapy_config_put(&tc, i, v, &c);
            if (e != TL_THERAPY_CFG_OK) {
                return result(TL_CFGP_REFUSED, ((uint32_t)TL_SET_ERR_THERAPY << 16) | (uint32_t)e);
            }
        } else {
            tl_loop_check_t c;
            tl_loop_cfg_err_t e = tl_loop_config_put(&lc, i - n_therapy(), v, &c);
            if (e != TL_LOOP_CFG_OK) {
                return result(TL_CFGP_REFUSED, ((uint32_t)TL_SET_ERR_LOOP << 16) | (uint32_t)e);
            }
        }
    }
    tl_therapy_check_t tcheck;
    tl_therapy_cfg_err_t te = tl_therapy_config_validate(&tc, &tcheck);
    if (te != TL_THERAPY_CFG_OK) {
        return result(TL_CFGP_REFUSED, ((uint32_t)TL_SET_ERR_THERAPY << 16) | (uint32_t)te);
    }
    tl_loop_check_t lcheck;
    tl_loop_cfg_err_t le = tl_loop_config_validate(&lc, NULL, &lcheck);
    if (le != TL_LOOP_CFG_OK) {
        return result(TL_CFGP_REFUSED, ((uint32_t)TL_SET_ERR_LOOP << 16) | (uint32_t)le);
    }
    /* Both passed: the same calls as `config set` (therapy first, then the loop). */
    te = tl_loop_therapy_configure(l, &tc, &tcheck);
    le = tl_loop_configure(l, &lc, &lcheck);
    if (te != TL_THERAPY_CFG_OK || le != TL_LOOP_CFG_OK) {
        return result(TL_CFGP_REFUSED, 0); /* cannot happen: validated above */
    }
    return result(TL_CFGP_RESTORED, 0);
}

tl_cfgp_outcome_t tl_config_persist_init(tl_loop_t *l, tl_sysstate_t *st)
{
    memset(&g_status, 0, sizeof g_status);
    g_st = st;
    g_loop = l;
    g_pending = false;
    g_status.layout = tl_config_persist_layout();
    if (st == NULL || st->store.dev == NULL) {
        /* no storage on this board / run: nothing to report but the status */
        g_status.load_err = st != NULL ? (uint32_t)st->load_err : (uint32_t)TL_CFGSTORE_STORAGE;
        g_status.outcome = TL_CFGP_UNAVAILABLE;
        return TL_CFGP_UNAVAILABLE;
    }
    g_status.load_err = (uint32_t)st->load_err;
    decode_result_t r;
    switch (st->load_err) {
    case TL_CFGSTORE_OK: {
        const uint8_t *p = NULL;
        uint16_t n = 0;
        r = tl_sysstate_get(st, TL_SYSSTATE_CONFIG, &p, &n) ? restore(l, p, n)
                                                            : result(TL_CFGP_DEFAULTS, 0);
        break;
    }
    case TL_CFGSTORE_EMPTY:
        r = result(TL_CFGP_DEFAULTS, 0);
        break;
    case TL_CFGSTORE_CORRUPT:
        r = result(TL_CFGP_CORRUPT, 0);
        break;
    default: /* STORAGE, TOO_BIG, BAD_LAYOUT */
        r = result(TL_CFGP_UNAVAILABLE, 0);
        break;
    }
    g_status.outcome = r.outcome;
    g_status.detail = r.detail;
    switch (r.outcome) {
    case TL_CFGP_CORRUPT:
        log_storage(l, TL_STORAGE_EV_CORRUPT, store_aux((uint32_t)st->load_err, st));
        break;
    case TL_CFGP_INCOMPATIBLE:
        log_storage(l, TL_STORAGE_EV_INCOMPATIBLE, r.detail);
        break;
    case TL_CFGP_REFUSED:
        log_storage(l, TL_STORAGE_EV_REFUSED, r.detail);
        break;
    case TL_CFGP_UNAVAILABLE:
        log_storage(l, TL_STORAGE_EV_UNAVAILABLE, store_aux((uint32_t)st->load_err, st));
        break;
    default:
        break;
    }
    return r.outcome;
}

/* ---- save -------------------------------------------------------------------------------- */

static tl_cfgstore_err_t save_done(tl_cfgstore_err_t err, uint32_t storage_err)
{
    g_status.last_save_err = (uint32_t)err;
    g_status.last_storage_err = err == TL_CFGSTORE_STORAGE ? storage_err : 0u;
    if (err == TL_CFGSTORE_OK) {
        return err;
    }
    g_status.save_failures++;
    if (g_loop != NULL) {
        log_storage(g_loop, TL_STORAGE_EV_SAVE_FAILED,
                    ((uint32_t)err << 16) | (g_status.last_storage_err & 0xFFFFu));
    }
    return err;
}

tl_cfgstore_err_t tl_config_persist_save(const tl_loop_t *l)
{
    if (g_st == NULL || g_st->store.dev == NULL) {
        /* no storage on this board / run (init said so): no event at every config set */
        g_status.last_save_err = TL_CFGSTORE_STORAGE;
        g_status.last_storage_err = TL_STORAGE_ERR_NO_DEVICE;
        return TL_CFGSTORE_STORAGE;
    }
    uint32_t source = tl_loop_config(l)->model;
    uint32_t previous = 0;
    if (tl_model_slots_test_active(&previous)) {
        source = previous;
    }
    uint8_t buf[SECTION_MAX];
    uint32_t n = tl_config_persist_encode(l, source, buf, sizeof buf);
    if (n == 0u) {
        return save_done(TL_CFGSTORE_TOO_BIG, 0);
    }
    const uint8_t *cur = NULL;
    uint16_t cur_len = 0;
    if (!g_pending && tl_sysstate_get(g_st, TL_SYSSTATE_CONFIG, &cur, &cur_len) &&
        cur_len == n && memcmp(cur, buf, n) == 0) {
        /* flash already holds exactly this: no erase (flash wear, stall) */
        return save_done(TL_CFGSTORE_OK, 0);
    }
    if (!tl_sysstate_put(g_st, TL_SYSSTATE_CONFIG, buf, (uint16_t)n)) {
        return save_done(TL_CFGSTORE_TOO_BIG, 0);
    }
    g_pending = true;
    tl_cfgstore_err_t err = tl_sysstate_commit(g_st);
    if (err == TL_CFGSTORE_OK) {
        g_pending = false;
        g_status.saves++;
    }
    return save_done(err, (uint32_t)g_st->store.storage_err);
}

bool tl_config_persist_hook(const tl_loop_t *l)
{
    return tl_config_persist_save(l) == TL_CFGSTORE_OK;
}

const char *tl_config_persist_save_error(void)
{
    if (g_status.last_save_err == TL_CFGSTORE_OK) {
        return "none";
    }
    if (g_status.last_save_err == TL_CFGSTORE_STORAGE && g_status.last_storage_err != 0u) {
        return tl_storage_err_name(g_status.last_storage_err);
    }
    return tl_cfgstore_err_name(g_status.last_save_err);
}
