// A node's links as one set: one per transport, each with its own range of session ids,
// peers' addresses filtered and ordered by the node's transport order, and cells and
// events from every link reaching the one handler.
#include "zmesh/link/link_set.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "zmesh/link/tcp_link.hpp"
#include "zmesh/link/udp_link.hpp"

namespace zmesh::link {
namespace {

namespace asio = boost::asio;
using K = TransportKind;

struct Node {
    crypto::X25519KeyPair key = crypto::X25519KeyPair::generate();
    LinkSet set;
    UdpLink* udp = nullptr;
    TcpLink* tcp = nullptr;

    explicit Node(asio::io_context& io) : set(io.get_executor()) {
        SocketAddress loopback{asio::ip::address_v4::loopback(), 0};
        EndpointConfig cfg{key, {}, {}};
        auto u = std::make_unique<UdpLink>(io.get_executor(), cfg, loopback);
        auto t = std::make_unique<TcpLink>(io.get_executor(), cfg, loopback);
        udp = u.get();
        tcp = t.get();
        EXPECT_TRUE(set.add(std::move(u)));
        EXPECT_TRUE(set.add(std::move(t)));
    }
};

TEST(LinkSet, one_link_per_transport_and_addresses_in_the_node_order) {
    asio::io_context io;
    Node n(io);
    SocketAddress loopback{asio::ip::address_v4::loopback(), 0};
    EndpointConfig cfg{n.key, {}, {}};
    EXPECT_FALSE(n.set.add(std::make_unique<UdpLink>(io.get_executor(), cfg, loopback)));
    EXPECT_EQ(n.set.links().size(), 2u);
    EXPECT_EQ(n.set.find(K::tcp), n.tcp);
    EXPECT_EQ(n.set.find(K::webrtc), nullptr);

    SocketAddress at{asio::ip::make_address("127.0.0.2"), 1};
    std::vector<LinkAddress> offered{
        {K::tcp, at}, {K::webrtc, at}, {K::udp, at}, {static_cast<K>(99), at}};
    auto usable = n.set.usable(offered);  // default order: udp before tcp, no webrtc link
    ASSERT_EQ(usable.size(), 2u);
    EXPECT_EQ(usable[0].kind, K::udp);
    EXPECT_EQ(usable[1].kind, K::tcp);
    n.set.set_order({K::tcp});  // UDP left out: never used to reach peers
    usable = n.set.usable(offered);
    ASSERT_EQ(usable.size(), 1u);
    EXPECT_EQ(usable[0].kind, K::tcp);
    EXPECT_FALSE(n.set.speaks(K::udp));
    EXPECT_TRUE(n.set.speaks(K::tcp));
    EXPECT_FALSE(n.set.connect({K::webrtc, at}, n.key.pub, noise::Pattern::IK));
}

TEST(LinkSet, sessions_of_each_link_have_their_own_ids_and_reach_one_handler) {
    asio::io_context io;
    Node a(io), b(io);
    int cells = 0;
    std::vector<SessionId> established;
    b.set.on_cell([&](SessionId s, const wire::Cell& c) {
        ++cells;
        EXPECT_TRUE(b.set.link_of(s));
        (void)b.set.send_cell(s, c);  // echo
    });
    a.set.on_cell([&](SessionId, const wire::Cell&) {
        if (++cells == 4) io.stop();
    });
    a.set.on_event([&](const LinkEvent& ev) {
        if (ev.kind != LinkEvent::Kind::established) return;
        established.push_back(ev.session);
        wire::Cell c{};
        wire::set_cell_header(c, 1, wire::CellCommand::data);  // padding would be dropped
        EXPECT_TRUE(a.set.send_cell(ev.session, c));
    });
    a.set.start();
    b.set.start();
    auto su = a.set.connect({K::udp, b.udp->local_address()}, b.key.pub, noise::Pattern::IK);
    auto st = a.set.connect({K::tcp, b.tcp->local_address()}, b.key.pub, noise::Pattern::IK);
    ASSERT_TRUE(su && st);
    EXPECT_NE(*su >> kSessionRangeShift, *st >> kSessionRangeShift);
    EXPECT_EQ(a.set.link_of(*su), a.udp);
    EXPECT_EQ(a.set.link_of(*st), a.tcp);
    EXPECT_FALSE(a.set.send_cell(SessionId{9} << kSessionRangeShift, wire::Cell{}));
    asio::steady_timer deadline(io, std::chrono::seconds(10));
    deadline.async_wait([&](boost::system::error_code ec) {
        if (!ec) io.stop();
    });
    io.run();
    EXPECT_EQ(cells, 4);  // two to b, two echoed back
    EXPECT_EQ(established.size(), 2u);
    EXPECT_TRUE(a.set.established(*su) && a.set.established(*st));
    EXPECT_EQ(a.set.session_count(), 2u);
    EXPECT_EQ(a.set.find(K::udp)->stats().connects, 1u);
    EXPECT_EQ(a.set.find(K::tcp)->stats().connects, 1u);
    EXPECT_EQ(a.set.find(K::udp)->stats().connect_failures, 0u);
    a.set.stop();
    b.set.stop();
}

}  // namespace
}  // namespace zmesh::link
