// Cacophony vectors for NK, IK and XK over 25519 with every cipher and hash we support:
// each handshake and transport message must match byte for byte on both sides.
#include <gtest/gtest.h>

#include "support/vectors.hpp"
#include "zmesh/link/noise/handshake.hpp"

namespace zmesh::link::noise {
namespace {

crypto::X25519KeyPair key_from(const nlohmann::json& v) {
    return crypto::X25519KeyPair::from_secret(*crypto::X25519Secret::from(test::hex(v)));
}

void run_vector(const nlohmann::json& v, ParsedName name) {
    HandshakeConfig ic;
    ic.pattern = name.pattern;
    ic.suite = name.suite;
    ic.role = Role::initiator;
    ic.prologue = test::hex(v["init_prologue"]);
    ic.ephemeral = key_from(v["init_ephemeral"]);
    if (v.contains("init_static")) ic.local_static = key_from(v["init_static"]);
    ic.remote_static = crypto::X25519Public::from(test::hex(v["init_remote_static"]));

    HandshakeConfig rc;
    rc.pattern = name.pattern;
    rc.suite = name.suite;
    rc.role = Role::responder;
    rc.prologue = test::hex(v["resp_prologue"]);
    rc.ephemeral = key_from(v["resp_ephemeral"]);
    rc.local_static = key_from(v["resp_static"]);

    auto init = HandshakeState::create(ic);
    auto resp = HandshakeState::create(rc);
    ASSERT_TRUE(init && resp);

    std::optional<TransportKeys> ik;
    std::optional<TransportKeys> rk;
    const auto& messages = v["messages"];
    std::size_t hs_count = message_count(name.pattern);
    ASSERT_GT(messages.size(), hs_count);
    for (std::size_t i = 0; i < messages.size(); ++i) {
        SCOPED_TRACE("message " + std::to_string(i));
        Bytes payload = test::hex(messages[i]["payload"]);
        Bytes expected = test::hex(messages[i]["ciphertext"]);
        bool from_initiator = i % 2 == 0;
        if (i < hs_count) {
            auto& sender = from_initiator ? *init : *resp;
            auto& receiver = from_initiator ? *resp : *init;
            auto ct = sender.write_message(payload);
            ASSERT_TRUE(ct);
            EXPECT_EQ(to_hex(*ct), to_hex(expected));
            auto pt = receiver.read_message(*ct);
            ASSERT_TRUE(pt);
            EXPECT_EQ(*pt, payload);
            if (i + 1 == hs_count) {
                ASSERT_TRUE(init->complete() && resp->complete());
                EXPECT_EQ(to_hex(init->handshake_hash()), v["handshake_hash"].get<std::string>());
                EXPECT_EQ(to_hex(resp->handshake_hash()), v["handshake_hash"].get<std::string>());
                ik = *init->split();
                rk = *resp->split();
                ASSERT_TRUE(resp->remote_static().has_value() == (name.pattern != Pattern::NK));
            }
        } else {
            auto& send = from_initiator ? ik->send : rk->send;
            auto& recv = from_initiator ? rk->recv : ik->recv;
            auto ct = send.encrypt_with_ad({}, payload);
            ASSERT_TRUE(ct);
            EXPECT_EQ(to_hex(*ct), to_hex(expected));
            auto pt = recv.decrypt_with_ad({}, *ct);
            ASSERT_TRUE(pt);
            EXPECT_EQ(*pt, payload);
        }
    }
}

TEST(NoiseVectors, cacophony_nk_ik_xk) {
    auto doc = test::load_vectors("noise/cacophony.json");
    int matched = 0;
    for (const auto& v : doc["vectors"]) {
        auto name = parse_protocol_name(v["protocol_name"].get<std::string>());
        if (!name) continue;
        SCOPED_TRACE(v["protocol_name"].get<std::string>());
        ++matched;
        run_vector(v, *name);
    }
    // NK, IK, XK x ChaChaPoly, AESGCM x SHA256, BLAKE2b.
    EXPECT_EQ(matched, 12);
}

TEST(Noise, rejects_tampered_message_and_keeps_state) {
    auto responder = crypto::X25519KeyPair::generate();
    HandshakeConfig ic;
    ic.pattern = Pattern::IK;
    ic.role = Role::initiator;
    ic.local_static = crypto::X25519KeyPair::generate();
    ic.remote_static = responder.pub;
    HandshakeConfig rc;
    rc.pattern = Pattern::IK;
    rc.role = Role::responder;
    rc.local_static = responder;
    auto init = HandshakeState::create(ic);
    auto resp = HandshakeState::create(rc);
    auto m1 = init->write_message(as_bytes("hello"));
    ASSERT_TRUE(m1);
    for (std::size_t i = 0; i < m1->size(); i += 7) {
        Bytes bad = *m1;
        bad[i] ^= 0x40;
        EXPECT_FALSE(resp->read_message(bad));
    }
    EXPECT_FALSE(resp->read_message(ByteView{*m1}.first(20)));
    // The genuine message still goes through after the failures.
    auto p1 = resp->read_message(*m1);
    ASSERT_TRUE(p1);
    EXPECT_EQ(*p1, Bytes(as_bytes("hello").begin(), as_bytes("hello").end()));
    EXPECT_EQ(*resp->remote_static(), ic.local_static->pub);
}

TEST(Noise, refuses_out_of_turn_and_missing_keys) {
    HandshakeConfig c;
    c.pattern = Pattern::IK;
    c.role = Role::initiator;
    c.remote_static = crypto::X25519KeyPair::generate().pub;
    EXPECT_FALSE(HandshakeState::create(c));  // IK initiator needs its static key
    c.pattern = Pattern::NK;
    auto hs = HandshakeState::create(c);
    ASSERT_TRUE(hs);
    EXPECT_FALSE(hs->read_message(Bytes(48)));  // not the peer's turn
    EXPECT_FALSE(hs->split());                  // not complete
}

}  // namespace
}  // namespace zmesh::link::noise

namespace zmesh::link::noise {
namespace {

class HybridNoise : public ::testing::TestWithParam<Pattern> {};

// No public vectors exist for HFS with ML-KEM; both sides must agree on every key and the
// transcript, and tampering anywhere must fail.
TEST_P(HybridNoise, both_sides_agree_and_tampering_fails) {
    auto responder = crypto::X25519KeyPair::generate();
    auto initiator = crypto::X25519KeyPair::generate();
    auto make = [&](Role role) {
        HandshakeConfig c;
        c.pattern = GetParam();
        c.hybrid = true;
        c.role = role;
        if (role == Role::initiator) {
            c.remote_static = responder.pub;
            if (GetParam() != Pattern::NK) c.local_static = initiator;
        } else {
            c.local_static = responder;
        }
        return *HandshakeState::create(c);
    };
    auto i = make(Role::initiator);
    auto r = make(Role::responder);
    std::vector<Bytes> sent;
    while (!i.complete() || !r.complete()) {
        auto& w = i.my_turn() ? i : r;
        auto& rd = i.my_turn() ? r : i;
        auto m = w.write_message(as_bytes("payload"));
        ASSERT_TRUE(m);
        sent.push_back(*m);
        // Any flipped bit in a hybrid message is refused, and leaves the state usable.
        for (std::size_t b = 0; b < m->size(); b += 211) {
            Bytes bad = *m;
            bad[b] ^= 4;
            EXPECT_FALSE(rd.read_message(bad)) << "byte " << b;
        }
        ASSERT_TRUE(rd.read_message(*m));
    }
    EXPECT_GT(sent[0].size(), crypto::kAeadTagSize + 1184);  // carries the ML-KEM key
    EXPECT_GT(sent[1].size(), 1088u);                        // and the ciphertext
    EXPECT_EQ(to_hex(i.handshake_hash()), to_hex(r.handshake_hash()));
    auto ik = i.split();
    auto rk = r.split();
    EXPECT_TRUE(ik->send.key().ct_equals(rk->recv.key()));
    EXPECT_TRUE(ik->recv.key().ct_equals(rk->send.key()));
    // A classical peer cannot complete a hybrid handshake (different protocol name).
    HandshakeConfig classical;
    classical.pattern = GetParam();
    classical.role = Role::responder;
    classical.local_static = responder;
    auto c = HandshakeState::create(classical);
    EXPECT_FALSE(c->read_message(sent[0]));
}

INSTANTIATE_TEST_SUITE_P(Hfs, HybridNoise,
                         ::testing::Values(Pattern::NK, Pattern::IK, Pattern::XK));

}  // namespace
}  // namespace zmesh::link::noise
