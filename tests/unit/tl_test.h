/*
 * tl_test.h - a minimal unit-test harness for the C core (one file, no allocation).
 *
 *   static void test_something(void) { TL_EXPECT_EQ(1 + 1, 2); }
 *   int main(void) { TL_RUN(test_something); return tl_test_summary(); }
 *
 * Prints "N passed, M failed" at the end; a failed expectation prints file:line.
 */
#ifndef TL_TEST_H
#define TL_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int tl_test_failures_;
static int tl_test_passed_;
static int tl_test_failed_;

#define TL_EXPECT(cond)                                                                  \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            printf("%s:%d: expected %s\n", __FILE__, __LINE__, #cond);                   \
            tl_test_failures_++;                                                         \
        }                                                                                \
    } while (0)

#define TL_EXPECT_EQ(a, b)                                                               \
    do {                                                                                 \
        long long tl_a_ = (long long)(a), tl_b_ = (long long)(b);                        \
        if (tl_a_ != tl_b_) {                                                            \
            printf("%s:%d: expected %s == %s (%lld != %lld)\n", __FILE__, __LINE__, #a,  \
                   #b, tl_a_, tl_b_);                                                    \
            tl_test_failures_++;                                                         \
        }                                                                                \
    } while (0)

#define TL_EXPECT_MEM_EQ(a, b, n)                                                        \
    do {                                                                                 \
        if (memcmp((a), (b), (n)) != 0) {                                                \
            printf("%s:%d: memory differs: %s vs %s\n", __FILE__, __LINE__, #a, #b);     \
            tl_test_failures_++;                                                         \
        }                                                                                \
    } while (0)

#define TL_RUN(fn)                                                                       \
    do {                                                                                 \
        int tl_before_ = tl_test_failures_;                                              \
        fn();                                                                            \
        if (tl_test_failures_ == tl_before_) {                                           \
            tl_test_passed_++;                                                           \
        } else {                                                                         \
            tl_test_failed_++;                                                           \
            printf("FAIL %s\n", #fn);                                                    \
        }                                                                                \
    } while (0)

static inline int tl_test_summary(void)
{
    printf("%d passed, %d failed\n", tl_test_passed_, tl_test_failed_);
    return tl_test_failed_ == 0 ? 0 : 1;
}

#endif /* TL_TEST_H */
