/*
 * mgmt_os.c - MCUmgr OS management group (0): echo, reset, MCUmgr parameters, OS info.
 * Request and response maps match Zephyr's os_mgmt, so smpclient/mcumgr work unchanged.
 */
#include <string.h>

#include <zcbor_encode.h>

#include "theraloop/mgmt.h"
#include "theraloop/platform.h"
#include "theraloop/version.h"

static tl_mgmt_err_t os_echo(tl_smp_req_t *req)
{
    struct zcbor_string d = {0};
    tl_smp_field_t fields[] = {{"d", TL_SMP_VAL_TSTR, &d, false}};
    tl_mgmt_err_t rc = tl_smp_decode_map(req, fields, 1);
    if (rc != TL_MGMT_ERR_EOK) {
        return rc;
    }
    if (!fields[0].found) {
        return TL_MGMT_ERR_EINVAL;
    }
    bool ok = zcbor_tstr_put_lit(req->enc, "r") && zcbor_tstr_encode(req->enc, &d);
    return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

static void do_reset(uint32_t arg)
{
    (void)arg;
    tl_platform_stim_safe();
    tl_platform_reset();
}

static tl_mgmt_err_t os_reset(tl_smp_req_t *req)
{
    /* "force" is accepted for compatibility (smpclient, mcumgr); nothing vetoes a reset
     * yet, so it changes nothing. "boot_mode" and other keys are ignored, as Zephyr does
     * without its reset hooks. */
    bool force = false;
    tl_smp_field_t fields[] = {{"force", TL_SMP_VAL_FLAG, &force, false}};
    tl_mgmt_err_t rc = tl_smp_decode_map(req, fields, 1);
    if (rc != TL_MGMT_ERR_EOK) {
        return rc;
    }
    (void)force;
    if (!tl_smp_defer(req, do_reset, 0)) {
        return TL_MGMT_ERR_EBUSY;
    }
    return TL_MGMT_ERR_EOK; /* empty map; the reset follows once it has been sent */
}

static tl_mgmt_err_t os_params(tl_smp_req_t *req)
{
    bool ok = zcbor_tstr_put_lit(req->enc, "buf_size") &&
              zcbor_uint32_put(req->enc, (uint32_t)TL_SMP_BUF_SIZE) &&
              zcbor_tstr_put_lit(req->enc, "buf_count") &&
              zcbor_uint32_put(req->enc, (uint32_t)TL_SMP_BUF_COUNT);
    return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

#if defined(__aarch64__)
#define OS_MACHINE "aarch64"
#define OS_PROCESSOR "aarch64"
#elif defined(__arm__) && defined(__ARM_ARCH_7EM__)
#define OS_MACHINE "arm"
#define OS_PROCESSOR "armv7e-m"
#elif defined(__arm__)
#define OS_MACHINE "arm"
#define OS_PROCESSOR "arm"
#elif defined(__x86_64__)
#define OS_MACHINE "x86_64"
#define OS_PROCESSOR "x86_64"
#else
#define OS_MACHINE "unknown"
#define OS_PROCESSOR "unknown"
#endif

/* Format letters in output order (Zephyr's `os info`; 'b', the build time, is not kept). */
enum {
    INFO_S = 1u << 0, /* kernel name */
    INFO_N = 1u << 1, /* node name */
    INFO_R = 1u << 2, /* kernel release */
    INFO_V = 1u << 3, /* kernel version */
    INFO_M = 1u << 4, /* machine */
    INFO_P = 1u << 5, /* processor */
    INFO_I = 1u << 6, /* hardware platform */
    INFO_O = 1u << 7, /* operating system */
    INFO_ALL = 0xFFu,
};

static bool append(char *buf, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);
    size_t sep = (*len > 0u) ? 1u : 0u;
    if (n + sep > cap - *len) {
        return false;
    }
    if (sep != 0u) {
        buf[(*len)++] = ' ';
    }
    memcpy(&buf[*len], s, n);
    *len += n;
    return true;
}

static tl_mgmt_err_t os_info(tl_smp_req_t *req)
{
    struct zcbor_string format = {0};
    tl_smp_field_t fields[] = {{"format", TL_SMP_VAL_TSTR, &format, false}};
    tl_mgmt_err_t rc = tl_smp_decode_map(req, fields, 1);
    if (rc != TL_MGMT_ERR_EOK) {
        return rc;
    }
    unsigned want = INFO_S;
    if (fields[0].found) {
        want = 0;
        for (size_t i = 0; i < format.len; i++) {
            switch (format.value[i]) {
            case 's': want |= INFO_S; break;
            case 'n': want |= INFO_N; break;
            case 'r': want |= INFO_R; break;
            case 'v': want |= INFO_V; break;
            case 'm': want |= INFO_M; break;
            case 'p': want |= INFO_P; break;
            case 'i': want |= INFO_I; break;
            case 'o': want |= INFO_O; break;
            case 'a': want |= INFO_ALL; break;
            default: return tl_smp_group_error(req, TL_OS_MGMT_ERR_INVALID_FORMAT);
            }
        }
    }
    const char *board = tl_platform_board_name();
    const char *parts[8] = {"theraloop", board, TL_VERSION_STRING, TL_SOURCE_REVISION,
                            OS_MACHINE, OS_PROCESSOR, board, "theraloop"};
    char out[192];
    size_t len = 0;
    for (unsigned bit = 0; bit < 8u; bit++) {
        if ((want & (1u << bit)) != 0u && !append(out, sizeof(out), &len, parts[bit])) {
            return TL_MGMT_ERR_EMSGSIZE;
        }
    }
    bool ok = zcbor_tstr_put_lit(req->enc, "output") &&
              zcbor_tstr_encode_ptr(req->enc, out, len);
    return ok ? TL_MGMT_ERR_EOK : TL_MGMT_ERR_EMSGSIZE;
}

static tl_mgmt_err_t os_to_v1(uint16_t rc)
{
    switch (rc) {
    case TL_OS_MGMT_ERR_INVALID_FORMAT:
        return TL_MGMT_ERR_EINVAL;
    case TL_OS_MGMT_ERR_QUERY_YIELDS_NO_ANSWER:
        return TL_MGMT_ERR_ENOENT;
    default:
        return TL_MGMT_ERR_EUNKNOWN;
    }
}

static const tl_smp_cmd_t k_os_cmds[] = {
    {TL_MGMT_OS_ECHO, NULL, os_echo},
    {TL_MGMT_OS_RESET, NULL, os_reset},
    {TL_MGMT_OS_PARAMS, os_params, NULL},
    {TL_MGMT_OS_INFO, os_info, NULL},
};

static const tl_smp_group_t k_os_group = {
    .id = TL_SMP_GROUP_OS,
    .cmds = k_os_cmds,
    .n_cmds = sizeof(k_os_cmds) / sizeof(k_os_cmds[0]),
    .to_v1 = os_to_v1,
};

tl_smp_status_t tl_mgmt_os_register(tl_smp_server_t *srv)
{
    return tl_smp_server_register(srv, &k_os_group);
}
