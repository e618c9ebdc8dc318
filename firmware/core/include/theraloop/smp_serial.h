/*
 * smp_serial.h - the SMP serial ("console") transport of MCUmgr: framing of SMP packets
 * as base64 text lines, as spoken by Zephyr's UART/shell transports, smpclient and mcumgr.
 *
 *   frame   = length (2, big-endian: SMP packet + CRC) + SMP packet + CRC-16/XMODEM
 *             (2, big-endian, over the SMP packet)
 *   on wire = base64(frame) cut into lines: the first starts with 0x06 0x09, every further
 *             line with 0x04 0x14, each ends with '\n'
 *
 * Receive: a byte-at-a-time state machine fed with arbitrary chunks. Bytes outside a frame
 * line (console text, boot banners) are ignored; a start marker anywhere begins a new
 * packet, abandoning an unfinished one. Each line is base64-decoded on its own, straight
 * into the reassembly buffer, so lines of any length are accepted (smpclient sends 127
 * bytes per line, others 128) while the decoded frame is bounded by the buffer. A line
 * with invalid base64, a wrong length, a bad CRC or an oversize length drops the packet
 * (counted in tl_smp_stats_t) and the parser waits for the next start marker. A '\r' inside
 * a line is ignored.
 *
 * Transmit: lines of at most TL_SMP_SERIAL_MAX_LINE bytes including marker and newline
 * (93 frame bytes = 124 base64 characters per line, padding only in the last line),
 * byte-identical to smp.packet.encode(pkt, line_length=128).
 */
#ifndef THERALOOP_SMP_SERIAL_H
#define THERALOOP_SMP_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "theraloop/base64.h"
#include "theraloop/smp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TL_SMP_SERIAL_MAX_LINE 127u
/* Frame bytes carried by one transmitted line: (127 - 2 marker - 1 newline) / 4 * 3. */
#define TL_SMP_SERIAL_LINE_RAW 93u
/* Largest SMP packet the frame's 16-bit length field can describe. */
#define TL_SMP_SERIAL_MAX_PACKET 65533u

typedef struct {
    uint8_t *buf;         /* reassembly buffer: length + packet + CRC */
    size_t cap;
    size_t len;           /* decoded bytes in buf */
    uint16_t frame_len;   /* the length field (packet + CRC), once len >= 2 */
    bool in_packet;       /* a start line was seen and the packet is unfinished */
    bool in_line;         /* inside a frame line (after its marker, before '\n') */
    uint8_t prev;         /* previous byte outside a frame line, for marker detection */
    tl_base64_stream_t b64;
    tl_smp_stats_t *stats;
    tl_smp_stats_t own_stats; /* used when no counters were given */
} tl_smp_serial_rx_t;

/* Set up a receiver over `buf` (cap bytes: the MCUmgr buf_size; at least 12). Counters go
 * to *stats (e.g. the server's, so `info` reports them), or into the receiver if NULL. */
void tl_smp_serial_rx_init(tl_smp_serial_rx_t *rx, uint8_t *buf, size_t cap,
                           tl_smp_stats_t *stats);

/* Forget any partial packet (counters are kept). */
void tl_smp_serial_rx_reset(tl_smp_serial_rx_t *rx);

/* Consume bytes until a packet completes or the input is used up; returns the number of
 * bytes consumed. When a packet completed, *pkt / *pkt_len describe the SMP packet (header
 * + CBOR, CRC checked and removed), valid until the next call; otherwise *pkt is NULL.
 * Call again with the remaining bytes. */
size_t tl_smp_serial_rx_feed(tl_smp_serial_rx_t *rx, const uint8_t *data, size_t len,
                             const uint8_t **pkt, size_t *pkt_len);

/* Receives encoded output, one whole line (marker .. '\n') per call. */
typedef void (*tl_smp_serial_write_fn)(void *ctx, const uint8_t *data, size_t len);

typedef enum {
    TL_SMP_SERIAL_OK = 0,
    TL_SMP_SERIAL_ERR_TOO_LONG = 1, /* pkt_len > TL_SMP_SERIAL_MAX_PACKET */
} tl_smp_serial_err_t;

/* Frame and encode one SMP packet, calling write once per line. */
tl_smp_serial_err_t tl_smp_serial_encode(const uint8_t *pkt, size_t pkt_len,
                                         tl_smp_serial_write_fn write, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_SMP_SERIAL_H */
