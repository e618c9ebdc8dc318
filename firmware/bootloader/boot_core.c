/*
 * boot_core.c - the bootloader's decision and swap logic (see boot_core.h and
 * docs/bootloader.md). Portable: storage, state store and image check only.
 */
#include "boot_core.h"

#include <stddef.h>
#include <string.h>

#include "theraloop/storage/flash_map.h"
#include "theraloop/storage/mcuboot_image.h"

#define COPY_CHUNK 256u
#define LINE_MAX 112u

typedef struct {
    const tl_storage_t *dev;
    tl_sysstate_t *st;
    const tl_boot_hooks_t *hooks;
    tl_img_policy_t policy;
    tl_flash_area_t primary;
    tl_flash_area_t secondary;
    tl_flash_area_t scratch;
    tl_boot_state_t bs;
    tl_boot_outcome_t *out;
} boot_t;

/* ---- output lines (no printf: the bootloader stays small) ---- */

typedef struct {
    char buf[LINE_MAX];
    uint32_t len;
} line_t;

static void line_str(line_t *l, const char *s)
{
    while (*s != '\0' && l->len + 1u < LINE_MAX) {
        l->buf[l->len++] = *s++;
    }
    l->buf[l->len] = '\0';
}

static void line_u32(line_t *l, uint32_t v)
{
    char tmp[11];
    uint32_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    char s[12];
    for (uint32_t i = 0; i < n; i++) {
        s[i] = tmp[n - 1u - i];
    }
    s[n] = '\0';
    line_str(l, s);
}

static void line_version(line_t *l, const tl_mcuboot_version_t *v)
{
    line_u32(l, v->major);
    line_str(l, ".");
    line_u32(l, v->minor);
    line_str(l, ".");
    line_u32(l, v->revision);
    line_str(l, "+");
    line_u32(l, v->build);
}

static void emit(const boot_t *b, line_t *l)
{
    if (b->hooks != NULL && b->hooks->log != NULL) {
        b->hooks->log(b->hooks->ctx, l->buf);
    }
}

static void say(const boot_t *b, const char *a, const char *c)
{
    line_t l = {{0}, 0};
    line_str(&l, a);
    line_str(&l, c);
    emit(b, &l);
}

const char *tl_boot_swap_kind_name(uint32_t kind)
{
    switch (kind) {
    case TL_BOOT_SWAP_TEST: return "test";
    case TL_BOOT_SWAP_PERM: return "perm";
    case TL_BOOT_SWAP_REVERT: return "revert";
    default: return "?";
    }
}

/* ---- state ---- */

static bool commit(boot_t *b)
{
    if (!tl_boot_state_put(b->st, &b->bs) || tl_sysstate_commit(b->st) != TL_CFGSTORE_OK) {
        b->out->storage_failed = true;
        say(b, "boot: state commit failed", "");
        return false;
    }
    return true;
}

/* ---- image checks ---- */

static tl_img_err_t check_slot(boot_t *b, const tl_flash_area_t *area, uint32_t min_counter,
                               tl_mcuboot_info_t *info, uint32_t *detail,
                               tl_img_timing_t *timing)
{
    tl_mcuboot_storage_ctx_t ctx;
    tl_mcuboot_src_t src = tl_mcuboot_src_storage(&ctx, b->dev, area->off, area->size);
    tl_img_policy_t pol = b->policy;
    pol.kind = TL_IMG_KIND_FIRMWARE;
    pol.min_security_counter = min_counter;
    tl_img_now_fn now = b->hooks != NULL ? b->hooks->now : NULL;
    void *now_ctx = b->hooks != NULL ? b->hooks->ctx : NULL;
    tl_img_err_t e =
        tl_image_check_timed(&src, area->size, &pol, info, detail, now, now_ctx, timing);
    if (e == TL_IMG_OK && info->hdr_size != TL_FW_HEADER_SIZE) {
        /* the application is linked right behind a 0x200-byte header */
        *detail = TL_BOOT_DETAIL_HEADER_SIZE;
        return TL_IMG_ERR_FORMAT;
    }
    return e;
}

static uint32_t image_counter(const tl_mcuboot_info_t *info)
{
    return (info->present & TL_MCUBOOT_HAS_SEC_CNT) != 0u ? info->security_counter : 0u;
}

static void say_reject(boot_t *b, const char *what, tl_img_err_t e, uint32_t detail)
{
    line_t l = {{0}, 0};
    line_str(&l, "boot: reject fw_secondary for ");
    line_str(&l, what);
    line_str(&l, " (");
    if (e == TL_IMG_ERR_ROLLBACK && detail == TL_BOOT_DETAIL_OLDER_VERSION) {
        line_str(&l, "older version");
    } else if (e == TL_IMG_ERR_FORMAT && detail == TL_BOOT_DETAIL_HEADER_SIZE) {
        line_str(&l, "header size");
    } else {
        line_str(&l, tl_img_err_name(e));
    }
    line_str(&l, ")");
    emit(b, &l);
}

static uint32_t reject_detail(tl_img_err_t e, uint32_t detail)
{
    return ((uint32_t)e << 16) | (detail & 0xFFFFu);
}

/* ---- swap ---- */

static bool chunk_erased(const uint8_t *p, uint32_t n)
{
    uint8_t acc = 0xFFu;
    for (uint32_t i = 0; i < n; i++) {
        acc &= p[i];
    }
    return acc == 0xFFu;
}

/* Erase storage sector dst_sector (at dst_off) and copy `size` bytes from src_off into it.
 * Chunks that are all 0xFF are skipped: the erase already left them so. */
static bool copy_sector(boot_t *b, uint32_t src_off, uint32_t dst_sector, uint32_t dst_off,
                        uint32_t size)
{
    if (tl_storage_erase(b->dev, dst_sector) != TL_STORAGE_OK) {
        return false;
    }
    uint8_t buf[COPY_CHUNK];
    for (uint32_t done = 0; done < size; done += COPY_CHUNK) {
        uint32_t n = size - done < COPY_CHUNK ? size - done : COPY_CHUNK;
        if (tl_storage_read(b->dev, src_off + done, buf, n) != TL_STORAGE_OK) {
            return false;
        }
        if (!chunk_erased(buf, n) &&
            tl_storage_write(b->dev, dst_off + done, buf, n) != TL_STORAGE_OK) {
            return false;
        }
    }
    return true;
}

static bool slot_sector(const boot_t *b, const tl_flash_area_t *a, uint32_t i, uint32_t *sector,
                        uint32_t *off, uint32_t *size)
{
    *sector = a->first_sector + i;
    return tl_storage_sector(b->dev, *sector, off, size) == TL_STORAGE_OK;
}

static bool do_phase(boot_t *b, uint32_t i, uint32_t phase)
{
    uint32_t p_sec, p_off, p_size, s_sec, s_off, s_size, x_off, x_size;
    if (!slot_sector(b, &b->primary, i, &p_sec, &p_off, &p_size) ||
        !slot_sector(b, &b->secondary, i, &s_sec, &s_off, &s_size) ||
        tl_storage_sector(b->dev, b->scratch.first_sector, &x_off, &x_size) != TL_STORAGE_OK ||
        p_size != s_size || x_size < p_size) {
        return false;
    }
    switch (phase) {
    case 0: return copy_sector(b, s_off, b->scratch.first_sector, x_off, s_size);
    case 1: return copy_sector(b, p_off, s_sec, s_off, p_size);
    default: return copy_sector(b, x_off, p_sec, p_off, p_size);
    }
}

/* Run the swap recorded in b->bs from its current position to the end. The position is
 * committed after every phase but the last (the caller's final commit ends the swap). */
static bool run_swap(boot_t *b)
{
    uint32_t n = b->primary.sector_count;
    b->out->swapped = true;
    while (b->bs.swap_sector < n) {
        line_t l = {{0}, 0};
        line_str(&l, "boot: swap ");
        line_str(&l, tl_boot_swap_kind_name(b->bs.swap_kind));
        line_str(&l, " ");
        line_u32(&l, (uint32_t)b->bs.swap_sector + 1u);
        line_str(&l, "/");
        line_u32(&l, n);
        line_str(&l, " phase ");
        line_u32(&l, b->bs.swap_phase);
        emit(b, &l);
        if (!do_phase(b, b->bs.swap_sector, b->bs.swap_phase)) {
            b->out->storage_failed = true;
            say(b, "boot: swap storage error", "");
            return false;
        }
        if (b->bs.swap_phase < 2u) {
            b->bs.swap_phase++;
        } else if ((uint32_t)b->bs.swap_sector + 1u < n) {
            b->bs.swap_sector++;
            b->bs.swap_phase = 0u;
        } else {
            return true; /* last phase done: the caller commits the end of the swap */
        }
        if (!commit(b)) {
            return false;
        }
    }
    return true;
}

/* Start a swap of `kind` (request cleared in the same commit) and run it. */
static bool start_swap(boot_t *b, uint8_t kind)
{
    b->bs.request = TL_BOOT_REQ_NONE;
    b->bs.status = TL_BOOT_SWAPPING;
    b->bs.swap_kind = kind;
    b->bs.swap_sector = 0u;
    b->bs.swap_phase = 0u;
    if (!commit(b)) {
        return false;
    }
    return run_swap(b);
}

/* The end of a swap: one commit that leaves the SWAPPING status. */
static void finish_swap(boot_t *b, bool resumed)
{
    uint8_t kind = b->bs.swap_kind;
    b->bs.status = TL_BOOT_IDLE;
    b->bs.swap_kind = 0u;
    b->bs.swap_sector = 0u;
    b->bs.swap_phase = 0u;
    b->bs.swap_count++;
    b->bs.last_detail = resumed ? kind : 0u;
    if (kind == TL_BOOT_SWAP_TEST) {
        b->bs.testing = 1u;
        b->bs.last_result = TL_BOOT_RESULT_SWAPPED_TEST;
    } else if (kind == TL_BOOT_SWAP_PERM) {
        b->bs.testing = 0u;
        b->bs.last_result = TL_BOOT_RESULT_SWAPPED_PERM;
        /* a permanent image needs no confirmation: raise the counter now */
        tl_mcuboot_info_t info;
        uint32_t detail;
        if (check_slot(b, &b->primary, b->bs.security_counter, &info, &detail, NULL) ==
                TL_IMG_OK &&
            image_counter(&info) > b->bs.security_counter) {
            b->bs.security_counter = image_counter(&info);
        }
    } else {
        b->bs.testing = 0u;
        b->bs.last_result = TL_BOOT_RESULT_REVERTED;
    }
    if (resumed) {
        b->bs.last_result = TL_BOOT_RESULT_RESUMED;
    }
    if (commit(b)) {
        say(b, "boot: swap done ", tl_boot_result_name(b->bs.last_result));
    }
}

/* ---- decisions ---- */

static void resume(boot_t *b)
{
    if (b->bs.swap_sector >= b->primary.sector_count) {
        /* cannot come from a correct writer: give up the swap, keep what is there */
        say(b, "boot: bad swap position, abandoned", "");
        b->bs.status = TL_BOOT_IDLE;
        b->bs.swap_kind = 0u;
        b->bs.swap_sector = 0u;
        b->bs.swap_phase = 0u;
        (void)commit(b);
        return;
    }
    say(b, "boot: resume swap ", tl_boot_swap_kind_name(b->bs.swap_kind));
    if (run_swap(b)) {
        finish_swap(b, true);
    }
}

static void revert(boot_t *b)
{
    tl_mcuboot_info_t info;
    uint32_t detail = 0;
    tl_img_err_t e = check_slot(b, &b->secondary, b->bs.security_counter, &info, &detail, NULL);
    if (e != TL_IMG_OK) {
        /* nothing good to go back to: the test image keeps running, still unconfirmed */
        say_reject(b, "revert", e, detail);
        b->bs.last_result = TL_BOOT_RESULT_REJECTED;
        b->bs.last_detail = reject_detail(e, detail);
        b->bs.request = TL_BOOT_REQ_NONE;
        (void)commit(b);
        return;
    }
    say(b, "boot: unconfirmed test image, revert", "");
    if (start_swap(b, TL_BOOT_SWAP_REVERT)) {
        finish_swap(b, false);
    }
}

static void update(boot_t *b)
{
    uint8_t kind = b->bs.request == TL_BOOT_REQ_TEST ? TL_BOOT_SWAP_TEST : TL_BOOT_SWAP_PERM;
    tl_mcuboot_info_t info;
    uint32_t detail = 0;
    tl_img_err_t e = check_slot(b, &b->secondary, b->bs.security_counter, &info, &detail, NULL);
    if (e == TL_IMG_OK) {
        /* no downgrade below the running image's version (if it parses at all) */
        tl_mcuboot_storage_ctx_t ctx;
        tl_mcuboot_src_t src =
            tl_mcuboot_src_storage(&ctx, b->dev, b->primary.off, b->primary.size);
        tl_mcuboot_info_t cur;
        if (tl_mcuboot_parse(&src, b->primary.size, &cur) == TL_MCUBOOT_OK &&
            tl_mcuboot_version_cmp(&info.version, &cur.version) < 0) {
            e = TL_IMG_ERR_ROLLBACK;
            detail = TL_BOOT_DETAIL_OLDER_VERSION;
        }
    }
    if (e != TL_IMG_OK) {
        say_reject(b, tl_boot_swap_kind_name(kind), e, detail);
        b->bs.request = TL_BOOT_REQ_NONE;
        b->bs.last_result = TL_BOOT_RESULT_REJECTED;
        b->bs.last_detail = reject_detail(e, detail);
        (void)commit(b);
        return;
    }
    line_t l = {{0}, 0};
    line_str(&l, "boot: update ");
    line_str(&l, tl_boot_swap_kind_name(kind));
    line_str(&l, " to version ");
    line_version(&l, &info.version);
    emit(b, &l);
    if (start_swap(b, kind)) {
        finish_swap(b, false);
    }
}

static bool get_areas(boot_t *b)
{
    return tl_flash_area_get(b->dev, TL_AREA_FW_PRIMARY, &b->primary) == TL_STORAGE_OK &&
           tl_flash_area_get(b->dev, TL_AREA_FW_SECONDARY, &b->secondary) == TL_STORAGE_OK &&
           tl_flash_area_get(b->dev, TL_AREA_FW_SCRATCH, &b->scratch) == TL_STORAGE_OK &&
           b->primary.sector_count == b->secondary.sector_count &&
           b->primary.sector_count != 0u && b->primary.sector_count <= 255u;
}

tl_boot_action_t tl_boot_run(const tl_storage_t *dev, tl_sysstate_t *st,
                             const tl_img_policy_t *policy, const tl_boot_hooks_t *hooks,
                             tl_boot_outcome_t *out)
{
    static tl_boot_outcome_t dummy;
    if (out == NULL) {
        out = &dummy;
    }
    memset(out, 0, sizeof(*out));
    out->action = TL_BOOT_ACTION_NO_IMAGE;
    out->primary_err = TL_IMG_ERR_ARGUMENT;
    boot_t b;
    memset(&b, 0, sizeof b);
    b.dev = dev;
    b.st = st;
    b.hooks = hooks;
    b.out = out;
    if (dev == NULL || st == NULL || policy == NULL) {
        return out->action;
    }
    b.policy = *policy;
    say(&b, "theraloop-boot ", TL_BOOT_CORE_VERSION);
    if (!get_areas(&b)) {
        say(&b, "boot: no bootable image (flash map)", "");
        return out->action;
    }

    out->state_load = tl_sysstate_open(st, dev);
    if (out->state_load != TL_CFGSTORE_OK && out->state_load != TL_CFGSTORE_EMPTY) {
        say(&b, "boot: state store ", tl_cfgstore_err_name(out->state_load));
    }
    out->state_valid = tl_boot_state_get(st, &b.bs);
    if (!out->state_valid) {
        say(&b, "boot: boot state malformed, defaults", "");
    }

    uint8_t result_before = b.bs.last_result;
    if (b.bs.status == TL_BOOT_SWAPPING) {
        resume(&b);
    } else if (b.bs.testing != 0u) {
        revert(&b);
    } else if (b.bs.request == TL_BOOT_REQ_TEST || b.bs.request == TL_BOOT_REQ_PERM) {
        update(&b);
    } else if (result_before != TL_BOOT_RESULT_NONE) {
        /* nothing to do this time: say so (one commit, then none on later boots) */
        b.bs.last_result = TL_BOOT_RESULT_NONE;
        b.bs.last_detail = 0u;
        (void)commit(&b);
    }

    /* the image to start */
    out->primary_err = check_slot(&b, &b.primary, b.bs.security_counter, &out->primary,
                                  &out->primary_detail, &out->timing);
    line_t l = {{0}, 0};
    if (out->primary_err == TL_IMG_OK) {
        line_str(&l, "boot: check fw_primary ok version ");
        line_version(&l, &out->primary.version);
        line_str(&l, " (");
        line_u32(&l, out->primary.hashed_len);
        line_str(&l, " bytes, sha256 ");
        line_u32(&l, out->timing.sha256_cycles);
        line_str(&l, " cycles, ed25519 ");
        line_u32(&l, out->timing.ed25519_cycles);
        line_str(&l, " cycles)");
        out->action = TL_BOOT_ACTION_JUMP;
        out->vector_off = b.primary.off + out->primary.hdr_size;
    } else {
        line_str(&l, "boot: no bootable image (");
        line_str(&l, out->primary_err == TL_IMG_ERR_FORMAT &&
                             out->primary_detail == TL_BOOT_DETAIL_HEADER_SIZE
                         ? "header size"
                         : tl_img_err_name(out->primary_err));
        line_str(&l, ")");
    }
    emit(&b, &l);
    out->state = b.bs;
    return out->action;
}
