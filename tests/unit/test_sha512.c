/* SHA-512 against the FIPS 180-4 / NIST example vectors ("abc", empty, the 896-bit
 * two-block message, one million 'a'), incremental feeding at every split point, and the
 * padding boundary lengths (111, 112, 127, 128 bytes) against the one-shot result. */
#include <stdint.h>
#include <string.h>

#include "theraloop/crypto/sha512.h"
#include "tl_test.h"

static void from_hex(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2u * i + (size_t)k];
            v = v * 16u + (unsigned)((c >= 'a') ? c - 'a' + 10 : c - '0');
        }
        out[i] = (uint8_t)v;
    }
}

static void expect_digest(const uint8_t *data, size_t len, const char *hex)
{
    uint8_t want[TL_SHA512_SIZE];
    uint8_t got[TL_SHA512_SIZE];
    from_hex(hex, want, sizeof(want));
    tl_sha512(data, len, got);
    TL_EXPECT_MEM_EQ(got, want, sizeof(want));
}

static const char *const MSG896 =
    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmn"
    "opqrsmnopqrstnopqrstu";

static void test_nist_vectors(void)
{
    expect_digest(NULL, 0,
                  "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
                  "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
    expect_digest((const uint8_t *)"abc", 3,
                  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                  "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    TL_EXPECT_EQ(strlen(MSG896), 112);
    expect_digest((const uint8_t *)MSG896, strlen(MSG896),
                  "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
                  "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
}

static void test_million_a(void)
{
    static uint8_t chunk[1000];
    memset(chunk, 'a', sizeof(chunk));
    tl_sha512_t h;
    tl_sha512_init(&h);
    for (int i = 0; i < 1000; i++) {
        tl_sha512_update(&h, chunk, sizeof(chunk));
    }
    uint8_t got[TL_SHA512_SIZE], want[TL_SHA512_SIZE];
    tl_sha512_final(&h, got);
    from_hex("e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
             "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b",
             want, sizeof(want));
    TL_EXPECT_MEM_EQ(got, want, sizeof(want));
}

/* Every split of the 896-bit message into two updates gives the one-shot digest. */
static void test_incremental_splits(void)
{
    const uint8_t *m = (const uint8_t *)MSG896;
    size_t n = strlen(MSG896);
    uint8_t want[TL_SHA512_SIZE];
    tl_sha512(m, n, want);
    for (size_t split = 0; split <= n; split++) {
        tl_sha512_t h;
        uint8_t got[TL_SHA512_SIZE];
        tl_sha512_init(&h);
        tl_sha512_update(&h, m, split);
        tl_sha512_update(&h, m + split, n - split);
        tl_sha512_final(&h, got);
        TL_EXPECT_MEM_EQ(got, want, sizeof(want));
    }
}

/* Lengths around the padding boundary: byte-by-byte feeding equals one-shot, and the
 * digests of neighbouring lengths differ (the length really is in the padding). The
 * 111- and 112-byte digests of 'a'*n are checked against known values. */
static void test_padding_boundaries(void)
{
    static uint8_t buf[300];
    memset(buf, 'a', sizeof(buf));
    uint8_t prev[TL_SHA512_SIZE] = {0};
    for (size_t n = 100; n <= 260; n++) {
        uint8_t one[TL_SHA512_SIZE], inc[TL_SHA512_SIZE];
        tl_sha512(buf, n, one);
        tl_sha512_t h;
        tl_sha512_init(&h);
        for (size_t i = 0; i < n; i++) {
            tl_sha512_update(&h, buf + i, 1);
        }
        tl_sha512_final(&h, inc);
        TL_EXPECT_MEM_EQ(one, inc, sizeof(one));
        TL_EXPECT(memcmp(one, prev, sizeof(one)) != 0);
        memcpy(prev, one, sizeof(prev));
    }
    expect_digest(buf, 111,
                  "fa9121c7b32b9e01733d034cfc78cbf67f926c7ed83e82200ef8681819692176"
                  "0b4beff48404df811b953828274461673c68d04e297b0eb7b2b4d60fc6b566a2");
    expect_digest(buf, 112,
                  "c01d080efd492776a1c43bd23dd99d0a2e626d481e16782e75d54c2503b5dc32"
                  "bd05f0f1ba33e568b88fd2d970929b719ecbb152f58f130a407c8830604b70ca");
    expect_digest(buf, 128,
                  "b73d1929aa615934e61a871596b3f3b33359f42b8175602e89f7e06e5f658a24"
                  "3667807ed300314b95cacdd579f3e33abdfbe351909519a846d465c59582f321");
}

int main(void)
{
    TL_RUN(test_nist_vectors);
    TL_RUN(test_million_a);
    TL_RUN(test_incremental_splits);
    TL_RUN(test_padding_boundaries);
    return tl_test_summary();
}
