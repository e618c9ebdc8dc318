/*
 * mgmt_therapy.c - status, config, therapy, stream and log in the theraloop group (64).
 * Wire format: docs/protocol.md ("theraloop group"). Every request field is checked
 * before anything changes; a refused configuration changes nothing.
 */
#include "theraloop/mgmt_therapy.h"

#include <string.h>

#include <zcbor_decode.h>
#include <zcbor_encode.h>

#include "theraloop/loop/config_persist.h"
#include "theraloop/loop/settings.h"
#include "theraloop/mgmt.h"
#include "theraloop/platform.h"

static tl_loop_t *g_loop;

void tl_mgmt_therapy_bind(tl_loop_t *loop)
{
    g_loop = loop;
}

/* ---- encoding helpers ------------------------------------------------------------------ */

static bool key(zcbor_state_t *e, const char *k)
{
    return zcbor_tstr_encode_ptr(e, k, strlen(k));
}

static bool put_u32(zcbor_state_t *e, const char *k, uint32_t v)
{
    return key(e, k) && zcbor_uint32_put(e, v);
}

static bool put_i32(zcbor_state_t *e, const char *k, int32_t v)
{
    return key(e, k) && zcbor_int32_put(e, v);
}

static bool put_bool(zcbor_state_t *e, const char *k, bool v)
{
    return key(e, k) && zcbor_bool_put(e, v);
}

static bool put_str(zcbor_state_t *e, const char *k, const char *v)
{
    return key(e, k) && zcbor_tstr_encode_ptr(e, v, strlen(v));
}

static bool put_f32(zcbor_state_t *e, const char *k, float v)
{
    return key(e, k) && zcbor_float32_put(e, v);
}

static size_t room(const zcbor_state_t *e)
{
    return (size_t)(e->payload_end - e->payload);
}

/* A refusal with its reason: {"err": {"group", "rc"}, "rsn"} (v2) or {"rc", "rsn"} (v1). */
static tl_mgmt_err_t to_v1(uint16_t rc)
{
    switch (rc) {
    case TL_GRP_ERR_UNKNOWN_KEY:
        return TL_MGMT_ERR_ENOENT;
    case TL_GRP_ERR_STATE:
    case TL_GRP_ERR_LOCKOUT:
        return TL_MGMT_ERR_EBADSTATE;
    case TL_GRP_ERR_NOT_SUPPORTED:
        return TL_MGMT_ERR_ENOTSUP;
    case TL_GRP_ERR_BUSY:
        return TL_MGMT_ERR_EBUSY;
    case TL_GRP_ERR_UNKNOWN:
        return TL_MGMT_ERR_EUNKNOWN;
    default:
        return TL_MGMT_ERR_EINVAL;
    }
}

static tl_mgmt_err_t refuse(tl_smp_req_t *req, uint16_t rc, const char *why)
{
    zcbor_state_t *e = req->enc;
    size_t why_len = 0;
    while (why_len < 160u && why[why_len] != '\0') {
        why_len++;
    }
    bool ok;
    if (req->hdr.version == TL_SMP_VERSION_1) {
        ok = key(e, "rc") && zcbor_int32_put(e, (int32_t)to_v1(rc));
    } else {
        ok = key(e, "err") && zcbor_map_start_encode(e, 2) &&
             put_u32(e, "group", TL_SMP_GROUP_THERALOOP) && put_u32(e, "rc", rc) &&
             zcbor_map_end_encode(e, 2);
    }
    ok = ok && key(e, "rsn") && zcbor_tstr_encode_ptr(e, why, why_len);
    return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

/* ---- request decoding -------------------------------------------------------------------- */

/* Decode a value that is an integer or a text string into a setting. */
static bool decode_setting_value(zcbor_state_t *d, tl_setting_t *p)
{
    if (d->payload >= d->payload_end) {
        return false;
    }
    uint8_t major = (uint8_t)(*d->payload >> 5);
    if (major == 3u) {
        struct zcbor_string t;
        if (!zcbor_tstr_decode(d, &t)) {
            return false;
        }
        p->is_text = 1u;
        p->text = (const char *)t.value;
        p->text_len = t.len;
        return true;
    }
    p->is_text = 0u;
    return zcbor_int64_decode(d, &p->value);
}

static bool str_is(const struct zcbor_string *s, const char *lit)
{
    size_t n = strlen(lit);
    return s->len == n && memcmp(s->value, lit, n) == 0;
}

/* Copy a wire string into a NUL-terminated quoted reason fragment. */
static void append(char *buf, size_t cap, size_t *pos, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *pos + 1u < cap; i++) {
        char c = s[i];
        buf[(*pos)++] = (c >= 0x20 && c < 0x7F) ? c : '?';
    }
    buf[*pos] = '\0';
}

static void append_lit(char *buf, size_t cap, size_t *pos, const char *s)
{
    append(buf, cap, pos, s, strlen(s));
}

static tl_mgmt_err_t refuse_name(tl_smp_req_t *req, uint16_t rc, const char *before,
                                 const struct zcbor_string *name, const char *after)
{
    char why[128];
    size_t pos = 0;
    why[0] = '\0';
    append_lit(why, sizeof why, &pos, before);
    append(why, sizeof why, &pos, (const char *)name->value, name->len > 48u ? 48u : name->len);
    append_lit(why, sizeof why, &pos, after);
    return refuse(req, rc, why);
}

/* Encode field i's value: the choice name for enumerations, else the number. */
static bool put_field(zcbor_state_t *e, size_t i)
{
    int64_t v = 0;
    const char *choice = NULL;
    if (!key(e, tl_settings_name(i)) || !tl_settings_get(g_loop, i, &v, &choice)) {
        return false;
    }
    if (choice != NULL) {
        return zcbor_tstr_encode_ptr(e, choice, strlen(choice));
    }
    return zcbor_int64_put(e, v);
}

/* ---- status (read) ------------------------------------------------------------------------- */

static bool put_stage(zcbor_state_t *e, uint32_t stage)
{
    const tl_stage_stats_t *s = tl_loop_stage(g_loop, stage);
    uint32_t mean = s->count > 0u ? (uint32_t)(s->sum / s->count) : 0u;
    return key(e, tl_loop_stage_name(stage)) && zcbor_map_start_encode(e, 5) &&
           put_u32(e, "min", s->min) && put_u32(e, "mean", mean) && put_u32(e, "max", s->max) &&
           put_u32(e, "last", s->last) && put_u32(e, "count", s->count) &&
           zcbor_map_end_encode(e, 5);
}

static bool put_therapy_status(zcbor_state_t *e)
{
    const tl_therapy_t *t = tl_loop_therapy(g_loop);
    tl_supervisor_output_t o;
    tl_supervisor_output(&t->sup, &o);
    return key(e, "therapy") && zcbor_map_start_encode(e, 16) &&
           put_str(e, "state", tl_therapy_state_name(o.therapy_state)) &&
           put_str(e, "mode", tl_sup_mode_name(o.mode)) &&
           put_str(e, "policy", tl_policy_kind_name(t->cfg.policy)) &&
           put_str(e, "policy_state", tl_policy_state_name(t->last_request.state)) &&
           put_str(e, "reason", tl_reason_name(o.reason)) &&
           put_bool(e, "enabled", o.stim.enabled != 0u) &&
           put_u32(e, "amplitude_ua", o.stim.amplitude_ua) &&
           put_u32(e, "pulse_width_us", o.stim.pulse_width_us) &&
           put_u32(e, "rate_dhz", o.stim.rate_dhz) && put_u32(e, "target_ua", o.target_ua) &&
           put_bool(e, "fallback", o.mode == TL_SUP_MODE_FALLBACK) &&
           put_bool(e, "lockout", o.mode == TL_SUP_MODE_LOCKOUT) &&
           put_u32(e, "faults", tl_loop_faults(g_loop)) &&
           put_u32(e, "fault_cause", t->sup.fault_cause) && put_u32(e, "step", t->step) &&
           put_u32(e, "fallback_entries", t->sup.stats.fallback_entries) &&
           zcbor_map_end_encode(e, 16);
}

static bool put_model_status(zcbor_state_t *e)
{
    const tl_model_step_t *ms = tl_loop_model_step(g_loop);
    const tl_model_active_t *a = tl_loop_model_active(g_loop);
    const tl_loop_config_t *lc = tl_loop_config(g_loop);
    const tl_loop_counters_t *c = tl_loop_counters(g_loop);
    bool ok = key(e, "model") && zcbor_map_start_encode(e, 24) &&
              put_str(e, "source", a->name) &&
              put_str(e, "state", ms->bound ? "bound" : tl_model_err_name(ms->err)) &&
              put_str(e, "detail", tl_model_err_str(ms->err)) &&
              put_u32(e, "detail_value", ms->detail) && key(e, "sha256");
    if (ok && ms->bound && a->sha256 != NULL) {
        ok = zcbor_bstr_encode_ptr(e, (const char *)a->sha256, 32);
    } else if (ok) {
        ok = zcbor_nil_put(e, NULL);
    }
    ok = ok && put_str(e, "pipeline", tl_pipeline_name(lc->pipeline)) &&
         put_u32(e, "input_len", tl_loop_config_model_input_len(lc)) &&
         put_u32(e, "score_class", lc->score_class) &&
         put_i32(e, "artifact_class", lc->artifact_class) &&
         put_u32(e, "infer_every", lc->infer_every);
    if (ok && ms->bound) {
        tl_nn_tensor_t in;
        tl_nn_tensor_t out;
        if (tl_nn_input(ms->model, 0, &in) == TL_NN_OK &&
            tl_nn_output(ms->model, 0, &out) == TL_NN_OK) {
            ok = key(e, "input") && zcbor_list_start_encode(e, TL_NN_MAX_DIMS);
            for (uint8_t i = 0; ok && i < in.ndim; i++) {
                ok = zcbor_int32_put(e, in.dims[i]);
            }
            ok = ok && zcbor_list_end_encode(e, TL_NN_MAX_DIMS) &&
                 put_f32(e, "input_scale", in.scale) &&
                 put_i32(e, "input_zero_point", in.zero_point) &&
                 put_u32(e, "classes", ms->n_classes) && put_f32(e, "output_scale", out.scale) &&
                 put_i32(e, "output_zero_point", out.zero_point) &&
                 put_u32(e, "arena_bytes", ms->model->arena_required);
        }
    }
    return ok && put_u32(e, "inferences", c->inferences) &&
           put_u32(e, "inference_errors", c->inference_errors) &&
           put_u32(e, "deadline_misses", c->deadline_misses) &&
           put_i32(e, "score", g_loop->score) && put_bool(e, "score_valid", g_loop->score_valid) &&
           put_u32(e, "class", g_loop->model_class) && zcbor_map_end_encode(e, 24);
}

static bool put_timing_status(zcbor_state_t *e)
{
    const tl_loop_counters_t *c = tl_loop_counters(g_loop);
    bool ok = key(e, "timing") && zcbor_map_start_encode(e, 10) &&
              put_str(e, "unit", "cycles") && put_u32(e, "hz", tl_platform_cycles_hz()) &&
              put_u32(e, "budget", g_loop->budget_cycles) &&
              put_u32(e, "inference_budget", g_loop->infer_budget_cycles) &&
              put_u32(e, "overruns", c->overruns);
    for (uint32_t s = 0; ok && s < TL_STAGE_COUNT; s++) {
        ok = put_stage(e, s);
    }
    return ok && zcbor_map_end_encode(e, 10);
}

static bool put_links_status(zcbor_state_t *e)
{
    const tl_afe_stats_t *a = tl_loop_afe_stats(g_loop);
    const tl_stim_monitor_t *m = tl_loop_stim_monitor(g_loop);
    const tl_stim_parser_stats_t *p = tl_loop_stim_parser_stats(g_loop);
    const tl_loop_counters_t *c = tl_loop_counters(g_loop);
    const tl_loop_config_t *lc = tl_loop_config(g_loop);
    return key(e, "sensing") && zcbor_map_start_encode(e, 8) &&
           put_u32(e, "rate_hz", lc->afe_rate_hz) && put_u32(e, "channels", lc->afe_channels) &&
           put_u32(e, "hop_ms", tl_loop_config_hop_ms(lc)) &&
           put_bool(e, "window_full", tl_features_window_full(&g_loop->feat)) &&
           put_u32(e, "steps", c->steps) && put_u32(e, "silence_steps", c->silence_steps) &&
           put_u32(e, "restarts", c->gaps) && zcbor_map_end_encode(e, 8) &&
           key(e, "afe") && zcbor_map_start_encode(e, 14) && put_u32(e, "bytes", a->bytes) &&
           put_u32(e, "blocks", a->blocks_ok) && put_u32(e, "gaps", a->gaps) &&
           put_u32(e, "missing", a->missing_blocks) && put_u32(e, "duplicates", a->duplicates) &&
           put_u32(e, "out_of_order", a->out_of_order) && put_u32(e, "restarts", a->restarts) &&
           put_u32(e, "bad_header", a->bad_header) && put_u32(e, "bad_crc", a->bad_crc) &&
           put_u32(e, "oversize", a->oversize) &&
           put_u32(e, "config_mismatch", a->config_mismatch) &&
           put_u32(e, "discarded", a->bytes_discarded) && put_u32(e, "saturated", a->saturated) &&
           put_u32(e, "lead_off", a->lead_off) && zcbor_map_end_encode(e, 14) && key(e, "stim") &&
           zcbor_map_start_encode(e, 12) && put_u32(e, "frames", c->stim_frames) &&
           put_u32(e, "acks", m->stats.acks) && put_u32(e, "nacks", m->stats.nacks) &&
           put_u32(e, "device_faults", m->stats.device_faults) &&
           put_u32(e, "timeouts", m->stats.timeouts) && put_u32(e, "bad_acks", m->stats.bad_acks) &&
           put_u32(e, "rx_frames", p->frames) && put_u32(e, "rx_bad_crc", p->bad_crc) &&
           put_u32(e, "rx_bad_header", p->bad_header) && put_u32(e, "rx_discarded", p->discarded) &&
           put_bool(e, "latched_safe", g_loop->stim_latched != 0u) &&
           zcbor_map_end_encode(e, 12);
}

tl_mgmt_err_t tl_mgmt_status_read(tl_smp_req_t *req)
{
    if (g_loop == NULL) {
        return TL_MGMT_ERR_EBADSTATE;
    }
    zcbor_state_t *e = req->enc;
    bool ok = put_u32(e, "uptime_ms", tl_platform_uptime_ms()) &&
              put_u32(e, "clock_ms", tl_loop_now_ms(g_loop)) && put_therapy_status(e) &&
              put_model_status(e) && put_timing_status(e) && put_links_status(e);
    return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

/* ---- config (read) ------------------------------------------------------------------------- */

#define CONFIG_KEYS_MAX 64u
/* Bytes kept free while filling a config answer: the closing of the maps, "next". */
#define CONFIG_RESERVE 24u

tl_mgmt_err_t tl_mgmt_config_read(tl_smp_req_t *req)
{
    if (g_loop == NULL) {
        return TL_MGMT_ERR_EBADSTATE;
    }
    struct zcbor_string keys[CONFIG_KEYS_MAX];
    size_t n_keys = 0;
    bool have_keys = false;
    uint32_t off = 0;
    if (req->payload_len > 0u) {
        zcbor_state_t *d = req->dec;
        if (!zcbor_map_start_decode(d)) {
            return TL_MGMT_ERR_EINVAL;
        }
        while (!zcbor_array_at_end(d)) {
            struct zcbor_string k;
            if (!zcbor_tstr_decode(d, &k)) {
                if (!zcbor_any_skip(d, NULL) || !zcbor_any_skip(d, NULL)) {
                    return TL_MGMT_ERR_EINVAL;
                }
                continue;
            }
            if (str_is(&k, "off")) {
                if (!zcbor_uint32_decode(d, &off)) {
                    return TL_MGMT_ERR_EINVAL;
                }
            } else if (str_is(&k, "keys")) {
                if (have_keys || !zcbor_list_start_decode(d)) {
                    return TL_MGMT_ERR_EINVAL;
                }
                have_keys = true;
                while (!zcbor_array_at_end(d)) {
                    if (n_keys >= CONFIG_KEYS_MAX || !zcbor_tstr_decode(d, &keys[n_keys])) {
                        return TL_MGMT_ERR_EINVAL;
                    }
                    n_keys++;
                }
                if (!zcbor_list_end_decode(d)) {
                    return TL_MGMT_ERR_EINVAL;
                }
            } else if (!zcbor_any_skip(d, NULL)) {
                return TL_MGMT_ERR_EINVAL;
            }
        }
        if (!zcbor_map_end_decode(d)) {
            return TL_MGMT_ERR_EINVAL;
        }
    }
    for (size_t i = 0; i < n_keys; i++) {
        if (tl_settings_find((const char *)keys[i].value, keys[i].len) < 0) {
            return refuse_name(req, TL_GRP_ERR_UNKNOWN_KEY, "no configuration field '",
                               &keys[i], "'");
        }
    }
    zcbor_state_t *e = req->enc;
    size_t total = have_keys ? n_keys : tl_settings_count();
    bool ok = key(e, "fields") && zcbor_map_start_encode(e, CONFIG_KEYS_MAX);
    size_t i = have_keys ? 0u : off;
    for (; ok && i < total; i++) {
        size_t f = have_keys ? (size_t)tl_settings_find((const char *)keys[i].value, keys[i].len)
                              : i;
        if (room(e) < strlen(tl_settings_name(f)) + 44u + CONFIG_RESERVE) {
            break; /* the rest in the next request, from "next" */
        }
        ok = put_field(e, f);
    }
    ok = ok && zcbor_map_end_encode(e, CONFIG_KEYS_MAX);
    if (ok && i < total) {
        ok = put_u32(e, "next", (uint32_t)i);
    }
    if (ok && !have_keys) {
        ok = put_u32(e, "total", (uint32_t)total);
    }
    return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

/* ---- config (write) ------------------------------------------------------------------------ */

tl_mgmt_err_t tl_mgmt_config_write(tl_smp_req_t *req)
{
    if (g_loop == NULL) {
        return TL_MGMT_ERR_EBADSTATE;
    }
    static tl_setting_t set[TL_MGMT_CONFIG_SET_MAX]; /* main-loop context only */
    size_t n = 0;
    bool have_set = false;
    zcbor_state_t *d = req->dec;
    if (req->payload_len == 0u || !zcbor_map_start_decode(d)) {
        return TL_MGMT_ERR_EINVAL;
    }
    while (!zcbor_array_at_end(d)) {
        struct zcbor_string k;
        if (!zcbor_tstr_decode(d, &k)) {
            if (!zcbor_any_skip(d, NULL) || !zcbor_any_skip(d, NULL)) {
                return TL_MGMT_ERR_EINVAL;
            }
            continue;
        }
        if (!str_is(&k, "set")) {
            if (!zcbor_any_skip(d, NULL)) {
                return TL_MGMT_ERR_EINVAL;
            }
            continue;
        }
        if (have_set || !zcbor_map_start_decode(d)) {
            return TL_MGMT_ERR_EINVAL;
        }
        have_set = true;
        while (!zcbor_array_at_end(d)) {
            if (n >= TL_MGMT_CONFIG_SET_MAX) {
                return refuse(req, TL_GRP_ERR_INVALID, "too many fields in one request");
            }
            struct zcbor_string name;
            if (!zcbor_tstr_decode(d, &name)) {
                return TL_MGMT_ERR_EINVAL;
            }
            memset(&set[n], 0, sizeof set[n]);
            set[n].name = (const char *)name.value;
            set[n].name_len = name.len;
            if (!decode_setting_value(d, &set[n])) {
                return refuse_name(req, TL_GRP_ERR_BAD_VALUE, "", &name,
                                   ": the value must be an integer or a choice name");
            }
            n++;
        }
        if (!zcbor_map_end_decode(d)) {
            return TL_MGMT_ERR_EINVAL;
        }
    }
    if (!zcbor_map_end_decode(d) || !have_set) {
        return TL_MGMT_ERR_EINVAL;
    }
    static tl_set_result_t res;
    switch (tl_settings_apply(g_loop, set, n, &res)) {
    case TL_SET_OK:
        break;
    case TL_SET_ERR_UNKNOWN_KEY:
        return refuse(req, TL_GRP_ERR_UNKNOWN_KEY, res.why);
    case TL_SET_ERR_BAD_VALUE:
        return refuse(req, TL_GRP_ERR_BAD_VALUE, res.why);
    case TL_SET_ERR_THERAPY:
        return refuse(req, (uint16_t)(TL_GRP_ERR_THERAPY_CFG + res.cfg_err), res.why);
    default:
        return refuse(req, (uint16_t)(TL_GRP_ERR_LOOP_CFG + res.cfg_err), res.why);
    }
    /* Applied: keep it across resets (a failure is reported, the configuration stays). */
    bool saved = tl_config_persist_save(g_loop) == TL_CFGSTORE_OK;
    const tl_model_step_t *ms = tl_loop_model_step(g_loop);
    zcbor_state_t *e = req->enc;
    bool ok = put_u32(e, "applied", (uint32_t)n) &&
              put_str(e, "model", tl_loop_model_active(g_loop)->name) &&
              put_str(e, "model_state", ms->bound ? "bound" : tl_model_err_name(ms->err)) &&
              put_u32(e, "worst_charge_pc", res.worst_charge_pc) &&
              put_u32(e, "worst_density_cuc_cm2", res.worst_density_cuc) &&
              put_i32(e, "worst_shannon_k_milli", res.worst_shannon_k_milli) &&
              put_bool(e, "saved", saved);
    if (ok && !saved) {
        ok = put_str(e, "save_err", tl_config_persist_save_error());
    }
    return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

/* ---- therapy (write) ------------------------------------------------------------------------- */

tl_mgmt_err_t tl_mgmt_therapy_write(tl_smp_req_t *req)
{
    if (g_loop == NULL) {
        return TL_MGMT_ERR_EBADSTATE;
    }
    struct zcbor_string cmd_text = {0};
    uint32_t cmd = 0;
    zcbor_state_t *d = req->dec;
    bool found = false;
    if (req->payload_len == 0u || !zcbor_map_start_decode(d)) {
        return TL_MGMT_ERR_EINVAL;
    }
    while (!zcbor_array_at_end(d)) {
        struct zcbor_string k;
        if (!zcbor_tstr_decode(d, &k)) {
            if (!zcbor_any_skip(d, NULL) || !zcbor_any_skip(d, NULL)) {
                return TL_MGMT_ERR_EINVAL;
            }
            continue;
        }
        if (!str_is(&k, "cmd")) {
            if (!zcbor_any_skip(d, NULL)) {
                return TL_MGMT_ERR_EINVAL;
            }
            continue;
        }
        if (found || d->payload >= d->payload_end) {
            return TL_MGMT_ERR_EINVAL;
        }
        found = true;
        if ((*d->payload >> 5) == 3u) {
            if (!zcbor_tstr_decode(d, &cmd_text)) {
                return TL_MGMT_ERR_EINVAL;
            }
            for (uint32_t c = TL_CMD_START; c <= TL_CMD_RESUME; c++) {
                if (str_is(&cmd_text, tl_therapy_cmd_name(c))) {
                    cmd = c;
                }
            }
        } else if (!zcbor_uint32_decode(d, &cmd)) {
            return TL_MGMT_ERR_EINVAL;
        }
    }
    if (!zcbor_map_end_decode(d) || !found) {
        return TL_MGMT_ERR_EINVAL;
    }
    if (cmd < TL_CMD_START || cmd > TL_CMD_RESUME) {
        return refuse(req, TL_GRP_ERR_INVALID,
                      "cmd must be start, stop, pause or resume (or 1..4)");
    }
    uint32_t before = tl_loop_therapy(g_loop)->sup.therapy_state;
    tl_sup_cmd_result_t res = tl_loop_command(g_loop, cmd);
    if (res != TL_SUP_CMD_OK) {
        char why[96];
        size_t pos = 0;
        why[0] = '\0';
        append_lit(why, sizeof why, &pos, tl_therapy_cmd_name(cmd));
        if (res == TL_SUP_CMD_ERR_LOCKOUT) {
            append_lit(why, sizeof why, &pos, " refused: no valid therapy configuration");
            return refuse(req, TL_GRP_ERR_LOCKOUT, why);
        }
        append_lit(why, sizeof why, &pos, " not allowed while therapy is ");
        append_lit(why, sizeof why, &pos, tl_therapy_state_name(before));
        return refuse(req, TL_GRP_ERR_STATE, why);
    }
    tl_supervisor_output_t o;
    tl_supervisor_output(&tl_loop_therapy(g_loop)->sup, &o);
    zcbor_state_t *e = req->enc;
    bool ok = put_str(e, "state", tl_therapy_state_name(o.therapy_state)) &&
              put_str(e, "mode", tl_sup_mode_name(o.mode)) &&
              put_u32(e, "amplitude_ua", o.stim.amplitude_ua);
    return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

/* ---- stream / log (read) --------------------------------------------------------------------- */

static void le16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
    le16(p, v & 0xFFFFu);
    le16(p + 2, v >> 16);
}

static void pack_stim(uint8_t *p, const tl_stim_params_t *s)
{
    le16(p, s->amplitude_ua);
    le16(p + 2, s->pulse_width_us);
    le16(p + 4, s->rate_dhz);
    le16(p + 6, s->interphase_gap_us);
    p[8] = s->enabled;
    p[9] = s->waveform;
    p[10] = 0;
    p[11] = 0;
}

void tl_mgmt_pack_telemetry(const tl_telemetry_record_t *r, uint8_t out[TL_MGMT_RECORD_SIZE])
{
    le32(out, r->seq);
    le32(out + 4, r->time_ms);
    le32(out + 8, r->step);
    for (uint32_t i = 0; i < TL_TELEMETRY_FEATURES; i++) {
        le32(out + 12 + 4u * i, (uint32_t)r->features[i]);
    }
    le32(out + 28, (uint32_t)r->score);
    le32(out + 32, r->faults);
    le16(out + 36, r->amplitude_ua);
    le16(out + 38, r->target_ua);
    le16(out + 40, r->pulse_width_us);
    le16(out + 42, r->rate_dhz);
    out[44] = r->model_class;
    out[45] = r->policy_state;
    out[46] = r->therapy_state;
    out[47] = r->mode;
    out[48] = r->score_valid;
    out[49] = r->enabled;
    out[50] = r->n_features;
    out[51] = r->reason;
}

void tl_mgmt_pack_event(const tl_event_t *ev, uint8_t out[TL_MGMT_RECORD_SIZE])
{
    le32(out, ev->seq);
    le32(out + 4, ev->time_ms);
    out[8] = ev->type;
    out[9] = ev->reason;
    out[10] = ev->therapy_state;
    out[11] = ev->policy_state;
    le32(out + 12, ev->detail);
    le32(out + 16, ev->aux);
    pack_stim(out + 20, &ev->before);
    pack_stim(out + 32, &ev->after);
    memcpy(out + 44, ev->model_hash, TL_MODEL_HASH_LEN);
}

typedef enum { RECORDS_TELEMETRY, RECORDS_EVENTS } records_kind_t;

static tl_mgmt_err_t records_read(tl_smp_req_t *req, records_kind_t kind)
{
    if (g_loop == NULL) {
        return TL_MGMT_ERR_EBADSTATE;
    }
    uint32_t since = 0;
    uint32_t max = TL_MGMT_RECORDS_MAX;
    tl_smp_field_t fields[] = {
        {"since", TL_SMP_VAL_U32, &since, false},
        {"max", TL_SMP_VAL_U32, &max, false},
    };
    tl_mgmt_err_t rc = tl_smp_decode_map(req, fields, 2);
    if (rc != TL_MGMT_ERR_EOK) {
        return rc;
    }
    const tl_record_ring_t *ring = kind == RECORDS_TELEMETRY ? &tl_loop_telemetry(g_loop)->ring
                                                             : &tl_loop_event_log(g_loop)->ring;
    if (!fields[0].found) {
        since = tl_record_ring_oldest(ring);
    }
    zcbor_state_t *e = req->enc;
    /* Room for the records after the fixed entries (about 60 bytes). */
    size_t avail = room(e) > 96u ? room(e) - 96u : 0u;
    uint32_t fit = (uint32_t)(avail / TL_MGMT_RECORD_SIZE);
    if (max > fit) {
        max = fit;
    }
    if (max > TL_MGMT_RECORDS_MAX) {
        max = TL_MGMT_RECORDS_MAX;
    }
    /* One record at a time straight into its wire form: no second copy of the ring. */
    static uint8_t packed[TL_MGMT_RECORDS_MAX * TL_MGMT_RECORD_SIZE]; /* main loop only */
    tl_ring_read_t r;
    memset(&r, 0, sizeof r);
    r.next_seq = since;
    for (uint32_t i = 0; i < max; i++) {
        tl_ring_read_t one;
        uint8_t *dst = packed + r.count * TL_MGMT_RECORD_SIZE;
        if (kind == RECORDS_TELEMETRY) {
            tl_telemetry_record_t rec;
            one = tl_telemetry_read(tl_loop_telemetry(g_loop), r.next_seq, &rec, 1);
            if (one.count == 1u) {
                tl_mgmt_pack_telemetry(&rec, dst);
            }
        } else {
            tl_event_t ev;
            one = tl_event_log_read(tl_loop_event_log(g_loop), r.next_seq, &ev, 1);
            if (one.count == 1u) {
                tl_mgmt_pack_event(&ev, dst);
            }
        }
        if (i == 0u) {
            r.lost = one.lost; /* only the first read can find records overwritten */
            r.future = one.future;
        }
        r.next_seq = one.next_seq;
        r.count += one.count;
        if (one.count == 0u) {
            break;
        }
    }
    bool ok = put_u32(e, "next", r.next_seq) && put_u32(e, "lost", r.lost) &&
              put_bool(e, "future", r.future != 0u) &&
              put_u32(e, "size", TL_MGMT_RECORD_SIZE) && put_u32(e, "count", r.count) &&
              key(e, "records") &&
              zcbor_bstr_encode_ptr(e, (const char *)packed, r.count * TL_MGMT_RECORD_SIZE);
    return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

tl_mgmt_err_t tl_mgmt_stream_read(tl_smp_req_t *req)
{
    return records_read(req, RECORDS_TELEMETRY);
}

tl_mgmt_err_t tl_mgmt_log_read(tl_smp_req_t *req)
{
    return records_read(req, RECORDS_EVENTS);
}
