/*
 * loop/settings.h - the device's configuration as one namespace of named fields: the
 * therapy fields (therapy/config.h) followed by the loop fields (loop/loop_config.h).
 * Used by the SMP `config` command and by the software-in-the-loop driver, so both apply
 * a request with exactly the same rules:
 *
 *   1. every name must exist and appear once; values are integers, or choice names for
 *      enumerations (policy=adaptive, model=beta_biomarker, pipeline=raw);
 *   2. `model` first: selecting another factory model loads its preset (its pipeline),
 *      then the other loop fields of the request modify it;
 *   3. each value is range-checked, then both whole configurations are validated;
 *   4. only if everything passed are they applied (therapy first, then the loop). A
 *      refused request changes nothing (a therapy refusal is recorded in the event log).
 */
#ifndef THERALOOP_LOOP_SETTINGS_H
#define THERALOOP_LOOP_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "theraloop/loop/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *name; /* not NUL-terminated */
    size_t name_len;
    const char *text; /* choice name (is_text), not NUL-terminated */
    size_t text_len;
    int64_t value;    /* number (!is_text) */
    uint8_t is_text;
    uint8_t reserved[7];
} tl_setting_t;

typedef enum {
    TL_SET_OK = 0,
    TL_SET_ERR_UNKNOWN_KEY = 1, /* no field of that name */
    TL_SET_ERR_BAD_VALUE = 2,   /* repeated name, text for a number, unknown choice */
    TL_SET_ERR_THERAPY = 3,     /* therapy configuration refused (cfg_err: tl_therapy_cfg_err_t) */
    TL_SET_ERR_LOOP = 4,        /* loop configuration refused (cfg_err: tl_loop_cfg_err_t) */
} tl_set_err_t;

typedef struct {
    tl_set_err_t err;
    uint32_t cfg_err;
    int32_t field;  /* index in the shared namespace, -1 */
    char why[128];
    /* worst case of the therapy limits in effect afterwards (tl_therapy_check_t) */
    uint32_t worst_charge_pc;
    uint32_t worst_density_cuc;
    int32_t worst_shannon_k_milli;
} tl_set_result_t;

/* The shared namespace. */
size_t tl_settings_count(void);
const char *tl_settings_name(size_t index);
int32_t tl_settings_find(const char *name, size_t name_len);
/* Group name of a field ("limits", ..., "sensing", "model", ...). */
const char *tl_settings_group(size_t index);
/* The field's current value; *choice is its choice name for enumerations, else NULL. */
bool tl_settings_get(const tl_loop_t *l, size_t index, int64_t *value, const char **choice);

/* Apply n settings (see the top of this file). Returns res->err. */
tl_set_err_t tl_settings_apply(tl_loop_t *l, const tl_setting_t *s, size_t n,
                               tl_set_result_t *res);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_LOOP_SETTINGS_H */
