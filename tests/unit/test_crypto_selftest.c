/* The power-on known-answer tests pass on a correct build, and report "not_run" before. */
#include "theraloop/crypto/selftest.h"
#include "tl_test.h"

static void test_selftest_passes(void)
{
    TL_EXPECT(strcmp(tl_crypto_selftest_status(), "not_run") == 0);
    TL_EXPECT_EQ(tl_crypto_selftest(), TL_CRYPTO_SELFTEST_PASS);
    TL_EXPECT_EQ(tl_crypto_selftest_at_boot(), TL_CRYPTO_SELFTEST_PASS);
    TL_EXPECT(strcmp(tl_crypto_selftest_status(), "pass") == 0);
}

static void test_names(void)
{
    TL_EXPECT(strcmp(tl_crypto_selftest_name(TL_CRYPTO_SELFTEST_ED25519), "ed25519") == 0);
    TL_EXPECT(strcmp(tl_crypto_selftest_name(TL_CRYPTO_SELFTEST_ED25519_NEG),
                     "ed25519_negative") == 0);
}

int main(void)
{
    TL_RUN(test_selftest_passes);
    TL_RUN(test_names);
    return tl_test_summary();
}
