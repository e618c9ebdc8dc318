/* Ed25519 verification: the RFC 8032 section 7.1 vectors (TEST 1, 2, 3, 1024, SHA(abc)),
 * one-shot and streamed; any flipped bit in key, signature or message is rejected; the
 * strict encoding rules (non-canonical S, non-canonical / off-curve / small-order A and R)
 * give their specific status; the classic small-order-key forgery is refused. */
#include <stdint.h>
#include <string.h>

#include "theraloop/crypto/ed25519.h"
#include "tl_test.h"

typedef struct {
    const char *name;
    const char *pub;
    const char *sig;
    const char *msg;
} rfc_vector_t;

/* RFC 8032 section 7.1: public key, signature, message (hex). */
static const rfc_vector_t RFC8032[] = {
    {"1",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
     ""},
    {"2",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
     "72"},
    {"3",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
     "af82"},
    {"1024",
     "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
     "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350"
     "aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
     "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98"
     "fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8"
     "79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
     "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc"
     "1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe"
     "ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
     "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef"
     "efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7"
     "aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
     "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2"
     "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24"
     "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
     "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc"
     "2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07"
     "07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
     "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a"
     "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e"
     "c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
     "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c"
     "42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8"
     "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
     "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08"
     "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649"
     "de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
     "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3"
     "2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e"
     "6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
     "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5"
     "0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1"
     "369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
     "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c"
     "0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0"},
    {"sha_abc",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
     "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
};

static size_t from_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2u;
    if (n > cap) {
        n = cap;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2u * i + (size_t)k];
            v = v * 16u + (unsigned)((c >= 'a') ? c - 'a' + 10 : c - '0');
        }
        out[i] = (uint8_t)v;
    }
    return n;
}

typedef struct {
    uint8_t pub[32];
    uint8_t sig[64];
    uint8_t msg[1024];
    size_t len;
} case_t;

static case_t load(size_t i)
{
    case_t c;
    memset(&c, 0, sizeof(c));
    from_hex(RFC8032[i].pub, c.pub, sizeof(c.pub));
    from_hex(RFC8032[i].sig, c.sig, sizeof(c.sig));
    c.len = from_hex(RFC8032[i].msg, c.msg, sizeof(c.msg));
    return c;
}

#define N_RFC (sizeof(RFC8032) / sizeof(RFC8032[0]))

static void test_rfc8032_vectors(void)
{
    for (size_t i = 0; i < N_RFC; i++) {
        case_t c = load(i);
        tl_ed25519_status_t st = tl_ed25519_verify(c.sig, c.msg, c.len, c.pub);
        if (st != TL_ED25519_OK) {
            printf("RFC 8032 TEST %s: %s\n", RFC8032[i].name, tl_ed25519_status_name(st));
        }
        TL_EXPECT_EQ(st, TL_ED25519_OK);
    }
    TL_EXPECT_EQ(load(3).len, 1023);
}

/* The streaming API over chunks of every size from 1 to 200 bytes gives the same answer. */
static void test_streamed(void)
{
    case_t c = load(3); /* TEST 1024 */
    for (size_t chunk = 1; chunk <= 200; chunk += 13) {
        tl_ed25519_verify_t v;
        TL_EXPECT_EQ(tl_ed25519_verify_start(&v, c.sig, c.pub), TL_ED25519_OK);
        for (size_t off = 0; off < c.len; off += chunk) {
            size_t n = c.len - off < chunk ? c.len - off : chunk;
            tl_ed25519_verify_update(&v, c.msg + off, n);
        }
        TL_EXPECT_EQ(tl_ed25519_verify_finish(&v), TL_ED25519_OK);
    }
    /* one byte short */
    tl_ed25519_verify_t v;
    TL_EXPECT_EQ(tl_ed25519_verify_start(&v, c.sig, c.pub), TL_ED25519_OK);
    tl_ed25519_verify_update(&v, c.msg, c.len - 1u);
    TL_EXPECT_EQ(tl_ed25519_verify_finish(&v), TL_ED25519_ERR_MISMATCH);
}

static void test_every_flipped_bit_rejected(void)
{
    case_t c = load(2); /* TEST 3: 2-byte message */
    for (unsigned bit = 0; bit < 64u * 8u; bit++) {
        c.sig[bit / 8u] ^= (uint8_t)(1u << (bit % 8u));
        TL_EXPECT(tl_ed25519_verify(c.sig, c.msg, c.len, c.pub) != TL_ED25519_OK);
        c.sig[bit / 8u] ^= (uint8_t)(1u << (bit % 8u));
    }
    for (unsigned bit = 0; bit < 32u * 8u; bit++) {
        c.pub[bit / 8u] ^= (uint8_t)(1u << (bit % 8u));
        TL_EXPECT(tl_ed25519_verify(c.sig, c.msg, c.len, c.pub) != TL_ED25519_OK);
        c.pub[bit / 8u] ^= (uint8_t)(1u << (bit % 8u));
    }
    for (unsigned bit = 0; bit < c.len * 8u; bit++) {
        c.msg[bit / 8u] ^= (uint8_t)(1u << (bit % 8u));
        TL_EXPECT_EQ(tl_ed25519_verify(c.sig, c.msg, c.len, c.pub), TL_ED25519_ERR_MISMATCH);
        c.msg[bit / 8u] ^= (uint8_t)(1u << (bit % 8u));
    }
    TL_EXPECT_EQ(tl_ed25519_verify(c.sig, c.msg, c.len, c.pub), TL_ED25519_OK);
    /* an appended or dropped byte */
    TL_EXPECT_EQ(tl_ed25519_verify(c.sig, c.msg, c.len + 1u, c.pub), TL_ED25519_ERR_MISMATCH);
    TL_EXPECT_EQ(tl_ed25519_verify(c.sig, c.msg, c.len - 1u, c.pub), TL_ED25519_ERR_MISMATCH);
    /* a signature valid for another key */
    case_t other = load(1);
    TL_EXPECT_EQ(tl_ed25519_verify(c.sig, c.msg, c.len, other.pub), TL_ED25519_ERR_MISMATCH);
}

static const uint8_t L_BYTES[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                    0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                    0,    0,    0,    0,    0,    0,    0,    0,
                                    0,    0,    0,    0,    0,    0,    0,    0x10};

/* S + L verifies the same equation mathematically; strict verification must refuse it. */
static void test_noncanonical_s(void)
{
    for (size_t i = 0; i < N_RFC; i++) {
        case_t c = load(i);
        unsigned carry = 0;
        for (unsigned k = 0; k < 32u; k++) {
            unsigned s = (unsigned)c.sig[32u + k] + L_BYTES[k] + carry;
            c.sig[32u + k] = (uint8_t)s;
            carry = s >> 8;
        }
        TL_EXPECT_EQ(carry, 0);
        TL_EXPECT_EQ(tl_ed25519_verify(c.sig, c.msg, c.len, c.pub),
                     TL_ED25519_ERR_S_NONCANONICAL);
    }
    case_t c = load(0);
    memcpy(c.sig + 32, L_BYTES, 32);
    TL_EXPECT_EQ(tl_ed25519_verify(c.sig, c.msg, c.len, c.pub), TL_ED25519_ERR_S_NONCANONICAL);
    memset(c.sig + 32, 0xff, 32);
    TL_EXPECT_EQ(tl_ed25519_verify(c.sig, c.msg, c.len, c.pub), TL_ED25519_ERR_S_NONCANONICAL);
    /* S = L - 1 is canonical: well formed, just wrong */
    memcpy(c.sig + 32, L_BYTES, 32);
    c.sig[32] = (uint8_t)(c.sig[32] - 1u);
    TL_EXPECT_EQ(tl_ed25519_verify(c.sig, c.msg, c.len, c.pub), TL_ED25519_ERR_MISMATCH);
}

/* The 8 points of order 1, 2, 4 and 8, canonically encoded. */
static const char *const SMALL_ORDER[8] = {
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
};

static void test_small_order_points(void)
{
    case_t c = load(1);
    for (unsigned i = 0; i < 8u; i++) {
        uint8_t pt[32];
        from_hex(SMALL_ORDER[i], pt, sizeof(pt));
        TL_EXPECT_EQ(tl_ed25519_verify(c.sig, c.msg, c.len, pt), TL_ED25519_ERR_KEY_SMALL_ORDER);
        uint8_t sig[64];
        memcpy(sig, pt, 32);
        memcpy(sig + 32, c.sig + 32, 32);
        TL_EXPECT_EQ(tl_ed25519_verify(sig, c.msg, c.len, c.pub), TL_ED25519_ERR_R_SMALL_ORDER);
    }
    /* The classic forgery: A = R = identity, S = 0 satisfies [S]B = R + [k]A for every
     * message. Refused because of the key. */
    uint8_t id[32] = {1};
    uint8_t forged[64] = {1};
    TL_EXPECT_EQ(tl_ed25519_verify(forged, (const uint8_t *)"anything", 8, id),
                 TL_ED25519_ERR_KEY_SMALL_ORDER);
}

/* y >= p (19 values per sign bit), "negative zero" x, and a y with no x on the curve. */
static void test_noncanonical_and_invalid_points(void)
{
    case_t c = load(1);
    for (unsigned k = 0; k < 19u; k++) {
        for (unsigned sign = 0; sign < 2u; sign++) {
            uint8_t pt[32];
            memset(pt, 0xff, sizeof(pt));
            pt[0] = (uint8_t)(0xedu + k); /* p + k */
            pt[31] = (uint8_t)(0x7fu | (sign << 7));
            TL_EXPECT_EQ(tl_ed25519_verify(c.sig, c.msg, c.len, pt),
                         TL_ED25519_ERR_KEY_ENCODING);
            uint8_t sig[64];
            memcpy(sig, pt, 32);
            memcpy(sig + 32, c.sig + 32, 32);
            TL_EXPECT_EQ(tl_ed25519_verify(sig, c.msg, c.len, c.pub), TL_ED25519_ERR_R_ENCODING);
        }
    }
    uint8_t negzero[32] = {1};
    negzero[31] = 0x80; /* y = 1, x = 0 with the sign bit set */
    TL_EXPECT_EQ(tl_ed25519_verify(c.sig, c.msg, c.len, negzero), TL_ED25519_ERR_KEY_ENCODING);
    uint8_t off_curve[32] = {2}; /* y = 2: (y^2 - 1) / (d y^2 + 1) is not a square */
    TL_EXPECT_EQ(tl_ed25519_verify(c.sig, c.msg, c.len, off_curve), TL_ED25519_ERR_KEY_ENCODING);
    uint8_t sig[64];
    memcpy(sig, off_curve, 32);
    memcpy(sig + 32, c.sig + 32, 32);
    TL_EXPECT_EQ(tl_ed25519_verify(sig, c.msg, c.len, c.pub), TL_ED25519_ERR_R_ENCODING);
}

static void test_arguments(void)
{
    case_t c = load(1);
    TL_EXPECT_EQ(tl_ed25519_verify(NULL, c.msg, c.len, c.pub), TL_ED25519_ERR_ARG);
    TL_EXPECT_EQ(tl_ed25519_verify(c.sig, c.msg, c.len, NULL), TL_ED25519_ERR_ARG);
    TL_EXPECT_EQ(tl_ed25519_verify(c.sig, NULL, 1, c.pub), TL_ED25519_ERR_ARG);
    TL_EXPECT_EQ(tl_ed25519_verify_start(NULL, c.sig, c.pub), TL_ED25519_ERR_ARG);
    TL_EXPECT_EQ(tl_ed25519_verify_finish(NULL), TL_ED25519_ERR_ARG);
    case_t e = load(0); /* empty message: NULL with length 0 is fine */
    TL_EXPECT_EQ(tl_ed25519_verify(e.sig, NULL, 0, e.pub), TL_ED25519_OK);
    /* a failed start stays failed */
    tl_ed25519_verify_t v;
    uint8_t bad[32] = {2};
    TL_EXPECT_EQ(tl_ed25519_verify_start(&v, c.sig, bad), TL_ED25519_ERR_KEY_ENCODING);
    tl_ed25519_verify_update(&v, c.msg, c.len);
    TL_EXPECT_EQ(tl_ed25519_verify_finish(&v), TL_ED25519_ERR_KEY_ENCODING);
    TL_EXPECT(strcmp(tl_ed25519_status_name(TL_ED25519_ERR_S_NONCANONICAL), "s_noncanonical") ==
              0);
    TL_EXPECT(strcmp(tl_ed25519_status_name((tl_ed25519_status_t)99), "unknown") == 0);
}

int main(void)
{
    TL_RUN(test_rfc8032_vectors);
    TL_RUN(test_streamed);
    TL_RUN(test_every_flipped_bit_rejected);
    TL_RUN(test_noncanonical_s);
    TL_RUN(test_small_order_points);
    TL_RUN(test_noncanonical_and_invalid_points);
    TL_RUN(test_arguments);
    return tl_test_summary();
}
