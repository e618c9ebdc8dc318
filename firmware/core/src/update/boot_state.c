/*
 * boot_state.c - encode/decode the BOOT section of the system state store (see
 * update/boot_state.h). Record (little-endian, TL_BOOT_STATE_SIZE = 24 bytes):
 *
 *   0  version u8 (1)      1..3 padding (0)
 *   4  request u8          5  status u8       6  swap_kind u8    7  swap_sector u8
 *   8  swap_phase u8       9  testing u8      10 last_result u8  11 reserved u8
 *   12 last_detail u32     16 security_counter u32                20 swap_count u32
 *
 * A record whose values cannot have been written by a correct writer (unknown request
 * or status, a swap without a valid kind or with a phase above 2, testing > 1) counts as
 * malformed, like a wrong size or version.
 */
#include "theraloop/update/boot_state.h"

#include <string.h>

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static bool plausible(const tl_boot_state_t *bs)
{
    if (bs->request > TL_BOOT_REQ_PERM || bs->status > TL_BOOT_SWAPPING || bs->testing > 1u) {
        return false;
    }
    if (bs->status == TL_BOOT_SWAPPING &&
        (bs->swap_kind < TL_BOOT_SWAP_TEST || bs->swap_kind > TL_BOOT_SWAP_REVERT ||
         bs->swap_phase > 2u)) {
        return false;
    }
    return true;
}

bool tl_boot_state_get(const tl_sysstate_t *st, tl_boot_state_t *out)
{
    if (out == NULL) {
        return false;
    }
    memset(out, 0, sizeof(*out));
    if (st == NULL) {
        return false;
    }
    const uint8_t *p = NULL;
    uint16_t len = 0;
    if (!tl_sysstate_get(st, TL_SYSSTATE_BOOT, &p, &len)) {
        return true; /* absent: defaults */
    }
    if (len != TL_BOOT_STATE_SIZE || p[0] != TL_BOOT_STATE_VERSION) {
        return false;
    }
    tl_boot_state_t bs;
    bs.request = p[4];
    bs.status = p[5];
    bs.swap_kind = p[6];
    bs.swap_sector = p[7];
    bs.swap_phase = p[8];
    bs.testing = p[9];
    bs.last_result = p[10];
    bs.reserved = 0u;
    bs.last_detail = get_le32(p + 12);
    bs.security_counter = get_le32(p + 16);
    bs.swap_count = get_le32(p + 20);
    if (!plausible(&bs)) {
        return false;
    }
    *out = bs;
    return true;
}

bool tl_boot_state_put(tl_sysstate_t *st, const tl_boot_state_t *bs)
{
    if (st == NULL || bs == NULL) {
        return false;
    }
    uint8_t rec[TL_BOOT_STATE_SIZE];
    memset(rec, 0, sizeof rec);
    rec[0] = (uint8_t)TL_BOOT_STATE_VERSION;
    rec[4] = bs->request;
    rec[5] = bs->status;
    rec[6] = bs->swap_kind;
    rec[7] = bs->swap_sector;
    rec[8] = bs->swap_phase;
    rec[9] = bs->testing;
    rec[10] = bs->last_result;
    put_le32(rec + 12, bs->last_detail);
    put_le32(rec + 16, bs->security_counter);
    put_le32(rec + 20, bs->swap_count);
    return tl_sysstate_put(st, TL_SYSSTATE_BOOT, rec, (uint16_t)sizeof rec);
}

const char *tl_boot_result_name(uint32_t result)
{
    switch (result) {
    case TL_BOOT_RESULT_NONE: return "none";
    case TL_BOOT_RESULT_SWAPPED_TEST: return "swapped_test";
    case TL_BOOT_RESULT_SWAPPED_PERM: return "swapped_perm";
    case TL_BOOT_RESULT_REVERTED: return "reverted";
    case TL_BOOT_RESULT_REJECTED: return "rejected";
    case TL_BOOT_RESULT_RESUMED: return "resumed";
    default: return "unknown";
    }
}
