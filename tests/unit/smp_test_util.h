/*
 * smp_test_util.h - reference implementations for the SMP tests, written independently of
 * the firmware's (bitwise CRC, table-free base64, a line-by-line frame parser/encoder), and
 * capture buffers for output. Header-only; every function is static.
 */
#ifndef SMP_TEST_UTIL_H
#define SMP_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Bitwise CRC-16/XMODEM. */
static inline uint16_t ref_crc16(const uint8_t *p, size_t n)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++) {
            crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

static const char ref_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static inline int ref_b64_value(uint8_t c)
{
    for (int i = 0; i < 64; i++) {
        if ((uint8_t)ref_b64_alphabet[i] == c) {
            return i;
        }
    }
    return -1;
}

/* Decode one base64 text (length multiple of 4, padding only at the end). */
static inline bool ref_b64_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *out_n)
{
    if (n % 4u != 0u) {
        return false;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4u) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            if (in[i + (size_t)k] == '=') {
                if (i + 4u != n || k < 2) {
                    return false;
                }
                v[k] = 0;
                pad++;
            } else {
                if (pad > 0) {
                    return false;
                }
                v[k] = ref_b64_value(in[i + (size_t)k]);
                if (v[k] < 0) {
                    return false;
                }
            }
        }
        uint32_t bits = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) |
                        (uint32_t)v[3];
        uint8_t bytes[3] = {(uint8_t)(bits >> 16), (uint8_t)(bits >> 8), (uint8_t)bits};
        for (int k = 0; k < 3 - pad; k++) {
            if (o >= cap) {
                return false;
            }
            out[o++] = bytes[k];
        }
    }
    *out_n = o;
    return true;
}

static inline size_t ref_b64_encode(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3u) {
        uint32_t b0 = in[i];
        uint32_t b1 = (i + 1u < n) ? in[i + 1u] : 0u;
        uint32_t b2 = (i + 2u < n) ? in[i + 2u] : 0u;
        uint32_t bits = (b0 << 16) | (b1 << 8) | b2;
        out[o++] = (uint8_t)ref_b64_alphabet[(bits >> 18) & 63u];
        out[o++] = (uint8_t)ref_b64_alphabet[(bits >> 12) & 63u];
        out[o++] = (i + 1u < n) ? (uint8_t)ref_b64_alphabet[(bits >> 6) & 63u] : (uint8_t)'=';
        out[o++] = (i + 2u < n) ? (uint8_t)ref_b64_alphabet[bits & 63u] : (uint8_t)'=';
    }
    return o;
}

/* Frame a packet like smp.packet.encode: base64 of (length, packet, crc) cut every
 * `chars_per_line` characters (a multiple of 4). length_field and crc may be overridden
 * (pass -1 to compute). Returns the wire size. */
static inline size_t ref_frame(const uint8_t *pkt, size_t n, long length_field, long crc,
                        size_t chars_per_line, uint8_t *wire, size_t cap)
{
    static uint8_t raw[70000];
    static uint8_t b64[94000];
    size_t len_val = (length_field < 0) ? n + 2u : (size_t)length_field;
    uint16_t crc_val = (crc < 0) ? ref_crc16(pkt, n) : (uint16_t)crc;
    raw[0] = (uint8_t)(len_val >> 8);
    raw[1] = (uint8_t)len_val;
    memcpy(raw + 2, pkt, n);
    raw[2u + n] = (uint8_t)(crc_val >> 8);
    raw[3u + n] = (uint8_t)crc_val;
    size_t chars = ref_b64_encode(raw, n + 4u, b64);
    size_t w = 0;
    for (size_t pos = 0; pos < chars; pos += chars_per_line) {
        size_t take = (chars - pos < chars_per_line) ? chars - pos : chars_per_line;
        if (w + take + 3u > cap) {
            return 0;
        }
        wire[w++] = (pos == 0u) ? 0x06 : 0x04;
        wire[w++] = (pos == 0u) ? 0x09 : 0x14;
        memcpy(wire + w, b64 + pos, take);
        w += take;
        wire[w++] = '\n';
    }
    return w;
}

/* Parse exactly one framed packet from `wire` the way smp.packet.decode does: every line
 * decoded on its own, length and CRC checked. Reports the number of lines and the longest
 * line (marker and newline included). */
static inline bool ref_unframe(const uint8_t *wire, size_t n, uint8_t *pkt, size_t cap, size_t *pkt_len,
                        size_t *lines, size_t *longest)
{
    static uint8_t frame[70000];
    size_t flen = 0;
    size_t pos = 0;
    *lines = 0;
    *longest = 0;
    while (pos < n) {
        const uint8_t *nl = memchr(wire + pos, '\n', n - pos);
        if (nl == NULL) {
            return false;
        }
        size_t line_len = (size_t)(nl - (wire + pos)) + 1u;
        if (line_len < 3u) {
            return false;
        }
        bool first = (*lines == 0u);
        if (wire[pos] != (first ? 0x06 : 0x04) || wire[pos + 1u] != (first ? 0x09 : 0x14)) {
            return false;
        }
        size_t got = 0;
        if (!ref_b64_decode(wire + pos + 2u, line_len - 3u, frame + flen, sizeof(frame) - flen,
                            &got)) {
            return false;
        }
        flen += got;
        (*lines)++;
        if (line_len > *longest) {
            *longest = line_len;
        }
        pos += line_len;
    }
    if (flen < 4u) {
        return false;
    }
    size_t len_field = ((size_t)frame[0] << 8) | frame[1];
    if (len_field != flen - 2u) {
        return false;
    }
    size_t body = flen - 4u;
    uint16_t crc = (uint16_t)((frame[2u + body] << 8) | frame[3u + body]);
    if (crc != ref_crc16(frame + 2, body) || body > cap) {
        return false;
    }
    memcpy(pkt, frame + 2, body);
    *pkt_len = body;
    return true;
}

/* Output captured as one byte stream. */
typedef struct {
    uint8_t data[32768];
    size_t len;
    size_t writes;
    bool overflow;
} byte_capture_t;

static inline void byte_capture_write(void *ctx, const uint8_t *data, size_t len)
{
    byte_capture_t *c = (byte_capture_t *)ctx;
    c->writes++;
    if (len > sizeof(c->data) - c->len) {
        c->overflow = true;
        return;
    }
    memcpy(c->data + c->len, data, len);
    c->len += len;
}

/* Response packets captured one by one. */
#define PKT_CAPTURE_MAX 8
typedef struct {
    uint8_t pkt[PKT_CAPTURE_MAX][4096];
    size_t len[PKT_CAPTURE_MAX];
    size_t n;
} pkt_capture_t;

static inline void pkt_capture_output(void *ctx, const uint8_t *pkt, size_t len)
{
    pkt_capture_t *c = (pkt_capture_t *)ctx;
    if (c->n < PKT_CAPTURE_MAX && len <= sizeof(c->pkt[0])) {
        memcpy(c->pkt[c->n], pkt, len);
        c->len[c->n] = len;
    }
    c->n++;
}

#endif /* SMP_TEST_UTIL_H */
