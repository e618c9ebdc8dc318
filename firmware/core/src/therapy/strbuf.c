/*
 * strbuf.c - bounded text building for reason strings.
 */
#include "strbuf.h"

void tl_sb_init(tl_strbuf_t *sb, char *buf, size_t cap)
{
    sb->buf = buf;
    sb->cap = cap;
    sb->len = 0;
    if (cap > 0u) {
        buf[0] = '\0';
    }
}

static void sb_char(tl_strbuf_t *sb, char c)
{
    if (sb->cap == 0u || sb->len + 1u >= sb->cap) {
        return;
    }
    sb->buf[sb->len++] = c;
    sb->buf[sb->len] = '\0';
}

void tl_sb_str(tl_strbuf_t *sb, const char *s)
{
    if (s == NULL) {
        return;
    }
    while (*s != '\0') {
        sb_char(sb, *s++);
    }
}

static void sb_u64(tl_strbuf_t *sb, uint64_t v, uint32_t min_digits)
{
    char digits[24];
    uint32_t n = 0;
    do {
        digits[n++] = (char)('0' + (char)(v % 10u));
        v /= 10u;
    } while (v != 0u && n < sizeof digits);
    while (n < min_digits && n < sizeof digits) {
        digits[n++] = '0';
    }
    while (n > 0u) {
        sb_char(sb, digits[--n]);
    }
}

static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)(-(v + 1)) + 1u : (uint64_t)v;
}

void tl_sb_i64(tl_strbuf_t *sb, int64_t v)
{
    if (v < 0) {
        sb_char(sb, '-');
    }
    sb_u64(sb, magnitude(v), 1u);
}

void tl_sb_fixed(tl_strbuf_t *sb, int64_t v, uint32_t decimals)
{
    uint64_t scale = 1u;
    for (uint32_t i = 0; i < decimals; i++) {
        scale *= 10u;
    }
    uint64_t m = magnitude(v);
    if (v < 0) {
        sb_char(sb, '-');
    }
    sb_u64(sb, m / scale, 1u);
    if (decimals > 0u) {
        sb_char(sb, '.');
        sb_u64(sb, m % scale, decimals);
    }
}
