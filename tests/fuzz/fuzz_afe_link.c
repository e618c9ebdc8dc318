/*
 * fuzz_afe_link.c - arbitrary bytes on the AFE sample link (USART2), through the frame
 * receiver and, for every block it delivers, into the fixed-point feature stage (built-in
 * configuration for the same rate and channel count), as the control loop wires them.
 *
 * Input: byte 0 picks the configuration (rate = 250/500/1000 Hz, 1..4 channels); the rest
 * is the line, delivered in chunks whose sizes come from the input itself. Checks the
 * receiver's contract on every delivered block (shape matches the configuration, bounded
 * size, consistent counters) and the feature vector (non-negative, right length);
 * ASan/UBSan check memory and undefined behaviour.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "theraloop/afe_link.h"
#include "theraloop/features.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tl_afe_rx_t g_rx;
static tl_features_t g_feat;
static tl_afe_config_t g_cfg;
static uint32_t g_delivered;

static void on_block(void *ctx, const tl_afe_block_t *b)
{
    (void)ctx;
    size_t n = (size_t)b->channels * b->samples_per_channel;
    if (b->channels != g_cfg.channels || b->sample_rate_hz != g_cfg.sample_rate_hz ||
        b->samples_per_channel == 0u || n > TL_AFE_MAX_SAMPLES ||
        (b->flags & (uint8_t)~TL_AFE_FLAGS_KNOWN) != 0u) {
        abort();
    }
    g_delivered++;
    const int16_t *s = b->samples;
    size_t frames = b->samples_per_channel;
    while (frames > 0u) {
        bool hop = false;
        size_t used = tl_features_push(&g_feat, s, frames, &hop);
        if (used == 0u || used > frames) {
            abort();
        }
        s += used * b->channels;
        frames -= used;
        if (hop) {
            int32_t v[TL_FEAT_MAX_FEATURES];
            size_t nf = tl_features_read(&g_feat, v, TL_FEAT_MAX_FEATURES);
            if (nf != tl_features_count(&g_feat)) {
                abort();
            }
            for (size_t i = 0; i < nf; i++) {
                if (v[i] < 0) {
                    abort();
                }
            }
            int16_t raw[TL_FEAT_MAX_RAW];
            if (tl_features_raw_window(&g_feat, 0, raw, TL_FEAT_MAX_RAW) > TL_FEAT_MAX_RAW) {
                abort();
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1u) {
        return 0;
    }
    static const uint16_t rates[3] = {250, 500, 1000};
    g_cfg.sample_rate_hz = rates[(data[0] & 0x0Fu) % 3u];
    g_cfg.channels = (uint8_t)(((data[0] >> 4) & 0x03u) + 1u);
    tl_features_config_t fcfg;
    if (tl_afe_rx_init(&g_rx, &g_cfg, on_block, NULL) != TL_AFE_OK ||
        tl_features_default_config(&fcfg, g_cfg.sample_rate_hz, g_cfg.channels) != TL_FEAT_OK ||
        tl_features_init(&g_feat, &fcfg) != TL_FEAT_OK) {
        abort();
    }
    g_delivered = 0;
    size_t off = 1;
    size_t step = 1;
    while (off < size) {
        size_t n = size - off < step ? size - off : step;
        tl_afe_rx_feed(&g_rx, data + off, n);
        off += n;
        step = (size_t)data[off - 1] % 97u + 1u;
    }
    const tl_afe_stats_t *st = tl_afe_rx_stats(&g_rx);
    if (st->blocks_ok != g_delivered || st->bytes != size - 1u ||
        st->bytes_discarded > st->bytes || st->gaps > st->missing_blocks ||
        st->saturated > st->blocks_ok || st->lead_off > st->blocks_ok) {
        abort();
    }
    return 0;
}
