// In-memory links: sessions, cells and keepalives between links with no socket, across a
// latency that passes on the skipping clock (MemoryNetwork::run), with the losses a
// datagram network has, counted.
#include "zmesh/link/memory_link.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace zmesh::link {
namespace {

namespace asio = boost::asio;

struct Peer {
    crypto::X25519KeyPair key = crypto::X25519KeyPair::generate();
    MemoryLink link;
    Peer(asio::io_context& io, std::shared_ptr<MemoryNetwork> net, SocketAddress at = {})
        : link(io.get_executor(), EndpointConfig{key, {}, {}}, std::move(net), at) {}
};

SocketAddress any() {
    return {asio::ip::address_v4::loopback(), 0};
}

TEST(MemoryLink, a_session_and_its_cells_cross_the_latency_on_the_skipping_clock) {
    asio::io_context io;
    auto net = std::make_shared<MemoryNetwork>(MemoryNetworkConfig{std::chrono::milliseconds(200)});
    Peer a(io, net, any()), b(io, net, any());
    EXPECT_NE(a.link.local_address(), b.link.local_address());
    EXPECT_EQ(a.link.transport_kind(), TransportKind::udp);
    int echoed = 0;
    b.link.on_cell([&](SessionId s, const wire::Cell& c) { (void)b.link.send_cell(s, c); });
    a.link.on_cell([&](SessionId, const wire::Cell&) { ++echoed; });
    a.link.start();
    b.link.start();
    auto started = Clock::now();
    auto wall = std::chrono::steady_clock::now();
    auto s = a.link.connect(b.link.local_address(), b.key.pub, noise::Pattern::IK);
    ASSERT_TRUE(s);
    ASSERT_TRUE(net->run(
        io, [&] { return a.link.established(*s); }, std::chrono::seconds(10)));
    EXPECT_GE(Clock::now() - started, std::chrono::milliseconds(400));  // one round trip
    wire::Cell c{};
    wire::set_cell_header(c, 1, wire::CellCommand::data);
    auto sent = Clock::now();
    ASSERT_TRUE(a.link.send_cell(*s, c));
    ASSERT_TRUE(net->run(
        io, [&] { return echoed == 1; }, std::chrono::seconds(10)));
    EXPECT_GE(Clock::now() - sent, std::chrono::milliseconds(400));

    // Two minutes of an idle session: keepalives both ways, still up, and the clock
    // skipped the quiet time rather than waiting it out.
    auto idle_from = Clock::now();
    auto keepalives = a.link.stats().packets_out;
    EXPECT_FALSE(net->run(
        io, [] { return false; }, std::chrono::minutes(2)));
    EXPECT_GE(Clock::now() - idle_from, std::chrono::minutes(2));
    EXPECT_TRUE(a.link.established(*s));
    EXPECT_GE(a.link.stats().packets_out - keepalives, 6u);  // one per 10 s at least
    EXPECT_LT(std::chrono::steady_clock::now() - wall, std::chrono::seconds(60));
    EXPECT_EQ(net->lost() + net->overflowed() + net->unreachable(), 0u);
    a.link.stop();
    b.link.stop();
}

TEST(MemoryLink, addresses_are_unique_and_lost_packets_are_counted) {
    asio::io_context io;
    auto net = std::make_shared<MemoryNetwork>();
    SocketAddress at{asio::ip::make_address("127.0.0.9"), 7000};
    Peer a(io, net, at);
    EXPECT_EQ(a.link.local_address(), at);
    EXPECT_THROW(Peer(io, net, at), std::runtime_error);  // as binding a used port
    EXPECT_EQ(net->links(), 1u);
    {
        Peer b(io, net, any());
        EXPECT_EQ(net->links(), 2u);
    }
    EXPECT_EQ(net->links(), 1u);  // gone with its link

    // Nobody at the address: the handshake's packets are counted as unreachable, the
    // attempt retried and finally given up, as over UDP.
    a.link.start();
    auto nobody = crypto::X25519KeyPair::generate();
    auto s =
        a.link.connect({asio::ip::make_address("127.0.0.9"), 7001}, nobody.pub, noise::Pattern::IK);
    ASSERT_TRUE(s);
    EXPECT_FALSE(net->run(
        io, [] { return false; }, std::chrono::seconds(90)));
    EXPECT_FALSE(a.link.established(*s));
    EXPECT_GE(net->unreachable(), 2u);
    EXPECT_EQ(a.link.stats().connect_failures, 1u);
    a.link.stop();

    // A network that loses everything delivers nothing.
    auto lossy = std::make_shared<MemoryNetwork>(MemoryNetworkConfig{{}, 1.0});
    Peer c(io, lossy, any()), d(io, lossy, any());
    c.link.start();
    d.link.start();
    auto cs = c.link.connect(d.link.local_address(), d.key.pub, noise::Pattern::IK);
    ASSERT_TRUE(cs);
    EXPECT_FALSE(lossy->run(
        io, [&] { return c.link.established(*cs); }, std::chrono::seconds(5)));
    EXPECT_GE(lossy->lost(), 1u);
    EXPECT_EQ(lossy->delivered(), 0u);
    c.link.stop();
    d.link.stop();
}

}  // namespace
}  // namespace zmesh::link
