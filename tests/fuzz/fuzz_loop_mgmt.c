/*
 * fuzz_loop_mgmt.c - the control loop's SMP commands (theraloop group 64: status, config,
 * therapy, stream, log) with a live loop bound to them, fed arbitrary request bodies.
 *
 * Input: byte 0 picks the command (2..6) and the op (read/write) and the SMP version;
 * the rest is the CBOR payload. Between requests the loop runs control steps on a fixed
 * signal, so stream/log have records and therapy has a state. Checked after every request:
 * the response is one consistent SMP packet whose body is one well-formed CBOR map; the
 * configurations in effect still validate (a request never leaves an unsafe or invalid
 * configuration applied); the output respects the hard limits and is off unless running.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "platform_host.h"
#include "theraloop/afe_link.h"
#include "theraloop/loop/loop.h"
#include "theraloop/mgmt.h"
#include "theraloop/mgmt_therapy.h"
#include "theraloop/smp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tl_smp_server_t g_srv;
static tl_loop_t g_loop;
static uint8_t g_pkt[TL_SMP_BUF_SIZE];

static void discard(void *ctx, const uint8_t *d, size_t n)
{
    (void)ctx;
    (void)d;
    (void)n;
}

static void check_response(void *ctx, const uint8_t *pkt, size_t len)
{
    (void)ctx;
    tl_smp_hdr_t h;
    if (!tl_smp_hdr_decode(pkt, len, &h) || (size_t)h.len != len - TL_SMP_HDR_SIZE ||
        h.group != TL_SMP_GROUP_THERALOOP) {
        abort();
    }
    if (h.len == 0u || (pkt[TL_SMP_HDR_SIZE] >> 5) != 5u ||
        !tl_cbor_wellformed(pkt + TL_SMP_HDR_SIZE, h.len, 16)) {
        abort();
    }
}

static void check_loop(void)
{
    const tl_therapy_config_t *tc = tl_loop_therapy_config(&g_loop);
    if (tl_therapy_config_validate(tc, NULL) != TL_THERAPY_CFG_OK ||
        tl_loop_config_validate(tl_loop_config(&g_loop), NULL, NULL) != TL_LOOP_CFG_OK) {
        abort();
    }
    tl_supervisor_output_t o;
    tl_supervisor_output(&tl_loop_therapy(&g_loop)->sup, &o);
    if (o.stim.amplitude_ua > tc->amplitude_max_ua ||
        (o.stim.enabled != 0u && o.therapy_state != TL_THERAPY_RUNNING) ||
        (o.stim.enabled == 0u && o.stim.amplitude_ua != 0u)) {
        abort();
    }
}

static void steps(uint16_t *seq, unsigned n)
{
    const tl_loop_config_t *c = tl_loop_config(&g_loop);
    int16_t x[4 * 64];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        x[i] = (int16_t)((int)(i * 131u % 2001u) - 1000);
    }
    uint8_t buf[TL_AFE_MAX_FRAME];
    for (unsigned i = 0; i < n; i++) {
        size_t len = tl_afe_encode(buf, sizeof buf, (*seq)++, 0, (uint16_t)c->afe_rate_hz,
                                   (uint8_t)c->afe_channels, 64, x);
        tl_loop_afe_input(&g_loop, buf, len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1u) {
        return 0;
    }
    tl_host_boot(TL_RESET_POWER_ON);
    tl_host_use_virtual_clock(true);
    tl_model_source_ram_update(NULL, NULL);
    tl_loop_init(&g_loop, discard, NULL);
    tl_mgmt_therapy_bind(&g_loop);
    tl_smp_server_init(&g_srv, check_response, NULL);
    if (tl_mgmt_theraloop_register(&g_srv) != TL_SMP_OK) {
        abort();
    }
    uint16_t seq = 0;
    steps(&seq, 8);
    /* Several requests per input: each a length byte, a selector byte and a body. */
    size_t off = 0;
    while (off + 2u <= size) {
        size_t body = data[off] % 200u;
        uint8_t sel = data[off + 1];
        off += 2u;
        if (body > size - off) {
            body = size - off;
        }
        tl_smp_hdr_t h = {
            .op = (uint8_t)((sel & 0x08u) ? TL_SMP_OP_WRITE : TL_SMP_OP_READ),
            .version = (uint8_t)((sel >> 4) & 1u),
            .flags = 0,
            .len = (uint16_t)body,
            .group = TL_SMP_GROUP_THERALOOP,
            .seq = sel,
            .id = (uint8_t)(TL_MGMT_TL_STATUS + (sel & 0x07u) % 5u),
        };
        tl_smp_hdr_encode(&h, g_pkt);
        memcpy(g_pkt + TL_SMP_HDR_SIZE, data + off, body);
        off += body;
        tl_smp_server_process(&g_srv, g_pkt, TL_SMP_HDR_SIZE + body);
        check_loop();
        steps(&seq, 2);
        check_loop();
    }
    tl_mgmt_therapy_bind(NULL);
    return 0;
}
