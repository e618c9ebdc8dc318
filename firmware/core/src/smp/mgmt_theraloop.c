/*
 * mgmt_theraloop.c - the theraloop SMP group (64): device info and the fault-test
 * diagnostic here; the control loop's status, config, therapy, stream and log commands in
 * mgmt_therapy.c. Later features add their commands to the table below (ids in mgmt.h).
 */
#include <string.h>

#include <zcbor_encode.h>

#include "theraloop/fault.h"
#include "theraloop/crypto/selftest.h"
#include "theraloop/loop/config_persist.h"
#include "theraloop/mgmt.h"
#include "theraloop/mgmt_img.h"
#include "theraloop/mgmt_therapy.h"
#include "theraloop/platform.h"
#include "theraloop/storage/config_store.h"
#include "theraloop/update/boot_state.h"
#include "theraloop/update/fw_update.h"
#include "theraloop/version.h"

/* Longest build id reported (GNU build ids are 20 bytes; a SHA-256 would be 32). */
#define INFO_BUILD_ID_MAX 32u

static bool put_str(zcbor_state_t *e, const char *key, const char *value)
{
    return zcbor_tstr_encode_ptr(e, key, strlen(key)) &&
           zcbor_tstr_encode_ptr(e, value, strlen(value));
}

static bool put_u32(zcbor_state_t *e, const char *key, uint32_t value)
{
    return zcbor_tstr_encode_ptr(e, key, strlen(key)) && zcbor_uint32_put(e, value);
}

static bool put_build_id(zcbor_state_t *e)
{
    static const char k_hex[] = "0123456789abcdef";
    const uint8_t *id = NULL;
    size_t len = tl_platform_build_id(&id);
    if (id == NULL) {
        len = 0;
    }
    if (len > INFO_BUILD_ID_MAX) {
        len = INFO_BUILD_ID_MAX;
    }
    char hex[2u * INFO_BUILD_ID_MAX];
    for (size_t i = 0; i < len; i++) {
        hex[2u * i] = k_hex[id[i] >> 4];
        hex[2u * i + 1u] = k_hex[id[i] & 0x0Fu];
    }
    return zcbor_tstr_put_lit(e, "build_id") && zcbor_tstr_encode_ptr(e, hex, 2u * len);
}

static bool put_fault(zcbor_state_t *e)
{
    tl_fault_record_t rec;
    if (!zcbor_tstr_put_lit(e, "fault")) {
        return false;
    }
    if (!tl_platform_last_fault(&rec)) {
        return zcbor_nil_put(e, NULL);
    }
    return zcbor_map_start_encode(e, 10) && put_str(e, "kind", tl_fault_kind_name(rec.kind)) &&
           put_u32(e, "pc", rec.pc) && put_u32(e, "lr", rec.lr) &&
           put_u32(e, "xpsr", rec.xpsr) && put_u32(e, "sp", rec.sp) &&
           put_u32(e, "cfsr", rec.cfsr) && put_u32(e, "hfsr", rec.hfsr) &&
           put_u32(e, "mmfar", rec.mmfar) && put_u32(e, "bfar", rec.bfar) &&
           put_u32(e, "uptime_ms", rec.uptime_ms) && zcbor_map_end_encode(e, 10);
}

static bool put_stats(zcbor_state_t *e, const tl_smp_stats_t *s)
{
    return zcbor_tstr_put_lit(e, "smp_stats") && zcbor_map_start_encode(e, 5) &&
           put_u32(e, "frames_ok", s->frames_ok) && put_u32(e, "bad_crc", s->bad_crc) &&
           put_u32(e, "bad_base64", s->bad_base64) && put_u32(e, "oversize", s->oversize) &&
           put_u32(e, "dropped", s->dropped) && zcbor_map_end_encode(e, 5);
}

/* "image": the running application as an MCUboot image (version from its header, the
 * image hash TLV), whether it is confirmed, and what the bootloader did at this boot;
 * null when the image was not started from fw_primary (e.g. by a debugger). */
static bool put_image(zcbor_state_t *e)
{
    tl_mcuboot_version_t v;
    uint8_t hash[32];
    if (!zcbor_tstr_put_lit(e, "image")) {
        return false;
    }
    if (!tl_fw_update_running(&v, hash)) {
        return zcbor_nil_put(e, NULL);
    }
    char ver[40];
    size_t n = tl_mcuboot_version_str(&v, ver, sizeof ver);
    const tl_boot_state_t *bs = tl_fw_update_boot_state(); /* what this boot did */
    tl_boot_state_t now;                                   /* confirmed, counter: live */
    tl_fw_update_boot_state_now(&now);
    const tl_mgmt_img_error_t *err = tl_mgmt_img_last_error();
    return zcbor_map_start_encode(e, 8) && zcbor_tstr_put_lit(e, "version") &&
           zcbor_tstr_encode_ptr(e, ver, n) && zcbor_tstr_put_lit(e, "hash") &&
           zcbor_bstr_encode_ptr(e, (const char *)hash, sizeof hash) &&
           zcbor_tstr_put_lit(e, "confirmed") && zcbor_bool_put(e, now.testing == 0u) &&
           put_str(e, "boot", tl_boot_result_name(bs->last_result)) &&
           put_u32(e, "boot_detail", bs->last_detail) &&
           put_u32(e, "security_counter", now.security_counter) &&
           put_str(e, "last_error", err->set ? err->reason : "") && zcbor_map_end_encode(e, 8);
}

/* "storage": the storage device, the system state store and the configuration restore. */
static bool put_storage(zcbor_state_t *e)
{
    const tl_storage_t *dev = tl_platform_storage();
    const tl_cfgp_status_t *cfg = tl_config_persist_status();
    return zcbor_tstr_put_lit(e, "storage") && zcbor_map_start_encode(e, 4) &&
           put_str(e, "device", dev != NULL ? dev->name : "none") &&
           put_str(e, "state_store", tl_cfgstore_err_name(cfg->load_err)) &&
           put_str(e, "config", tl_cfgp_outcome_name(cfg->outcome)) &&
           put_u32(e, "config_saves", cfg->saves) && zcbor_map_end_encode(e, 4);
}

static tl_mgmt_err_t tl_info(tl_smp_req_t *req)
{
    zcbor_state_t *e = req->enc;
    bool ok = put_str(e, "version", TL_VERSION_STRING) &&
              put_str(e, "source_revision", TL_SOURCE_REVISION) && put_build_id(e) &&
              put_str(e, "board", tl_platform_board_name()) &&
              put_u32(e, "uptime_ms", tl_platform_uptime_ms()) &&
              put_str(e, "reset_reason", tl_reset_reason_name(tl_platform_reset_reason())) &&
              put_fault(e) && put_stats(e, &req->server->stats) &&
              put_str(e, "crypto_selftest", tl_crypto_selftest_status()) && put_image(e) &&
              put_storage(e);
    return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

static void do_fault(uint32_t kind)
{
    /* The stimulator goes safe before the deliberate fault, as the fault handler would
     * do anyway. On hardware this does not return. */
    tl_platform_stim_safe();
    tl_platform_trigger_fault(kind);
}

static tl_mgmt_err_t tl_fault_test(tl_smp_req_t *req)
{
    uint32_t kind = 0;
    tl_smp_field_t fields[] = {{"kind", TL_SMP_VAL_U32, &kind, false}};
    tl_mgmt_err_t rc = tl_smp_decode_map(req, fields, 1);
    if (rc != TL_MGMT_ERR_EOK) {
        return rc;
    }
    if (!fields[0].found) {
        return TL_MGMT_ERR_EINVAL;
    }
    if (kind < TL_MGMT_FAULT_TEST_MIN || kind > TL_MGMT_FAULT_TEST_MAX) {
        return tl_smp_group_error(req, TL_GRP_ERR_INVALID);
    }
    if (!tl_smp_defer(req, do_fault, kind)) {
        return tl_smp_group_error(req, TL_GRP_ERR_BUSY);
    }
    return TL_MGMT_ERR_EOK; /* empty map; the fault follows once it has been sent */
}

static tl_mgmt_err_t tl_to_v1(uint16_t rc)
{
    switch (rc) {
    case TL_GRP_ERR_INVALID:
        return TL_MGMT_ERR_EINVAL;
    case TL_GRP_ERR_NOT_SUPPORTED:
        return TL_MGMT_ERR_ENOTSUP;
    case TL_GRP_ERR_BUSY:
        return TL_MGMT_ERR_EBUSY;
    default:
        return TL_MGMT_ERR_EUNKNOWN;
    }
}

static const tl_smp_cmd_t k_tl_cmds[] = {
    {TL_MGMT_TL_INFO, tl_info, NULL},
    {TL_MGMT_TL_FAULT_TEST, NULL, tl_fault_test},
    {TL_MGMT_TL_STATUS, tl_mgmt_status_read, NULL},
    {TL_MGMT_TL_CONFIG, tl_mgmt_config_read, tl_mgmt_config_write},
    {TL_MGMT_TL_THERAPY, NULL, tl_mgmt_therapy_write},
    {TL_MGMT_TL_STREAM, tl_mgmt_stream_read, NULL},
    {TL_MGMT_TL_LOG, tl_mgmt_log_read, NULL},
};

static const tl_smp_group_t k_tl_group = {
    .id = TL_SMP_GROUP_THERALOOP,
    .cmds = k_tl_cmds,
    .n_cmds = sizeof(k_tl_cmds) / sizeof(k_tl_cmds[0]),
    .to_v1 = tl_to_v1,
};

tl_smp_status_t tl_mgmt_theraloop_register(tl_smp_server_t *srv)
{
    return tl_smp_server_register(srv, &k_tl_group);
}
