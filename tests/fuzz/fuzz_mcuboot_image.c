/*
 * fuzz_mcuboot_image.c - tl_mcuboot_parse + tl_mcuboot_verify_hash on arbitrary bytes.
 *
 * The first input byte picks the slot size relative to the input (exact, larger, or a
 * smaller slot through a truncated view), so the too-big and truncated paths are reached.
 * Checks: no memory error or UB, and on success the reported layout lies inside the
 * readable bytes and is self-consistent.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "theraloop/storage/mcuboot_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1u || size > 0x20000u) {
        return 0;
    }
    const uint8_t mode = data[0];
    const uint8_t *img = data + 1;
    uint32_t len = (uint32_t)(size - 1u);
    uint32_t slot = len;
    if ((mode & 3u) == 1u) {
        slot = len + 0x100u * (uint32_t)(mode >> 2);
    } else if ((mode & 3u) == 2u) {
        len = len / 2u; /* truncated upload in a slot that fits the whole input */
    }
    tl_mcuboot_src_t src = tl_mcuboot_src_mem(img, len);
    tl_mcuboot_info_t info;
    if (tl_mcuboot_parse(&src, slot, &info) != TL_MCUBOOT_OK) {
        return 0;
    }
    if (info.total_len > len || info.hashed_len > info.total_len ||
        info.payload_off + (uint64_t)info.payload_len > info.hashed_len ||
        info.tlv_off + (uint64_t)info.tlv_len != info.total_len ||
        info.sha256_off + 32u > info.total_len || info.hdr_size < 32u) {
        abort();
    }
    if ((info.present & TL_MCUBOOT_HAS_SIG) != 0u &&
        info.sig_off + (uint64_t)info.sig_len > info.total_len) {
        abort();
    }
    if ((info.present & TL_MCUBOOT_HAS_KEY) != 0u &&
        info.key_off + (uint64_t)info.key_len > info.total_len) {
        abort();
    }
    uint8_t digest[TL_SHA256_SIZE];
    (void)tl_mcuboot_verify_hash(&src, &info, digest);
    uint8_t b[8];
    if (info.payload_len >= sizeof(b)) {
        if (tl_mcuboot_read_payload(&src, &info, info.payload_len - 8u, b, 8u) !=
            TL_MCUBOOT_OK) {
            abort();
        }
    }
    return 0;
}
