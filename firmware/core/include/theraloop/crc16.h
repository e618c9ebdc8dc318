/*
 * crc16.h - CRC-16/XMODEM (also known as CRC-16/ITU-T in Zephyr's crc16_itu_t with seed 0):
 * polynomial 0x1021, initial value 0x0000, no reflection, no final XOR.
 * Check value: tl_crc16_xmodem(0, "123456789", 9) == 0x31C3.
 *
 * This is the checksum of the SMP serial transport (computed over the SMP packet,
 * transmitted big-endian after it).
 */
#ifndef THERALOOP_CRC16_H
#define THERALOOP_CRC16_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Continue a CRC over `len` bytes. Start with crc = 0; feeding a message in pieces gives
 * the same result as feeding it at once. `data` may be NULL when len is 0. */
uint16_t tl_crc16_xmodem(uint16_t crc, const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_CRC16_H */
