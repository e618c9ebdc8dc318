/*
 * base64.c - RFC 4648 base64 encode / strict decode (see base64.h).
 */
#include "theraloop/base64.h"

static const char k_alphabet[64] = {
    'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P',
    'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'a', 'b', 'c', 'd', 'e', 'f',
    'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v',
    'w', 'x', 'y', 'z', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '+', '/',
};

#define SEXTET_INVALID 0xFFu
#define SEXTET_PAD 0xFEu

/* Value of a base64 character, SEXTET_PAD for '=', SEXTET_INVALID otherwise. */
static uint8_t sextet_of(uint8_t c)
{
    if (c >= (uint8_t)'A' && c <= (uint8_t)'Z') {
        return (uint8_t)(c - (uint8_t)'A');
    }
    if (c >= (uint8_t)'a' && c <= (uint8_t)'z') {
        return (uint8_t)(c - (uint8_t)'a' + 26u);
    }
    if (c >= (uint8_t)'0' && c <= (uint8_t)'9') {
        return (uint8_t)(c - (uint8_t)'0' + 52u);
    }
    if (c == (uint8_t)'+') {
        return 62u;
    }
    if (c == (uint8_t)'/') {
        return 63u;
    }
    if (c == (uint8_t)'=') {
        return SEXTET_PAD;
    }
    return SEXTET_INVALID;
}

tl_base64_err_t tl_base64_encode(const uint8_t *in, size_t len, char *out, size_t out_cap,
                                 size_t *out_len)
{
    if (len > (SIZE_MAX / 4u) * 3u - 2u) {
        return TL_BASE64_ERR_NOSPACE;
    }
    size_t need = TL_BASE64_ENCODED_LEN(len);
    if (need > out_cap) {
        return TL_BASE64_ERR_NOSPACE;
    }
    size_t o = 0;
    size_t i = 0;
    while (len - i >= 3u) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1u] << 8) | in[i + 2u];
        out[o++] = k_alphabet[(v >> 18) & 0x3Fu];
        out[o++] = k_alphabet[(v >> 12) & 0x3Fu];
        out[o++] = k_alphabet[(v >> 6) & 0x3Fu];
        out[o++] = k_alphabet[v & 0x3Fu];
        i += 3u;
    }
    size_t rest = len - i;
    if (rest > 0u) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (rest == 2u) {
            v |= (uint32_t)in[i + 1u] << 8;
        }
        out[o++] = k_alphabet[(v >> 18) & 0x3Fu];
        out[o++] = k_alphabet[(v >> 12) & 0x3Fu];
        out[o++] = (rest == 2u) ? k_alphabet[(v >> 6) & 0x3Fu] : '=';
        out[o++] = '=';
    }
    *out_len = o;
    return TL_BASE64_OK;
}

void tl_base64_stream_reset(tl_base64_stream_t *s)
{
    s->count = 0;
    s->pad = 0;
    s->ended = false;
}

tl_base64_err_t tl_base64_stream_put(tl_base64_stream_t *s, uint8_t c, uint8_t out[3],
                                     size_t *out_n)
{
    *out_n = 0;
    if (s->ended) {
        return TL_BASE64_ERR_INVALID; /* data after a padded group */
    }
    uint8_t v = sextet_of(c);
    if (v == SEXTET_INVALID) {
        return TL_BASE64_ERR_INVALID;
    }
    if (v == SEXTET_PAD) {
        /* '=' may only stand in positions 2 and 3 of a group ("xx==" or "xxx="). */
        if (s->count < 2u) {
            return TL_BASE64_ERR_INVALID;
        }
        s->pad++;
        v = 0;
    } else if (s->pad > 0u) {
        return TL_BASE64_ERR_INVALID; /* "xx=x" */
    }
    s->sextets[s->count++] = v;
    if (s->count < 4u) {
        return TL_BASE64_OK;
    }
    uint32_t bits = ((uint32_t)s->sextets[0] << 18) | ((uint32_t)s->sextets[1] << 12) |
                    ((uint32_t)s->sextets[2] << 6) | (uint32_t)s->sextets[3];
    size_t n = 3u - s->pad;
    out[0] = (uint8_t)(bits >> 16);
    if (n > 1u) {
        out[1] = (uint8_t)(bits >> 8);
    }
    if (n > 2u) {
        out[2] = (uint8_t)bits;
    }
    *out_n = n;
    s->ended = s->pad > 0u;
    s->count = 0;
    s->pad = 0;
    return TL_BASE64_OK;
}

bool tl_base64_stream_complete(const tl_base64_stream_t *s)
{
    return s->count == 0u;
}

tl_base64_err_t tl_base64_decode(const char *in, size_t len, uint8_t *out, size_t out_cap,
                                 size_t *out_len)
{
    tl_base64_stream_t s;
    tl_base64_stream_reset(&s);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t group[3];
        size_t n = 0;
        tl_base64_err_t err = tl_base64_stream_put(&s, (uint8_t)in[i], group, &n);
        if (err != TL_BASE64_OK) {
            return err;
        }
        if (n > out_cap - o) {
            return TL_BASE64_ERR_NOSPACE;
        }
        for (size_t k = 0; k < n; k++) {
            out[o++] = group[k];
        }
    }
    if (!tl_base64_stream_complete(&s)) {
        return TL_BASE64_ERR_INVALID;
    }
    *out_len = o;
    return TL_BASE64_OK;
}
