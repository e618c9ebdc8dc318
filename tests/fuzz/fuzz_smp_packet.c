/*
 * fuzz_smp_packet.c - arbitrary SMP packets straight into the server's dispatcher with the
 * OS and theraloop groups registered (no framing in the way, so the fuzzer reaches the
 * header, CBOR and handler code quickly). Checks that every response is a consistent SMP
 * packet whose body is exactly one well-formed CBOR map.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "platform_host.h"
#include "theraloop/mgmt.h"
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
    if (tl_mgmt_os_register(&g_srv) != TL_SMP_OK ||
        tl_mgmt_theraloop_register(&g_srv) != TL_SMP_OK) {
        abort();
    }
    tl_smp_server_process(&g_srv, data, size);
    (void)tl_smp_server_poll(&g_srv);
    tl_reset_reason_t why;
    (void)tl_host_take_reboot(&why);
    return 0;
}
