// Bootstrap progress of whole nodes (node::Node, node::Testnet on loopback): what each
// role's plan waits for, reached steps in status and metrics, and a node that cannot reach
// its bootstrap node saying so instead of claiming progress.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>

#include "zmesh/node/node.hpp"
#include "zmesh/node/testnet.hpp"

namespace zmesh::node {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Runs `io` until `done()` holds (checked every 10 ms) or `limit` passes; true if it held.
bool run_until(asio::io_context& io, std::function<bool()> done,
               std::chrono::milliseconds limit = 30s) {
    asio::steady_timer tick(io);
    auto until = std::chrono::steady_clock::now() + limit;
    bool held = false;
    std::function<void()> check = [&] {
        if (done()) {
            held = true;
            io.stop();
            return;
        }
        if (std::chrono::steady_clock::now() >= until) {
            io.stop();
            return;
        }
        tick.expires_after(10ms);
        tick.async_wait([&](boost::system::error_code ec) {
            if (!ec) check();
        });
    };
    check();
    io.run();
    io.restart();
    return held;
}

double gauge(const Node& n, const std::string& name) {
    auto snap = n.metrics();
    for (const auto& f : snap.families())
        if (f.name == name && !f.samples.empty()) return f.samples.front().value;
    return -1;
}

Options loopback(bool client, bool relay) {
    Options o;
    o.roles.client = client;
    o.roles.relay = relay;
    o.links.udp = link::SocketAddress{asio::ip::address_v4::loopback(), 0};
    return o;
}

TEST(NodeBootstrap, relay_without_bootstrap_nodes_is_ready_once_it_listens) {
    asio::io_context io;
    Node relay(io.get_executor(), loopback(false, true));
    EXPECT_EQ(relay.status().bootstrap_progress.percent, 0u);
    std::vector<BootstrapReport> reports;
    relay.on_bootstrap([&](const BootstrapReport& r) { reports.push_back(r); });
    std::string error;
    ASSERT_TRUE(relay.start(&error)) << error;
    ASSERT_EQ(reports.size(), 3u);
    EXPECT_EQ(reports[0].line,
              "bootstrap: 10% keys made (in memory); waiting for the links to listen");
    EXPECT_EQ(reports[1].line, "bootstrap: 20% links listening (udp)");
    EXPECT_EQ(reports[2].line, "bootstrap: 100% ready");
    EXPECT_FALSE(reports[2].stuck);
    auto p = relay.status().bootstrap_progress;
    EXPECT_EQ(p.percent, 100u);
    EXPECT_EQ(p.step, BootstrapStep::ready);
    EXPECT_TRUE(p.waiting_for.empty());
    EXPECT_EQ(gauge(relay, "zmesh_bootstrap_progress"), 100);
}

TEST(NodeBootstrap, client_whose_bootstrap_node_does_not_answer_waits_for_it_at_20_percent) {
    asio::io_context io;
    auto o = loopback(true, false);
    // Port 1 on loopback: nothing listens, every fetch fails at once.
    o.discovery.bootstrap.push_back(BootstrapNode{
        {asio::ip::address_v4::loopback(), 1}, crypto::Identity::generate().signing.pub, {}, {}});
    Node client(io.get_executor(), o);
    std::string error;
    ASSERT_TRUE(client.start(&error)) << error;
    EXPECT_TRUE(run_until(io, [&] {
        return client.status().bootstrap_progress.waiting_for.find("failed attempts") !=
               std::string::npos;
    })) << client.status().bootstrap_progress.waiting_for;
    auto p = client.status().bootstrap_progress;
    EXPECT_EQ(p.percent, 20u);
    EXPECT_EQ(p.step, BootstrapStep::links);
    EXPECT_EQ(p.last_event, "links listening (udp)");
    EXPECT_TRUE(p.waiting_for.starts_with("the bootstrap node to answer (")) << p.waiting_for;
    EXPECT_NE(p.waiting_for.find("last: no answer"), std::string::npos) << p.waiting_for;
    EXPECT_EQ(gauge(client, "zmesh_bootstrap_progress"), 20);
    client.stop();
}

TEST(NodeBootstrap, testnet_relays_and_client_reach_100_percent) {
    asio::io_context io;
    TestnetOptions to;
    to.relays = 4;
    to.exits = 1;
    to.hops = 3;
    to.preemptive = 1;
    Testnet net(io.get_executor(), to);
    std::string error;
    ASSERT_TRUE(net.start(&error)) << error;
    auto all_ready = [&] {
        for (std::size_t i = 0; i < net.relay_count(); ++i)
            if (net.relay(i).status().bootstrap_progress.percent != 100) return false;
        return net.client().status().bootstrap_progress.percent == 100;
    };
    EXPECT_TRUE(run_until(io, all_ready))
        << "client: " << net.client().status().bootstrap_progress.waiting_for;
    // The client got there through the directory and its first circuit.
    EXPECT_EQ(net.client().status().bootstrap_progress.step, BootstrapStep::ready);
    EXPECT_GE(net.client().status().circuits_built, 1u);
    EXPECT_EQ(net.client().status().relays_known, 4u);
    net.stop([&] { io.stop(); });
    io.run();
}

}  // namespace
}  // namespace zmesh::node
