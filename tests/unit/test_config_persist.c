/*
 * test_config_persist.c - the configuration kept across resets, on the host RAM flash:
 * a non-default configuration survives a reboot; never saved, corrupt, incompatible and
 * invalid (attacker-written) stores give the safe defaults and a STORAGE event; a power
 * cut at every write/erase step of a save leaves the old or the new configuration.
 */
#include <string.h>

#include "storage_ram.h"
#include "theraloop/loop/config_persist.h"
#include "theraloop/loop/settings.h"
#include "theraloop/storage/flash_map.h"
#include "tl_test.h"

static const tl_storage_region_t k_regions[] = {{4u, 16384u}, {1u, 65536u}, {7u, 131072u}};
static uint8_t g_mem[TL_FLASH_SIZE];
static tl_storage_ram_t g_ram;
static tl_sysstate_t g_st;
static tl_loop_t g_loop;
static tl_loop_t g_ref; /* a loop with the defaults, for comparison */

#define STATE_A 0x8000u

static void erase_flash(void)
{
    memset(g_mem, 0xFF, sizeof g_mem);
    tl_storage_ram_init(&g_ram, g_mem, k_regions, 3u, 4u);
}

/* A reset: power back, a fresh loop with its defaults, open the state, restore. */
static tl_cfgp_outcome_t boot(void)
{
    tl_storage_ram_power_on(&g_ram);
    tl_loop_init(&g_loop, NULL, NULL);
    (void)tl_sysstate_open(&g_st, &g_ram.dev);
    tl_cfgp_outcome_t r = tl_config_persist_init(&g_loop, &g_st);
    TL_EXPECT_EQ(tl_config_persist_status()->outcome, r);
    return r;
}

static bool same_config(const tl_loop_t *a, const tl_loop_t *b)
{
    return memcmp(tl_loop_therapy_config(a), tl_loop_therapy_config(b),
                  sizeof(tl_therapy_config_t)) == 0 &&
           memcmp(tl_loop_config(a), tl_loop_config(b), sizeof(tl_loop_config_t)) == 0;
}

static bool is_defaults(void)
{
    tl_loop_init(&g_ref, NULL, NULL);
    return same_config(&g_loop, &g_ref);
}

/* Number of STORAGE events in the log and the last one. */
static uint32_t storage_events(tl_event_t *last)
{
    tl_event_t ev[TL_LOOP_EVENTS];
    tl_ring_read_t r = tl_event_log_read(tl_loop_event_log(&g_loop), 0, ev, TL_LOOP_EVENTS);
    uint32_t n = 0;
    for (uint32_t i = 0; i < r.count; i++) {
        if (ev[i].type == TL_EVENT_STORAGE) {
            n++;
            if (last != NULL) {
                *last = ev[i];
            }
        }
    }
    return n;
}

typedef struct {
    const char *name;
    int64_t value;
    const char *text;
} kv_t;

static tl_set_err_t apply(const kv_t *kv, size_t n)
{
    tl_setting_t s[16];
    memset(s, 0, sizeof s);
    for (size_t i = 0; i < n; i++) {
        s[i].name = kv[i].name;
        s[i].name_len = strlen(kv[i].name);
        if (kv[i].text != NULL) {
            s[i].is_text = 1;
            s[i].text = kv[i].text;
            s[i].text_len = strlen(kv[i].text);
        } else {
            s[i].value = kv[i].value;
        }
    }
    tl_set_result_t res;
    return tl_settings_apply(&g_loop, s, n, &res);
}

/* A configuration far from the defaults: another factory model (its preset), the adaptive
 * policy with negative thresholds (i32 fields), lower limits, other fault timing. */
static void apply_custom(void)
{
    const kv_t kv[] = {
        {"model", 0, "seizure_detector"},
        {"policy", 0, "adaptive"},
        {"adaptive_mode", 0, "dual"},
        {"adaptive_threshold_lower", -20000, NULL},
        {"adaptive_threshold_upper", -5, NULL},
        {"amplitude_max_ua", 2600, NULL},
        {"adaptive_amplitude_upper_ua", 2500, NULL},
        {"open_loop_amplitude_ua", 800, NULL},
        {"dropout_ms", 333, NULL},
        {"stim_latch_ms", 0, NULL},
        {"infer_every", 3, NULL},
    };
    TL_EXPECT_EQ(apply(kv, sizeof kv / sizeof kv[0]), TL_SET_OK);
}

static void apply_other(void)
{
    const kv_t kv[] = {
        {"model", 0, "beta_biomarker"},
        {"amplitude_max_ua", 2550, NULL},
        {"open_loop_amplitude_ua", 1500, NULL},
        {"flatline_ms", 1234, NULL},
    };
    TL_EXPECT_EQ(apply(kv, sizeof kv / sizeof kv[0]), TL_SET_OK);
}

static void test_never_saved_gives_defaults(void)
{
    erase_flash();
    TL_EXPECT_EQ(boot(), TL_CFGP_DEFAULTS);
    TL_EXPECT_EQ(tl_config_persist_status()->load_err, TL_CFGSTORE_EMPTY);
    TL_EXPECT(is_defaults());
    TL_EXPECT_EQ(storage_events(NULL), 0);
    TL_EXPECT_EQ(strcmp(tl_cfgp_outcome_name(TL_CFGP_DEFAULTS), "defaults"), 0);
    TL_EXPECT_EQ(strcmp(tl_cfgp_outcome_name(TL_CFGP_UNAVAILABLE), "unavailable"), 0);
    TL_EXPECT_EQ(strcmp(tl_cfgp_outcome_name(99), "unknown"), 0);
    TL_EXPECT_EQ(strcmp(tl_event_type_name(TL_EVENT_STORAGE), "storage"), 0);
    TL_EXPECT_EQ(strcmp(tl_event_type_name(TL_EVENT_MODEL), "model"), 0);
    TL_EXPECT_EQ(strcmp(tl_event_type_name(9), "unknown"), 0);
    TL_EXPECT_EQ(strcmp(tl_storage_event_name(TL_STORAGE_EV_SAVE_FAILED), "save_failed"), 0);
    TL_EXPECT_EQ(strcmp(tl_storage_event_name(TL_STORAGE_EV_UNAVAILABLE), "unavailable"), 0);
    TL_EXPECT_EQ(strcmp(tl_storage_event_name(6), "unknown"), 0);
    /* a state store holding other sections but no CONFIG: defaults too */
    TL_EXPECT(tl_sysstate_put(&g_st, TL_SYSSTATE_BOOT, "boot", 4));
    TL_EXPECT_EQ(tl_sysstate_commit(&g_st), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(boot(), TL_CFGP_DEFAULTS);
    TL_EXPECT_EQ(tl_config_persist_status()->load_err, TL_CFGSTORE_OK);
    TL_EXPECT(is_defaults());
    TL_EXPECT_EQ(storage_events(NULL), 0);
}

static void test_round_trip(void)
{
    erase_flash();
    TL_EXPECT_EQ(boot(), TL_CFGP_DEFAULTS);
    apply_custom();
    TL_EXPECT(!is_defaults());
    TL_EXPECT_EQ(tl_config_persist_save(&g_loop), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(strcmp(tl_config_persist_save_error(), "none"), 0);
    TL_EXPECT_EQ(tl_config_persist_status()->saves, 1);
    static tl_loop_t saved;
    saved = g_loop;
    /* other sections are kept by a save */
    const uint8_t *p = NULL;
    uint16_t n = 0;
    TL_EXPECT(tl_sysstate_put(&g_st, 0x5151, "keep", 4));
    TL_EXPECT_EQ(tl_sysstate_commit(&g_st), TL_CFGSTORE_OK);

    TL_EXPECT_EQ(boot(), TL_CFGP_RESTORED);
    TL_EXPECT(same_config(&g_loop, &saved));
    TL_EXPECT_EQ(tl_loop_therapy_config(&g_loop)->adaptive_threshold_lower, -20000);
    TL_EXPECT_EQ(strcmp(tl_loop_model_active(&g_loop)->name, "seizure_detector"), 0);
    TL_EXPECT(tl_loop_model_step(&g_loop)->bound);
    TL_EXPECT_EQ(storage_events(NULL), 0);
    /* the restored configuration is in effect in the supervisor, not just stored */
    TL_EXPECT_EQ(tl_loop_therapy(&g_loop)->cfg.amplitude_max_ua, 2600);

    /* a second configuration replaces the first; the unknown section survives */
    apply_other();
    saved = g_loop;
    TL_EXPECT_EQ(tl_config_persist_save(&g_loop), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(boot(), TL_CFGP_RESTORED);
    TL_EXPECT(same_config(&g_loop, &saved));
    TL_EXPECT_EQ(strcmp(tl_loop_model_active(&g_loop)->name, "beta_biomarker"), 0);
    TL_EXPECT(tl_sysstate_get(&g_st, 0x5151, &p, &n) && n == 4 && memcmp(p, "keep", 4) == 0);

    /* saving an unchanged configuration writes nothing (no erase, no stall) */
    uint32_t erases = g_ram.erases;
    uint32_t writes = g_ram.writes;
    TL_EXPECT_EQ(tl_config_persist_save(&g_loop), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(g_ram.erases, erases);
    TL_EXPECT_EQ(g_ram.writes, writes);
    TL_EXPECT_EQ(tl_config_persist_status()->saves, 0);
}

/* The model is stored by name: the section holds "seizure_detector", not its number. */
static void test_model_stored_by_name(void)
{
    erase_flash();
    (void)boot();
    apply_custom();
    TL_EXPECT_EQ(tl_config_persist_save(&g_loop), TL_CFGSTORE_OK);
    const uint8_t *p = NULL;
    uint16_t n = 0;
    TL_EXPECT(tl_sysstate_get(&g_st, TL_SYSSTATE_CONFIG, &p, &n));
    TL_EXPECT(n > TL_CFGP_HDR_LEN + 16u);
    TL_EXPECT_EQ(p[0], TL_CFGP_FORMAT);
    TL_EXPECT_EQ(p[1], strlen("seizure_detector"));
    TL_EXPECT_MEM_EQ(&p[TL_CFGP_HDR_LEN], "seizure_detector", 16);
    TL_EXPECT_EQ((uint32_t)p[4] | ((uint32_t)p[5] << 8) | ((uint32_t)p[6] << 16) |
                     ((uint32_t)p[7] << 24),
                 tl_config_persist_layout());
    TL_EXPECT_EQ((uint32_t)p[2] | ((uint32_t)p[3] << 8), tl_settings_count());
    TL_EXPECT_EQ(n, TL_CFGP_HDR_LEN + 16u + 4u * tl_settings_count());
}

/* Write a CONFIG section the way an attacker (or another firmware) could: valid CRC. */
static void write_section(const uint8_t *p, uint32_t n)
{
    erase_flash();
    (void)boot();
    TL_EXPECT(tl_sysstate_put(&g_st, TL_SYSSTATE_CONFIG, p, (uint16_t)n));
    TL_EXPECT_EQ(tl_sysstate_commit(&g_st), TL_CFGSTORE_OK);
}

static uint8_t g_sec[512];

/* A valid encoded section of the custom configuration. */
static uint32_t custom_section(void)
{
    erase_flash();
    (void)boot();
    apply_custom();
    uint32_t n = tl_config_persist_encode(&g_loop, tl_loop_config(&g_loop)->model, g_sec,
                                          sizeof g_sec);
    TL_EXPECT(n > 0u);
    return n;
}

static uint32_t value_off(const char *name)
{
    int32_t i = tl_settings_find(name, strlen(name));
    TL_EXPECT(i >= 0);
    return TL_CFGP_HDR_LEN + ((g_sec[1] + 3u) & ~3u) + 4u * (uint32_t)i;
}

static void set_value(const char *name, uint32_t v)
{
    uint32_t o = value_off(name);
    g_sec[o] = (uint8_t)v;
    g_sec[o + 1] = (uint8_t)(v >> 8);
    g_sec[o + 2] = (uint8_t)(v >> 16);
    g_sec[o + 3] = (uint8_t)(v >> 24);
}

static void expect_defaults_and_event(tl_cfgp_outcome_t outcome, uint32_t detail)
{
    TL_EXPECT_EQ(boot(), outcome);
    TL_EXPECT(is_defaults());
    tl_event_t ev;
    memset(&ev, 0, sizeof ev);
    TL_EXPECT_EQ(storage_events(&ev), 1);
    TL_EXPECT_EQ(ev.detail, detail);
    /* the defaults are a working therapy configuration: start is accepted */
    TL_EXPECT_EQ(tl_loop_command(&g_loop, TL_CMD_START), TL_SUP_CMD_OK);
}

static void test_corrupt_store(void)
{
    /* both copies of the state store damaged */
    erase_flash();
    (void)boot();
    apply_custom();
    TL_EXPECT_EQ(tl_config_persist_save(&g_loop), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(tl_config_persist_save(&g_loop), TL_CFGSTORE_OK); /* unchanged: no write */
    g_mem[STATE_A + 40u] ^= 0x01u; /* the only copy */
    expect_defaults_and_event(TL_CFGP_CORRUPT, TL_STORAGE_EV_CORRUPT);
    tl_event_t ev;
    memset(&ev, 0, sizeof ev);
    (void)storage_events(&ev);
    TL_EXPECT_EQ(ev.aux >> 16, TL_CFGSTORE_CORRUPT);
    TL_EXPECT_EQ(tl_config_persist_status()->load_err, TL_CFGSTORE_CORRUPT);
    /* the next save recovers the store */
    apply_other();
    static tl_loop_t saved;
    saved = g_loop;
    TL_EXPECT_EQ(tl_config_persist_save(&g_loop), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(boot(), TL_CFGP_RESTORED);
    TL_EXPECT(same_config(&g_loop, &saved));
}

static void test_corrupt_section(void)
{
    uint32_t n = custom_section();
    /* truncated by one value */
    write_section(g_sec, n - 4u);
    expect_defaults_and_event(TL_CFGP_CORRUPT, TL_STORAGE_EV_CORRUPT);
    /* one byte too many */
    n = custom_section();
    g_sec[n] = 0;
    write_section(g_sec, n + 1u);
    expect_defaults_and_event(TL_CFGP_CORRUPT, TL_STORAGE_EV_CORRUPT);
    /* shorter than its header */
    n = custom_section();
    write_section(g_sec, 5);
    expect_defaults_and_event(TL_CFGP_CORRUPT, TL_STORAGE_EV_CORRUPT);
    /* a name length past the maximum */
    n = custom_section();
    g_sec[1] = (uint8_t)(TL_MODEL_NAME_MAX + 1u);
    write_section(g_sec, n);
    expect_defaults_and_event(TL_CFGP_CORRUPT, TL_STORAGE_EV_CORRUPT);
    /* non-zero name padding ("seizure_detector" is 16: use a 14-byte name) */
    n = custom_section();
    g_sec[1] = 14;
    write_section(g_sec, n);
    expect_defaults_and_event(TL_CFGP_CORRUPT, TL_STORAGE_EV_CORRUPT);
}

static void test_incompatible(void)
{
    /* another layout id (a firmware whose field tables differ) */
    uint32_t n = custom_section();
    g_sec[4] ^= 0x5Au;
    uint32_t other = (uint32_t)g_sec[4] | ((uint32_t)g_sec[5] << 8) |
                     ((uint32_t)g_sec[6] << 16) | ((uint32_t)g_sec[7] << 24);
    write_section(g_sec, n);
    expect_defaults_and_event(TL_CFGP_INCOMPATIBLE, TL_STORAGE_EV_INCOMPATIBLE);
    tl_event_t ev;
    memset(&ev, 0, sizeof ev);
    (void)storage_events(&ev);
    TL_EXPECT_EQ(ev.aux, other);
    TL_EXPECT_EQ(tl_config_persist_status()->detail, other);
    /* a newer section format */
    n = custom_section();
    g_sec[0] = 2;
    write_section(g_sec, n);
    expect_defaults_and_event(TL_CFGP_INCOMPATIBLE, TL_STORAGE_EV_INCOMPATIBLE);
    /* another field count (with a matching length) */
    n = custom_section();
    g_sec[2] = (uint8_t)(g_sec[2] - 1u);
    write_section(g_sec, n - 4u);
    expect_defaults_and_event(TL_CFGP_INCOMPATIBLE, TL_STORAGE_EV_INCOMPATIBLE);
    /* a model this firmware does not have (same length as "seizure_detector") */
    n = custom_section();
    memcpy(&g_sec[TL_CFGP_HDR_LEN], "seizure_detectoX", 16);
    write_section(g_sec, n);
    expect_defaults_and_event(TL_CFGP_INCOMPATIBLE, TL_STORAGE_EV_INCOMPATIBLE);
    /* the layout id depends on the field tables, and is stable */
    TL_EXPECT_EQ(tl_config_persist_layout(), tl_config_persist_layout());
    TL_EXPECT(tl_config_persist_layout() != 0u);
}

/* Values a `config set` would refuse: refused at boot too; nothing of them is applied. */
static void test_invalid_values_refused(void)
{
    /* amplitude above its own range */
    uint32_t n = custom_section();
    set_value("amplitude_max_ua", TL_STIM_AMPLITUDE_ABS_MAX_UA + 1u);
    write_section(g_sec, n);
    expect_defaults_and_event(TL_CFGP_REFUSED, TL_STORAGE_EV_REFUSED);
    tl_event_t ev;
    memset(&ev, 0, sizeof ev);
    (void)storage_events(&ev);
    TL_EXPECT_EQ(ev.aux, ((uint32_t)TL_SET_ERR_THERAPY << 16) | TL_THERAPY_CFG_ERR_RANGE);
    TL_EXPECT_EQ(tl_config_persist_status()->detail, ev.aux);
    /* in range, but above the charge-per-phase limit (cross-field validation) */
    n = custom_section();
    set_value("amplitude_max_ua", 20000u);
    write_section(g_sec, n);
    expect_defaults_and_event(TL_CFGP_REFUSED, TL_STORAGE_EV_REFUSED);
    (void)storage_events(&ev);
    TL_EXPECT_EQ(ev.aux >> 16, TL_SET_ERR_THERAPY);
    TL_EXPECT((ev.aux & 0xFFFFu) >= TL_THERAPY_CFG_ERR_CHARGE &&
              (ev.aux & 0xFFFFu) <= TL_THERAPY_CFG_ERR_SHANNON);
    /* a loop field out of range */
    n = custom_section();
    set_value("afe_rate_hz", 7u);
    write_section(g_sec, n);
    expect_defaults_and_event(TL_CFGP_REFUSED, TL_STORAGE_EV_REFUSED);
    (void)storage_events(&ev);
    TL_EXPECT_EQ(ev.aux, ((uint32_t)TL_SET_ERR_LOOP << 16) | TL_LOOP_CFG_ERR_RANGE);
    /* a loop configuration that fails the whole-configuration check */
    n = custom_section();
    set_value("artifact_class", (uint32_t)tl_loop_config(&g_loop)->score_class);
    write_section(g_sec, n);
    expect_defaults_and_event(TL_CFGP_REFUSED, TL_STORAGE_EV_REFUSED);
    (void)storage_events(&ev);
    TL_EXPECT_EQ(ev.aux, ((uint32_t)TL_SET_ERR_LOOP << 16) | TL_LOOP_CFG_ERR_CLASSES);
    /* an enumeration value past its choices */
    n = custom_section();
    set_value("policy", TL_POLICY_COUNT);
    write_section(g_sec, n);
    expect_defaults_and_event(TL_CFGP_REFUSED, TL_STORAGE_EV_REFUSED);
    /* the unmodified section is accepted (the cases above fail for their value only) */
    n = custom_section();
    write_section(g_sec, n);
    TL_EXPECT_EQ(boot(), TL_CFGP_RESTORED);
}

/* The state store cannot be used: defaults, an event, and saves fail with a reason. */
static void test_unavailable_and_save_failure(void)
{
    /* no storage at all: no event, saves answer no_device */
    tl_loop_init(&g_loop, NULL, NULL);
    TL_EXPECT_EQ(tl_config_persist_init(&g_loop, NULL), TL_CFGP_UNAVAILABLE);
    TL_EXPECT_EQ(storage_events(NULL), 0);
    TL_EXPECT_EQ(tl_config_persist_save(&g_loop), TL_CFGSTORE_STORAGE);
    TL_EXPECT_EQ(strcmp(tl_config_persist_save_error(), "no_device"), 0);
    TL_EXPECT_EQ(storage_events(NULL), 0);
    TL_EXPECT(!tl_config_persist_hook(&g_loop));

    /* a state store this firmware cannot read in full (a blob larger than its buffer,
     * written by a newer firmware): defaults, an event, and nothing is overwritten */
    erase_flash();
    static uint8_t big[TL_SYSSTATE_MAX + 16u];
    memset(big, 0xFF, sizeof big);
    tl_cfgstore_t cs;
    TL_EXPECT_EQ(tl_cfgstore_init(&cs, &g_ram.dev, 2, 3), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(tl_cfgstore_save(&cs, big, sizeof big), TL_CFGSTORE_OK);
    TL_EXPECT_EQ(boot(), TL_CFGP_UNAVAILABLE);
    TL_EXPECT(is_defaults());
    tl_event_t ev;
    memset(&ev, 0, sizeof ev);
    TL_EXPECT_EQ(storage_events(&ev), 1);
    TL_EXPECT_EQ(ev.detail, TL_STORAGE_EV_UNAVAILABLE);
    TL_EXPECT_EQ(ev.aux >> 16, TL_CFGSTORE_TOO_BIG);
    uint32_t erases = g_ram.erases;
    apply_custom();
    TL_EXPECT_EQ(tl_config_persist_save(&g_loop), TL_CFGSTORE_TOO_BIG);
    TL_EXPECT_EQ(strcmp(tl_config_persist_save_error(), "too_big"), 0);
    TL_EXPECT_EQ(g_ram.erases, erases);
    TL_EXPECT_EQ(storage_events(NULL), 2); /* + SAVE_FAILED */

    /* a save that fails (power lost while writing): SAVE_FAILED event + the error name */
    erase_flash();
    (void)boot();
    apply_custom();
    tl_storage_ram_cut_after(&g_ram, 1);
    TL_EXPECT_EQ(tl_config_persist_save(&g_loop), TL_CFGSTORE_STORAGE);
    TL_EXPECT_EQ(strcmp(tl_config_persist_save_error(), "power_cut"), 0);
    TL_EXPECT_EQ(storage_events(&ev), 1);
    TL_EXPECT_EQ(ev.detail, TL_STORAGE_EV_SAVE_FAILED);
    TL_EXPECT_EQ(ev.aux, ((uint32_t)TL_CFGSTORE_STORAGE << 16) | TL_STORAGE_ERR_POWER_CUT);
    TL_EXPECT_EQ(tl_config_persist_status()->save_failures, 1);
    /* power back: the same configuration is saved again, not skipped as unchanged */
    tl_storage_ram_power_on(&g_ram);
    TL_EXPECT(tl_config_persist_hook(&g_loop));
    static tl_loop_t saved;
    saved = g_loop;
    TL_EXPECT_EQ(boot(), TL_CFGP_RESTORED);
    TL_EXPECT(same_config(&g_loop, &saved));
}

/* Cut the power after every possible number of write/erase operations of a save; after
 * the reboot the configuration is exactly the old or the new one (the new one whenever
 * the save returned OK). */
static void test_power_cut_every_step(void)
{
    static tl_loop_t old_cfg;
    static tl_loop_t new_cfg;
    uint32_t saw_old = 0;
    uint32_t saw_new = 0;
    bool done = false;
    for (int64_t cut = 0; cut < 2000 && !done; cut++) {
        erase_flash();
        (void)boot();
        apply_custom();
        TL_EXPECT_EQ(tl_config_persist_save(&g_loop), TL_CFGSTORE_OK);
        /* a second, different save so that both copies hold a configuration */
        apply_other();
        TL_EXPECT_EQ(tl_config_persist_save(&g_loop), TL_CFGSTORE_OK);
        old_cfg = g_loop;
        apply_custom();
        new_cfg = g_loop;
        tl_storage_ram_cut_after(&g_ram, cut);
        tl_cfgstore_err_t r = tl_config_persist_save(&g_loop);
        done = r == TL_CFGSTORE_OK && !g_ram.powered_off;
        tl_cfgp_outcome_t o = boot();
        TL_EXPECT_EQ(o, TL_CFGP_RESTORED);
        bool is_old = same_config(&g_loop, &old_cfg);
        bool is_new = same_config(&g_loop, &new_cfg);
        TL_EXPECT(is_old != is_new);
        if (r == TL_CFGSTORE_OK) {
            TL_EXPECT(is_new);
        }
        TL_EXPECT_EQ(storage_events(NULL), 0);
        saw_old += is_old ? 1u : 0u;
        saw_new += is_new ? 1u : 0u;
    }
    TL_EXPECT(done);
    TL_EXPECT(saw_old > 5u);
    TL_EXPECT(saw_new >= 1u);
}

int main(void)
{
    TL_RUN(test_never_saved_gives_defaults);
    TL_RUN(test_round_trip);
    TL_RUN(test_model_stored_by_name);
    TL_RUN(test_corrupt_store);
    TL_RUN(test_corrupt_section);
    TL_RUN(test_incompatible);
    TL_RUN(test_invalid_values_refused);
    TL_RUN(test_unavailable_and_save_failure);
    TL_RUN(test_power_cut_every_step);
    return tl_test_summary();
}
