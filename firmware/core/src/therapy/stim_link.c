/*
 * stim_link.c - stimulator link frames (encode, parse, decode) and the link monitor.
 */
#include <string.h>

#include "theraloop/crc16.h"
#include "theraloop/therapy/stim_link.h"
#include "theraloop/therapy/supervisor.h"

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)(v >> 8);
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static size_t finish_frame(uint8_t *out, uint8_t type, uint8_t len)
{
    out[0] = TL_STIM_SYNC0;
    out[1] = TL_STIM_SYNC1;
    out[2] = TL_STIM_VERSION;
    out[3] = type;
    out[4] = len;
    uint16_t crc = tl_crc16_xmodem(0, out + 2, 3u + len);
    out[TL_STIM_HEADER_LEN + len] = (uint8_t)(crc >> 8);
    out[TL_STIM_HEADER_LEN + len + 1u] = (uint8_t)(crc & 0xFFu);
    return TL_STIM_HEADER_LEN + len + TL_STIM_CRC_LEN;
}

size_t tl_stim_encode_set(const tl_stim_params_t *stim, uint16_t seq, uint8_t *out, size_t cap)
{
    if (stim == NULL || out == NULL || cap < TL_STIM_SET_FRAME_LEN) {
        return 0;
    }
    uint8_t *p = out + TL_STIM_HEADER_LEN;
    put_u16(p, seq);
    p[2] = (uint8_t)((stim->enabled ? 1u : 0u) | ((stim->waveform & 0x7u) << 1));
    p[3] = 0;
    put_u16(p + 4, stim->enabled ? stim->amplitude_ua : 0u);
    put_u16(p + 6, stim->pulse_width_us);
    put_u16(p + 8, stim->rate_dhz);
    put_u16(p + 10, stim->interphase_gap_us);
    return finish_frame(out, TL_STIM_TYPE_SET, TL_STIM_SET_PAYLOAD);
}

size_t tl_stim_encode_status(const tl_stim_status_frame_t *st, uint8_t *out, size_t cap)
{
    if (st == NULL || out == NULL || cap < TL_STIM_STATUS_FRAME_LEN) {
        return 0;
    }
    uint8_t *p = out + TL_STIM_HEADER_LEN;
    put_u16(p, st->ack_seq);
    p[2] = st->status;
    p[3] = st->output_active ? 1u : 0u;
    put_u16(p + 4, st->delivered_ua);
    put_u16(p + 6, st->impedance_ohm);
    return finish_frame(out, TL_STIM_TYPE_STATUS, TL_STIM_STATUS_PAYLOAD);
}

bool tl_stim_decode_set(const tl_stim_frame_t *f, tl_stim_command_t *cmd)
{
    if (f == NULL || cmd == NULL || f->type != TL_STIM_TYPE_SET || f->len != TL_STIM_SET_PAYLOAD) {
        return false;
    }
    const uint8_t *p = f->payload;
    uint8_t flags = p[2];
    uint8_t waveform = (uint8_t)((flags >> 1) & 0x7u);
    if ((flags & 0xF0u) != 0u || waveform >= TL_WAVEFORM_COUNT || p[3] != 0u) {
        return false;
    }
    memset(cmd, 0, sizeof *cmd);
    cmd->seq = get_u16(p);
    cmd->stim.enabled = flags & 1u;
    cmd->stim.waveform = waveform;
    cmd->stim.amplitude_ua = get_u16(p + 4);
    cmd->stim.pulse_width_us = get_u16(p + 6);
    cmd->stim.rate_dhz = get_u16(p + 8);
    cmd->stim.interphase_gap_us = get_u16(p + 10);
    if (!cmd->stim.enabled && cmd->stim.amplitude_ua != 0u) {
        return false;
    }
    return true;
}

bool tl_stim_decode_status(const tl_stim_frame_t *f, tl_stim_status_frame_t *st)
{
    if (f == NULL || st == NULL || f->type != TL_STIM_TYPE_STATUS ||
        f->len != TL_STIM_STATUS_PAYLOAD) {
        return false;
    }
    const uint8_t *p = f->payload;
    if ((p[3] & 0xFEu) != 0u) {
        return false;
    }
    memset(st, 0, sizeof *st);
    st->ack_seq = get_u16(p);
    st->status = p[2];
    st->output_active = p[3] & 1u;
    st->delivered_ua = get_u16(p + 4);
    st->impedance_ohm = get_u16(p + 6);
    return true;
}

void tl_stim_parser_init(tl_stim_parser_t *p)
{
    memset(p, 0, sizeof *p);
}

/* Drop the first byte of the buffer and move to the next possible sync byte. */
static void resync(tl_stim_parser_t *p)
{
    uint32_t i = 1;
    while (i < p->len && p->buf[i] != TL_STIM_SYNC0) {
        i++;
    }
    p->stats.discarded += i;
    memmove(p->buf, p->buf + i, p->len - i);
    p->len -= i;
}

/* Process the buffer after an append; true with *frame when a frame completed. The
 * buffer may hold the start of further frames after a resync, hence the loop. */
static bool scan(tl_stim_parser_t *p, tl_stim_frame_t *frame)
{
    for (;;) {
        if (p->len == 0u) {
            return false;
        }
        if (p->buf[0] != TL_STIM_SYNC0) {
            resync(p);
            continue;
        }
        if (p->len >= 2u && p->buf[1] != TL_STIM_SYNC1) {
            resync(p);
            continue;
        }
        if (p->len >= 3u && p->buf[2] != TL_STIM_VERSION) {
            p->stats.bad_header++;
            resync(p);
            continue;
        }
        if (p->len >= 5u && p->buf[4] > TL_STIM_MAX_PAYLOAD) {
            p->stats.bad_header++;
            resync(p);
            continue;
        }
        if (p->len < TL_STIM_HEADER_LEN) {
            return false;
        }
        uint32_t total = TL_STIM_HEADER_LEN + p->buf[4] + TL_STIM_CRC_LEN;
        if (p->len < total) {
            return false;
        }
        uint16_t want = (uint16_t)((p->buf[total - 2u] << 8) | p->buf[total - 1u]);
        uint16_t got = tl_crc16_xmodem(0, p->buf + 2, 3u + p->buf[4]);
        if (want != got) {
            p->stats.bad_crc++;
            resync(p);
            continue;
        }
        frame->version = p->buf[2];
        frame->type = p->buf[3];
        frame->len = p->buf[4];
        memset(frame->payload, 0, sizeof frame->payload);
        memcpy(frame->payload, p->buf + TL_STIM_HEADER_LEN, frame->len);
        memmove(p->buf, p->buf + total, p->len - total);
        p->len -= total;
        p->stats.frames++;
        return true;
    }
}

bool tl_stim_parser_feed(tl_stim_parser_t *p, uint8_t byte, tl_stim_frame_t *frame)
{
    if (p->len >= sizeof p->buf) {
        /* Cannot happen (a frame is complete or rejected by then); recover anyway. */
        resync(p);
    }
    p->buf[p->len++] = byte;
    return scan(p, frame);
}

void tl_stim_monitor_init(tl_stim_monitor_t *m, uint32_t timeout_ms)
{
    memset(m, 0, sizeof *m);
    m->timeout_ms = timeout_ms;
}

void tl_stim_monitor_sent(tl_stim_monitor_t *m, uint16_t seq, uint32_t now_ms)
{
    m->stats.sent++;
    if (!m->outstanding) {
        m->progress_ms = now_ms;
    }
    m->outstanding = 1;
    m->last_sent = seq;
    m->any_sent = 1;
}

void tl_stim_monitor_status(tl_stim_monitor_t *m, const tl_stim_status_frame_t *st,
                            uint32_t now_ms)
{
    /* How far the acknowledged seq is behind the last one sent (mod 2^16). */
    uint16_t behind = (uint16_t)(m->last_sent - st->ack_seq);
    if (!m->any_sent || behind >= 0x8000u) {
        m->stats.bad_acks++;
        m->faults |= TL_TFAULT_LINK_NACK;
        return;
    }
    switch (st->status) {
    case TL_STIM_STATUS_OK:
        m->stats.acks++;
        m->faults = 0;
        break;
    case TL_STIM_STATUS_BAD_FRAME:
    case TL_STIM_STATUS_OUT_OF_RANGE:
        m->stats.nacks++;
        m->faults = TL_TFAULT_LINK_NACK;
        break;
    default:
        m->stats.device_faults++;
        m->faults = TL_TFAULT_LINK_DEVICE;
        break;
    }
    if (st->ack_seq != m->last_acked || behind == 0u) {
        m->progress_ms = now_ms;
        m->timed_out = 0;
    }
    m->last_acked = st->ack_seq;
    if (behind == 0u) {
        m->outstanding = 0;
    }
}

uint32_t tl_stim_monitor_faults(tl_stim_monitor_t *m, uint32_t now_ms)
{
    uint32_t faults = m->faults;
    /* (a clock that went backwards reads as a very long silence: fail safe) */
    if (m->timeout_ms != 0u && m->outstanding && now_ms - m->progress_ms > m->timeout_ms) {
        if (!m->timed_out) {
            m->stats.timeouts++;
            m->timed_out = 1;
        }
        faults |= TL_TFAULT_LINK_TIMEOUT;
    }
    return faults;
}
