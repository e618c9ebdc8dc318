/*
 * afe_link.c - AFE sample link: frame receiver with resynchronisation and sequence
 * bookkeeping, and the frame encoder (format and rules in afe_link.h).
 *
 * The receive buffer always holds either nothing or a candidate frame that starts with
 * the sync pattern and has not been refuted yet. After every byte the candidate is
 * re-examined (settle): once 11 bytes are in, the header is checked; once frame_len bytes
 * are in, the frame CRC. A refuted candidate is dropped up to the next sync pattern inside
 * it, and the remaining bytes are examined again, so no frame that follows a damaged one
 * is lost. Invariant between calls: len < TL_AFE_HEADER_SIZE when frame_len == 0, else
 * len < frame_len <= TL_AFE_MAX_FRAME, so appending a byte never overflows buf.
 */
#include <string.h>

#include "theraloop/afe_link.h"
#include "theraloop/crc16.h"

#define OFF_VERSION 2u
#define OFF_FLAGS 3u
#define OFF_SEQ 4u
#define OFF_CHANNELS 6u
#define OFF_SPC 7u
#define OFF_RATE 8u
#define OFF_HCRC 9u

static void count(uint32_t *counter)
{
    if (*counter < UINT32_MAX) {
        (*counter)++;
    }
}

static void count_n(uint32_t *counter, size_t n)
{
    if (n >= (size_t)(UINT32_MAX - *counter)) {
        *counter = UINT32_MAX;
    } else {
        *counter += (uint32_t)n;
    }
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] | (uint16_t)((uint16_t)p[1] << 8));
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)(v >> 8);
}

uint8_t tl_afe_rate_code(uint16_t sample_rate_hz)
{
    switch (sample_rate_hz) {
    case 250u:
        return (uint8_t)TL_AFE_RATE_250;
    case 500u:
        return (uint8_t)TL_AFE_RATE_500;
    case 1000u:
        return (uint8_t)TL_AFE_RATE_1000;
    default:
        return 0u;
    }
}

uint16_t tl_afe_rate_hz(uint8_t code)
{
    switch (code) {
    case TL_AFE_RATE_250:
        return 250u;
    case TL_AFE_RATE_500:
        return 500u;
    case TL_AFE_RATE_1000:
        return 1000u;
    default:
        return 0u;
    }
}

tl_afe_err_t tl_afe_config_validate(const tl_afe_config_t *cfg)
{
    if (cfg == NULL) {
        return TL_AFE_ERR_NULL;
    }
    if (tl_afe_rate_code(cfg->sample_rate_hz) == 0u) {
        return TL_AFE_ERR_RATE;
    }
    if (cfg->channels < 1u || cfg->channels > TL_AFE_MAX_CHANNELS) {
        return TL_AFE_ERR_CHANNELS;
    }
    return TL_AFE_OK;
}

void tl_afe_rx_reset(tl_afe_rx_t *rx)
{
    if (rx == NULL) {
        return;
    }
    rx->len = 0;
    rx->frame_len = 0;
    rx->history = 0;
    rx->last_seq = 0;
    rx->have_last = false;
}

void tl_afe_rx_clear_stats(tl_afe_rx_t *rx)
{
    if (rx != NULL) {
        memset(&rx->stats, 0, sizeof(rx->stats));
    }
}

tl_afe_err_t tl_afe_rx_init(tl_afe_rx_t *rx, const tl_afe_config_t *cfg,
                            tl_afe_block_fn on_block, void *ctx)
{
    if (rx == NULL) {
        return TL_AFE_ERR_NULL;
    }
    tl_afe_err_t err = tl_afe_config_validate(cfg);
    memset(rx, 0, sizeof(*rx));
    rx->usable = (err == TL_AFE_OK);
    if (rx->usable) {
        rx->cfg = *cfg;
    }
    rx->on_block = on_block;
    rx->ctx = ctx;
    tl_afe_rx_reset(rx);
    return err;
}

const tl_afe_stats_t *tl_afe_rx_stats(const tl_afe_rx_t *rx)
{
    return &rx->stats;
}

size_t tl_afe_rx_size(void)
{
    return sizeof(tl_afe_rx_t);
}

/* Remove the first n buffered bytes. */
static void drop_front(tl_afe_rx_t *rx, size_t n)
{
    if (n >= rx->len) {
        rx->len = 0;
    } else {
        memmove(rx->buf, rx->buf + n, rx->len - n);
        rx->len -= n;
    }
    rx->frame_len = 0;
}

/* The candidate at buf[0] is refuted: discard up to the next possible sync pattern
 * (SYNC0 followed by SYNC1, or SYNC0 as the last buffered byte). */
static void resync(tl_afe_rx_t *rx)
{
    size_t k = 1;
    while (k < rx->len) {
        if (rx->buf[k] == TL_AFE_SYNC0 && (k + 1u == rx->len || rx->buf[k + 1u] == TL_AFE_SYNC1)) {
            break;
        }
        k++;
    }
    count_n(&rx->stats.bytes_discarded, k);
    drop_front(rx, k);
}

typedef enum { HDR_OK, HDR_BAD, HDR_OVERSIZE } hdr_result_t;

static hdr_result_t check_header(const uint8_t *h, size_t *frame_len)
{
    if (tl_crc16_xmodem(0, h + OFF_VERSION, OFF_HCRC - OFF_VERSION) != get_u16(h + OFF_HCRC)) {
        return HDR_BAD;
    }
    if (h[OFF_VERSION] != TL_AFE_VERSION || (h[OFF_FLAGS] & (uint8_t)~TL_AFE_FLAGS_KNOWN) != 0u) {
        return HDR_BAD;
    }
    uint8_t channels = h[OFF_CHANNELS];
    uint8_t spc = h[OFF_SPC];
    if (channels < 1u || channels > TL_AFE_MAX_CHANNELS || spc == 0u ||
        tl_afe_rate_hz(h[OFF_RATE]) == 0u) {
        return HDR_BAD;
    }
    size_t n = (size_t)channels * spc;
    if (n > TL_AFE_MAX_SAMPLES) {
        return HDR_OVERSIZE;
    }
    *frame_len = TL_AFE_HEADER_SIZE + 2u * n + TL_AFE_CRC_SIZE;
    return HDR_OK;
}

typedef enum { SEQ_DELIVER, SEQ_DUPLICATE, SEQ_LATE } seq_result_t;

/* Sequence bookkeeping for a valid block; sets missing/discontinuity for delivery. */
static seq_result_t check_seq(tl_afe_rx_t *rx, uint16_t seq, uint16_t *missing, bool *disc)
{
    *missing = 0;
    *disc = false;
    if (!rx->have_last) {
        rx->have_last = true;
        rx->last_seq = seq;
        rx->history = 0;
        *disc = true;
        return SEQ_DELIVER;
    }
    uint16_t ahead = (uint16_t)(seq - rx->last_seq);
    if (ahead == 0u) {
        count(&rx->stats.duplicates);
        return SEQ_DUPLICATE;
    }
    if (ahead <= 0x8000u) {
        if (ahead > 1u) {
            *missing = (uint16_t)(ahead - 1u);
            count(&rx->stats.gaps);
            count_n(&rx->stats.missing_blocks, *missing);
        }
        /* Shift the history by `ahead`; the old last block lands at bit ahead - 1. */
        if (ahead <= TL_AFE_HISTORY) {
            uint32_t shifted = (ahead == TL_AFE_HISTORY) ? 0u : (rx->history << ahead);
            rx->history = shifted | (UINT32_C(1) << (ahead - 1u));
        } else {
            rx->history = 0;
        }
        rx->last_seq = seq;
        return SEQ_DELIVER;
    }
    uint16_t behind = (uint16_t)(rx->last_seq - seq); /* 1 .. 32767 */
    if (behind <= TL_AFE_HISTORY) {
        uint32_t bit = UINT32_C(1) << (behind - 1u);
        if ((rx->history & bit) != 0u) {
            count(&rx->stats.duplicates);
            return SEQ_DUPLICATE;
        }
        rx->history |= bit;
        count(&rx->stats.out_of_order);
        return SEQ_LATE;
    }
    count(&rx->stats.restarts);
    rx->last_seq = seq;
    rx->history = 0;
    *disc = true;
    return SEQ_DELIVER;
}

/* A frame with good header and CRC is at buf[0 .. frame_len). */
static void accept_frame(tl_afe_rx_t *rx)
{
    const uint8_t *f = rx->buf;
    uint8_t channels = f[OFF_CHANNELS];
    uint16_t rate_hz = tl_afe_rate_hz(f[OFF_RATE]);
    if (channels != rx->cfg.channels || rate_hz != rx->cfg.sample_rate_hz) {
        count(&rx->stats.config_mismatch);
        return;
    }
    tl_afe_block_t blk;
    blk.seq = get_u16(f + OFF_SEQ);
    if (check_seq(rx, blk.seq, &blk.missing_before, &blk.discontinuity) != SEQ_DELIVER) {
        return;
    }
    blk.channels = channels;
    blk.samples_per_channel = f[OFF_SPC];
    blk.sample_rate_hz = rate_hz;
    blk.flags = f[OFF_FLAGS];
    size_t n = (size_t)channels * blk.samples_per_channel; /* <= TL_AFE_MAX_SAMPLES */
    for (size_t i = 0; i < n; i++) {
        rx->samples[i] = (int16_t)get_u16(f + TL_AFE_HEADER_SIZE + 2u * i);
    }
    blk.samples = rx->samples;
    count(&rx->stats.blocks_ok);
    if ((blk.flags & TL_AFE_FLAG_SATURATED) != 0u) {
        count(&rx->stats.saturated);
    }
    if ((blk.flags & TL_AFE_FLAG_LEAD_OFF) != 0u) {
        count(&rx->stats.lead_off);
    }
    if (rx->on_block != NULL) {
        rx->on_block(rx->ctx, &blk);
    }
}

/* Examine the buffered bytes until they are an unrefuted, incomplete candidate. */
static void settle(tl_afe_rx_t *rx)
{
    while (rx->len > 0u) {
        if (rx->buf[0] != TL_AFE_SYNC0 || (rx->len >= 2u && rx->buf[1] != TL_AFE_SYNC1)) {
            resync(rx);
            continue;
        }
        if (rx->frame_len == 0u) {
            if (rx->len < TL_AFE_HEADER_SIZE) {
                return;
            }
            size_t frame_len = 0;
            hdr_result_t h = check_header(rx->buf, &frame_len);
            if (h != HDR_OK) {
                count(h == HDR_OVERSIZE ? &rx->stats.oversize : &rx->stats.bad_header);
                resync(rx);
                continue;
            }
            rx->frame_len = frame_len;
        }
        if (rx->len < rx->frame_len) {
            return;
        }
        size_t body = rx->frame_len - TL_AFE_CRC_SIZE;
        if (tl_crc16_xmodem(0, rx->buf + OFF_VERSION, body - OFF_VERSION) !=
            get_u16(rx->buf + body)) {
            count(&rx->stats.bad_crc);
            resync(rx);
            continue;
        }
        accept_frame(rx);
        drop_front(rx, rx->frame_len);
    }
}

void tl_afe_rx_feed(tl_afe_rx_t *rx, const uint8_t *data, size_t len)
{
    if (rx == NULL || (data == NULL && len > 0u)) {
        return;
    }
    count_n(&rx->stats.bytes, len);
    if (!rx->usable) {
        count_n(&rx->stats.bytes_discarded, len);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (rx->len == 0u && data[i] != TL_AFE_SYNC0) {
            count(&rx->stats.bytes_discarded); /* hunting: the common case, kept cheap */
            continue;
        }
        rx->buf[rx->len++] = data[i]; /* in bounds by the invariant (file comment) */
        settle(rx);
    }
}

size_t tl_afe_encode(uint8_t *out, size_t cap, uint16_t seq, uint8_t flags,
                     uint16_t sample_rate_hz, uint8_t channels, uint8_t samples_per_channel,
                     const int16_t *samples)
{
    uint8_t code = tl_afe_rate_code(sample_rate_hz);
    size_t n = (size_t)channels * samples_per_channel;
    if (out == NULL || samples == NULL || code == 0u || channels < 1u ||
        channels > TL_AFE_MAX_CHANNELS || samples_per_channel == 0u ||
        n > TL_AFE_MAX_SAMPLES || (flags & (uint8_t)~TL_AFE_FLAGS_KNOWN) != 0u) {
        return 0;
    }
    size_t total = TL_AFE_HEADER_SIZE + 2u * n + TL_AFE_CRC_SIZE;
    if (cap < total) {
        return 0;
    }
    out[0] = TL_AFE_SYNC0;
    out[1] = TL_AFE_SYNC1;
    out[OFF_VERSION] = TL_AFE_VERSION;
    out[OFF_FLAGS] = flags;
    put_u16(out + OFF_SEQ, seq);
    out[OFF_CHANNELS] = channels;
    out[OFF_SPC] = samples_per_channel;
    out[OFF_RATE] = code;
    put_u16(out + OFF_HCRC, tl_crc16_xmodem(0, out + OFF_VERSION, OFF_HCRC - OFF_VERSION));
    for (size_t i = 0; i < n; i++) {
        put_u16(out + TL_AFE_HEADER_SIZE + 2u * i, (uint16_t)samples[i]);
    }
    size_t body = total - TL_AFE_CRC_SIZE;
    put_u16(out + body, tl_crc16_xmodem(0, out + OFF_VERSION, body - OFF_VERSION));
    return total;
}
