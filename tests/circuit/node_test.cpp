// Circuits over real links: relays and a client in one process, each with its own UDP
// (or TCP) socket on 127.0.0.1, a 3-hop circuit built by telescoping and messages
// echoed by the exit.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

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
                                    bool exit, Duration attempt_timeout = std::chrono::seconds(5),
                                    Duration stall_after = ClientConfig{}.stall_after) {
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
    nc.client.stall_after = stall_after;
    m->node = std::make_unique<CircuitNode>(*m->links, nc);
    m->links->start();
    m->node->start();
    return m;
}

void run_circuit(bool tcp) {
    asio::io_context io;
    std::vector<std::unique_ptr<Member>> members;
    auto kind = tcp ? link::TransportKind::tcp : link::TransportKind::udp;
    // Three relays, then the client. The cell counts below are exact: no liveness probe
    // may add its PINGs, even when a loaded machine keeps the first echo out longer than
    // the default stall_after (150 ms, and the probe fires at that deadline).
    for (int i = 0; i < 4; ++i)
        members.push_back(
            make_member(io, {kind}, i == 2, std::chrono::seconds(5), std::chrono::seconds(30)));
    CircuitNode& exit = *members[2]->node;
    auto echo = exit.subscribe_messages({RelayCommand::data},
                                        [&](const LinkCircuit& c, const RelayMessage& msg) {
                                            EXPECT_TRUE(exit.exit_reply(c, msg));
                                        });
    ASSERT_TRUE(echo);
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
    auto events = client.subscribe_client([&](const ClientEvent& ev) {
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
    ASSERT_TRUE(events);
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
    auto events = client.subscribe_client([&](const ClientEvent& ev) {
        got = ev;
        io.stop();
    });
    EXPECT_TRUE(events);
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

// Runs the loop until `done` holds or `limit` passes; polls, never sleeps blindly.
bool run_until(asio::io_context& io, const std::function<bool()>& done,
               Duration limit = std::chrono::seconds(20)) {
    auto end = Clock::now() + limit;
    while (!done() && Clock::now() < end) {
        if (io.stopped()) io.restart();
        io.run_one_for(std::chrono::milliseconds(20));
    }
    return done();
}

// A relay, an exit and a client on UDP links, all started.
struct SmallNet {
    asio::io_context io;
    std::unique_ptr<Member> relay = make_member(io, {link::TransportKind::udp}, false);
    std::unique_ptr<Member> exit = make_member(io, {link::TransportKind::udp}, true);
    std::unique_ptr<Member> client = make_member(io, {link::TransportKind::udp}, false);
    std::vector<PathHop> path() const { return {relay->path_hop(), exit->path_hop()}; }
    ~SmallNet() {
        for (auto* m : {relay.get(), exit.get(), client.get()}) {
            m->node->stop();
            m->links->stop();
        }
    }
};

Subscription must(Result<Subscription> r) {
    EXPECT_TRUE(r) << r.error().message();
    return r ? std::move(*r) : Subscription{};
}

// The cell router: every subscriber of an event gets it (a second consumer does not
// replace the first), each only for the commands it named, until it unsubscribes.
TEST(CircuitNode, every_subscriber_gets_events_until_it_unsubscribes) {
    SmallNet net;
    CircuitNode& exit = *net.exit->node;
    CircuitNode& client = *net.client->node;
    int exit_a = 0, exit_b = 0, exit_begin = 0, closed_a = 0, closed_b = 0;
    auto sub_a = must(exit.subscribe_messages(
        {RelayCommand::data}, [&](const LinkCircuit& c, const RelayMessage& m) {
            ++exit_a;
            EXPECT_TRUE(exit.exit_reply(c, m));  // one echo per message
        }));
    auto sub_b =
        must(exit.subscribe_messages({RelayCommand::data, RelayCommand::end},
                                     [&](const LinkCircuit&, const RelayMessage&) { ++exit_b; }));
    auto sub_begin = must(exit.subscribe_messages(
        {RelayCommand::begin}, [&](const LinkCircuit&, const RelayMessage&) { ++exit_begin; }));
    auto closed_sub_a = must(exit.subscribe_closed([&](const LinkCircuit&) { ++closed_a; }));
    auto closed_sub_b = must(exit.subscribe_closed([&](const LinkCircuit&) { ++closed_b; }));

    int built_1 = 0, built_2 = 0, msgs_1 = 0, msgs_2 = 0;
    auto client_1 = must(client.subscribe_client([&](const ClientEvent& ev) {
        built_1 += ev.kind == ClientEvent::Kind::built;
        msgs_1 += ev.kind == ClientEvent::Kind::message;
    }));
    auto client_2 = must(client.subscribe_client([&](const ClientEvent& ev) {
        built_2 += ev.kind == ClientEvent::Kind::built;
        msgs_2 += ev.kind == ClientEvent::Kind::message;
    }));
    auto h = client.build(net.path());
    ASSERT_TRUE(h);
    ASSERT_TRUE(run_until(net.io, [&] { return built_1 == 1 && built_2 == 1; }));

    RelayMessage data{RelayCommand::data, 1, Bytes{1, 2, 3}};
    ASSERT_TRUE(client.send(*h, data));
    ASSERT_TRUE(run_until(net.io, [&] { return msgs_1 == 1 && msgs_2 == 1; }));
    EXPECT_EQ(exit_a, 1);
    EXPECT_EQ(exit_b, 1);
    EXPECT_EQ(exit_begin, 0);  // subscribed to other commands only

    // Unsubscribed: no more deliveries to b, nor to client_2.
    sub_b.reset();
    client_2.reset();
    ASSERT_TRUE(client.send(*h, data));
    ASSERT_TRUE(run_until(net.io, [&] { return msgs_1 == 2; }));
    EXPECT_EQ(exit_a, 2);
    EXPECT_EQ(exit_b, 1);
    EXPECT_EQ(msgs_2, 1);

    // A command nobody handles any more is dropped and counted.
    EXPECT_EQ(exit.unhandled_messages(), 0u);
    ASSERT_TRUE(client.send(*h, {RelayCommand::end, 1, Bytes{1}}));
    ASSERT_TRUE(run_until(net.io, [&] { return exit.unhandled_messages() == 1; }));
    EXPECT_EQ(exit_b, 1);

    // Subscribed closed handlers hear of the circuit going away; a dropped one does not.
    closed_sub_b = {};
    client.close(*h);
    ASSERT_TRUE(run_until(net.io, [&] { return closed_a == 1; }));
    EXPECT_EQ(closed_b, 0);
}

// Handlers unsubscribe from inside their own calls: themselves (one-shot consumers) and
// others (a consumer that owns another one), in the middle of delivering an event.
TEST(CircuitNode, a_subscriber_may_unsubscribe_from_inside_its_callback) {
    SmallNet net;
    CircuitNode& exit = *net.exit->node;
    CircuitNode& client = *net.client->node;
    auto echo = must(exit.subscribe_messages(
        {RelayCommand::data},
        [&](const LinkCircuit& c, const RelayMessage& m) { EXPECT_TRUE(exit.exit_reply(c, m)); }));
    int once = 0;
    Subscription once_sub;
    once_sub = must(
        exit.subscribe_messages({RelayCommand::data}, [&](const LinkCircuit&, const RelayMessage&) {
            ++once;
            once_sub.reset();
        }));
    int self = 0, killer = 0, victim = 0, built = 0;
    Subscription self_sub, killer_sub, victim_sub;
    self_sub = must(client.subscribe_client([&](const ClientEvent& ev) {
        if (ev.kind != ClientEvent::Kind::message) return;
        ++self;
        self_sub.reset();
    }));
    killer_sub = must(client.subscribe_client([&](const ClientEvent& ev) {
        built += ev.kind == ClientEvent::Kind::built;
        if (ev.kind != ClientEvent::Kind::message) return;
        ++killer;
        victim_sub.reset();  // before the victim's turn for this very event
    }));
    victim_sub = must(client.subscribe_client(
        [&](const ClientEvent& ev) { victim += ev.kind == ClientEvent::Kind::message; }));
    auto h = client.build(net.path());
    ASSERT_TRUE(h);
    ASSERT_TRUE(run_until(net.io, [&] { return built == 1; }));
    for (std::uint16_t i = 1; i <= 3; ++i)
        ASSERT_TRUE(client.send(*h, {RelayCommand::data, i, Bytes{1, 2, 3}}));
    ASSERT_TRUE(run_until(net.io, [&] { return killer == 3; }));
    EXPECT_EQ(self, 1);
    EXPECT_EQ(victim, 0);
    EXPECT_EQ(once, 1);
    EXPECT_FALSE(self_sub);
    EXPECT_FALSE(once_sub);
    EXPECT_EQ(exit.unhandled_messages(), 0u);  // the echo still handles data
}

TEST(CircuitNode, subscribers_are_bounded) {
    asio::io_context io;
    auto m = make_member(io, {link::TransportKind::udp}, true);
    std::vector<Subscription> subs;
    for (std::size_t i = 0; i < kMaxSubscribers; ++i)
        subs.push_back(must(m->node->subscribe_client([](const ClientEvent&) {})));
    auto over = m->node->subscribe_client([](const ClientEvent&) {});
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error(), make_error_code(Errc::exhausted));
    // Messages: all commands or none (data full, begin not).
    std::vector<Subscription> data;
    for (std::size_t i = 0; i < kMaxSubscribers; ++i)
        data.push_back(must(m->node->subscribe_messages(
            {RelayCommand::data}, [](const LinkCircuit&, const RelayMessage&) {})));
    EXPECT_FALSE(m->node->subscribe_messages({RelayCommand::begin, RelayCommand::data},
                                             [](const LinkCircuit&, const RelayMessage&) {}));
    data.pop_back();
    EXPECT_TRUE(m->node->subscribe_messages({RelayCommand::begin, RelayCommand::data},
                                            [](const LinkCircuit&, const RelayMessage&) {}));
    m->node->stop();
    m->links->stop();
}

// Deadlines instead of a sweep: a node without circuits or sessions arms no timer but the
// onion key rotation (a week away) and wakes once (to date its onion key); with a circuit,
// the relays wait for its idle timeout, the client for its lifetime while it is quiet, and
// the links for their keepalives.
TEST(CircuitNode, an_idle_node_arms_no_timer_for_the_next_moments) {
    SmallNet net;
    auto nodes = {net.relay.get(), net.exit.get(), net.client.get()};
    ASSERT_TRUE(run_until(net.io, [&] {  // the first onion key tick, due at once
        return std::all_of(nodes.begin(), nodes.end(),
                           [](Member* m) { return m->node->timer_wakeups() > 0; });
    }));
    net.io.run_for(std::chrono::milliseconds(50));  // and nothing more
    auto far = Clock::now() + std::chrono::hours(24);
    for (auto* m : nodes) {
        ASSERT_TRUE(m->node->armed_deadline());
        EXPECT_GT(*m->node->armed_deadline(), far);
        EXPECT_EQ(m->node->timer_wakeups(), 1u);
        for (const auto& l : m->links->links()) {
            EXPECT_FALSE(l->armed_deadline());
            EXPECT_EQ(l->timer_wakeups(), 0u);
        }
    }
    int built = 0;
    auto events = must(net.client->node->subscribe_client(
        [&](const ClientEvent& ev) { built += ev.kind == ClientEvent::Kind::built; }));
    auto started = Clock::now();
    ASSERT_TRUE(net.client->node->build(net.path()));
    ASSERT_TRUE(run_until(net.io, [&] { return built == 1; }));
    net.io.poll();
    // What the drivers arm next (a timer armed earlier for a deadline that has since moved
    // later, such as the build timeout, fires once for nothing and takes these).
    auto idle = RelayConfig{}.idle_timeout;
    for (auto* m : {net.relay.get(), net.exit.get()}) {
        auto next = m->node->next_deadline();
        ASSERT_TRUE(next);
        // Input sets a floor (RelayTable::min_new_deadline) instead of rescanning the
        // table: the deadline may be early, never late.
        EXPECT_GE(*next, started + RelayConfig{}.extend_timeout);
        EXPECT_LE(*next, Clock::now() + idle);
    }
    // The client's circuit table waits for the circuit's lifetime; its node (a relay table
    // too, whose cache took a floor from the CREATED) not before the floor.
    auto next = net.client->node->client().next_deadline();
    ASSERT_TRUE(next);
    EXPECT_GE(*next, started + ClientConfig{}.max_lifetime);
    auto node_next = net.client->node->next_deadline();
    ASSERT_TRUE(node_next);
    EXPECT_GE(*node_next, started + RelayConfig{}.extend_timeout);
    for (const auto& l : net.client->links->links()) {
        auto link_next = l->endpoint().next_deadline();
        ASSERT_TRUE(link_next);  // the keepalive of its session to the first hop
        EXPECT_GT(*link_next, Clock::now() + std::chrono::seconds(5));
    }
}

// A process that is not scheduled for longer than the probe timeout (a loaded machine)
// wakes with its timer long overdue and the PONGs still on their way back through the
// relays: the probe is judged only after they had as long again to arrive, and the circuit
// lives. Without the grace the first wake-up closed it (the e2e test under load did).
TEST(CircuitNode, a_starved_process_does_not_fail_a_probe_whose_answers_are_on_the_way) {
    asio::io_context io;
    std::vector<std::unique_ptr<Member>> members;
    for (int i = 0; i < 4; ++i)
        members.push_back(make_member(io, {link::TransportKind::udp}, i == 2,
                                      std::chrono::seconds(5), std::chrono::milliseconds(20)));
    CircuitNode& client = *members[3]->node;
    int built = 0, failed = 0;
    auto events = must(client.subscribe_client([&](const ClientEvent& ev) {
        built += ev.kind == ClientEvent::Kind::built;
        failed += ev.kind == ClientEvent::Kind::failed || ev.kind == ClientEvent::Kind::closed;
    }));
    auto h = client.build({members[0]->path_hop(), members[1]->path_hop(), members[2]->path_hop()});
    ASSERT_TRUE(h);
    ASSERT_TRUE(run_until(io, [&] { return built == 1; }));
    auto late_before = client.late_wakeups();
    // Nobody at the exit answers DATA: the client waits, and probes after stall_after.
    ASSERT_TRUE(client.send(*h, {RelayCommand::data, 1, Bytes{1, 2, 3}}));
    ASSERT_TRUE(run_until(io, [&] { return client.client().stats().probes_sent == 1; }));
    // The PINGs are out; the process stops running for twice the probe timeout.
    auto starved = 2 * ClientConfig{}.probe_timeout;
    std::this_thread::sleep_for(starved);
    auto answered = [&] {
        auto list = client.client().list();
        return list.size() == 1 && list[0].hop_rtt.size() == 3 && list[0].hop_rtt[2] >= starved;
    };
    ASSERT_TRUE(run_until(
        io, [&] { return failed > 0 || answered(); }, std::chrono::seconds(5)));
    EXPECT_EQ(failed, 0);
    EXPECT_EQ(client.client().stats().dead_hops, 0u);
    EXPECT_EQ(client.late_wakeups() - late_before, 1u);
    for (auto& m : members) {
        m->node->stop();
        m->links->stop();
    }
}

// The attack: a client streams cells that are not relay cells (DESTROYs for circuits that
// do not exist) at a relay. Each used to make the relay rescan its whole circuit table
// for its next deadline (up to 65,536 circuits per cell: a core for a trickle of cells);
// now input only lowers the cached deadline to a floor, and the table is rescanned when
// the timer fires.
TEST(CircuitNode, junk_cells_do_not_make_a_relay_rescan_its_table) {
    SmallNet net;
    int built = 0;
    auto events = must(net.client->node->subscribe_client(
        [&](const ClientEvent& ev) { built += ev.kind == ClientEvent::Kind::built; }));
    ASSERT_TRUE(net.client->node->build(net.path()));
    ASSERT_TRUE(run_until(net.io, [&] { return built == 1; }));
    auto& link = *net.client->links->links().front();
    std::optional<link::SessionId> to_relay;
    for (const auto& s : link.endpoint().sessions())
        if (link.established(s.id)) to_relay = s.id;
    ASSERT_TRUE(to_relay);
    CircuitNode& relay = *net.relay->node;
    auto rescans = relay.relay().deadline_scans();
    auto dropped = relay.relay().stats().drop_unknown_circuit;
    constexpr int kJunk = 2000;
    for (int i = 0; i < kJunk; ++i) {
        wire::Cell c{};
        wire::set_cell_header(c, 0x7000000u + static_cast<std::uint32_t>(i),
                              wire::CellCommand::destroy);
        (void)link.send_cell(*to_relay, c);
        if (i % 64 == 63) net.io.poll();
    }
    ASSERT_TRUE(run_until(net.io, [&] {
        return relay.relay().stats().drop_unknown_circuit - dropped >= kJunk * 9 / 10;
    }));
    EXPECT_LT(relay.relay().deadline_scans() - rescans, 10u);
}

}  // namespace
}  // namespace zmesh::circuit
