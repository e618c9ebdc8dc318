/*
 * fuzz_stim_link.c - arbitrary bytes on the stimulator link (USART3 RX), through the frame
 * parser, the typed decoders and the link monitor, and through the control loop's own
 * stimulator input (the path the device runs), with control steps in between.
 *
 * Input: byte 0 = how the rest is cut into chunks (chunk sizes are taken from the data);
 * the rest is the line. Checked on every frame the parser delivers: the payload length is
 * within the limit, a frame re-encoded from its decoded fields is byte-identical to the
 * bytes that made it (STIM_SET and STATUS), CRC recomputed independently; the monitor
 * only ever reports link-class fault bits; parser counters never go backwards; the loop's
 * output stays within the therapy limits and is off while its link is faulted.
 * ASan/UBSan check memory and undefined behaviour.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "theraloop/afe_link.h"
#include "theraloop/loop/loop.h"
#include "theraloop/therapy/stim_link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tl_loop_t g_loop;

static void discard(void *ctx, const uint8_t *d, size_t n)
{
    (void)ctx;
    (void)d;
    (void)n;
}

/* Bitwise CRC-16/XMODEM, independent of the firmware's table-driven one. */
static uint16_t ref_crc(const uint8_t *p, size_t n)
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

/* A delivered frame: its wire form (sync, version, type, length, payload, CRC computed
 * independently) must be among the bytes recently fed (the parser may deliver a frame
 * that ended before the current byte, found again after a resynchronisation), and a frame
 * re-encoded from the decoded fields must be that wire form. */
static void check_frame(const tl_stim_frame_t *f, const uint8_t *window, size_t wlen)
{
    if (f->len > TL_STIM_MAX_PAYLOAD || f->version != TL_STIM_VERSION) {
        abort();
    }
    uint8_t wire[TL_STIM_MAX_FRAME];
    size_t n = TL_STIM_HEADER_LEN + (size_t)f->len + TL_STIM_CRC_LEN;
    wire[0] = TL_STIM_SYNC0;
    wire[1] = TL_STIM_SYNC1;
    wire[2] = f->version;
    wire[3] = f->type;
    wire[4] = f->len;
    memcpy(wire + TL_STIM_HEADER_LEN, f->payload, f->len);
    uint16_t crc = ref_crc(wire + 2, 3u + f->len);
    wire[n - 2u] = (uint8_t)(crc >> 8);
    wire[n - 1u] = (uint8_t)crc;
    bool found = false;
    for (size_t i = 0; !found && i + n <= wlen; i++) {
        found = memcmp(window + i, wire, n) == 0;
    }
    if (!found) {
        abort();
    }
    uint8_t again[TL_STIM_MAX_FRAME];
    tl_stim_command_t cmd;
    tl_stim_status_frame_t st;
    if (tl_stim_decode_set(f, &cmd)) {
        size_t m = tl_stim_encode_set(&cmd.stim, cmd.seq, again, sizeof again);
        /* a disabled setting is sent with amplitude 0: only such frames may differ */
        if (m != n || (memcmp(again, wire, n) != 0 && cmd.stim.enabled != 0u)) {
            abort();
        }
    }
    if (tl_stim_decode_status(f, &st)) {
        size_t m = tl_stim_encode_status(&st, again, sizeof again);
        if (m != n || memcmp(again, wire, n) != 0) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1u) {
        return 0;
    }
    uint8_t cut = data[0];
    data++;
    size--;

    /* 1. parser, decoders and monitor on their own */
    tl_stim_parser_t p;
    tl_stim_parser_init(&p);
    tl_stim_monitor_t mon;
    tl_stim_monitor_init(&mon, cut & 0x0Fu); /* timeout 0..15 ms */
    uint8_t window[3u * TL_STIM_MAX_FRAME];
    size_t wlen = 0;
    tl_stim_parser_stats_t last = p.stats;
    uint32_t now = 0;
    for (size_t i = 0; i < size; i++) {
        /* keep the last bytes seen, to compare a delivered frame with its wire bytes */
        if (wlen == sizeof window) {
            memmove(window, window + 1, sizeof window - 1u);
            wlen--;
        }
        window[wlen++] = data[i];
        tl_stim_frame_t f;
        if (tl_stim_parser_feed(&p, data[i], &f)) {
            check_frame(&f, window, wlen);
            tl_stim_status_frame_t st;
            if (tl_stim_decode_status(&f, &st)) {
                tl_stim_monitor_status(&mon, &st, now);
            }
        }
        if ((data[i] & 0x07u) == 0u) {
            tl_stim_monitor_sent(&mon, (uint16_t)i, now);
        }
        now += data[i] & 0x03u;
        if ((tl_stim_monitor_faults(&mon, now) & ~TL_TFAULT_LINK_MASK) != 0u) {
            abort();
        }
        if (p.stats.frames < last.frames || p.stats.bad_crc < last.bad_crc ||
            p.stats.bad_header < last.bad_header || p.stats.discarded < last.discarded) {
            abort();
        }
        last = p.stats;
    }

    /* 2. the same bytes into the control loop, in chunks, with steps in between */
    tl_loop_init(&g_loop, discard, NULL);
    tl_loop_config_t cfg;
    tl_loop_config_defaults(&cfg);
    if (tl_loop_configure(&g_loop, &cfg, NULL) != TL_LOOP_CFG_OK ||
        tl_loop_command(&g_loop, TL_CMD_START) != TL_SUP_CMD_OK) {
        abort();
    }
    tl_therapy_config_t tc = *tl_loop_therapy_config(&g_loop);
    tc.stim_ack_timeout_ms = (uint32_t)(cut >> 4) * 10u;
    if (tl_loop_therapy_configure(&g_loop, &tc, NULL) != TL_THERAPY_CFG_OK) {
        abort();
    }
    int16_t samples[20];
    for (int i = 0; i < 20; i++) {
        samples[i] = (int16_t)(i * 97 - 900);
    }
    uint8_t afe[TL_AFE_MAX_FRAME];
    uint16_t seq = 0;
    size_t off = 0;
    size_t k = 0;
    while (off < size) {
        size_t chunk = 1u + (size_t)(data[(k++ * 7u) % size] % 64u);
        if (chunk > size - off) {
            chunk = size - off;
        }
        tl_loop_stim_input(&g_loop, data + off, chunk);
        off += chunk;
        size_t len = tl_afe_encode(afe, sizeof afe, seq++, 0, 1000, 1, 20, samples);
        tl_loop_afe_input(&g_loop, afe, len);
        tl_supervisor_output_t o;
        tl_supervisor_output(&tl_loop_therapy(&g_loop)->sup, &o);
        if (o.stim.amplitude_ua > tc.amplitude_max_ua ||
            (o.stim.enabled == 0u && o.stim.amplitude_ua != 0u) ||
            ((o.faults & TL_TFAULT_LINK_MASK) != 0u && o.stim.enabled != 0u)) {
            abort();
        }
    }
    return 0;
}
