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
    std::unique_ptr<link::LinkService> link;
    std::unique_ptr<CircuitNode> node;

    PathHop path_hop() const { return make_path_hop(identity, onion.pub, link->local_address()); }
};

void run_circuit(bool tcp) {
    asio::io_context io;
    link::SocketAddress loopback{asio::ip::address_v4::loopback(), 0};
    std::vector<std::unique_ptr<Member>> members;
    for (int i = 0; i < 4; ++i) {  // three relays, then the client
        auto m = std::make_unique<Member>();
        link::EndpointConfig lc{m->identity.link, {}, {}};
        if (tcp)
            m->link = std::make_unique<link::TcpLink>(io.get_executor(), lc, loopback);
        else
            m->link = std::make_unique<link::UdpLink>(io.get_executor(), lc, loopback);
        NodeConfig nc;
        nc.relay.id = m->identity.node_id();
        nc.relay.onion = m->onion;
        nc.relay.exit = i == 2;
        m->node = std::make_unique<CircuitNode>(*m->link, nc);
        m->link->start();
        m->node->start();
        members.push_back(std::move(m));
    }
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
        m->link->stop();
    }
}

TEST(CircuitNode, three_hops_over_udp_links) {
    run_circuit(false);
}
TEST(CircuitNode, three_hops_over_tcp_links) {
    run_circuit(true);
}

}  // namespace
}  // namespace zmesh::circuit
