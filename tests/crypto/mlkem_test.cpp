// ML-KEM-768 and ML-KEM-1024 against every Wycheproof ML-KEM file: key generation from
// seeds, encapsulation (with the modulus check) and decapsulation (with implicit
// rejection), exact outputs for valid cases, errors for invalid ones.
#include <gtest/gtest.h>

#include "support/vectors.hpp"
#include "zmesh/crypto/mlkem/mlkem.hpp"

namespace zmesh::crypto::mlkem {
namespace {

struct Case {
    const Params* params;
    const char* prefix;
};

class MlKem : public ::testing::TestWithParam<Case> {};

TEST_P(MlKem, keygen_from_seed_vectors) {
    const Params& p = *GetParam().params;
    auto doc = test::load_vectors(std::string("wycheproof/") + GetParam().prefix +
                                  "_keygen_seed_test.json");
    int n = 0;
    for (const auto& g : doc["testGroups"]) {
        for (const auto& t : g["tests"]) {
            SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
            ++n;
            Bytes seed = test::hex(t["seed"]);
            ASSERT_EQ(seed.size(), 64u);
            auto kp = keygen_from_seed(p, ByteView{seed}.first(32), ByteView{seed}.subspan(32));
            ASSERT_TRUE(kp);
            EXPECT_EQ(to_hex(kp->ek), t["ek"].get<std::string>());
            EXPECT_EQ(to_hex(ByteView{kp->dk.data(), kp->dk.size()}), t["dk"].get<std::string>());
        }
    }
    EXPECT_EQ(n, doc["numberOfTests"].get<int>());
}

TEST_P(MlKem, encaps_vectors) {
    const Params& p = *GetParam().params;
    auto doc =
        test::load_vectors(std::string("wycheproof/") + GetParam().prefix + "_encaps_test.json");
    int valid = 0;
    int invalid = 0;
    for (const auto& g : doc["testGroups"]) {
        for (const auto& t : g["tests"]) {
            SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
            auto r = encaps_derand(p, test::hex(t["ek"]), test::hex(t["m"]));
            if (t["result"] == "valid") {
                ++valid;
                ASSERT_TRUE(r);
                EXPECT_EQ(to_hex(r->ciphertext), t["c"].get<std::string>());
                EXPECT_EQ(to_hex(r->key.view()), t["K"].get<std::string>());
            } else {
                ++invalid;
                EXPECT_FALSE(r);
            }
        }
    }
    EXPECT_EQ(valid + invalid, doc["numberOfTests"].get<int>());
    EXPECT_GT(invalid, 10);
}

TEST_P(MlKem, decaps_vectors) {
    const Params& p = *GetParam().params;
    auto doc = test::load_vectors(std::string("wycheproof/") + GetParam().prefix + "_test.json");
    int valid = 0;
    int invalid = 0;
    for (const auto& g : doc["testGroups"]) {
        for (const auto& t : g["tests"]) {
            SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
            Bytes seed = test::hex(t["seed"]);
            Bytes c = test::hex(t["c"]);
            std::optional<SharedSecret> k;
            std::optional<KeyPair> kp;
            if (seed.size() == 64) {
                auto r = keygen_from_seed(p, ByteView{seed}.first(32), ByteView{seed}.subspan(32));
                if (r) kp = std::move(*r);
            }
            if (kp) {
                if (t.contains("ek")) {
                    EXPECT_EQ(to_hex(kp->ek), t["ek"].get<std::string>());
                }
                auto r = decaps(p, {kp->dk.data(), kp->dk.size()}, c);
                if (r) k = *r;
            }
            if (t["result"] == "valid") {
                ++valid;
                ASSERT_TRUE(k.has_value());
                EXPECT_EQ(to_hex(k->view()), t["K"].get<std::string>());
            } else {
                ++invalid;
                EXPECT_FALSE(k.has_value());
            }
        }
    }
    EXPECT_EQ(valid + invalid, doc["numberOfTests"].get<int>());
    EXPECT_GT(valid, 100);
}

TEST_P(MlKem, round_trip_and_implicit_rejection) {
    const Params& p = *GetParam().params;
    auto kp = keygen(p);
    ASSERT_EQ(kp.ek.size(), p.ek_size());
    ASSERT_EQ(kp.dk.size(), p.dk_size());
    for (int i = 0; i < 20; ++i) {
        auto e = encaps(p, kp.ek);
        ASSERT_TRUE(e);
        ASSERT_EQ(e->ciphertext.size(), p.ct_size());
        auto k = decaps(p, {kp.dk.data(), kp.dk.size()}, e->ciphertext);
        ASSERT_TRUE(k);
        EXPECT_TRUE(k->ct_equals(e->key));
        // A changed ciphertext decapsulates to a different key (implicit rejection),
        // deterministically.
        Bytes bad = e->ciphertext;
        bad[static_cast<std::size_t>(i * 37) % bad.size()] ^= 1;
        auto r1 = decaps(p, {kp.dk.data(), kp.dk.size()}, bad);
        auto r2 = decaps(p, {kp.dk.data(), kp.dk.size()}, bad);
        ASSERT_TRUE(r1 && r2);
        EXPECT_FALSE(r1->ct_equals(e->key));
        EXPECT_TRUE(r1->ct_equals(*r2));
    }
    // A decapsulation key whose embedded hash does not match is refused (FIPS 203 7.3).
    SecureBytes dk = kp.dk;
    dk[384 * static_cast<std::size_t>(p.k) + 5] ^= 1;
    EXPECT_FALSE(decaps(p, {dk.data(), dk.size()}, Bytes(p.ct_size())));
}

INSTANTIATE_TEST_SUITE_P(Params, MlKem,
                         ::testing::Values(Case{&kMlKem768, "mlkem_768"},
                                           Case{&kMlKem1024, "mlkem_1024"}),
                         [](const auto& param_info) {
                             return std::string(param_info.param.prefix);
                         });

}  // namespace
}  // namespace zmesh::crypto::mlkem

#include "zmesh/crypto/mlkem/xwing.hpp"

namespace zmesh::crypto::xwing {
namespace {

TEST(XWing, draft_test_vectors) {
    auto doc = test::load_vectors("xwing/test-vectors.json");
    ASSERT_FALSE(doc.empty());
    for (const auto& v : doc) {
        Bytes seed = test::hex(v["seed"]);
        auto kp = keygen_from_seed(seed);
        ASSERT_TRUE(kp);
        EXPECT_EQ(to_hex(kp->pk), v["pk"].get<std::string>());
        EXPECT_EQ(to_hex(ByteView{kp->sk.data(), kp->sk.size()}), v["sk"].get<std::string>());
        auto e = encaps_derand(kp->pk, test::hex(v["eseed"]));
        ASSERT_TRUE(e);
        EXPECT_EQ(to_hex(e->ciphertext), v["ct"].get<std::string>());
        EXPECT_EQ(to_hex(e->key.view()), v["ss"].get<std::string>());
        auto ss = decaps({kp->sk.data(), kp->sk.size()}, e->ciphertext);
        ASSERT_TRUE(ss);
        EXPECT_EQ(to_hex(ss->view()), v["ss"].get<std::string>());
    }
}

TEST(XWing, round_trip_and_wrong_sizes) {
    auto kp = keygen();
    auto e = encaps(kp.pk);
    ASSERT_TRUE(e);
    auto ss = decaps({kp.sk.data(), kp.sk.size()}, e->ciphertext);
    ASSERT_TRUE(ss);
    EXPECT_TRUE(ss->ct_equals(e->key));
    EXPECT_FALSE(encaps(ByteView{kp.pk}.first(100)));
    EXPECT_FALSE(decaps({kp.sk.data(), kp.sk.size()}, ByteView{e->ciphertext}.first(1000)));
}

}  // namespace
}  // namespace zmesh::crypto::xwing
