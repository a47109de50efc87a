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

TEST(Ntor, both_sides_derive_the_same_hop_keys) {
    Relay relay;
    NtorClient client(relay.keys());
    ASSERT_EQ(client.onionskin().size(), kNtorOnionskinSize);
    auto server = ntor_server(relay.identity.node_id(), relay.onion, client.onionskin());
    ASSERT_TRUE(server);
    auto keys = client.finish(server->reply);
    ASSERT_TRUE(keys);
    EXPECT_TRUE(same(keys->forward, server->keys.forward));
    EXPECT_TRUE(same(keys->backward, server->keys.backward));
    EXPECT_FALSE(same(keys->forward, keys->backward));
    // A second handshake with the same relay gives fresh keys (forward secrecy).
    NtorClient again(relay.keys());
    auto server2 = ntor_server(relay.identity.node_id(), relay.onion, again.onionskin());
    auto keys2 = again.finish(server2->reply);
    ASSERT_TRUE(keys2);
    EXPECT_FALSE(same(keys->forward, keys2->forward));
}

TEST(Ntor, client_rejects_a_reply_from_the_wrong_relay_or_altered) {
    Relay relay;
    Relay impostor;
    NtorClient client(relay.keys());
    // The impostor cannot answer for the relay's onion key: it refuses the onionskin,
    auto refused = ntor_server(impostor.identity.node_id(), impostor.onion, client.onionskin());
    EXPECT_FALSE(refused);
    // and a reply computed with its own key does not authenticate.
    Bytes forged_skin = client.onionskin();
    const crypto::NodeId impostor_id = impostor.identity.node_id();
    std::copy(impostor_id.bytes.begin(), impostor_id.bytes.end(), forged_skin.begin());
    std::copy(impostor.onion.pub.bytes.begin(), impostor.onion.pub.bytes.end(),
              forged_skin.begin() + 32);
    auto forged = ntor_server(impostor.identity.node_id(), impostor.onion, forged_skin);
    ASSERT_TRUE(forged);
    EXPECT_EQ(client.finish(forged->reply).error(), make_error_code(Errc::auth_failed));

    auto genuine = ntor_server(relay.identity.node_id(), relay.onion, client.onionskin());
    for (std::size_t i = 0; i < kNtorReplySize; ++i) {
        Bytes bad = genuine->reply;
        bad[i] ^= 0x01;
        EXPECT_FALSE(client.finish(bad)) << i;
    }
    EXPECT_FALSE(client.finish(ByteView{genuine->reply}.first(40)));
    EXPECT_TRUE(client.finish(genuine->reply));
}

TEST(Ntor, server_rejects_malformed_and_low_order_onionskins) {
    Relay relay;
    NtorClient client(relay.keys());
    EXPECT_FALSE(ntor_server(relay.identity.node_id(), relay.onion, Bytes(10)));
    Bytes zero_x = client.onionskin();
    std::fill(zero_x.begin() + 64, zero_x.end(), 0);  // X = 0, a low-order point
    EXPECT_EQ(ntor_server(relay.identity.node_id(), relay.onion, zero_x).error(),
              make_error_code(Errc::weak_key));
}

}  // namespace
}  // namespace zmesh::circuit
