/*
 * afe_link.h - the sample link from the analog front end (AFE): framed blocks of int16
 * samples with a sequence number, received byte by byte (USART2 on stm32f4).
 *
 * Frame (version 1, every multi-byte field little-endian; full table in docs/sensing.md):
 *
 *   off  size  field
 *     0     2  sync 0xA5 0x5A
 *     2     1  version (1)
 *     3     1  flags: bit0 SATURATED, bit1 LEAD_OFF; bits 2..7 reserved, must be 0
 *     4     2  sequence number (u16, +1 per block, wraps)
 *     6     1  channels (1..4)
 *     7     1  samples per channel (1..255; channels x samples <= TL_AFE_MAX_SAMPLES)
 *     8     1  sample-rate code (1 = 250 Hz, 2 = 500 Hz, 3 = 1000 Hz)
 *     9     2  header CRC: CRC-16/XMODEM over bytes 2..8
 *    11   2*N  N = channels x samples int16, interleaved (s0c0 s0c1 .. s1c0 ..)
 *  11+2N    2  frame CRC: CRC-16/XMODEM over bytes 2 .. 10+2N
 *
 * Receiver: a byte-at-a-time state machine fed with chunks of any size. Nothing in a frame
 * is trusted before its check: the length (channels x samples) is used only after the
 * header CRC and the bounds check passed, so a corrupted length is rejected after 11 bytes
 * instead of swallowing the following frames. After any rejected frame (bad header, bad
 * CRC, oversize) the receiver resynchronises by searching the bytes it had buffered for
 * the next sync pattern, so a frame that followed a corrupted or truncated one (a UART
 * that dropped a byte) is still received. A byte is examined once in normal operation;
 * adversarial input can make it part of at most TL_AFE_MAX_FRAME / 2 + 1 refuted
 * candidates (sync patterns cannot overlap), so the work per byte stays bounded.
 *
 * Good frames whose channel count or rate differ from the configured ones are counted and
 * dropped. Sequence numbers are then checked against the last delivered block:
 *   next (+1)               delivered;
 *   ahead by d (2..32768)   delivered, with missing_before = d - 1 (a gap: dropout);
 *   the last or one of the 32 blocks before it, already delivered
 *                           duplicate: counted, dropped;
 *   one of the 32 blocks before the last, never delivered (counted missing before)
 *                           out of order (late): counted, dropped;
 *   further behind          the AFE restarted its numbering: counted as a restart,
 *                           delivered with discontinuity = true.
 * The first block after init/reset is delivered with discontinuity = true.
 * The receiver has no clock: silence on the link (a stalled AFE) is detected by the caller.
 */
#ifndef THERALOOP_AFE_LINK_H
#define THERALOOP_AFE_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TL_AFE_SYNC0 0xA5u
#define TL_AFE_SYNC1 0x5Au
#define TL_AFE_VERSION 1u
#define TL_AFE_HEADER_SIZE 11u /* sync .. header CRC */
#define TL_AFE_CRC_SIZE 2u
#define TL_AFE_MAX_CHANNELS 4u
/* Largest block: channels x samples per channel (e.g. 4 x 64, 1 x 255). */
#define TL_AFE_MAX_SAMPLES 256u
#define TL_AFE_MAX_FRAME (TL_AFE_HEADER_SIZE + 2u * TL_AFE_MAX_SAMPLES + TL_AFE_CRC_SIZE)
/* Blocks behind the last delivered one that are remembered (duplicate vs late). */
#define TL_AFE_HISTORY 32u

/* flags byte */
#define TL_AFE_FLAG_SATURATED 0x01u /* the AFE clipped at least one sample of the block */
#define TL_AFE_FLAG_LEAD_OFF 0x02u  /* lead-off (electrode contact) detected */
#define TL_AFE_FLAGS_KNOWN (TL_AFE_FLAG_SATURATED | TL_AFE_FLAG_LEAD_OFF)

/* sample-rate codes (header byte 8) */
typedef enum {
    TL_AFE_RATE_250 = 1,
    TL_AFE_RATE_500 = 2,
    TL_AFE_RATE_1000 = 3,
} tl_afe_rate_code_t;

typedef enum {
    TL_AFE_OK = 0,
    TL_AFE_ERR_NULL = 1,     /* NULL receiver or configuration */
    TL_AFE_ERR_RATE = 2,     /* sample rate not 250, 500 or 1000 Hz */
    TL_AFE_ERR_CHANNELS = 3, /* channels not 1..TL_AFE_MAX_CHANNELS */
} tl_afe_err_t;

/* What the receiver expects; frames that differ are counted as config_mismatch. */
typedef struct {
    uint16_t sample_rate_hz; /* 250, 500 or 1000 */
    uint8_t channels;        /* 1..TL_AFE_MAX_CHANNELS */
} tl_afe_config_t;

/* Counters since init (or tl_afe_rx_clear_stats); all saturate at UINT32_MAX. */
typedef struct {
    uint32_t bytes;           /* bytes fed */
    uint32_t bytes_discarded; /* bytes that were not part of a delivered/valid frame */
    uint32_t blocks_ok;       /* blocks delivered */
    uint32_t bad_header;      /* header CRC, version, reserved flags, zero/unknown fields */
    uint32_t oversize;        /* header (CRC good) announcing more than TL_AFE_MAX_SAMPLES */
    uint32_t bad_crc;         /* frame CRC mismatch (corrupt or truncated payload) */
    uint32_t config_mismatch; /* valid frame, channels or rate differ from the config */
    uint32_t gaps;            /* gap events (blocks delivered with missing_before > 0) */
    uint32_t missing_blocks;  /* total blocks lost in gaps */
    uint32_t duplicates;      /* repeated blocks dropped */
    uint32_t out_of_order;    /* late blocks dropped (already counted as missing) */
    uint32_t restarts;        /* sequence restarts (numbering jumped far back) */
    uint32_t saturated;       /* delivered blocks with TL_AFE_FLAG_SATURATED */
    uint32_t lead_off;        /* delivered blocks with TL_AFE_FLAG_LEAD_OFF */
} tl_afe_stats_t;

/* A delivered block. `samples` is interleaved (frame f, channel c at f*channels + c) and
 * valid only during the callback. */
typedef struct {
    const int16_t *samples;
    uint16_t seq;
    uint16_t samples_per_channel;
    uint16_t sample_rate_hz;
    uint16_t missing_before; /* blocks lost immediately before this one (0 normally) */
    uint8_t channels;
    uint8_t flags;           /* TL_AFE_FLAG_* */
    bool discontinuity;      /* first block since init/reset, or a sequence restart */
} tl_afe_block_t;

typedef void (*tl_afe_block_fn)(void *ctx, const tl_afe_block_t *block);

/* Treat the members as private; public only so that receivers can be static. */
typedef struct {
    tl_afe_config_t cfg;
    tl_afe_stats_t stats;
    tl_afe_block_fn on_block;
    void *ctx;
    size_t len;        /* bytes in buf: a candidate frame starting with sync (or empty) */
    size_t frame_len;  /* total length once the header checked out, else 0 */
    uint32_t history;  /* bit k: block (last_seq - 1 - k) was seen */
    uint16_t last_seq; /* last delivered sequence number (valid if have_last) */
    bool have_last;
    bool usable;       /* the configuration was valid */
    uint8_t buf[TL_AFE_MAX_FRAME];
    int16_t samples[TL_AFE_MAX_SAMPLES];
} tl_afe_rx_t;

/* Check a configuration without using it. */
tl_afe_err_t tl_afe_config_validate(const tl_afe_config_t *cfg);

/* Rate code for 250/500/1000 Hz, 0 for any other rate; and back (0 for an unknown code). */
uint8_t tl_afe_rate_code(uint16_t sample_rate_hz);
uint16_t tl_afe_rate_hz(uint8_t code);

/* Set up a receiver. On error the receiver is left unusable (it discards everything) and
 * the error is returned. on_block may be NULL (count only). */
tl_afe_err_t tl_afe_rx_init(tl_afe_rx_t *rx, const tl_afe_config_t *cfg,
                            tl_afe_block_fn on_block, void *ctx);

/* Forget any partial frame and the sequence history (the next block is a discontinuity);
 * counters are kept. */
void tl_afe_rx_reset(tl_afe_rx_t *rx);

void tl_afe_rx_clear_stats(tl_afe_rx_t *rx);

/* Consume `len` bytes; calls on_block for every good block they complete, in order.
 * The callback must not feed or reset the same receiver. */
void tl_afe_rx_feed(tl_afe_rx_t *rx, const uint8_t *data, size_t len);

const tl_afe_stats_t *tl_afe_rx_stats(const tl_afe_rx_t *rx);

/* sizeof(tl_afe_rx_t), for bindings (ctypes) that allocate receivers. */
size_t tl_afe_rx_size(void);

/* Encode one frame into out (cap bytes). samples: channels x samples_per_channel int16,
 * interleaved. Returns the frame length, or 0 if an argument is out of range (unknown
 * rate, channels not 1..4, samples_per_channel 0 or > 255, block > TL_AFE_MAX_SAMPLES,
 * reserved flag bits, cap too small). Used by tests and simulators; the device only
 * receives. */
size_t tl_afe_encode(uint8_t *out, size_t cap, uint16_t seq, uint8_t flags,
                     uint16_t sample_rate_hz, uint8_t channels, uint8_t samples_per_channel,
                     const int16_t *samples);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_AFE_LINK_H */
