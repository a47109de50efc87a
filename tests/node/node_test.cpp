// Whole nodes, built only through node::Node: a loopback network (node::Testnet: real
// bootstrap, descriptors, guards, path selection), streams opened without a socket, events
// to several subscribers, and a clean stop.
#include "zmesh/node/node.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "node/echo_server.hpp"
#include "zmesh/client/pool.hpp"
#include "zmesh/node/testnet.hpp"

namespace zmesh::node {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

using test::echo_server;

struct Network {
    asio::io_context io;
    std::unique_ptr<Testnet> net;
    tcp::acceptor echo{io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)};
    asio::steady_timer deadline{io};

    explicit Network(TestnetOptions o = small()) {
        net = std::make_unique<Testnet>(io.get_executor(), o);
        std::string error;
        EXPECT_TRUE(net->start(&error)) << error;
        asio::co_spawn(io, echo_server(echo), asio::detached);
        deadline.expires_after(std::chrono::seconds(60));
        deadline.async_wait([this](boost::system::error_code ec) {
            if (!ec) {
                ADD_FAILURE() << "timed out";
                io.stop();
            }
        });
    }
    static TestnetOptions small() {
        TestnetOptions o;
        o.relays = 4;
        o.exits = 1;
        o.hops = 3;
        o.preemptive = 1;
        return o;
    }
    void finish() {
        deadline.cancel();
        echo.close();
        net->stop([this] { io.stop(); });
    }
};

TEST(Node, testnet_learns_relays_from_its_bootstrap_node_and_builds_three_hop_circuits) {
    Network n;
    bool ready = false, three = false;
    Status st, bootstrap;
    n.net->when_ready([&](bool ok) {
        ready = ok;
        // Read while running: a stopped node reports nothing open.
        st = n.net->client().status();
        bootstrap = n.net->relay(0).status();
        for (const auto& c : n.net->client().circuits()) three = three || c.path.size() == 3;
        n.finish();
    });
    n.io.run();
    ASSERT_TRUE(ready);
    // Every relay but none of the client's own was learned through the directory.
    EXPECT_EQ(st.relays_known, 4u);
    EXPECT_GE(st.guards, 1u);
    EXPECT_TRUE(three);
    EXPECT_FALSE(bootstrap.bootstrap.empty());
    EXPECT_TRUE(bootstrap.contact.starts_with("udp://127.0.0.1:")) << bootstrap.contact;
}

// What one stream echoed through the network: see echo_through.
struct Echoed {
    Bytes sent, got;
    std::size_t written = 0;
    bool short_write = false, eof = false;
    std::uint64_t opened = 0;
    std::string closed;
};

// A stream without a socket: `total` bytes written with back-pressure (write takes only
// what fits, on_writable says when to go on), echoed by a TCP server behind the exit, read
// back, then a clean half-close seen as EOF. `at_end` runs on the client's thread before
// the network stops.
Echoed echo_through(Network& n, std::size_t total, const std::function<void()>& at_end = {}) {
    Echoed r;
    r.sent.resize(total);
    for (std::size_t i = 0; i < total; ++i) r.sent[i] = static_cast<std::uint8_t>(i * 7 + i / 251);
    std::shared_ptr<StreamHandle> stream;
    auto pump = [&] {
        while (r.written < total) {
            auto took = stream->write(ByteView(r.sent).subspan(r.written));
            if (took == 0) {
                r.short_write = true;
                return;  // on_writable continues
            }
            r.written += took;
        }
        stream->finish();
    };
    n.net->when_ready([&](bool ok) {
        ASSERT_TRUE(ok);
        n.net->client().open_stream(
            "127.0.0.1", n.echo.local_endpoint().port(), "test",
            [&](std::shared_ptr<StreamHandle> s, std::string error) {
                ASSERT_TRUE(s) << error;
                stream = s;
                s->on_readable([&] {
                    std::uint8_t buf[8192];
                    for (std::size_t k; (k = stream->read(buf)) > 0;)
                        r.got.insert(r.got.end(), buf, buf + k);
                    if (stream->at_eof() && !r.eof) {
                        r.eof = true;
                        r.opened = n.net->client().status().streams_opened;
                        if (at_end) at_end();
                        n.finish();
                    }
                });
                s->on_writable(pump);
                s->on_closed([&](const std::string& why) { r.closed = why; });
                pump();
            });
    });
    n.io.run();
    return r;
}

// 6 MiB: more than the 4 MiB send buffer.
TEST(Node, open_stream_carries_bytes_both_ways_with_back_pressure) {
    Network n;
    constexpr std::size_t kTotal = 6 << 20;
    auto r = echo_through(n, kTotal);
    EXPECT_TRUE(r.short_write) << "6 MiB never filled the send buffer: no back-pressure seen";
    EXPECT_EQ(r.written, kTotal);
    ASSERT_EQ(r.got.size(), kTotal);
    EXPECT_TRUE(r.got == r.sent);
    EXPECT_TRUE(r.eof);
    EXPECT_EQ(r.opened, 1u);
}

// Relays dealt over three threads (the client's and two of the Testnet's): the circuit
// crosses threads only through sockets, every relay is reached with with_relay on its own
// thread, and the metrics gather every node.
TEST(Node, testnet_spreads_its_relays_over_threads) {
    auto o = Network::small();
    o.threads = 3;
    Network n(o);
    std::uint64_t relayed_elsewhere = 0;
    std::size_t relays_on_other_threads = 0;
    Snapshot snap;
    auto r = echo_through(n, 1 << 20, [&] {
        auto here = std::this_thread::get_id();
        for (std::size_t i = 0; i < n.net->relay_count(); ++i)
            n.net->with_relay(i, [&](Node& relay) {
                if (std::this_thread::get_id() == here) return;
                ++relays_on_other_threads;
                relayed_elsewhere += relay.status().cells_relayed;
            });
        snap = n.net->metrics();
    });
    ASSERT_EQ(r.got.size(), r.sent.size());
    EXPECT_TRUE(r.got == r.sent);
    EXPECT_TRUE(r.eof);
    // Relays 1, 2 and 4 of 4 are on the Testnet's threads; the exit (relay 4) among them.
    EXPECT_EQ(relays_on_other_threads, 3u);
    EXPECT_GT(relayed_elsewhere, (1u << 20) / 1024) << "the stream's cells crossed no other thread";
    std::set<std::string> nodes;
    for (const auto& f : snap.families())
        for (const auto& smp : f.samples)
            for (const auto& [k, v] : smp.labels)
                if (k == "node") nodes.insert(v);
    EXPECT_EQ(nodes, (std::set<std::string>{"client", "relay-1", "relay-2", "relay-3", "relay-4"}));
}

TEST(Node, open_stream_errors_are_reported_not_thrown) {
    auto o = Network::small();
    o.exit_policy = {"reject *:25", "accept *:*"};
    Network n(o);
    std::map<std::string, std::string> errors;  // which call -> its error
    auto note = [&](std::string call) {
        return [&, call](std::shared_ptr<StreamHandle> s, std::string e) {
            EXPECT_FALSE(s) << call;
            errors[call] = e;
            if (errors.size() == 3) n.finish();
        };
    };
    n.net->when_ready([&](bool ok) {
        ASSERT_TRUE(ok);
        // A relay is not a client; a port of zero is no target; no exit allows port 25,
        // so no path fits.
        n.net->relay(1).open_stream("127.0.0.1", 80, "", note("relay"));
        n.net->client().open_stream("127.0.0.1", 0, "", note("port 0"));
        n.net->client().open_stream("127.0.0.1", 25, "x", note("port 25"));
    });
    n.io.run();
    ASSERT_EQ(errors.size(), 3u);
    EXPECT_EQ(errors["relay"], "not a client");
    EXPECT_EQ(errors["port 0"], "bad target");
    EXPECT_EQ(errors["port 25"], "destination unreachable");
}

// A stream to a port no spare was built for waits for a new circuit: the spares for that
// port are built once the stream opened, not at the same time (on one core their handshakes
// took the CPU the user's build needed: three builds at once made a new isolation key's
// first byte twice as late).
TEST(Node, spares_are_built_after_the_circuit_a_stream_waits_for) {
    TestnetOptions o = Network::small();
    o.preemptive = 2;
    Network n(o);
    auto& client = n.net->client();
    std::size_t building_at_built = 99;
    std::uint64_t awaited = 0;
    bool opened = false;
    std::size_t spares_later = 0;
    client.subscribe([&](const Event& e) {
        if (e.kind != Event::Kind::circuit_built || awaited == 0 || e.circuit != awaited) return;
        building_at_built = 0;
        for (const auto& c : client.circuits()) building_at_built += c.built ? 0 : 1;
    });
    n.net->when_ready([&](bool ok) {
        ASSERT_TRUE(ok);
        auto before = client.circuits();
        client.open_stream("127.0.0.1", n.echo.local_endpoint().port(), "fresh",
                           [&](std::shared_ptr<StreamHandle> s, std::string error) {
                               ASSERT_TRUE(s) << error;
                               opened = true;
                               s->close();
                               // The spares come once the stream opened (the pool
                               // posts their builds after this callback).
                               asio::post(n.io, [&] {
                                   asio::post(n.io, [&] {
                                       spares_later = client.circuits().size();
                                       n.finish();
                                   });
                               });
                           });
        for (const auto& c : client.circuits()) {
            bool known = std::any_of(before.begin(), before.end(),
                                     [&](const CircuitInfo& b) { return b.id == c.id; });
            // The stream's circuit is the first one made (spares, if any, come after it).
            if (!known && !c.built && (awaited == 0 || c.id < awaited)) awaited = c.id;
        }
        ASSERT_NE(awaited, 0u) << "no circuit was built for the new port";
    });
    n.io.run();
    ASSERT_TRUE(opened);
    EXPECT_EQ(building_at_built, 0u) << "other circuits were built alongside the awaited one";
    EXPECT_GE(spares_later, 3u);  // the stream's circuit and two spares for its port
}

TEST(Node, events_reach_every_subscriber_and_stop_is_clean) {
    Network n;
    std::vector<Event::Kind> a, b;
    auto& client = n.net->client();
    auto sa = client.subscribe([&](const Event& e) { a.push_back(e.kind); });
    auto sb = client.subscribe([&](const Event& e) { b.push_back(e.kind); });
    EXPECT_NE(sa, 0u);
    EXPECT_NE(sb, sa);
    n.net->when_ready([&](bool ok) {
        ASSERT_TRUE(ok);
        EXPECT_GE(client.new_identity(), 0u);
        client.unsubscribe(sb);
        n.finish();
    });
    n.io.run();
    ASSERT_FALSE(a.empty());
    EXPECT_NE(std::find(a.begin(), a.end(), Event::Kind::circuit_built), a.end());
    EXPECT_NE(std::find(a.begin(), a.end(), Event::Kind::new_identity), a.end());
    EXPECT_EQ(a.back(), Event::Kind::shutdown);
    // b stopped listening after new_identity: it saw the build, not the shutdown.
    EXPECT_NE(std::find(b.begin(), b.end(), Event::Kind::new_identity), b.end());
    EXPECT_EQ(std::find(b.begin(), b.end(), Event::Kind::shutdown), b.end());
    EXPECT_FALSE(client.running());
    EXPECT_EQ(client.status().client_circuits, 0u);
}

TEST(Node, options_problems_are_named) {
    Options o;
    EXPECT_FALSE(problems(o).empty());  // no role, no link
    o.roles.client = true;
    o.links.udp = link::SocketAddress{asio::ip::address_v4::loopback(), 0};
    EXPECT_TRUE(problems(o).empty());
    o.circuit.hops = 9;
    EXPECT_EQ(problems(o).size(), 1u);
    asio::io_context io;
    Node node(io.get_executor(), o);
    std::string error;
    EXPECT_FALSE(node.start(&error));
    EXPECT_TRUE(error.starts_with("circuit.hops")) << error;
}

}  // namespace
}  // namespace zmesh::node
