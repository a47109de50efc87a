// Every case of the Wycheproof AEAD files: valid ones give the exact ciphertext and tag
// and decrypt back; invalid ones are rejected.
#include <gtest/gtest.h>

#include <functional>

#include "support/vectors.hpp"
#include "zmesh/crypto/aead.hpp"

namespace zmesh::crypto {
namespace {

using Fn = std::function<Status(ByteView, ByteView, ByteView, ByteView, MutByteView)>;

struct Counts {
    int valid = 0;
    int invalid = 0;
};

Counts run_file(const std::string& file, const Fn& seal, const Fn& open) {
    auto doc = test::load_vectors("wycheproof/" + file);
    Counts n;
    for (const auto& group : doc["testGroups"]) {
        for (const auto& t : group["tests"]) {
            SCOPED_TRACE(file + " tcId " + std::to_string(t["tcId"].get<int>()));
            Bytes key = test::hex(t["key"]);
            Bytes iv = test::hex(t["iv"]);
            Bytes aad = test::hex(t["aad"]);
            Bytes msg = test::hex(t["msg"]);
            Bytes sealed = test::hex(t["ct"]);
            Bytes tag = test::hex(t["tag"]);
            sealed.insert(sealed.end(), tag.begin(), tag.end());
            Bytes opened(sealed.size() >= kAeadTagSize ? sealed.size() - kAeadTagSize : 0);
            auto open_st = open(key, iv, aad, sealed, opened);
            if (t["result"] == "valid") {
                ++n.valid;
                Bytes out(msg.size() + kAeadTagSize);
                EXPECT_TRUE(seal(key, iv, aad, msg, out));
                EXPECT_EQ(to_hex(out), to_hex(sealed));
                EXPECT_TRUE(open_st);
                EXPECT_EQ(opened, msg);
            } else {
                ++n.invalid;
                EXPECT_FALSE(open_st);
            }
        }
    }
    EXPECT_EQ(n.valid + n.invalid, doc["numberOfTests"].get<int>());
    return n;
}

TEST(AeadVectors, chacha20_poly1305_wycheproof) {
    auto n = run_file("chacha20_poly1305_test.json", chacha20poly1305_seal, chacha20poly1305_open);
    EXPECT_GT(n.valid, 100);
    EXPECT_GT(n.invalid, 10);
}

TEST(AeadVectors, xchacha20_poly1305_wycheproof) {
    auto n =
        run_file("xchacha20_poly1305_test.json", xchacha20poly1305_seal, xchacha20poly1305_open);
    EXPECT_GT(n.valid, 100);
    EXPECT_GT(n.invalid, 10);
}

TEST(AeadVectors, aes_gcm_wycheproof) {
    auto n = run_file("aes_gcm_test.json", aes_gcm_seal, aes_gcm_open);
    EXPECT_GT(n.valid, 100);
    EXPECT_GT(n.invalid, 10);
}

TEST(AeadKey, seals_in_place_and_detects_any_flipped_bit) {
    for (auto alg : {AeadAlg::chacha20_poly1305, AeadAlg::aes256_gcm}) {
        auto key = random_value<SymmetricKey>();
        AeadKey k(alg, key);
        AeadNonce nonce{};
        nonce.bytes[11] = 7;
        Bytes ad{1, 2, 3};
        Bytes buf(64 + kAeadTagSize);
        for (std::size_t i = 0; i < 64; ++i) buf[i] = static_cast<std::uint8_t>(i);
        Bytes plain(buf.begin(), buf.begin() + 64);
        ASSERT_TRUE(k.seal(nonce, ad, ByteView{buf}.first(64), buf));
        Bytes sealed = buf;
        for (std::size_t bit = 0; bit < sealed.size() * 8; bit += 13) {
            Bytes bad = sealed;
            bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            Bytes out(64);
            EXPECT_FALSE(k.open(nonce, ad, bad, out));
        }
        Bytes out(64);
        ASSERT_TRUE(k.open(nonce, ad, sealed, out));
        EXPECT_EQ(out, plain);
        // The same operation through the raw interface gives the same bytes.
        Bytes raw(64 + kAeadTagSize);
        auto st = alg == AeadAlg::chacha20_poly1305
                      ? chacha20poly1305_seal(key.view(), nonce.view(), ad, plain, raw)
                      : aes_gcm_seal(key.view(), nonce.view(), ad, plain, raw);
        ASSERT_TRUE(st);
        EXPECT_EQ(raw, sealed);
    }
}

TEST(AeadKey, rejects_short_ciphertext_and_wrong_sizes) {
    auto key = random_value<SymmetricKey>();
    Bytes out(8);
    Bytes tiny(8);
    AeadNonce nonce{};
    EXPECT_FALSE(AeadKey(AeadAlg::aes256_gcm, key).open(nonce, {}, tiny, out));
    EXPECT_FALSE(AeadKey(AeadAlg::chacha20_poly1305, key).open(nonce, {}, tiny, out));
    Bytes short_key(16);
    EXPECT_FALSE(chacha20poly1305_seal(short_key, nonce.view(), {}, tiny, out));
}

}  // namespace
}  // namespace zmesh::crypto
