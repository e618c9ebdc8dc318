/*
 * app.c - the portable application: the management plane (SMP over the CLI serial port)
 * and the control loop (AFE link in, stimulator link out), wired to the board through
 * platform.h. Features register their SMP groups and periodic work here.
 */
#include "theraloop/app.h"

#include "theraloop/crypto/selftest.h"
#include "theraloop/loop/config_persist.h"
#include "theraloop/loop/loop.h"
#include "theraloop/mgmt.h"
#include "theraloop/mgmt_img.h"
#include "theraloop/mgmt_model.h"
#include "theraloop/mgmt_nn.h"
#include "theraloop/mgmt_therapy.h"
#include "theraloop/platform.h"
#include "theraloop/smp.h"
#include "theraloop/smp_serial.h"
#include "theraloop/storage/system_state.h"
#include "theraloop/update/fw_update.h"
#include "theraloop/update/model_slots.h"
#include "theraloop/version.h"

#include <string.h>

static tl_smp_server_t g_smp;
static tl_smp_serial_rx_t g_smp_rx;
static uint8_t g_smp_rx_buf[TL_SMP_BUF_SIZE];
static tl_loop_t g_loop;
/* The system state store (storage/system_state.h), shared by the configuration, the model
 * slots and the firmware update: one RAM copy, each module commits its own section. */
static tl_sysstate_t g_state;

/* Therapy running or paused: the nn group's load/invoke/bench must wait. */
static bool therapy_on(void)
{
    return tl_loop_therapy(&g_loop)->sup.therapy_state != (uint8_t)TL_THERAPY_OFF;
}

/* Therapy running: uploads, which erase flash sectors (the single-bank STM32F4 stalls
 * instruction fetches for up to seconds), must wait (docs/storage.md). */
static bool therapy_running(void)
{
    return tl_loop_therapy(&g_loop)->sup.therapy_state == (uint8_t)TL_THERAPY_RUNNING;
}

static void stim_write(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    tl_platform_stim_write(data, len);
}

static void cli_write_line(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    tl_platform_cli_write(data, len);
}

static void smp_output(void *ctx, const uint8_t *pkt, size_t len)
{
    (void)ctx;
    /* Cannot fail: responses are at most TL_SMP_BUF_SIZE bytes. */
    (void)tl_smp_serial_encode(pkt, len, cli_write_line, NULL);
}

/* Append a NUL-terminated string to buf[*pos..cap), truncating; keeps room for NUL. */
static void banner_append(char *buf, size_t cap, size_t *pos, const char *s)
{
    while (*s != '\0' && *pos + 1u < cap) {
        buf[(*pos)++] = *s++;
    }
    buf[*pos] = '\0';
}

/* One human-readable text line on the CLI port at boot, e.g.
 *   "theraloop 0.1.0 board=stm32f4 reset=power_on build=1a2b3c4d"
 * SMP clients (smpclient, mcumgr) skip non-SMP lines; people and Renode tests read it. */
static void print_boot_banner(void)
{
    static const char hex[] = "0123456789abcdef";
    char line[96];
    size_t pos = 0;
    banner_append(line, sizeof(line), &pos, "theraloop " TL_VERSION_STRING " board=");
    banner_append(line, sizeof(line), &pos, tl_platform_board_name());
    banner_append(line, sizeof(line), &pos, " reset=");
    banner_append(line, sizeof(line), &pos, tl_reset_reason_name(tl_platform_reset_reason()));
    banner_append(line, sizeof(line), &pos, " build=");
    const uint8_t *id = NULL;
    size_t id_len = tl_platform_build_id(&id);
    for (size_t i = 0; i < id_len && i < 4u; i++) {
        char byte_hex[3] = {hex[id[i] >> 4], hex[id[i] & 0x0Fu], '\0'};
        banner_append(line, sizeof(line), &pos, byte_hex);
    }
    banner_append(line, sizeof(line), &pos, "\r\n");
    tl_platform_cli_write((const uint8_t *)line, strlen(line));
}

void tl_app_init(void)
{
    (void)tl_crypto_selftest_at_boot(); /* reported by `info` (crypto_selftest) */
    tl_smp_server_init(&g_smp, smp_output, NULL);
    tl_smp_serial_rx_init(&g_smp_rx, g_smp_rx_buf, sizeof(g_smp_rx_buf), &g_smp.stats);
    (void)tl_mgmt_os_register(&g_smp);
    (void)tl_mgmt_theraloop_register(&g_smp);
    (void)tl_mgmt_nn_register(&g_smp);
    tl_mgmt_nn_set_busy_check(therapy_on);
    tl_model_source_ram_update(NULL, NULL); /* a (virtual) reboot forgets the RAM model */
    tl_loop_init(&g_loop, stim_write, NULL);
    tl_mgmt_therapy_bind(&g_loop);

    /* Persistent state: the store, then the firmware update state, the model slots (a
     * restored configuration may name a slot model), then the configuration itself. */
    const tl_storage_t *dev = tl_platform_storage();
    (void)tl_sysstate_open(&g_state, dev);
    tl_fw_update_init(dev, &g_state);
    tl_fw_update_set_busy_check(therapy_running);
    tl_model_slots_set_persist(tl_config_persist_hook);
    tl_model_slots_set_busy_check(therapy_running);
    tl_model_slots_init(dev, &g_state, &g_loop);
    (void)tl_config_persist_init(&g_loop, &g_state);
    static const tl_image_target_t *k_targets[2];
    k_targets[0] = tl_fw_update_target();
    k_targets[1] = tl_model_slots_target();
    (void)tl_mgmt_img_register(&g_smp, dev, k_targets, 2u);
    (void)tl_mgmt_model_register(&g_smp, &g_loop);
    print_boot_banner();
}

void tl_app_cli_input(const uint8_t *data, size_t len)
{
    while (len > 0u) {
        const uint8_t *pkt = NULL;
        size_t pkt_len = 0;
        size_t used = tl_smp_serial_rx_feed(&g_smp_rx, data, len, &pkt, &pkt_len);
        if (pkt != NULL) {
            tl_smp_server_process(&g_smp, pkt, pkt_len);
        }
        data += used;
        len -= used;
    }
}

void tl_app_afe_input(const uint8_t *data, size_t len)
{
    tl_loop_afe_input(&g_loop, data, len);
    tl_model_slots_poll(); /* a model under test: count healthy steps, revert on failure */
}

void tl_app_stim_input(const uint8_t *data, size_t len)
{
    tl_loop_stim_input(&g_loop, data, len);
}

void tl_app_poll(void)
{
    (void)tl_smp_server_poll(&g_smp);
    tl_loop_poll(&g_loop);
    tl_model_slots_poll();
}
