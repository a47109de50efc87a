#include <gtest/gtest.h>

#include "zmesh/circuit/ntor.hpp"

namespace zmesh::circuit {
namespace {

struct Relay {
    crypto::Identity identity = crypto::Identity::generate();
    crypto::X25519KeyPair onion = crypto::X25519KeyPair::generate();
    RelayKeys keys() const { return {identity.node_id(), onion.pub}; }
};

bool same(const DirectionKeys& a, const DirectionKeys& b) {
    return a.stream.ct_equals(b.stream) && a.slot.ct_equals(b.slot);
}

class NtorTypes : public ::testing::TestWithParam<HandshakeType> {};

TEST_P(NtorTypes, both_sides_derive_the_same_hop_keys) {
    const HandshakeType type = GetParam();
    Relay relay;
    NtorClient client(relay.keys(), type);
    ASSERT_EQ(client.onionskin().size(), onionskin_size(type));
    auto server = ntor_server(relay.identity.node_id(), relay.onion, client.onionskin(), type);
    ASSERT_TRUE(server);
    auto keys = client.finish(server->reply);
    ASSERT_TRUE(keys);
    EXPECT_TRUE(same(keys->forward, server->keys.forward));
    EXPECT_TRUE(same(keys->backward, server->keys.backward));
    EXPECT_FALSE(same(keys->forward, keys->backward));
    // A second handshake with the same relay gives fresh keys (forward secrecy).
    ASSERT_EQ(server->reply.size(), reply_size(type));
    NtorClient again(relay.keys(), type);
    auto server2 = ntor_server(relay.identity.node_id(), relay.onion, again.onionskin(), type);
    auto keys2 = again.finish(server2->reply);
    ASSERT_TRUE(keys2);
    EXPECT_FALSE(same(keys->forward, keys2->forward));
}

TEST_P(NtorTypes, client_rejects_a_reply_from_the_wrong_relay_or_altered) {
    const HandshakeType type = GetParam();
    Relay relay;
    Relay impostor;
    NtorClient client(relay.keys(), type);
    // The impostor cannot answer for the relay's onion key: it refuses the onionskin,
    auto refused =
        ntor_server(impostor.identity.node_id(), impostor.onion, client.onionskin(), type);
    EXPECT_FALSE(refused);
    // and a reply computed with its own key does not authenticate.
    Bytes forged_skin = client.onionskin();
    const crypto::NodeId impostor_id = impostor.identity.node_id();
    std::copy(impostor_id.bytes.begin(), impostor_id.bytes.end(), forged_skin.begin());
    std::copy(impostor.onion.pub.bytes.begin(), impostor.onion.pub.bytes.end(),
              forged_skin.begin() + 32);
    auto forged = ntor_server(impostor.identity.node_id(), impostor.onion, forged_skin, type);
    ASSERT_TRUE(forged);
    EXPECT_EQ(client.finish(forged->reply).error(), make_error_code(Errc::auth_failed));

    auto genuine = ntor_server(relay.identity.node_id(), relay.onion, client.onionskin(), type);
    // Any change to Y, AUTH or (hybrid) the ML-KEM ciphertext is caught.
    for (std::size_t i = 0; i < genuine->reply.size(); i += (i < 64 ? 1 : 97)) {
        Bytes bad = genuine->reply;
        bad[i] ^= 0x01;
        EXPECT_FALSE(client.finish(bad)) << i;
    }
    EXPECT_FALSE(client.finish(ByteView{genuine->reply}.first(40)));
    EXPECT_TRUE(client.finish(genuine->reply));
}

TEST_P(NtorTypes, server_rejects_malformed_and_low_order_onionskins) {
    const HandshakeType type = GetParam();
    Relay relay;
    NtorClient client(relay.keys(), type);
    EXPECT_FALSE(ntor_server(relay.identity.node_id(), relay.onion, Bytes(10), type));
    Bytes zero_x = client.onionskin();
    std::fill(zero_x.begin() + 64, zero_x.begin() + 96, 0);  // X = 0, a low-order point
    EXPECT_EQ(ntor_server(relay.identity.node_id(), relay.onion, zero_x, type).error(),
              make_error_code(Errc::weak_key));
    // The other type's onionskin has the wrong size for this one.
    auto other = type == HandshakeType::ntor_x25519 ? HandshakeType::ntor_x25519_mlkem768
                                                    : HandshakeType::ntor_x25519;
    EXPECT_FALSE(ntor_server(relay.identity.node_id(), relay.onion, client.onionskin(), other));
}

TEST(Ntor, hybrid_rejects_an_encapsulation_key_out_of_range) {
    Relay relay;
    NtorClient client(relay.keys(), HandshakeType::ntor_x25519_mlkem768);
    Bytes skin = client.onionskin();
    skin[kNtorOnionskinSize] = 0xff;  // first 12-bit coefficient of t̂ becomes >= q
    skin[kNtorOnionskinSize + 1] |= 0x0f;
    EXPECT_FALSE(ntor_server(relay.identity.node_id(), relay.onion, skin,
                             HandshakeType::ntor_x25519_mlkem768));
}

INSTANTIATE_TEST_SUITE_P(Handshakes, NtorTypes,
                         ::testing::Values(HandshakeType::ntor_x25519,
                                           HandshakeType::ntor_x25519_mlkem768));

}  // namespace
}  // namespace zmesh::circuit
