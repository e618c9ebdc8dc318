/*
 * crc16.c - CRC-16/XMODEM, processed a nibble at a time (a 16-entry table: 32 bytes of
 * flash instead of 512, about 2x the speed of the bitwise loop).
 */
#include "theraloop/crc16.h"

/* CRC of each 4-bit value shifted into the top nibble of the register. */
static const uint16_t k_crc16_nibble[16] = {
    0x0000u, 0x1021u, 0x2042u, 0x3063u, 0x4084u, 0x50A5u, 0x60C6u, 0x70E7u,
    0x8108u, 0x9129u, 0xA14Au, 0xB16Bu, 0xC18Cu, 0xD1ADu, 0xE1CEu, 0xF1EFu,
};

uint16_t tl_crc16_xmodem(uint16_t crc, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t byte = data[i];
        uint16_t idx = (uint16_t)(((crc >> 12) ^ (byte >> 4)) & 0x0Fu);
        crc = (uint16_t)((uint16_t)(crc << 4) ^ k_crc16_nibble[idx]);
        idx = (uint16_t)(((crc >> 12) ^ (byte & 0x0Fu)) & 0x0Fu);
        crc = (uint16_t)((uint16_t)(crc << 4) ^ k_crc16_nibble[idx]);
    }
    return crc;
}
