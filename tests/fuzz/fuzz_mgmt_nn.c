/*
 * fuzz_mgmt_nn.c - arbitrary SMP packets into a server with the nn group (65)
 * registered: chunked uploads at any offset and length, loads of whatever was uploaded
 * (the engine's loader sees fuzzed models through the group, as on the device), invokes
 * with any inputs, state reads. Every response must be a consistent SMP packet whose
 * body is exactly one well-formed CBOR map.
 *
 * The input is a sequence of packets (header + body), each handed to the server on its
 * own. `bench` writes are skipped: their run time is the request's to choose (up to
 * 100,000 runs), which would only make the fuzzer slow; they share their decoding and
 * input checks with `invoke`, and tests/unit/test_mgmt_nn.c covers their limits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "platform_host.h"
#include "theraloop/mgmt_nn.h"
#include "theraloop/smp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tl_smp_server_t g_srv;

static void check_response(void *ctx, const uint8_t *pkt, size_t len)
{
    (void)ctx;
    tl_smp_hdr_t h;
    if (!tl_smp_hdr_decode(pkt, len, &h) || (size_t)h.len != len - TL_SMP_HDR_SIZE) {
        abort();
    }
    if ((h.op != TL_SMP_OP_READ_RSP && h.op != TL_SMP_OP_WRITE_RSP) || h.version > 1u) {
        abort();
    }
    if (h.len == 0u || (pkt[TL_SMP_HDR_SIZE] >> 5) != 5u ||
        !tl_cbor_wellformed(pkt + TL_SMP_HDR_SIZE, h.len, 16)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tl_host_boot(TL_RESET_POWER_ON);
    tl_smp_server_init(&g_srv, check_response, NULL);
    if (tl_mgmt_nn_register(&g_srv) != TL_SMP_OK) {
        abort();
    }
    size_t off = 0;
    while (size - off >= TL_SMP_HDR_SIZE) {
        tl_smp_hdr_t h;
        (void)tl_smp_hdr_decode(data + off, size - off, &h);
        size_t n = TL_SMP_HDR_SIZE + (size_t)h.len;
        if (n > size - off) {
            n = size - off; /* a short packet: the server answers ECORRUPT */
        }
        bool bench = h.group == TL_SMP_GROUP_NN && h.id == TL_MGMT_NN_BENCH &&
                     h.op == TL_SMP_OP_WRITE;
        if (!bench) {
            tl_smp_server_process(&g_srv, data + off, n);
        }
        off += n;
    }
    return 0;
}
