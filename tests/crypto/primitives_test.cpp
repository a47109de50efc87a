// Signatures, key agreement, hashes and HKDF: Wycheproof where it has files, known
// answers from the standards otherwise.
#include <gtest/gtest.h>

#include "support/vectors.hpp"
#include "zmesh/crypto/hash.hpp"
#include "zmesh/crypto/keys.hpp"

namespace zmesh::crypto {
namespace {

TEST(Ed25519, wycheproof_every_case) {
    auto doc = test::load_vectors("wycheproof/ed25519_test.json");
    int valid = 0;
    int invalid = 0;
    for (const auto& group : doc["testGroups"]) {
        auto pub = Ed25519Public::from(test::hex(group["publicKey"]["pk"]));
        ASSERT_TRUE(pub);
        for (const auto& t : group["tests"]) {
            SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
            Bytes msg = test::hex(t["msg"]);
            auto sig = Ed25519Signature::from(test::hex(t["sig"]));
            bool ok = sig && ed25519_verify(*pub, msg, *sig);
            if (t["result"] == "valid") {
                ++valid;
                EXPECT_TRUE(ok);
            } else {
                ++invalid;
                EXPECT_FALSE(ok);
            }
        }
    }
    EXPECT_EQ(valid + invalid, doc["numberOfTests"].get<int>());
    EXPECT_GT(valid, 10);
    EXPECT_GT(invalid, 10);
}

TEST(Ed25519, signs_and_verifies_and_rejects_changes) {
    auto kp = Ed25519KeyPair::generate();
    Bytes msg{'z', 'm', 'e', 's', 'h'};
    auto sig = kp.sign(msg);
    EXPECT_TRUE(ed25519_verify(kp.pub, msg, sig));
    msg[0] ^= 1;
    EXPECT_FALSE(ed25519_verify(kp.pub, msg, sig));
    auto again = Ed25519KeyPair::from_seed(kp.seed);
    EXPECT_EQ(again.pub, kp.pub);
}

// Valid cases give the exact shared secret. "Acceptable" cases are accepted with the exact
// result too, except low-order inputs whose shared secret is zero: those we reject on
// purpose, since a zero secret would let a peer force a known key.
TEST(X25519, wycheproof_every_case) {
    auto doc = test::load_vectors("wycheproof/x25519_test.json");
    int cases = 0;
    int rejected_zero = 0;
    for (const auto& group : doc["testGroups"]) {
        for (const auto& t : group["tests"]) {
            SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
            ++cases;
            auto sk = X25519Secret::from(test::hex(t["private"]));
            auto pk = X25519Public::from(test::hex(t["public"]));
            ASSERT_TRUE(sk && pk);
            auto shared = x25519(*sk, *pk);
            Bytes expected = test::hex(t["shared"]);
            if (test::has_flag(t, "ZeroSharedSecret")) {
                EXPECT_FALSE(shared);
                ++rejected_zero;
                continue;
            }
            ASSERT_TRUE(shared) << t["result"];
            EXPECT_EQ(to_hex(shared->view()), to_hex(expected));
        }
    }
    EXPECT_EQ(cases, doc["numberOfTests"].get<int>());
    EXPECT_GT(rejected_zero, 0);
}

TEST(X25519, both_sides_agree) {
    auto a = X25519KeyPair::generate();
    auto b = X25519KeyPair::generate();
    auto ab = x25519(a.secret, b.pub);
    auto ba = x25519(b.secret, a.pub);
    ASSERT_TRUE(ab && ba);
    EXPECT_TRUE(ab->ct_equals(*ba));
}

TEST(Hkdf, wycheproof_every_case) {
    auto doc = test::load_vectors("wycheproof/hkdf_sha256_test.json");
    int cases = 0;
    for (const auto& group : doc["testGroups"]) {
        for (const auto& t : group["tests"]) {
            SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
            ++cases;
            auto okm = hkdf_sha256(test::hex(t["ikm"]), test::hex(t["salt"]), test::hex(t["info"]),
                                   t["size"].get<std::size_t>());
            if (t["result"] == "valid") {
                ASSERT_TRUE(okm);
                EXPECT_EQ(to_hex(ByteView{okm->data(), okm->size()}), t["okm"].get<std::string>());
            } else {
                EXPECT_FALSE(okm);
            }
        }
    }
    EXPECT_EQ(cases, doc["numberOfTests"].get<int>());
}

std::string hex_of(ByteView v) {
    return to_hex(v);
}

TEST(Hashes, known_answers) {
    EXPECT_EQ(hex_of(sha256(as_bytes("abc"))),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hex_of(sha3_256(as_bytes(""))),
              "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
    EXPECT_EQ(hex_of(sha3_512(as_bytes("abc"))),
              "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e"
              "10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0");
    ByteArray<32> shake{};
    shake128(as_bytes(""), shake);
    EXPECT_EQ(hex_of(shake), "7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26");
    shake256(as_bytes(""), shake);
    EXPECT_EQ(hex_of(shake), "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f");
    ByteArray<64> b2{};
    blake2b(b2, as_bytes("abc"));
    EXPECT_EQ(hex_of(b2),
              "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
              "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
}

TEST(Hashes, hmac_sha256_rfc4231_case1) {
    Bytes key(20, 0x0b);
    ByteArray<32> out{};
    hmac(HashAlg::sha256, key, {as_bytes("Hi "), as_bytes("There")}, out);
    EXPECT_EQ(hex_of(out), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(Secure, ct_equal_compares_exactly) {
    Bytes a{1, 2, 3};
    Bytes b{1, 2, 3};
    Bytes c{1, 2, 4};
    EXPECT_TRUE(ct_equal(a, b));
    EXPECT_FALSE(ct_equal(a, c));
    EXPECT_FALSE(ct_equal(a, ByteView{b}.first(2)));
}

TEST(Secure, secret_is_wiped_by_wipe) {
    SymmetricKey k = random_value<SymmetricKey>();
    wipe(k.mut_view());
    for (auto byte : k.view()) EXPECT_EQ(byte, 0);
}

}  // namespace
}  // namespace zmesh::crypto

#include "zmesh/crypto/selftest.hpp"

namespace zmesh::crypto {
namespace {

TEST(Selftest, every_known_answer_passes) {
    auto results = run_selftest();
    EXPECT_GE(results.size(), 11u);
    for (const auto& r : results) EXPECT_TRUE(r.ok) << r.name;
    EXPECT_TRUE(selftest_passes());
}

}  // namespace
}  // namespace zmesh::crypto
