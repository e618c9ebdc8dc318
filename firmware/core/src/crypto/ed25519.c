/*
 * ed25519.c - Ed25519 verification (RFC 8032 section 5.1.7), see crypto/ed25519.h.
 *
 * Field GF(2^255 - 19): 8 limbs of 32 bits, little-endian, values kept below 2^256 (not
 * necessarily fully reduced) between operations; 2^256 = 38 (mod p) folds carries back.
 * Products use 32x32->64 multiply-accumulate (UMLAL on the Cortex-M4). Every field
 * operation runs the same instruction sequence whatever the values (carries are folded
 * unconditionally, reductions select with masks).
 *
 * Curve: -x^2 + y^2 = 1 + d x^2 y^2, extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z,
 * T = XY/Z; the unified addition of Hisil-Wong-Carter-Dawson 2008 (complete on this curve)
 * and their dedicated doubling.
 */
#include "theraloop/crypto/ed25519.h"

#include <stdbool.h>
#include <string.h>

typedef tl_fe25519_t fe_t;

typedef tl_ed25519_point_t pt_t;

/* Constants generated from their definitions (d = -121665/121666, sqrt(-1) = 2^((p-1)/4),
 * B = (x, 4/5) with x even), little-endian 32-bit limbs. */
static const fe_t FE_D2 = {{0x26b2f159u, 0xebd69b94u, 0x8283b156u, 0x00e0149au, 0xeef3d130u,
                            0x198e80f2u, 0x56dffce7u, 0x2406d9dcu}};
static const fe_t FE_D = {{0x135978a3u, 0x75eb4dcau, 0x4141d8abu, 0x00700a4du, 0x7779e898u,
                           0x8cc74079u, 0x2b6ffe73u, 0x52036ceeu}};
static const fe_t FE_SQRTM1 = {{0x4a0ea0b0u, 0xc4ee1b27u, 0xad2fe478u, 0x2f431806u, 0x3dfbd7a7u,
                                0x2b4d0099u, 0x4fc1df0bu, 0x2b832480u}};
static const fe_t FE_P = {{0xffffffedu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
                           0xffffffffu, 0xffffffffu, 0x7fffffffu}};
static const pt_t BASE = {
    {{0x8f25d51au, 0xc9562d60u, 0x9525a7b2u, 0x692cc760u, 0xfdd6dc5cu, 0xc0a4e231u, 0xcd6e53feu,
      0x216936d3u}},
    {{0x66666658u, 0x66666666u, 0x66666666u, 0x66666666u, 0x66666666u, 0x66666666u, 0x66666666u,
      0x66666666u}},
    {{1u, 0u, 0u, 0u, 0u, 0u, 0u, 0u}},
    {{0xa5b7dda3u, 0x6dde8ab3u, 0x775152f5u, 0x20f09f80u, 0x64abe37du, 0x66ea4e8eu, 0xd78b7665u,
      0x67875f0fu}},
};
/* L = 2^252 + 27742317777372353535851937790883648493, the order of B. */
static const uint32_t SC_L[8] = {0x5cf5d3edu, 0x5812631au, 0xa2f79cd6u, 0x14def9deu,
                                 0x00000000u, 0x00000000u, 0x00000000u, 0x10000000u};

/* ---- field ---------------------------------------------------------------------------- */

static void fe_set(fe_t *r, uint32_t small)
{
    memset(r, 0, sizeof(*r));
    r->v[0] = small;
}

/* r += k (mod p), with a carry out of 2^256 folded back as 38; k < 2^31. */
static void fe_fold(fe_t *r, uint32_t k)
{
    uint64_t c = k;
    for (unsigned i = 0; i < 8u; i++) {
        c += r->v[i];
        r->v[i] = (uint32_t)c;
        c >>= 32;
    }
    /* A carry out means the value wrapped and is now below k: adding 38 cannot carry. */
    c *= 38u;
    for (unsigned i = 0; i < 8u; i++) {
        c += r->v[i];
        r->v[i] = (uint32_t)c;
        c >>= 32;
    }
}

static void fe_add(fe_t *r, const fe_t *a, const fe_t *b)
{
    uint64_t c = 0;
    for (unsigned i = 0; i < 8u; i++) {
        c += (uint64_t)a->v[i] + b->v[i];
        r->v[i] = (uint32_t)c;
        c >>= 32;
    }
    fe_fold(r, (uint32_t)c * 38u);
}

/* r -= k (mod 2^256); returns the borrow out (1 when r was below k). */
static uint32_t sub_small(fe_t *r, uint32_t k)
{
    uint32_t borrow = 0;
    uint64_t s = k;
    for (unsigned i = 0; i < 8u; i++) {
        uint64_t d = (uint64_t)r->v[i] - s - borrow;
        r->v[i] = (uint32_t)d;
        borrow = (uint32_t)(d >> 32) & 1u;
        s = 0;
    }
    return borrow;
}

static void fe_sub(fe_t *r, const fe_t *a, const fe_t *b)
{
    uint32_t borrow = 0;
    for (unsigned i = 0; i < 8u; i++) {
        uint64_t d = (uint64_t)a->v[i] - b->v[i] - borrow;
        r->v[i] = (uint32_t)d;
        borrow = (uint32_t)(d >> 32) & 1u;
    }
    /* a - b + 2^256 was computed; subtract 2^256 = 38 (mod p), twice if that wraps too
     * (after a wrap the value is close to 2^256, so a third one cannot happen). */
    borrow = sub_small(r, 38u * borrow);
    (void)sub_small(r, 38u * borrow);
}

static void fe_neg(fe_t *r, const fe_t *a)
{
    fe_t z;
    fe_set(&z, 0);
    fe_sub(r, &z, a);
}

static void fe_mul(fe_t *r, const fe_t *a, const fe_t *b)
{
    uint32_t t[16] = {0};
    for (unsigned i = 0; i < 8u; i++) {
        uint64_t c = 0;
        for (unsigned j = 0; j < 8u; j++) {
            c = (uint64_t)a->v[i] * b->v[j] + t[i + j] + (c >> 32);
            t[i + j] = (uint32_t)c;
        }
        t[i + 8u] = (uint32_t)(c >> 32);
    }
    uint64_t c = 0;
    for (unsigned i = 0; i < 8u; i++) {
        c += (uint64_t)t[i] + (uint64_t)38u * t[i + 8u];
        r->v[i] = (uint32_t)c;
        c >>= 32;
    }
    fe_fold(r, (uint32_t)c * 38u); /* c <= 38 */
}

static void fe_sq(fe_t *r, const fe_t *a)
{
    fe_mul(r, a, a);
}

static void fe_sqn(fe_t *r, const fe_t *a, unsigned n)
{
    fe_sq(r, a);
    for (unsigned i = 1; i < n; i++) {
        fe_sq(r, r);
    }
}

/* Fully reduce into [0, p): values are below 2^256 = 2p + 38, so at most two subtractions. */
static void fe_canon(fe_t *r, const fe_t *a)
{
    *r = *a;
    for (unsigned k = 0; k < 2u; k++) {
        fe_t t;
        uint32_t borrow = 0;
        for (unsigned i = 0; i < 8u; i++) {
            uint64_t d = (uint64_t)r->v[i] - FE_P.v[i] - borrow;
            t.v[i] = (uint32_t)d;
            borrow = (uint32_t)(d >> 32) & 1u;
        }
        uint32_t keep_t = borrow - 1u; /* all ones when r >= p */
        for (unsigned i = 0; i < 8u; i++) {
            r->v[i] = (t.v[i] & keep_t) | (r->v[i] & ~keep_t);
        }
    }
}

static void fe_to_bytes(uint8_t out[32], const fe_t *a)
{
    fe_t c;
    fe_canon(&c, a);
    for (unsigned i = 0; i < 32u; i++) {
        out[i] = (uint8_t)(c.v[i / 4u] >> (8u * (i % 4u)));
    }
}

/* Loads all 255 low bits; the caller decides what to do with y >= p. */
static void fe_from_bytes(fe_t *r, const uint8_t in[32])
{
    for (unsigned i = 0; i < 8u; i++) {
        r->v[i] = (uint32_t)in[4u * i] | ((uint32_t)in[4u * i + 1u] << 8) |
                  ((uint32_t)in[4u * i + 2u] << 16) | ((uint32_t)in[4u * i + 3u] << 24);
    }
    r->v[7] &= 0x7fffffffu;
}

/* 1 when a = b (mod p), without branching on the values. */
static uint32_t fe_eq(const fe_t *a, const fe_t *b)
{
    uint8_t x[32], y[32];
    fe_to_bytes(x, a);
    fe_to_bytes(y, b);
    uint32_t diff = 0;
    for (unsigned i = 0; i < 32u; i++) {
        diff |= (uint32_t)(x[i] ^ y[i]);
    }
    return 1u & ((diff - 1u) >> 8);
}

static uint32_t fe_is_zero(const fe_t *a)
{
    fe_t z;
    fe_set(&z, 0);
    return fe_eq(a, &z);
}

static uint32_t fe_is_negative(const fe_t *a)
{
    uint8_t b[32];
    fe_to_bytes(b, a);
    return b[0] & 1u;
}

/* z^(2^250 - 1) and z^11, the common part of inversion and square root. */
static void fe_pow_2_250_1(fe_t *out, fe_t *z11, const fe_t *z)
{
    fe_t z2, z9, t0, t1, t2;
    fe_sq(&z2, z);              /* 2 */
    fe_sqn(&t0, &z2, 2);        /* 8 */
    fe_mul(&z9, &t0, z);        /* 9 */
    fe_mul(z11, &z9, &z2);      /* 11 */
    fe_sq(&t0, z11);            /* 22 */
    fe_mul(&t0, &t0, &z9);      /* 31 = 2^5 - 1 */
    fe_sqn(&t1, &t0, 5);
    fe_mul(&t0, &t1, &t0);      /* 2^10 - 1 */
    fe_sqn(&t1, &t0, 10);
    fe_mul(&t1, &t1, &t0);      /* 2^20 - 1 */
    fe_sqn(&t2, &t1, 20);
    fe_mul(&t1, &t2, &t1);      /* 2^40 - 1 */
    fe_sqn(&t1, &t1, 10);
    fe_mul(&t0, &t1, &t0);      /* 2^50 - 1 */
    fe_sqn(&t1, &t0, 50);
    fe_mul(&t1, &t1, &t0);      /* 2^100 - 1 */
    fe_sqn(&t2, &t1, 100);
    fe_mul(&t1, &t2, &t1);      /* 2^200 - 1 */
    fe_sqn(&t1, &t1, 50);
    fe_mul(out, &t1, &t0);      /* 2^250 - 1 */
}

/* r = 1/z = z^(p-2), p - 2 = (2^250 - 1) * 2^5 + 11. */
static void fe_invert(fe_t *r, const fe_t *z)
{
    fe_t t, z11;
    fe_pow_2_250_1(&t, &z11, z);
    fe_sqn(&t, &t, 5);
    fe_mul(r, &t, &z11);
}

/* r = z^((p-5)/8), (p-5)/8 = (2^250 - 1) * 4 + 1. */
static void fe_pow_p58(fe_t *r, const fe_t *z)
{
    fe_t t, z11;
    fe_pow_2_250_1(&t, &z11, z);
    fe_sqn(&t, &t, 2);
    fe_mul(r, &t, z);
}

/* ---- points --------------------------------------------------------------------------- */

static void pt_identity(pt_t *p)
{
    memset(p, 0, sizeof(*p));
    p->y.v[0] = 1u;
    p->z.v[0] = 1u;
}

/* r = p + q (unified: also correct for p = q, p or q the identity). */
static void pt_add(pt_t *r, const pt_t *p, const pt_t *q)
{
    fe_t a, b, c, d, e, f, g, h;
    fe_sub(&a, &p->y, &p->x);
    fe_sub(&h, &q->y, &q->x);
    fe_mul(&a, &a, &h);
    fe_add(&b, &p->y, &p->x);
    fe_add(&h, &q->y, &q->x);
    fe_mul(&b, &b, &h);
    fe_mul(&c, &p->t, &q->t);
    fe_mul(&c, &c, &FE_D2);
    fe_mul(&d, &p->z, &q->z);
    fe_add(&d, &d, &d);
    fe_sub(&e, &b, &a);
    fe_sub(&f, &d, &c);
    fe_add(&g, &d, &c);
    fe_add(&h, &b, &a);
    fe_mul(&r->x, &e, &f);
    fe_mul(&r->y, &g, &h);
    fe_mul(&r->t, &e, &h);
    fe_mul(&r->z, &f, &g);
}

static void pt_double(pt_t *r, const pt_t *p)
{
    fe_t a, b, c, e, f, g, h;
    fe_sq(&a, &p->x);
    fe_sq(&b, &p->y);
    fe_sq(&c, &p->z);
    fe_add(&c, &c, &c);
    fe_add(&e, &p->x, &p->y);
    fe_sq(&e, &e);
    fe_sub(&e, &e, &a);
    fe_sub(&e, &e, &b);     /* 2xy */
    fe_sub(&g, &b, &a);     /* -a*A + B with a = -1 */
    fe_sub(&f, &g, &c);
    fe_neg(&h, &a);
    fe_sub(&h, &h, &b);     /* -A - B */
    fe_mul(&r->x, &e, &f);
    fe_mul(&r->y, &g, &h);
    fe_mul(&r->t, &e, &h);
    fe_mul(&r->z, &f, &g);
}

static void pt_neg(pt_t *r, const pt_t *p)
{
    *r = *p;
    fe_neg(&r->x, &p->x);
    fe_neg(&r->t, &p->t);
}

static bool pt_is_identity(const pt_t *p)
{
    return fe_is_zero(&p->x) && fe_eq(&p->y, &p->z);
}

static bool pt_is_small_order(const pt_t *p)
{
    pt_t q;
    pt_double(&q, p);
    pt_double(&q, &q);
    pt_double(&q, &q);
    return pt_is_identity(&q);
}

static void pt_encode(uint8_t out[32], const pt_t *p)
{
    fe_t zi, x, y;
    fe_invert(&zi, &p->z);
    fe_mul(&x, &p->x, &zi);
    fe_mul(&y, &p->y, &zi);
    fe_to_bytes(out, &y);
    out[31] = (uint8_t)(out[31] | (fe_is_negative(&x) << 7));
}

/* RFC 8032 5.1.3 with the strict checks: y < p, on the curve, no x = 0 with sign 1. */
static bool pt_decode(pt_t *p, const uint8_t in[32])
{
    fe_t y, u, v, v3, x, t, chk;
    uint8_t canon[32];
    uint32_t sign = in[31] >> 7;
    fe_from_bytes(&y, in);
    fe_to_bytes(canon, &y);
    canon[31] = (uint8_t)(canon[31] | (sign << 7));
    if (memcmp(canon, in, 32) != 0) {
        return false; /* y >= p */
    }
    fe_t one;
    fe_set(&one, 1);
    fe_sq(&u, &y);
    fe_mul(&v, &u, &FE_D);
    fe_sub(&u, &u, &one); /* u = y^2 - 1 */
    fe_add(&v, &v, &one); /* v = d y^2 + 1 */
    fe_sq(&v3, &v);
    fe_mul(&v3, &v3, &v); /* v^3 */
    fe_sq(&t, &v3);
    fe_mul(&t, &t, &v);
    fe_mul(&t, &t, &u); /* u v^7 */
    fe_pow_p58(&t, &t);
    fe_mul(&x, &t, &v3);
    fe_mul(&x, &x, &u); /* x = u v^3 (u v^7)^((p-5)/8) */
    fe_sq(&chk, &x);
    fe_mul(&chk, &chk, &v);
    if (!fe_eq(&chk, &u)) {
        fe_t nu;
        fe_neg(&nu, &u);
        if (!fe_eq(&chk, &nu)) {
            return false; /* u/v is not a square: not on the curve */
        }
        fe_mul(&x, &x, &FE_SQRTM1);
    }
    if (fe_is_zero(&x) && sign) {
        return false;
    }
    if (fe_is_negative(&x) != sign) {
        fe_neg(&x, &x);
    }
    p->x = x;
    p->y = y;
    fe_set(&p->z, 1);
    fe_mul(&p->t, &x, &y);
    return true;
}

/* ---- scalars mod L -------------------------------------------------------------------- */

/* True when the little-endian 32-byte s is below L. */
static bool sc_is_canonical(const uint8_t s[32])
{
    for (int i = 31; i >= 0; i--) {
        uint8_t l = (uint8_t)(SC_L[(unsigned)i / 4u] >> (8u * ((unsigned)i % 4u)));
        if (s[i] != l) {
            return s[i] < l;
        }
    }
    return false; /* s == L */
}

/* r = h mod L for a 512-bit little-endian h, one bit at a time (r < L < 2^253 throughout). */
static void sc_reduce512(uint32_t r[8], const uint8_t h[64])
{
    memset(r, 0, 8u * sizeof(uint32_t));
    for (int bit = 511; bit >= 0; bit--) {
        uint32_t in = (uint32_t)(h[bit / 8] >> (bit % 8)) & 1u;
        for (unsigned i = 7u; i > 0u; i--) {
            r[i] = (r[i] << 1) | (r[i - 1u] >> 31);
        }
        r[0] = (r[0] << 1) | in;
        uint32_t t[8];
        uint32_t borrow = 0;
        for (unsigned i = 0; i < 8u; i++) {
            uint64_t d = (uint64_t)r[i] - SC_L[i] - borrow;
            t[i] = (uint32_t)d;
            borrow = (uint32_t)(d >> 32) & 1u;
        }
        uint32_t keep_t = borrow - 1u;
        for (unsigned i = 0; i < 8u; i++) {
            r[i] = (t[i] & keep_t) | (r[i] & ~keep_t);
        }
    }
}

static unsigned sc_bit(const uint32_t s[8], unsigned i)
{
    return (unsigned)(s[i / 32u] >> (i % 32u)) & 1u;
}

/* r = [a]B + [b]P, Straus-Shamir double-and-add (variable time in the public a, b). */
static void double_scalarmult(pt_t *r, const uint32_t a[8], const pt_t *p, const uint32_t b[8])
{
    pt_t table[3]; /* B, P, B + P */
    table[0] = BASE;
    table[1] = *p;
    pt_add(&table[2], &BASE, p);
    pt_identity(r);
    for (int i = 252; i >= 0; i--) { /* a, b < L < 2^253 */
        pt_double(r, r);
        unsigned sel = sc_bit(a, (unsigned)i) | (sc_bit(b, (unsigned)i) << 1);
        if (sel != 0u) {
            pt_add(r, r, &table[sel - 1u]);
        }
    }
}

/* ---- verification --------------------------------------------------------------------- */

const char *tl_ed25519_status_name(tl_ed25519_status_t status)
{
    switch (status) {
    case TL_ED25519_OK: return "ok";
    case TL_ED25519_ERR_ARG: return "bad_argument";
    case TL_ED25519_ERR_KEY_ENCODING: return "key_encoding";
    case TL_ED25519_ERR_KEY_SMALL_ORDER: return "key_small_order";
    case TL_ED25519_ERR_R_ENCODING: return "r_encoding";
    case TL_ED25519_ERR_R_SMALL_ORDER: return "r_small_order";
    case TL_ED25519_ERR_S_NONCANONICAL: return "s_noncanonical";
    case TL_ED25519_ERR_MISMATCH: return "mismatch";
    }
    return "unknown";
}

static tl_ed25519_status_t check_encodings(tl_ed25519_verify_t *v, const uint8_t pub[32])
{
    pt_t a, r;
    if (!pt_decode(&a, pub)) {
        return TL_ED25519_ERR_KEY_ENCODING;
    }
    if (pt_is_small_order(&a)) {
        return TL_ED25519_ERR_KEY_SMALL_ORDER;
    }
    if (!pt_decode(&r, v->sig)) {
        return TL_ED25519_ERR_R_ENCODING;
    }
    if (pt_is_small_order(&r)) {
        return TL_ED25519_ERR_R_SMALL_ORDER;
    }
    if (!sc_is_canonical(v->sig + 32)) {
        return TL_ED25519_ERR_S_NONCANONICAL;
    }
    pt_neg(&v->neg_a, &a);
    return TL_ED25519_OK;
}

tl_ed25519_status_t tl_ed25519_verify_start(tl_ed25519_verify_t *v,
                                            const uint8_t sig[TL_ED25519_SIGNATURE_SIZE],
                                            const uint8_t public_key[TL_ED25519_PUBLIC_KEY_SIZE])
{
    if (v == NULL) {
        return TL_ED25519_ERR_ARG;
    }
    memset(v, 0, sizeof(*v));
    if (sig == NULL || public_key == NULL) {
        v->status = TL_ED25519_ERR_ARG;
        return v->status;
    }
    memcpy(v->sig, sig, sizeof(v->sig));
    v->status = check_encodings(v, public_key);
    tl_sha512_init(&v->hash);
    tl_sha512_update(&v->hash, v->sig, 32u);
    tl_sha512_update(&v->hash, public_key, TL_ED25519_PUBLIC_KEY_SIZE);
    return v->status;
}

void tl_ed25519_verify_update(tl_ed25519_verify_t *v, const uint8_t *msg, size_t len)
{
    if (v == NULL || v->status != TL_ED25519_OK) {
        return;
    }
    if (msg == NULL && len > 0u) {
        v->status = TL_ED25519_ERR_ARG;
        return;
    }
    tl_sha512_update(&v->hash, msg, len);
}

tl_ed25519_status_t tl_ed25519_verify_finish(tl_ed25519_verify_t *v)
{
    if (v == NULL) {
        return TL_ED25519_ERR_ARG;
    }
    if (v->status != TL_ED25519_OK) {
        return v->status;
    }
    uint8_t h[TL_SHA512_SIZE];
    tl_sha512_final(&v->hash, h);
    uint32_t k[8], s[8];
    sc_reduce512(k, h);
    for (unsigned i = 0; i < 8u; i++) {
        const uint8_t *b = v->sig + 32u + 4u * i;
        s[i] = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
               ((uint32_t)b[3] << 24);
    }
    pt_t check;
    double_scalarmult(&check, s, &v->neg_a, k); /* [S]B - [k]A */
    uint8_t enc[32];
    pt_encode(enc, &check);
    /* Must equal R byte for byte: R was checked canonical, so this is point equality. */
    v->status = memcmp(enc, v->sig, 32) == 0 ? TL_ED25519_OK : TL_ED25519_ERR_MISMATCH;
    return v->status;
}

tl_ed25519_status_t tl_ed25519_verify(const uint8_t sig[TL_ED25519_SIGNATURE_SIZE],
                                      const uint8_t *msg, size_t len,
                                      const uint8_t public_key[TL_ED25519_PUBLIC_KEY_SIZE])
{
    tl_ed25519_verify_t v;
    if (msg == NULL && len > 0u) {
        return TL_ED25519_ERR_ARG;
    }
    if (tl_ed25519_verify_start(&v, sig, public_key) != TL_ED25519_OK) {
        return v.status;
    }
    tl_ed25519_verify_update(&v, msg, len);
    return tl_ed25519_verify_finish(&v);
}
