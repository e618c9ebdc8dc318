/* CRC-16/XMODEM: catalogue check value, known vectors, incremental use, and agreement with
 * a bitwise reference implementation. */
#include "smp_test_util.h"
#include "theraloop/crc16.h"
#include "tl_test.h"

static void test_check_value(void)
{
    const char *s = "123456789";
    TL_EXPECT_EQ(tl_crc16_xmodem(0, (const uint8_t *)s, 9), 0x31C3);
}

static void test_known_vectors(void)
{
    TL_EXPECT_EQ(tl_crc16_xmodem(0, NULL, 0), 0x0000);
    TL_EXPECT_EQ(tl_crc16_xmodem(0, (const uint8_t *)"A", 1), 0x58E5);
    const uint8_t zeros[4] = {0, 0, 0, 0};
    TL_EXPECT_EQ(tl_crc16_xmodem(0, zeros, sizeof(zeros)), 0x0000);
    const uint8_t ff[2] = {0xFF, 0xFF};
    TL_EXPECT_EQ(tl_crc16_xmodem(0, ff, 2), ref_crc16(ff, 2));
}

static void test_incremental_equals_whole(void)
{
    const uint8_t *msg = (const uint8_t *)"The quick brown fox jumps over the lazy dog";
    size_t n = strlen((const char *)msg);
    uint16_t whole = tl_crc16_xmodem(0, msg, n);
    for (size_t split = 0; split <= n; split++) {
        uint16_t crc = tl_crc16_xmodem(0, msg, split);
        crc = tl_crc16_xmodem(crc, msg + split, n - split);
        TL_EXPECT_EQ(crc, whole);
    }
}

static void test_matches_reference(void)
{
    uint8_t buf[257];
    uint32_t x = 12345u;
    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)(round % 257);
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (uint8_t)(x >> 16);
        }
        TL_EXPECT_EQ(tl_crc16_xmodem(0, buf, n), ref_crc16(buf, n));
    }
}

static void test_appended_crc_gives_zero(void)
{
    /* The property Zephyr's receiver uses: CRC over message + big-endian CRC is 0. */
    uint8_t buf[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    uint16_t crc = tl_crc16_xmodem(0, buf, 10);
    buf[10] = (uint8_t)(crc >> 8);
    buf[11] = (uint8_t)crc;
    TL_EXPECT_EQ(tl_crc16_xmodem(0, buf, 12), 0);
}

int main(void)
{
    TL_RUN(test_check_value);
    TL_RUN(test_known_vectors);
    TL_RUN(test_incremental_equals_whole);
    TL_RUN(test_matches_reference);
    TL_RUN(test_appended_crc_gives_zero);
    return tl_test_summary();
}
