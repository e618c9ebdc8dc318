/*
 * storage/crc32.h - CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320, init/xorout
 * 0xFFFFFFFF), the zlib/`binascii.crc32` CRC. Check value: "123456789" -> 0xCBF43926.
 */
#ifndef THERALOOP_STORAGE_CRC32_H
#define THERALOOP_STORAGE_CRC32_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Continue a CRC: start with crc = 0; feeding a message in pieces gives the same result
 * as feeding it at once (like zlib's crc32()). */
uint32_t tl_crc32(uint32_t crc, const void *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_STORAGE_CRC32_H */
