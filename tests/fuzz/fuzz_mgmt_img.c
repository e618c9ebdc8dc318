/* Fuzz the SMP image group (1) through the SMP server, with the real fw_update target on a
 * host RAM flash holding a signed running image (tests/unit/fwu_test_util.h).
 *
 * Input: byte 0 = flags (bit 0: therapy "running" for the busy check), then records of
 * [length u16 big-endian][SMP packet]; each packet's group is forced to 1 so the fuzzer
 * spends its time in the image group. Each input starts from the same fresh device.
 * Invariants checked after every input: no request changes the bootloader area, the
 * running image (fw_primary) or the scratch sector, and every response fits the buffer. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../unit/fwu_test_util.h"
#include "theraloop/mgmt_img.h"
#include "theraloop/smp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tl_smp_server_t g_srv;
static size_t g_responses;
static bool g_busy;
static uint8_t g_pkt[4200];

static void out(void *ctx, const uint8_t *pkt, size_t len)
{
    (void)ctx;
    (void)pkt;
    if (len < TL_SMP_HDR_SIZE || len > TL_SMP_BUF_SIZE) {
        __builtin_trap();
    }
    g_responses++;
}

static bool busy(void)
{
    return g_busy;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1u) {
        return 0;
    }
    if (!fwu_fresh_device()) {
        __builtin_trap();
    }
    g_busy = (data[0] & 1u) != 0u;
    tl_fw_update_set_busy_check(busy);
    tl_smp_server_init(&g_srv, out, NULL);
    const tl_image_target_t *targets[1] = {tl_fw_update_target()};
    if (tl_mgmt_img_register(&g_srv, &fwu_ram.dev, targets, 1) != TL_SMP_OK) {
        __builtin_trap();
    }
    size_t pos = 1;
    while (size - pos >= 2u) {
        size_t n = ((size_t)data[pos] << 8) | data[pos + 1u];
        pos += 2u;
        if (n > size - pos) {
            n = size - pos;
        }
        if (n > sizeof(g_pkt)) {
            n = sizeof(g_pkt);
        }
        memcpy(g_pkt, data + pos, n);
        pos += n;
        if (n >= TL_SMP_HDR_SIZE) {
            g_pkt[4] = 0;
            g_pkt[5] = TL_SMP_GROUP_IMAGE;
        }
        g_responses = 0;
        tl_smp_server_process(&g_srv, g_pkt, n);
    }
    tl_flash_area_t boot = fwu_area(TL_AREA_BOOTLOADER);
    tl_flash_area_t prim = fwu_area(TL_AREA_FW_PRIMARY);
    tl_flash_area_t scratch = fwu_area(TL_AREA_FW_SCRATCH);
    if (memcmp(&fwu_mem[prim.off], fw_v1_0, sizeof(fw_v1_0)) != 0) {
        __builtin_trap();
    }
    for (uint32_t i = 0; i < boot.size; i++) {
        if (fwu_mem[boot.off + i] != 0xFFu) {
            __builtin_trap();
        }
    }
    for (uint32_t i = 0; i < scratch.size; i++) {
        if (fwu_mem[scratch.off + i] != 0xFFu) {
            __builtin_trap();
        }
    }
    tl_fw_update_set_busy_check(NULL);
    return 0;
}
