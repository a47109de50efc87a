// The client pool over a real CircuitNode on an in-memory link.
#include "zmesh/client/pool.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "zmesh/link/link_set.hpp"
#include "zmesh/link/memory_link.hpp"

namespace zmesh::client {
namespace {

namespace asio = boost::asio;

// A first hop this client has no transport for (it offers TCP; the client speaks only
// UDP) fails the build inside CircuitNode::build, before the pool knows the circuit's
// handle. The stream waiting for it must hear so, not wait forever.
TEST(ClientPool, a_build_that_fails_at_once_fails_its_stream_at_once) {
    asio::io_context io;
    auto net = std::make_shared<link::MemoryNetwork>();
    auto identity = crypto::Identity::generate();
    link::LinkSet links(io.get_executor());
    ASSERT_TRUE(links.add(std::make_unique<link::MemoryLink>(
        io.get_executor(), link::EndpointConfig{identity.link, {}, {}}, net,
        link::SocketAddress{asio::ip::address_v4::loopback(), 0})));
    circuit::NodeConfig nc;
    nc.relay.id = identity.node_id();
    nc.relay.onion = crypto::X25519KeyPair::generate();
    circuit::CircuitNode node(links, nc);
    links.start();
    node.start();

    std::vector<circuit::PathHop> path;
    for (int i = 0; i < 3; ++i) {
        auto relay = crypto::Identity::generate();
        link::SocketAddress at{asio::ip::make_address("127.0.0.2"),
                               static_cast<std::uint16_t>(7000 + i)};
        path.push_back(circuit::make_path_hop(relay, crypto::X25519KeyPair::generate().pub,
                                              {{link::TransportKind::tcp, at}}));
    }
    int asked = 0;
    ClientPool pool(node, [&](const PathRequest&) {
        ++asked;
        return path;
    });
    bool called = false;
    std::optional<stream::EndReason> why;
    pool.open_handle("a", "127.0.0.1:80",
                     [&](std::shared_ptr<StreamHandle> s, std::optional<stream::EndReason> r) {
                         called = true;
                         EXPECT_EQ(s, nullptr);
                         why = r;
                     });
    EXPECT_TRUE(net->run(
        io, [&] { return called; }, std::chrono::seconds(60)));
    ASSERT_TRUE(called);
    EXPECT_TRUE(why.has_value());
    EXPECT_GE(asked, 1);
    EXPECT_GE(pool.stats().circuits_failed, 1u);
    EXPECT_EQ(pool.circuits(), 0u);
    pool.stop();
    node.stop();
    links.stop();
}

// A length asked for with the stream (the SOCKS user name hops-N) reaches the path
// provider; streams without one leave it to the node (0).
TEST(ClientPool, a_requested_length_reaches_the_path_provider) {
    asio::io_context io;
    auto net = std::make_shared<link::MemoryNetwork>();
    auto identity = crypto::Identity::generate();
    link::LinkSet links(io.get_executor());
    ASSERT_TRUE(links.add(std::make_unique<link::MemoryLink>(
        io.get_executor(), link::EndpointConfig{identity.link, {}, {}}, net,
        link::SocketAddress{asio::ip::address_v4::loopback(), 0})));
    circuit::NodeConfig nc;
    nc.relay.id = identity.node_id();
    nc.relay.onion = crypto::X25519KeyPair::generate();
    circuit::CircuitNode node(links, nc);
    links.start();
    node.start();

    std::vector<std::size_t> lengths;
    ClientPool pool(node, [&](const PathRequest& req) {
        lengths.push_back(req.hops);
        return std::vector<circuit::PathHop>{};  // no path: the open fails at once
    });
    int answered = 0;
    auto done = [&](std::optional<ClientPool::Opened> o, stream::EndReason) {
        EXPECT_FALSE(o);
        ++answered;
    };
    pool.open(std::string("hops-5\0a", 8), "127.0.0.1:80", done, 5);
    pool.open("plain", "127.0.0.1:80", done);
    EXPECT_EQ(answered, 2);
    EXPECT_EQ(lengths, (std::vector<std::size_t>{5, 0}));
    pool.stop();
    node.stop();
    links.stop();
}

}  // namespace
}  // namespace zmesh::client
