// Circuits over real links: relays and a client in one process, each with its own UDP
// (or TCP) socket on 127.0.0.1, a 3-hop circuit built by telescoping and messages
// echoed by the exit.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "zmesh/circuit/node.hpp"
#include "zmesh/link/tcp_link.hpp"
#include "zmesh/link/udp_link.hpp"

namespace zmesh::circuit {
namespace {

namespace asio = boost::asio;

struct Member {
    crypto::Identity identity = crypto::Identity::generate();
    crypto::X25519KeyPair onion = crypto::X25519KeyPair::generate();
    std::unique_ptr<link::LinkSet> links;
    std::unique_ptr<CircuitNode> node;

    std::vector<link::LinkAddress> addresses() const {
        std::vector<link::LinkAddress> out;
        for (const auto& l : links->links())
            out.push_back({l->transport_kind(), l->local_address()});
        return out;
    }
    PathHop path_hop() const { return make_path_hop(identity, onion.pub, addresses()); }
};

std::unique_ptr<Member> make_member(asio::io_context& io, std::vector<link::TransportKind> kinds,
                                    bool exit, Duration attempt_timeout = std::chrono::seconds(5)) {
    link::SocketAddress loopback{asio::ip::address_v4::loopback(), 0};
    auto m = std::make_unique<Member>();
    link::EndpointConfig lc{m->identity.link, {}, {}};
    m->links = std::make_unique<link::LinkSet>(io.get_executor());
    for (auto kind : kinds) {
        if (kind == link::TransportKind::tcp)
            EXPECT_TRUE(
                m->links->add(std::make_unique<link::TcpLink>(io.get_executor(), lc, loopback)));
        else
            EXPECT_TRUE(
                m->links->add(std::make_unique<link::UdpLink>(io.get_executor(), lc, loopback)));
    }
    NodeConfig nc;
    nc.relay.id = m->identity.node_id();
    nc.relay.onion = m->onion;
    nc.relay.allow_private_addresses = true;  // every member is on loopback
    nc.relay.exit = exit;
    nc.link_attempt_timeout = attempt_timeout;
    m->node = std::make_unique<CircuitNode>(*m->links, nc);
    m->links->start();
    m->node->start();
    return m;
}

void run_circuit(bool tcp) {
    asio::io_context io;
    std::vector<std::unique_ptr<Member>> members;
    auto kind = tcp ? link::TransportKind::tcp : link::TransportKind::udp;
    for (int i = 0; i < 4; ++i)  // three relays, then the client
        members.push_back(make_member(io, {kind}, i == 2));
    CircuitNode& exit = *members[2]->node;
    exit.on_exit_message([&](const LinkCircuit& c, const RelayMessage& msg) {
        EXPECT_TRUE(exit.exit_reply(c, msg));
    });
    CircuitNode& client = *members[3]->node;
    constexpr int kMessages = 500;
    int received = 0;
    bool built = false;
    CircuitHandle handle = 0;
    auto message = [](int i) {
        RelayMessage m{RelayCommand::data, static_cast<std::uint16_t>(i), Bytes(kMaxRelayData)};
        for (std::size_t j = 0; j < m.data.size(); ++j)
            m.data[j] = static_cast<std::uint8_t>(i + j);
        return m;
    };
    client.on_client_event([&](const ClientEvent& ev) {
        if (ev.kind == ClientEvent::Kind::built) {
            built = true;
            for (int i = 0; i < kMessages; ++i) EXPECT_TRUE(client.send(handle, message(i)));
        } else if (ev.kind == ClientEvent::Kind::message) {
            EXPECT_EQ(ev.hop, 2u);
            EXPECT_EQ(ev.message.data, message(ev.message.stream).data);
            if (++received == kMessages) io.stop();
        } else {
            ADD_FAILURE() << "circuit failed or closed: " << to_string(ev.reason);
            io.stop();
        }
    });
    auto h = client.build({members[0]->path_hop(), members[1]->path_hop(), members[2]->path_hop()});
    ASSERT_TRUE(h);
    handle = *h;
    asio::steady_timer deadline(io, std::chrono::seconds(20));
    deadline.async_wait([&](boost::system::error_code ec) {
        if (!ec) {
            ADD_FAILURE() << "timed out: built=" << built << " received=" << received;
            io.stop();
        }
    });
    io.run();
    EXPECT_TRUE(built);
    EXPECT_EQ(received, kMessages);
    // Each relay holds exactly this circuit, and forwarded every cell both ways.
    for (int i = 0; i < 3; ++i) EXPECT_EQ(members[i]->node->relay().size(), 1u);
    EXPECT_EQ(members[1]->node->relay().stats().cells_forward, kMessages + 0u);
    // (the middle originates the EXTENDED for the third hop; it does not forward it)
    EXPECT_EQ(members[1]->node->relay().stats().cells_backward, kMessages + 0u);
    // + the EXTENDED for hop 3: a hybrid reply needs two fragments
    EXPECT_EQ(members[0]->node->relay().stats().cells_backward, kMessages + 2u);
    for (auto& m : members) {
        m->node->stop();
        m->links->stop();
    }
}

TEST(CircuitNode, three_hops_over_udp_links) {
    run_circuit(false);
}
TEST(CircuitNode, three_hops_over_tcp_links) {
    run_circuit(true);
}

// Built and closed handler for the tests below: the first event ends the run.
ClientEvent build_and_wait(asio::io_context& io, CircuitNode& client, std::vector<PathHop> path) {
    ClientEvent got;
    got.kind = ClientEvent::Kind::closed;
    client.on_client_event([&](const ClientEvent& ev) {
        got = ev;
        io.stop();
    });
    EXPECT_TRUE(client.build(std::move(path)));
    asio::steady_timer deadline(io, std::chrono::seconds(20));
    deadline.async_wait([&](boost::system::error_code ec) {
        if (!ec) io.stop();
    });
    io.run();
    io.restart();
    return got;
}

// A first hop offers TCP, which refuses the connection, and UDP: the client, preferring
// TCP, falls back to UDP; the first relay (UDP and TCP) extends to the second over the
// one transport they share.
TEST(CircuitNode, falls_back_to_the_next_transport_when_a_link_does_not_open) {
    using K = link::TransportKind;
    asio::io_context io;
    auto r1 = make_member(io, {K::udp, K::tcp}, false);
    auto r2 = make_member(io, {K::udp}, false);
    auto r3 = make_member(io, {K::tcp}, true);
    auto client = make_member(io, {K::udp, K::tcp}, false);
    client->links->set_order({K::tcp, K::udp});
    // Where r1's TCP listener would be if it were up: a port nothing listens on.
    std::uint16_t closed_port = 0;
    {
        asio::ip::tcp::acceptor a(io, {asio::ip::address_v4::loopback(), 0});
        closed_port = a.local_endpoint().port();
    }
    auto first = r1->path_hop();
    for (auto& a : first.hop.addresses)
        if (a.kind == K::tcp) a.at.port = closed_port;
    // r2 -> r3 has no transport in common; r1 -> r3 has TCP.
    auto ev = build_and_wait(io, *client->node, {first, r3->path_hop()});
    EXPECT_EQ(ev.kind, ClientEvent::Kind::built) << to_string(ev.reason);
    EXPECT_EQ(client->links->find(K::tcp)->stats().connects, 1u);
    EXPECT_EQ(client->links->find(K::tcp)->stats().connect_failures, 1u);
    EXPECT_EQ(client->links->find(K::udp)->stats().connects, 1u);
    EXPECT_EQ(client->links->find(K::udp)->stats().connect_failures, 0u);
    EXPECT_EQ(r1->links->find(K::tcp)->stats().connects, 1u);  // to r3, its only transport
    EXPECT_EQ(r1->links->find(K::udp)->stats().connects, 0u);

    // The failed transport is tried last for that relay for a while: the next circuit
    // goes straight over UDP.
    ev = build_and_wait(io, *client->node, {first, r3->path_hop()});
    EXPECT_EQ(ev.kind, ClientEvent::Kind::built) << to_string(ev.reason);
    EXPECT_EQ(client->links->find(K::tcp)->stats().connects, 1u);
    EXPECT_EQ(client->links->find(K::udp)->stats().connects, 2u);

    // A next hop with no transport in common with the hop before fails at once.
    ev = build_and_wait(io, *client->node, {r2->path_hop(), r3->path_hop()});
    EXPECT_EQ(ev.kind, ClientEvent::Kind::failed);
    EXPECT_EQ(ev.reason, DestroyReason::connect_failed) << to_string(ev.reason);
    EXPECT_EQ(ev.failed_hop, 1u);
    for (auto* m : {r1.get(), r2.get(), r3.get(), client.get()}) {
        m->node->stop();
        m->links->stop();
    }
}

// A transport that never answers (a UDP port where datagrams vanish, as behind a
// firewall) is given up after the attempt timeout, not after the link layer's minute.
TEST(CircuitNode, a_silent_transport_is_given_up_for_the_next_one) {
    using K = link::TransportKind;
    asio::io_context io;
    auto r1 = make_member(io, {K::udp, K::tcp}, false);
    auto r2 = make_member(io, {K::tcp}, true);
    auto client = make_member(io, {K::udp, K::tcp}, false, std::chrono::milliseconds(300));
    asio::ip::udp::socket silent(io, {asio::ip::address_v4::loopback(), 0});  // never read
    auto first = r1->path_hop();
    for (auto& a : first.hop.addresses)
        if (a.kind == K::udp) a.at.port = silent.local_endpoint().port();
    auto started = Clock::now();
    auto ev = build_and_wait(io, *client->node, {first, r2->path_hop()});
    EXPECT_EQ(ev.kind, ClientEvent::Kind::built) << to_string(ev.reason);
    EXPECT_GE(Clock::now() - started, std::chrono::milliseconds(300));
    EXPECT_EQ(client->links->find(K::udp)->stats().connect_failures, 1u);
    EXPECT_EQ(client->links->find(K::tcp)->stats().connects, 1u);
    for (auto* m : {r1.get(), r2.get(), client.get()}) {
        m->node->stop();
        m->links->stop();
    }
}

}  // namespace
}  // namespace zmesh::circuit
