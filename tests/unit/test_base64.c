/* base64: RFC 4648 section 10 vectors both ways, strict rejection of malformed input,
 * output bounds, and the incremental decoder the serial transport uses. */
#include "theraloop/base64.h"
#include "tl_test.h"

typedef struct {
    const char *plain;
    const char *encoded;
} vector_t;

static const vector_t k_rfc4648[] = {
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},     {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

static void test_encode_rfc4648(void)
{
    for (size_t i = 0; i < sizeof(k_rfc4648) / sizeof(k_rfc4648[0]); i++) {
        char out[16];
        size_t n = 99;
        const char *p = k_rfc4648[i].plain;
        TL_EXPECT_EQ(tl_base64_encode((const uint8_t *)p, strlen(p), out, sizeof(out), &n),
                     TL_BASE64_OK);
        TL_EXPECT_EQ(n, strlen(k_rfc4648[i].encoded));
        TL_EXPECT_MEM_EQ(out, k_rfc4648[i].encoded, n);
        TL_EXPECT_EQ(TL_BASE64_ENCODED_LEN(strlen(p)), n);
    }
}

static void test_decode_rfc4648(void)
{
    for (size_t i = 0; i < sizeof(k_rfc4648) / sizeof(k_rfc4648[0]); i++) {
        uint8_t out[16];
        size_t n = 99;
        const char *e = k_rfc4648[i].encoded;
        TL_EXPECT_EQ(tl_base64_decode(e, strlen(e), out, sizeof(out), &n), TL_BASE64_OK);
        TL_EXPECT_EQ(n, strlen(k_rfc4648[i].plain));
        TL_EXPECT_MEM_EQ(out, k_rfc4648[i].plain, n);
    }
}

static void test_all_byte_values_round_trip(void)
{
    uint8_t in[256];
    for (int i = 0; i < 256; i++) {
        in[i] = (uint8_t)i;
    }
    char text[344];
    uint8_t back[256];
    for (size_t n = 0; n <= sizeof(in); n += 37) {
        size_t chars = 0;
        size_t got = 0;
        TL_EXPECT_EQ(tl_base64_encode(in, n, text, sizeof(text), &chars), TL_BASE64_OK);
        TL_EXPECT_EQ(tl_base64_decode(text, chars, back, sizeof(back), &got), TL_BASE64_OK);
        TL_EXPECT_EQ(got, n);
        TL_EXPECT_MEM_EQ(back, in, n);
    }
}

static void test_decode_rejects_malformed(void)
{
    static const char *const bad[] = {
        "Zg=",      /* not a multiple of 4 */
        "Z",        /* truncated */
        "Z===",     /* padding in position 1 */
        "====",     /* only padding */
        "Zg=a",     /* data after padding in a group */
        "Zg==Zg==", /* data after a padded group */
        "Zm9v!A==", /* character outside the alphabet */
        "Zm9v\nYg==", /* newline inside */
        "Zm 9v",    /* space */
        "Zm9-",     /* base64url alphabet is not accepted */
        "Zm9_",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t out[16];
        size_t n = 0;
        tl_base64_err_t err = tl_base64_decode(bad[i], strlen(bad[i]), out, sizeof(out), &n);
        if (err != TL_BASE64_ERR_INVALID) {
            printf("accepted: \"%s\"\n", bad[i]);
        }
        TL_EXPECT_EQ(err, TL_BASE64_ERR_INVALID);
    }
}

static void test_output_bounds(void)
{
    char small[7];
    size_t n = 0;
    TL_EXPECT_EQ(tl_base64_encode((const uint8_t *)"foob", 4, small, sizeof(small), &n),
                 TL_BASE64_ERR_NOSPACE);
    uint8_t out[5];
    TL_EXPECT_EQ(tl_base64_decode("Zm9vYmFy", 8, out, sizeof(out), &n), TL_BASE64_ERR_NOSPACE);
    TL_EXPECT_EQ(tl_base64_decode("Zm9vYmE=", 8, out, sizeof(out), &n), TL_BASE64_OK);
    TL_EXPECT_EQ(n, 5);
}

static void test_stream_decoder(void)
{
    tl_base64_stream_t s;
    tl_base64_stream_reset(&s);
    const char *text = "Zm9vYmE=";
    uint8_t out[8];
    size_t total = 0;
    for (size_t i = 0; i < strlen(text); i++) {
        uint8_t group[3];
        size_t n = 9;
        TL_EXPECT_EQ(tl_base64_stream_put(&s, (uint8_t)text[i], group, &n), TL_BASE64_OK);
        /* bytes appear only when a group of four completes */
        TL_EXPECT_EQ(n, (i == 3) ? 3u : (i == 7) ? 2u : 0u);
        memcpy(out + total, group, n);
        total += n;
        TL_EXPECT_EQ(tl_base64_stream_complete(&s), (i == 3 || i == 7));
    }
    TL_EXPECT_EQ(total, 5);
    TL_EXPECT_MEM_EQ(out, "fooba", 5);
    uint8_t group[3];
    size_t n = 0;
    TL_EXPECT_EQ(tl_base64_stream_put(&s, 'A', group, &n), TL_BASE64_ERR_INVALID);
    tl_base64_stream_reset(&s);
    TL_EXPECT_EQ(tl_base64_stream_put(&s, 'A', group, &n), TL_BASE64_OK);
}

int main(void)
{
    TL_RUN(test_encode_rfc4648);
    TL_RUN(test_decode_rfc4648);
    TL_RUN(test_all_byte_values_round_trip);
    TL_RUN(test_decode_rejects_malformed);
    TL_RUN(test_output_bounds);
    TL_RUN(test_stream_decoder);
    return tl_test_summary();
}
