/*
 * fuzz_config_persist.c - the boot-time restore of the persisted configuration from an
 * arbitrary state store (an attacker or a bug may have written anything with a valid CRC).
 *
 * Input: byte 0 bit 0 picks what the rest is: 0 = the CONFIG section's bytes (written as
 * the only section), 1 = the whole state blob (section list parsing). The blob is stored
 * with a valid config-store CRC, then a boot runs: tl_loop_init, tl_sysstate_open,
 * tl_config_persist_init. Checked: the outcome is one of those a stored blob can give;
 * whatever was restored validates as a whole (therapy and loop); anything else leaves
 * exactly the defaults; every section the store reports lies inside the blob; a save
 * afterwards round-trips (a reboot restores the same configuration).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage_ram.h"
#include "theraloop/loop/config_persist.h"
#include "theraloop/storage/flash_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const tl_storage_region_t k_regions[] = {{4u, 16384u}, {1u, 65536u}, {7u, 131072u}};
static uint8_t g_mem[TL_FLASH_SIZE];
static tl_storage_ram_t g_ram;
static tl_sysstate_t g_st;
static tl_loop_t g_loop;
static tl_loop_t g_def;
static tl_loop_t g_saved;
static int g_ready;

static int same_config(const tl_loop_t *a, const tl_loop_t *b)
{
    return memcmp(tl_loop_therapy_config(a), tl_loop_therapy_config(b),
                  sizeof(tl_therapy_config_t)) == 0 &&
           memcmp(tl_loop_config(a), tl_loop_config(b), sizeof(tl_loop_config_t)) == 0;
}

static tl_cfgp_outcome_t boot(void)
{
    tl_storage_ram_power_on(&g_ram);
    tl_loop_init(&g_loop, NULL, NULL);
    (void)tl_sysstate_open(&g_st, &g_ram.dev);
    return tl_config_persist_init(&g_loop, &g_st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_ready) {
        tl_storage_ram_init(&g_ram, g_mem, k_regions, 3u, 4u);
        tl_loop_init(&g_def, NULL, NULL);
        g_ready = 1;
    }
    if (size < 1u || size > 1u + TL_SYSSTATE_MAX) {
        return 0;
    }
    memset(g_mem + 0x8000u, 0xFF, 2u * 16384u); /* the state area */
    const uint8_t *body = data + 1;
    uint32_t n = (uint32_t)(size - 1u);
    if ((data[0] & 1u) == 0u) {
        (void)tl_sysstate_open(&g_st, &g_ram.dev);
        if (n > 0xFFFFu || !tl_sysstate_put(&g_st, TL_SYSSTATE_CONFIG, body, (uint16_t)n)) {
            return 0;
        }
        if (tl_sysstate_commit(&g_st) != TL_CFGSTORE_OK) {
            abort();
        }
    } else {
        tl_cfgstore_t cs;
        if (tl_cfgstore_init(&cs, &g_ram.dev, 2, 3) != TL_CFGSTORE_OK ||
            tl_cfgstore_save(&cs, body, n) != TL_CFGSTORE_OK) {
            abort();
        }
    }

    tl_cfgp_outcome_t o = boot();
    if (g_st.load_err != TL_CFGSTORE_OK && g_st.load_err != TL_CFGSTORE_CORRUPT) {
        abort();
    }
    for (uint16_t id = 0; id < 8u; id++) {
        const uint8_t *p = NULL;
        uint16_t len = 0;
        if (tl_sysstate_get(&g_st, id, &p, &len) &&
            (p < g_st.blob || p + len > g_st.blob + g_st.len)) {
            abort();
        }
    }
    switch (o) {
    case TL_CFGP_RESTORED:
        if (tl_therapy_config_validate(tl_loop_therapy_config(&g_loop), NULL) !=
                TL_THERAPY_CFG_OK ||
            tl_loop_config_validate(tl_loop_config(&g_loop), NULL, NULL) != TL_LOOP_CFG_OK) {
            abort();
        }
        break;
    case TL_CFGP_DEFAULTS:
    case TL_CFGP_CORRUPT:
    case TL_CFGP_INCOMPATIBLE:
    case TL_CFGP_REFUSED:
        if (!same_config(&g_loop, &g_def)) {
            abort();
        }
        break;
    default:
        abort();
    }
    /* whatever is in effect saves and comes back exactly */
    g_saved = g_loop;
    if (tl_config_persist_save(&g_loop) != TL_CFGSTORE_OK || boot() != TL_CFGP_RESTORED ||
        !same_config(&g_loop, &g_saved)) {
        abort();
    }
    return 0;
}
