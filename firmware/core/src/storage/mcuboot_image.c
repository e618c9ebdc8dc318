/*
 * mcuboot_image.c - MCUboot image header/TLV parser and SHA-256 check. See the header.
 *
 * Every offset is computed in uint64_t and compared with the readable size and the slot
 * size before any read, so no field value can make the parser read out of bounds or wrap.
 */
#include "theraloop/storage/mcuboot_image.h"

#include <string.h>

const char *tl_mcuboot_err_name(uint32_t err)
{
    switch (err) {
    case TL_MCUBOOT_OK: return "ok";
    case TL_MCUBOOT_ERR_ARG: return "bad_argument";
    case TL_MCUBOOT_ERR_READ: return "read_error";
    case TL_MCUBOOT_ERR_TRUNCATED: return "truncated";
    case TL_MCUBOOT_ERR_MAGIC: return "bad_magic";
    case TL_MCUBOOT_ERR_HEADER_SIZE: return "bad_header_size";
    case TL_MCUBOOT_ERR_TOO_BIG: return "too_big_for_slot";
    case TL_MCUBOOT_ERR_UNSUPPORTED: return "unsupported_flags";
    case TL_MCUBOOT_ERR_TLV_MAGIC: return "bad_tlv_magic";
    case TL_MCUBOOT_ERR_TLV_OVERFLOW: return "tlv_overflow";
    case TL_MCUBOOT_ERR_TLV_LENGTH: return "bad_tlv_length";
    case TL_MCUBOOT_ERR_TLV_DUPLICATE: return "duplicate_tlv";
    case TL_MCUBOOT_ERR_TLV_PLACEMENT: return "misplaced_tlv";
    case TL_MCUBOOT_ERR_NO_SHA256: return "no_sha256";
    case TL_MCUBOOT_ERR_HASH_MISMATCH: return "hash_mismatch";
    case TL_MCUBOOT_ERR_UNSIGNED: return "unsigned";
    default: return "unknown";
    }
}

/* ---- sources ---------------------------------------------------------------------- */

static int mem_read(void *ctx, uint32_t off, void *buf, uint32_t n)
{
    memcpy(buf, (const uint8_t *)ctx + off, n);
    return 0;
}

tl_mcuboot_src_t tl_mcuboot_src_mem(const uint8_t *buf, uint32_t len)
{
    tl_mcuboot_src_t s;
    s.read = mem_read;
    /* The callback only reads; the cast drops const for the generic context pointer. */
    s.ctx = (void *)(uintptr_t)buf;
    s.size = buf != NULL ? len : 0u;
    return s;
}

static int storage_read(void *ctx, uint32_t off, void *buf, uint32_t n)
{
    tl_mcuboot_storage_ctx_t *c = (tl_mcuboot_storage_ctx_t *)ctx;
    if ((uint64_t)c->base + off > UINT32_MAX) {
        c->err = TL_STORAGE_ERR_RANGE;
        return -1;
    }
    c->err = tl_storage_read(c->dev, c->base + off, buf, n);
    return c->err == TL_STORAGE_OK ? 0 : -1;
}

tl_mcuboot_src_t tl_mcuboot_src_storage(tl_mcuboot_storage_ctx_t *ctx,
                                        const tl_storage_t *dev, uint32_t base,
                                        uint32_t size)
{
    tl_mcuboot_src_t s = {0};
    if (ctx == NULL) {
        return s;
    }
    ctx->dev = dev;
    ctx->base = base;
    ctx->err = TL_STORAGE_OK;
    s.read = storage_read;
    s.ctx = ctx;
    s.size = dev != NULL ? size : 0u;
    return s;
}

/* ---- helpers ---------------------------------------------------------------------- */

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)(p[1] << 8));
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

/* Read [off, off + n) in chunks; TRUNCATED if it is not all inside the source. */
static tl_mcuboot_err_t src_read(const tl_mcuboot_src_t *src, uint64_t off, uint8_t *buf,
                                 uint32_t n)
{
    if (off + n > src->size) {
        return TL_MCUBOOT_ERR_TRUNCATED;
    }
    uint32_t o = (uint32_t)off;
    while (n > 0u) {
        uint32_t k = n < TL_MCUBOOT_CHUNK ? n : TL_MCUBOOT_CHUNK;
        if (src->read(src->ctx, o, buf, k) != 0) {
            return TL_MCUBOOT_ERR_READ;
        }
        o += k;
        buf += k;
        n -= k;
    }
    return TL_MCUBOOT_OK;
}

/* Bounds of an image part: error if [.., end) leaves the slot or the readable bytes. */
static tl_mcuboot_err_t check_end(const tl_mcuboot_src_t *src, uint32_t slot_size,
                                  uint64_t end)
{
    if (end > slot_size) {
        return TL_MCUBOOT_ERR_TOO_BIG;
    }
    if (end > src->size) {
        return TL_MCUBOOT_ERR_TRUNCATED;
    }
    return TL_MCUBOOT_OK;
}

static int is_signature_type(uint16_t t)
{
    return t == TL_MCUBOOT_TLV_RSA2048_PSS || t == TL_MCUBOOT_TLV_ECDSA224 ||
           t == TL_MCUBOOT_TLV_ECDSA_SIG || t == TL_MCUBOOT_TLV_RSA3072_PSS ||
           t == TL_MCUBOOT_TLV_ED25519 || t == TL_MCUBOOT_TLV_SIG_PURE;
}

/* Types that authenticate or identify the image: they belong to the unprotected area
 * (the hash cannot cover itself; signatures sign the hash). */
static int is_unprotected_only(uint16_t t)
{
    return t == TL_MCUBOOT_TLV_SHA256 || t == TL_MCUBOOT_TLV_SHA384 ||
           t == TL_MCUBOOT_TLV_SHA512 || t == TL_MCUBOOT_TLV_KEYHASH ||
           t == TL_MCUBOOT_TLV_PUBKEY || is_signature_type(t);
}

/* One TLV at `off` (its 4-byte header already read: type `t`, value length `len`). */
static tl_mcuboot_err_t take_tlv(const tl_mcuboot_src_t *src, tl_mcuboot_info_t *info,
                                 int is_protected, uint16_t t, uint16_t len, uint32_t voff)
{
    if (is_protected && is_unprotected_only(t)) {
        return TL_MCUBOOT_ERR_TLV_PLACEMENT;
    }
    if (t == TL_MCUBOOT_TLV_SHA256) {
        if ((info->present & TL_MCUBOOT_HAS_SHA256) != 0u) {
            return TL_MCUBOOT_ERR_TLV_DUPLICATE;
        }
        if (len != TL_SHA256_SIZE) {
            return TL_MCUBOOT_ERR_TLV_LENGTH;
        }
        tl_mcuboot_err_t e = src_read(src, voff, info->sha256, TL_SHA256_SIZE);
        if (e != TL_MCUBOOT_OK) {
            return e;
        }
        info->sha256_off = voff;
        info->present |= TL_MCUBOOT_HAS_SHA256;
    } else if (t == TL_MCUBOOT_TLV_KEYHASH || t == TL_MCUBOOT_TLV_PUBKEY) {
        if ((info->present & TL_MCUBOOT_HAS_KEY) != 0u) {
            return TL_MCUBOOT_ERR_TLV_DUPLICATE;
        }
        if (t == TL_MCUBOOT_TLV_KEYHASH ? len != TL_MCUBOOT_KEYHASH_LEN
                                        : (len == 0u || len > TL_MCUBOOT_PUBKEY_MAX)) {
            return TL_MCUBOOT_ERR_TLV_LENGTH;
        }
        info->key_type = t;
        info->key_len = len;
        info->key_off = voff;
        info->present |= TL_MCUBOOT_HAS_KEY;
    } else if (is_signature_type(t)) {
        /* One signature per image (imgtool sign writes one). */
        if ((info->present & TL_MCUBOOT_HAS_SIG) != 0u) {
            return TL_MCUBOOT_ERR_TLV_DUPLICATE;
        }
        if (len == 0u || (t == TL_MCUBOOT_TLV_ED25519 && len != TL_MCUBOOT_ED25519_SIG_LEN)) {
            return TL_MCUBOOT_ERR_TLV_LENGTH;
        }
        info->sig_type = t;
        info->sig_len = len;
        info->sig_off = voff;
        info->present |= TL_MCUBOOT_HAS_SIG;
    } else if (t == TL_MCUBOOT_TLV_SEC_CNT) {
        /* Anti-rollback counter: only meaningful if the hash (and signature) cover it. */
        if (!is_protected) {
            return TL_MCUBOOT_ERR_TLV_PLACEMENT;
        }
        if ((info->present & TL_MCUBOOT_HAS_SEC_CNT) != 0u) {
            return TL_MCUBOOT_ERR_TLV_DUPLICATE;
        }
        if (len != 4u) {
            return TL_MCUBOOT_ERR_TLV_LENGTH;
        }
        uint8_t v[4];
        tl_mcuboot_err_t e = src_read(src, voff, v, 4u);
        if (e != TL_MCUBOOT_OK) {
            return e;
        }
        info->security_counter = le32(v);
        info->present |= TL_MCUBOOT_HAS_SEC_CNT;
    }
    /* Anything else: skipped (bounds already checked by the caller). */
    return TL_MCUBOOT_OK;
}

/* Walk one TLV area [off, off + len) whose info header (magic, len) is already checked. */
static tl_mcuboot_err_t walk_area(const tl_mcuboot_src_t *src, tl_mcuboot_info_t *info,
                                  int is_protected, uint32_t off, uint32_t len)
{
    const uint32_t end = off + len; /* caller checked: end <= slot_size, fits uint32_t */
    uint32_t p = off + 4u;
    while (p < end) {
        if (end - p < 4u) {
            return TL_MCUBOOT_ERR_TLV_OVERFLOW;
        }
        uint8_t h[4];
        tl_mcuboot_err_t e = src_read(src, p, h, 4u);
        if (e != TL_MCUBOOT_OK) {
            return e;
        }
        uint16_t t = le16(h);
        uint16_t vlen = le16(h + 2);
        if ((uint32_t)vlen > end - p - 4u) {
            return TL_MCUBOOT_ERR_TLV_OVERFLOW;
        }
        e = take_tlv(src, info, is_protected, t, vlen, p + 4u);
        if (e != TL_MCUBOOT_OK) {
            return e;
        }
        info->tlv_count++;
        p += 4u + vlen;
    }
    return TL_MCUBOOT_OK;
}

/* Read and check a TLV info header at `off`: magic and total length (>= 4). */
static tl_mcuboot_err_t read_info(const tl_mcuboot_src_t *src, uint32_t slot_size,
                                  uint64_t off, uint16_t magic, uint16_t *tot)
{
    tl_mcuboot_err_t e = check_end(src, slot_size, off + 4u);
    if (e != TL_MCUBOOT_OK) {
        return e;
    }
    uint8_t h[4];
    e = src_read(src, off, h, 4u);
    if (e != TL_MCUBOOT_OK) {
        return e;
    }
    if (le16(h) != magic) {
        return TL_MCUBOOT_ERR_TLV_MAGIC;
    }
    *tot = le16(h + 2);
    if (*tot < 4u) {
        return TL_MCUBOOT_ERR_TLV_OVERFLOW;
    }
    return TL_MCUBOOT_OK;
}

/* ---- parse ------------------------------------------------------------------------ */

static tl_mcuboot_err_t parse(const tl_mcuboot_src_t *src, uint32_t slot_size,
                              tl_mcuboot_info_t *info)
{
    uint8_t h[TL_MCUBOOT_HEADER_SIZE];
    tl_mcuboot_err_t e = check_end(src, slot_size, TL_MCUBOOT_HEADER_SIZE);
    if (e != TL_MCUBOOT_OK) {
        return e;
    }
    e = src_read(src, 0u, h, TL_MCUBOOT_HEADER_SIZE);
    if (e != TL_MCUBOOT_OK) {
        return e;
    }
    if (le32(h) != TL_MCUBOOT_MAGIC) {
        return TL_MCUBOOT_ERR_MAGIC;
    }
    info->load_addr = le32(h + 4);
    info->hdr_size = le16(h + 8);
    info->protect_tlv_size = le16(h + 10);
    info->img_size = le32(h + 12);
    info->flags = le32(h + 16);
    info->version.major = h[20];
    info->version.minor = h[21];
    info->version.revision = le16(h + 22);
    info->version.build = le32(h + 24);
    /* h[28..31]: ih_pad1, covered by the hash, otherwise ignored. */

    if (info->hdr_size < TL_MCUBOOT_HEADER_SIZE) {
        return TL_MCUBOOT_ERR_HEADER_SIZE;
    }
    if ((info->flags & TL_MCUBOOT_F_UNSUPPORTED) != 0u) {
        return TL_MCUBOOT_ERR_UNSUPPORTED;
    }
    if (info->protect_tlv_size != 0u && info->protect_tlv_size < 4u) {
        return TL_MCUBOOT_ERR_TLV_OVERFLOW;
    }

    /* Whole layout in 64 bits, checked against the slot before anything is read. */
    const uint64_t payload_end = (uint64_t)info->hdr_size + info->img_size;
    const uint64_t prot_end = payload_end + info->protect_tlv_size;
    e = check_end(src, slot_size, prot_end + 4u); /* + unprotected info header */
    if (e != TL_MCUBOOT_OK) {
        return e;
    }
    info->payload_off = info->hdr_size;
    info->payload_len = info->img_size;
    info->prot_tlv_off = (uint32_t)payload_end;
    info->hashed_len = (uint32_t)prot_end;
    info->tlv_off = (uint32_t)prot_end;

    if (info->protect_tlv_size != 0u) {
        uint16_t tot = 0;
        e = read_info(src, slot_size, payload_end, TL_MCUBOOT_TLV_PROT_INFO_MAGIC, &tot);
        if (e != TL_MCUBOOT_OK) {
            return e;
        }
        if (tot != info->protect_tlv_size) {
            return TL_MCUBOOT_ERR_TLV_OVERFLOW;
        }
    }

    uint16_t tot = 0;
    e = read_info(src, slot_size, prot_end, TL_MCUBOOT_TLV_INFO_MAGIC, &tot);
    if (e != TL_MCUBOOT_OK) {
        /* A protected-area magic where the unprotected area should start means the header
         * does not announce a protected area that is there: same error, wrong magic. */
        return e;
    }
    e = check_end(src, slot_size, prot_end + tot);
    if (e != TL_MCUBOOT_OK) {
        return e;
    }
    info->tlv_len = tot;
    info->total_len = (uint32_t)(prot_end + tot);

    if (info->protect_tlv_size != 0u) {
        e = walk_area(src, info, 1, info->prot_tlv_off, info->protect_tlv_size);
        if (e != TL_MCUBOOT_OK) {
            return e;
        }
    }
    e = walk_area(src, info, 0, info->tlv_off, info->tlv_len);
    if (e != TL_MCUBOOT_OK) {
        return e;
    }
    if ((info->present & TL_MCUBOOT_HAS_SHA256) == 0u) {
        return TL_MCUBOOT_ERR_NO_SHA256;
    }
    return TL_MCUBOOT_OK;
}

tl_mcuboot_err_t tl_mcuboot_parse(const tl_mcuboot_src_t *src, uint32_t slot_size,
                                  tl_mcuboot_info_t *info)
{
    if (info == NULL) {
        return TL_MCUBOOT_ERR_ARG;
    }
    memset(info, 0, sizeof(*info));
    if (src == NULL || src->read == NULL || src->size > slot_size) {
        return TL_MCUBOOT_ERR_ARG;
    }
    tl_mcuboot_err_t e = parse(src, slot_size, info);
    if (e != TL_MCUBOOT_OK) {
        memset(info, 0, sizeof(*info));
    }
    return e;
}

/* ---- hash ------------------------------------------------------------------------- */

tl_mcuboot_err_t tl_mcuboot_verify_hash(const tl_mcuboot_src_t *src,
                                        const tl_mcuboot_info_t *info,
                                        uint8_t digest_out[TL_SHA256_SIZE])
{
    if (src == NULL || src->read == NULL || info == NULL ||
        (info->present & TL_MCUBOOT_HAS_SHA256) == 0u) {
        return TL_MCUBOOT_ERR_ARG;
    }
    if (info->hashed_len > src->size) {
        return TL_MCUBOOT_ERR_TRUNCATED;
    }
    tl_sha256_t h;
    tl_sha256_init(&h);
    uint8_t buf[TL_MCUBOOT_CHUNK];
    uint32_t off = 0;
    while (off < info->hashed_len) {
        uint32_t left = info->hashed_len - off;
        uint32_t k = left < TL_MCUBOOT_CHUNK ? left : TL_MCUBOOT_CHUNK;
        tl_mcuboot_err_t e = src_read(src, off, buf, k);
        if (e != TL_MCUBOOT_OK) {
            return e;
        }
        tl_sha256_update(&h, buf, k);
        off += k;
    }
    uint8_t digest[TL_SHA256_SIZE];
    tl_sha256_final(&h, digest);
    if (digest_out != NULL) {
        memcpy(digest_out, digest, TL_SHA256_SIZE);
    }
    /* Constant time: the image is attacker-supplied, the comparison must not leak how
     * many leading bytes matched. */
    uint8_t diff = 0;
    for (uint32_t i = 0; i < TL_SHA256_SIZE; i++) {
        diff |= (uint8_t)(digest[i] ^ info->sha256[i]);
    }
    return diff == 0u ? TL_MCUBOOT_OK : TL_MCUBOOT_ERR_HASH_MISMATCH;
}

tl_mcuboot_err_t tl_mcuboot_require_ed25519(const tl_mcuboot_info_t *info)
{
    if (info == NULL) {
        return TL_MCUBOOT_ERR_ARG;
    }
    const uint32_t need = TL_MCUBOOT_HAS_SHA256 | TL_MCUBOOT_HAS_KEY | TL_MCUBOOT_HAS_SIG;
    if ((info->present & need) != need || info->sig_type != TL_MCUBOOT_TLV_ED25519 ||
        info->sig_len != TL_MCUBOOT_ED25519_SIG_LEN ||
        info->key_type != TL_MCUBOOT_TLV_KEYHASH) {
        return TL_MCUBOOT_ERR_UNSIGNED;
    }
    return TL_MCUBOOT_OK;
}

tl_mcuboot_err_t tl_mcuboot_read_payload(const tl_mcuboot_src_t *src,
                                         const tl_mcuboot_info_t *info, uint32_t off,
                                         void *buf, uint32_t n)
{
    if (src == NULL || src->read == NULL || info == NULL || (buf == NULL && n != 0u)) {
        return TL_MCUBOOT_ERR_ARG;
    }
    if ((uint64_t)off + n > info->payload_len) {
        return TL_MCUBOOT_ERR_ARG;
    }
    return src_read(src, (uint64_t)info->payload_off + off, (uint8_t *)buf, n);
}

int tl_mcuboot_version_cmp(const tl_mcuboot_version_t *a, const tl_mcuboot_version_t *b)
{
    if (a->major != b->major) {
        return a->major < b->major ? -1 : 1;
    }
    if (a->minor != b->minor) {
        return a->minor < b->minor ? -1 : 1;
    }
    if (a->revision != b->revision) {
        return a->revision < b->revision ? -1 : 1;
    }
    if (a->build != b->build) {
        return a->build < b->build ? -1 : 1;
    }
    return 0;
}

static size_t put_dec(char *buf, size_t cap, size_t pos, uint32_t value)
{
    char digits[10];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value != 0u);
    while (n > 0u && pos + 1u < cap) {
        buf[pos++] = digits[--n];
    }
    return pos;
}

size_t tl_mcuboot_version_str(const tl_mcuboot_version_t *v, char *buf, size_t cap)
{
    if (buf == NULL || cap == 0u) {
        return 0;
    }
    size_t pos = 0;
    const uint32_t parts[4] = {v->major, v->minor, v->revision, v->build};
    const size_t count = v->build != 0u ? 4u : 3u;
    for (size_t i = 0; i < count; i++) {
        if (i > 0u && pos + 1u < cap) {
            buf[pos++] = '.';
        }
        pos = put_dec(buf, cap, pos, parts[i]);
    }
    buf[pos] = '\0';
    return pos;
}
