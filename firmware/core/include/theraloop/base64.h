/*
 * base64.h - RFC 4648 base64 (standard alphabet, '=' padding), encode and strict decode.
 *
 * The decoder is available one character at a time (tl_base64_stream_*), so the SMP serial
 * transport can decode a line straight into its reassembly buffer without a line buffer.
 * Strict means: only the 64 alphabet characters and '=' are accepted, a group of four
 * characters may end with "=" or "==" only, nothing may follow a padded group, and the
 * input must end on a group boundary. Non-zero bits in the unused part of a padded group
 * are accepted (as Python's and Zephyr's decoders do).
 */
#ifndef THERALOOP_BASE64_H
#define THERALOOP_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TL_BASE64_OK = 0,
    TL_BASE64_ERR_INVALID = 1, /* bad character, bad padding, or not a multiple of 4 */
    TL_BASE64_ERR_NOSPACE = 2, /* the output buffer is too small */
} tl_base64_err_t;

/* Characters needed to encode n bytes (without a terminating NUL). */
#define TL_BASE64_ENCODED_LEN(n) ((((size_t)(n) + 2u) / 3u) * 4u)
/* Upper bound of the bytes a base64 text of n characters decodes to. */
#define TL_BASE64_DECODED_MAX(n) (((size_t)(n) / 4u) * 3u)

/* Encode `len` bytes into `out` (no NUL terminator). *out_len receives the character count. */
tl_base64_err_t tl_base64_encode(const uint8_t *in, size_t len, char *out, size_t out_cap,
                                 size_t *out_len);

/* Decode `len` characters into `out`. *out_len receives the byte count. */
tl_base64_err_t tl_base64_decode(const char *in, size_t len, uint8_t *out, size_t out_cap,
                                 size_t *out_len);

/* Incremental strict decoder state. */
typedef struct {
    uint8_t sextets[4]; /* the current group of four characters */
    uint8_t count;      /* characters of the current group seen so far (0..3) */
    uint8_t pad;        /* '=' seen in the current group */
    bool ended;         /* a padded group was completed: only the end may follow */
} tl_base64_stream_t;

void tl_base64_stream_reset(tl_base64_stream_t *s);

/* Feed one character. On success, *out_n (0..3) bytes were written to out. After an error
 * the state is undefined until the next reset. */
tl_base64_err_t tl_base64_stream_put(tl_base64_stream_t *s, uint8_t c, uint8_t out[3],
                                     size_t *out_n);

/* Whether the input so far ends on a group boundary (a valid end of text). */
bool tl_base64_stream_complete(const tl_base64_stream_t *s);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_BASE64_H */
