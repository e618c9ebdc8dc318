/*
 * smp_serial.c - SMP serial transport: line framing, base64, length and CRC (see
 * smp_serial.h for the format and the resynchronisation rules).
 */
#include <string.h>

#include "theraloop/crc16.h"
#include "theraloop/smp_serial.h"

#define MARK_START_0 0x06u
#define MARK_START_1 0x09u
#define MARK_CONT_0 0x04u
#define MARK_CONT_1 0x14u
#define FRAME_LEN_SIZE 2u
#define FRAME_CRC_SIZE 2u
/* Smallest useful buffer: length, an SMP header and the CRC. */
#define RX_MIN_CAP (FRAME_LEN_SIZE + TL_SMP_HDR_SIZE + FRAME_CRC_SIZE)

void tl_smp_serial_rx_reset(tl_smp_serial_rx_t *rx)
{
    rx->len = 0;
    rx->frame_len = 0;
    rx->in_packet = false;
    rx->in_line = false;
    rx->prev = 0;
    tl_base64_stream_reset(&rx->b64);
}

void tl_smp_serial_rx_init(tl_smp_serial_rx_t *rx, uint8_t *buf, size_t cap,
                           tl_smp_stats_t *stats)
{
    rx->buf = buf;
    /* A buffer below the minimum accepts nothing; more than the length field can
     * describe is never used. */
    if (buf == NULL || cap < RX_MIN_CAP) {
        cap = 0;
    }
    if (cap > (size_t)TL_SMP_SERIAL_MAX_PACKET + FRAME_LEN_SIZE + FRAME_CRC_SIZE) {
        cap = (size_t)TL_SMP_SERIAL_MAX_PACKET + FRAME_LEN_SIZE + FRAME_CRC_SIZE;
    }
    rx->cap = cap;
    memset(&rx->own_stats, 0, sizeof(rx->own_stats));
    rx->stats = (stats != NULL) ? stats : &rx->own_stats;
    tl_smp_serial_rx_reset(rx);
}

static void count(uint32_t *counter)
{
    if (*counter < UINT32_MAX) {
        (*counter)++;
    }
}

/* Drop the packet being assembled; the parser then waits for a start marker. */
static void abandon(tl_smp_serial_rx_t *rx, uint32_t *counter)
{
    if (counter != NULL) {
        count(counter);
    }
    tl_smp_serial_rx_reset(rx);
}

/* A character inside a frame line. Returns false if it ended the packet (error). */
static bool line_char(tl_smp_serial_rx_t *rx, uint8_t c)
{
    uint8_t out[3];
    size_t n = 0;
    if (rx->cap == 0u) {
        abandon(rx, &rx->stats->oversize);
        return false;
    }
    if (tl_base64_stream_put(&rx->b64, c, out, &n) != TL_BASE64_OK) {
        abandon(rx, &rx->stats->bad_base64);
        return false;
    }
    for (size_t k = 0; k < n; k++) {
        if (rx->len >= FRAME_LEN_SIZE && rx->len - FRAME_LEN_SIZE >= rx->frame_len) {
            abandon(rx, &rx->stats->dropped); /* more data than the length field says */
            return false;
        }
        /* In bounds: before the length is known len < 2 < cap; after, frame_len + 2 <= cap
         * and len - 2 < frame_len. */
        rx->buf[rx->len++] = out[k];
        if (rx->len == FRAME_LEN_SIZE) {
            rx->frame_len = (uint16_t)(((uint16_t)rx->buf[0] << 8) | rx->buf[1]);
            if ((size_t)rx->frame_len > rx->cap - FRAME_LEN_SIZE) {
                abandon(rx, &rx->stats->oversize);
                return false;
            }
            if (rx->frame_len < FRAME_CRC_SIZE) {
                abandon(rx, &rx->stats->dropped);
                return false;
            }
        }
    }
    return true;
}

/* The '\n' of a frame line. Returns true if it completed a packet with a good CRC. */
static bool line_end(tl_smp_serial_rx_t *rx, const uint8_t **pkt, size_t *pkt_len)
{
    if (!tl_base64_stream_complete(&rx->b64)) {
        abandon(rx, &rx->stats->bad_base64);
        return false;
    }
    rx->in_line = false;
    rx->prev = 0;
    if (rx->len < FRAME_LEN_SIZE) {
        abandon(rx, &rx->stats->dropped); /* the first line must carry the length */
        return false;
    }
    if (rx->len - FRAME_LEN_SIZE < rx->frame_len) {
        return false; /* continuation lines follow */
    }
    size_t n = (size_t)rx->frame_len - FRAME_CRC_SIZE;
    const uint8_t *packet = rx->buf + FRAME_LEN_SIZE;
    uint16_t want = (uint16_t)(((uint16_t)packet[n] << 8) | packet[n + 1u]);
    if (tl_crc16_xmodem(0, packet, n) != want) {
        abandon(rx, &rx->stats->bad_crc);
        return false;
    }
    count(&rx->stats->frames_ok);
    tl_smp_serial_rx_reset(rx); /* the bytes stay in buf until the next feed */
    *pkt = packet;
    *pkt_len = n;
    return true;
}

size_t tl_smp_serial_rx_feed(tl_smp_serial_rx_t *rx, const uint8_t *data, size_t len,
                             const uint8_t **pkt, size_t *pkt_len)
{
    *pkt = NULL;
    *pkt_len = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = data[i];
        if (rx->in_line) {
            if (b == (uint8_t)'\n') {
                if (line_end(rx, pkt, pkt_len)) {
                    return i + 1u;
                }
                continue;
            }
            if (b == (uint8_t)'\r' || line_char(rx, b)) {
                continue;
            }
            /* The line broke off: look at this byte again as console data (it may
             * begin the next start marker). */
        }
        if (rx->prev == MARK_START_0 && b == MARK_START_1) {
            if (rx->in_packet) {
                count(&rx->stats->dropped); /* cut off by a new packet */
            }
            tl_smp_serial_rx_reset(rx);
            rx->in_packet = true;
            rx->in_line = true;
        } else if (rx->prev == MARK_CONT_0 && b == MARK_CONT_1) {
            rx->prev = 0;
            if (rx->in_packet) {
                rx->in_line = true;
                tl_base64_stream_reset(&rx->b64);
            }
            /* else: a continuation of a packet we never saw start (or already dropped) */
        } else {
            rx->prev = b;
        }
    }
    return len;
}

/* Byte i of the frame: length (2), packet, CRC (2). */
static uint8_t frame_byte(const uint8_t *pkt, size_t n, uint16_t crc, size_t i)
{
    size_t frame_len = n + FRAME_CRC_SIZE;
    if (i == 0u) {
        return (uint8_t)(frame_len >> 8);
    }
    if (i == 1u) {
        return (uint8_t)(frame_len & 0xFFu);
    }
    if (i < FRAME_LEN_SIZE + n) {
        return pkt[i - FRAME_LEN_SIZE];
    }
    return (i == FRAME_LEN_SIZE + n) ? (uint8_t)(crc >> 8) : (uint8_t)(crc & 0xFFu);
}

tl_smp_serial_err_t tl_smp_serial_encode(const uint8_t *pkt, size_t pkt_len,
                                         tl_smp_serial_write_fn write, void *ctx)
{
    if (pkt_len > TL_SMP_SERIAL_MAX_PACKET) {
        return TL_SMP_SERIAL_ERR_TOO_LONG;
    }
    uint16_t crc = tl_crc16_xmodem(0, pkt, pkt_len);
    size_t total = FRAME_LEN_SIZE + pkt_len + FRAME_CRC_SIZE;
    uint8_t raw[TL_SMP_SERIAL_LINE_RAW];
    char line[TL_SMP_SERIAL_MAX_LINE];
    bool first = true;
    for (size_t pos = 0; pos < total;) {
        size_t chunk = total - pos;
        if (chunk > sizeof(raw)) {
            chunk = sizeof(raw);
        }
        for (size_t k = 0; k < chunk; k++) {
            raw[k] = frame_byte(pkt, pkt_len, crc, pos + k);
        }
        line[0] = (char)(first ? MARK_START_0 : MARK_CONT_0);
        line[1] = (char)(first ? MARK_START_1 : MARK_CONT_1);
        size_t chars = 0;
        /* Cannot fail: 93 bytes encode to 124 characters, the room left in line. */
        (void)tl_base64_encode(raw, chunk, &line[2], sizeof(line) - 3u, &chars);
        line[2u + chars] = '\n';
        if (write != NULL) {
            write(ctx, (const uint8_t *)line, 3u + chars);
        }
        pos += chunk;
        first = false;
    }
    return TL_SMP_SERIAL_OK;
}
