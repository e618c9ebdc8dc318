/* SHA-256 against the FIPS 180-4 / NIST CAVP example vectors, incremental feeding at
 * every split point, and the padding boundary lengths (55, 56, 63, 64 bytes). */
#include <stdint.h>
#include <string.h>

#include "theraloop/sha256.h"
#include "tl_test.h"

static void from_hex(const char *hex, uint8_t *out)
{
    for (size_t i = 0; i < TL_SHA256_SIZE; i++) {
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
    uint8_t want[TL_SHA256_SIZE];
    uint8_t got[TL_SHA256_SIZE];
    from_hex(hex, want);
    tl_sha256(data, len, got);
    TL_EXPECT_MEM_EQ(got, want, sizeof(want));
}

static void test_nist_vectors(void)
{
    expect_digest(NULL, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect_digest((const uint8_t *)"abc", 3,
                  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    expect_digest((const uint8_t *)two_blocks, strlen(two_blocks),
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_million_a(void)
{
    static uint8_t a[1000];
    memset(a, 'a', sizeof(a));
    tl_sha256_t h;
    tl_sha256_init(&h);
    for (int i = 0; i < 1000; i++) {
        tl_sha256_update(&h, a, sizeof(a));
    }
    uint8_t got[TL_SHA256_SIZE];
    uint8_t want[TL_SHA256_SIZE];
    tl_sha256_final(&h, got);
    from_hex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", want);
    TL_EXPECT_MEM_EQ(got, want, sizeof(want));
}

static void test_split_points_agree(void)
{
    uint8_t msg[200];
    for (size_t i = 0; i < sizeof(msg); i++) {
        msg[i] = (uint8_t)(i * 37u + 11u);
    }
    for (size_t len = 0; len <= sizeof(msg); len++) {
        uint8_t whole[TL_SHA256_SIZE];
        tl_sha256(msg, len, whole);
        for (size_t cut = 0; cut <= len; cut += (len < 70u) ? 1u : 13u) {
            tl_sha256_t h;
            tl_sha256_init(&h);
            tl_sha256_update(&h, msg, cut);
            tl_sha256_update(&h, msg + cut, len - cut);
            uint8_t parts[TL_SHA256_SIZE];
            tl_sha256_final(&h, parts);
            TL_EXPECT_MEM_EQ(parts, whole, sizeof(whole));
        }
    }
}

static void test_padding_boundaries(void)
{
    /* Python: hashlib.sha256(b"a" * n).hexdigest() */
    static const struct {
        size_t n;
        const char *hex;
    } k[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
    };
    uint8_t a[64];
    memset(a, 'a', sizeof(a));
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        expect_digest(a, k[i].n, k[i].hex);
    }
}

int main(void)
{
    TL_RUN(test_nist_vectors);
    TL_RUN(test_million_a);
    TL_RUN(test_split_points_agree);
    TL_RUN(test_padding_boundaries);
    return tl_test_summary();
}
