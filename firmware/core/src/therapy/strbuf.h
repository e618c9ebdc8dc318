/*
 * strbuf.h - bounded text building for reason strings (no printf in the core).
 * Always NUL-terminated; text that does not fit is cut off.
 */
#ifndef THERALOOP_THERAPY_STRBUF_H
#define THERALOOP_THERAPY_STRBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *buf;
    size_t cap; /* bytes including the terminator */
    size_t len;
} tl_strbuf_t;

void tl_sb_init(tl_strbuf_t *sb, char *buf, size_t cap);
void tl_sb_str(tl_strbuf_t *sb, const char *s);
void tl_sb_i64(tl_strbuf_t *sb, int64_t v);
/* v / 10^decimals with exactly `decimals` digits after the point ("31.20"). */
void tl_sb_fixed(tl_strbuf_t *sb, int64_t v, uint32_t decimals);

#endif /* THERALOOP_THERAPY_STRBUF_H */
