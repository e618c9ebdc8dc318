/*
 * settings.c - named configuration fields of the therapy and the loop, applied atomically
 * (see loop/settings.h).
 */
#include "theraloop/loop/settings.h"

#include <string.h>

#include "../therapy/strbuf.h"

static size_t n_therapy(void)
{
    return tl_therapy_config_field_count();
}

size_t tl_settings_count(void)
{
    return n_therapy() + tl_loop_config_field_count();
}

const char *tl_settings_name(size_t i)
{
    if (i < n_therapy()) {
        return tl_therapy_config_field(i)->name;
    }
    const tl_cfg_field_t *f = tl_loop_config_field(i - n_therapy());
    return f != NULL ? f->name : NULL;
}

int32_t tl_settings_find(const char *name, size_t len)
{
    int32_t i = tl_therapy_config_find(name, len);
    if (i >= 0) {
        return i;
    }
    i = tl_loop_config_find(name, len);
    return i < 0 ? -1 : (int32_t)n_therapy() + i;
}

const char *tl_settings_group(size_t i)
{
    if (i < n_therapy()) {
        return tl_cfg_group_name(tl_therapy_config_field(i)->group);
    }
    const tl_cfg_field_t *f = tl_loop_config_field(i - n_therapy());
    return f != NULL ? tl_loop_cfg_group_name(f->group) : "unknown";
}

bool tl_settings_get(const tl_loop_t *l, size_t i, int64_t *value, const char **choice)
{
    static char name[40]; /* one caller at a time (main loop / SIL) */
    *choice = NULL;
    if (i < n_therapy()) {
        if (!tl_therapy_config_get(tl_loop_therapy_config(l), i, value)) {
            return false;
        }
        if (tl_therapy_config_field(i)->choices != NULL &&
            tl_therapy_config_choice_name(i, *value, name, sizeof name) > 0u) {
            *choice = name;
        }
        return true;
    }
    size_t li = i - n_therapy();
    if (!tl_loop_config_get(tl_loop_config(l), li, value)) {
        return false;
    }
    *choice = tl_loop_config_choice_name(li, *value);
    return true;
}

static tl_set_err_t fail(tl_set_result_t *res, tl_set_err_t err, uint32_t cfg_err, int32_t field,
                         const char *why)
{
    res->err = err;
    res->cfg_err = cfg_err;
    res->field = field;
    size_t n = strlen(why);
    if (n >= sizeof res->why) {
        n = sizeof res->why - 1u;
    }
    memcpy(res->why, why, n);
    res->why[n] = '\0';
    return err;
}

/* A wire name inside a reason: printable ASCII only, at most 48 characters. */
static void sb_name(tl_strbuf_t *sb, const char *s, size_t n)
{
    char tmp[49];
    size_t k = n > 48u ? 48u : n;
    for (size_t i = 0; i < k; i++) {
        tmp[i] = (s[i] >= 0x20 && s[i] < 0x7F) ? s[i] : '?';
    }
    tmp[k] = '\0';
    tl_sb_str(sb, tmp);
}

/* Numeric value of setting s for field i. */
static bool value_of(const tl_setting_t *s, size_t i, int64_t *v)
{
    if (!s->is_text) {
        *v = s->value;
        return true;
    }
    if (i < n_therapy()) {
        return tl_therapy_config_field(i)->choices != NULL &&
               tl_therapy_config_choice_value(i, s->text, s->text_len, v) == TL_THERAPY_CFG_OK;
    }
    return tl_loop_config_choice_value(i - n_therapy(), s->text, s->text_len, v) ==
           TL_LOOP_CFG_OK;
}

tl_set_err_t tl_settings_apply(tl_loop_t *l, const tl_setting_t *s, size_t n, tl_set_result_t *res)
{
    memset(res, 0, sizeof *res);
    res->field = -1;
    char why[128];
    tl_strbuf_t sb;
    tl_sb_init(&sb, why, sizeof why);
    size_t model = n_therapy() + (size_t)tl_loop_config_find("model", 5);

    for (size_t i = 0; i < n; i++) {
        if (tl_settings_find(s[i].name, s[i].name_len) < 0) {
            tl_sb_str(&sb, "no configuration field '");
            sb_name(&sb, s[i].name, s[i].name_len);
            tl_sb_str(&sb, "'");
            return fail(res, TL_SET_ERR_UNKNOWN_KEY, 0, -1, why);
        }
        for (size_t j = 0; j < i; j++) {
            if (s[j].name_len == s[i].name_len && memcmp(s[j].name, s[i].name, s[i].name_len) == 0) {
                sb_name(&sb, s[i].name, s[i].name_len);
                tl_sb_str(&sb, " is given twice");
                return fail(res, TL_SET_ERR_BAD_VALUE, 0,
                            tl_settings_find(s[i].name, s[i].name_len), why);
            }
        }
    }

    tl_therapy_config_t tc = *tl_loop_therapy_config(l);
    tl_loop_config_t lc = *tl_loop_config(l);
    bool any_therapy = false;
    bool any_loop = false;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            size_t f = (size_t)tl_settings_find(s[i].name, s[i].name_len);
            if ((pass == 0) != (f == model)) {
                continue;
            }
            int64_t v;
            if (!value_of(&s[i], f, &v)) {
                tl_sb_str(&sb, tl_settings_name(f));
                tl_sb_str(&sb, ": '");
                sb_name(&sb, s[i].text, s[i].text_len);
                tl_sb_str(&sb, "' is not one of its values");
                return fail(res, TL_SET_ERR_BAD_VALUE, 0, (int32_t)f, why);
            }
            if (f < n_therapy()) {
                tl_therapy_check_t c;
                tl_therapy_cfg_err_t e = tl_therapy_config_put(&tc, f, v, &c);
                if (e != TL_THERAPY_CFG_OK) {
                    return fail(res, TL_SET_ERR_THERAPY, (uint32_t)e, (int32_t)f, c.why);
                }
                any_therapy = true;
            } else {
                tl_loop_check_t c;
                tl_loop_cfg_err_t e = tl_loop_config_put(&lc, f - n_therapy(), v, &c);
                if (e != TL_LOOP_CFG_OK) {
                    return fail(res, TL_SET_ERR_LOOP, (uint32_t)e, (int32_t)f, c.why);
                }
                any_loop = true;
                if (f == model) {
                    tl_loop_config_with_preset(tl_loop_config(l), &lc);
                }
            }
        }
    }

    tl_loop_check_t lcheck;
    if (any_loop && tl_loop_config_validate(&lc, NULL, &lcheck) != TL_LOOP_CFG_OK) {
        int32_t field = lcheck.field < 0 ? -1 : (int32_t)n_therapy() + lcheck.field;
        return fail(res, TL_SET_ERR_LOOP, (uint32_t)lcheck.err, field, lcheck.why);
    }
    tl_therapy_check_t tcheck;
    tl_therapy_cfg_err_t te = tl_therapy_config_validate(&tc, &tcheck);
    if (any_therapy && te != TL_THERAPY_CFG_OK) {
        /* Through the loop so that the refusal is recorded; nothing changes. */
        (void)tl_loop_therapy_configure(l, &tc, &tcheck);
        return fail(res, TL_SET_ERR_THERAPY, (uint32_t)te, tcheck.field, tcheck.why);
    }
    if (any_therapy) {
        (void)tl_loop_therapy_configure(l, &tc, &tcheck);
    }
    if (any_loop) {
        (void)tl_loop_configure(l, &lc, &lcheck);
    }
    res->worst_charge_pc = tcheck.worst_charge_pc;
    res->worst_density_cuc = tcheck.worst_density_cuc;
    res->worst_shannon_k_milli = tcheck.worst_shannon_k_milli;
    return TL_SET_OK;
}
