// The relay service: which relays a client knows, how circuit outcomes score and blacklist
// them, and the paths and guards it picks.
#include "zmesh/discovery/relay_service.hpp"

#include <gtest/gtest.h>

#include <set>

namespace zmesh::discovery {
namespace {

constexpr std::uint64_t kNow = 1'800'000'000;

link::LinkAddress udp_at(int i) {
    return {link::TransportKind::udp,
            {boost::asio::ip::make_address("127.0.0." + std::to_string(1 + i % 250)),
             static_cast<std::uint16_t>(7000 + i)}};
}

crypto::NodeId node(int i) {
    crypto::NodeId id;
    id.bytes[0] = static_cast<std::uint8_t>(i);
    id.bytes[31] = 2;
    return id;
}

circuit::PathHop hop(int i, std::vector<link::LinkAddress> at) {
    circuit::PathHop h;
    h.hop.id = node(i);
    h.hop.addresses = std::move(at);
    return h;
}

// `n` configured relays on loopback, every `exit_every`-th an exit.
std::vector<KnownRelay> relays(int n, int exit_every = 3) {
    std::vector<KnownRelay> out;
    for (int i = 0; i < n; ++i)
        out.push_back(*known_relay(hop(i, {udp_at(i)}), i % exit_every == 0));
    return out;
}

std::vector<crypto::NodeId> ids(const std::vector<circuit::PathHop>& path) {
    std::vector<crypto::NodeId> out;
    for (const auto& h : path) out.push_back(h.hop.id);
    return out;
}

bool contains(const std::vector<crypto::NodeId>& v, const crypto::NodeId& id) {
    return std::find(v.begin(), v.end(), id) != v.end();
}

// A signed descriptor of a fresh relay, inserted into the service's directory.
crypto::NodeId publish(RelayService& s, Descriptor d) {
    auto id = crypto::Identity::generate();
    d.link_key = id.link.pub;
    d.published = kNow - 10;
    d.expires = kNow + kDescriptorLifetime;
    if (d.addresses.empty())
        d.addresses.push_back(
            Address{link::TransportKind::udp, link::ip_bytes(udp_at(200).at.ip), 7200});
    auto enc = sign_descriptor(d, id);
    EXPECT_NE(s.directory().insert(enc, kNow), Directory::Outcome::rejected);
    return id.node_id();
}

circuit::ClientEvent failed_at(
    std::vector<crypto::NodeId> path, std::size_t hop, circuit::DestroyReason why,
    circuit::ClientEvent::Kind kind = circuit::ClientEvent::Kind::failed) {
    circuit::ClientEvent ev{};
    ev.kind = kind;
    ev.path = std::move(path);
    ev.failed_hop = hop;
    ev.reason = why;
    return ev;
}

TEST(RelayService, known_relays_are_configured_first_then_the_directory_without_self) {
    RelayService s(1);
    auto configured = relays(2);
    s.set_configured(configured);
    Descriptor exit_d;
    exit_d.flags = kFlagRelay | kFlagExit;
    exit_d.bandwidth = 5000;
    exit_d.exit_policy = {"accept *:443"};
    exit_d.family = {node(1)};
    exit_d.addresses.push_back(
        Address{link::TransportKind::tcp, link::ip_bytes(udp_at(9).at.ip), 9});
    exit_d.addresses.push_back(
        Address{link::TransportKind::ws, link::ip_bytes(udp_at(9).at.ip), 10});
    auto exit_id = publish(s, exit_d);
    Descriptor not_relay;
    not_relay.flags = kFlagBootstrap;
    publish(s, not_relay);
    Descriptor me;
    me.flags = kFlagRelay;
    s.set_self(publish(s, me));

    auto k = s.known();
    ASSERT_EQ(k.size(), 3u);
    EXPECT_EQ(k[0].candidate.id, node(0));
    EXPECT_EQ(k[1].candidate.id, node(1));
    EXPECT_EQ(k[2].candidate.id, exit_id);
    EXPECT_TRUE(k[2].exit());
    EXPECT_EQ(k[2].exit_policy, exit_d.exit_policy);
    EXPECT_EQ(k[2].candidate.family, exit_d.family);
    EXPECT_EQ(k[2].candidate.advertised_bandwidth, 5000);
    EXPECT_EQ(k[2].candidate.transports,
              transport_bit(link::TransportKind::tcp) | transport_bit(link::TransportKind::ws));
    ASSERT_EQ(k[2].hop.hop.addresses.size(), 2u);
    EXPECT_EQ(k[2].hop.hop.addresses[1].at.port, 10);
}

// A .onion or .i2p destination needs an exit that advertises reaching it: from a
// descriptor's flags or a contact line; none known means no path (never another exit).
TEST(RelayService, onion_and_i2p_paths_end_only_at_exits_with_the_ability) {
    RelayService s(1);
    auto configured = relays(6, 100);  // node 0 a plain exit
    configured.push_back(*known_relay(hop(6, {udp_at(6)}), true, {}, 0, {}, kFlagI2p));
    s.set_configured(configured);
    Descriptor onion_exit;
    onion_exit.flags = kFlagRelay | kFlagExit | kFlagOnion;
    auto onion_id = publish(s, onion_exit);
    // Abilities of a relay that is no exit are not taken.
    EXPECT_EQ(known_relay(hop(9, {udp_at(9)}), false, {}, 0, {}, kFlagOnion)->abilities, 0);
    PathSettings ps;
    ps.hops = 3;
    std::set<crypto::NodeId> plain_exits;
    for (int i = 0; i < 40; ++i) {
        auto p = ids(s.pick_path({80, {}, {}, kFlagOnion}, ps, kNow).hops);
        ASSERT_EQ(p.size(), 3u);
        EXPECT_EQ(p.back(), onion_id);
        p = ids(s.pick_path({80, {}, {}, kFlagI2p}, ps, kNow).hops);
        ASSERT_EQ(p.size(), 3u);
        EXPECT_EQ(p.back(), node(6));
        plain_exits.insert(ids(s.pick_path({80, {}, {}}, ps, kNow).hops).back());
    }
    EXPECT_GE(plain_exits.size(), 2u);  // plain destinations may use any exit
    // Both at once: no exit has them.
    EXPECT_TRUE(s.pick_path({80, {}, {}, kFlagOnion | kFlagI2p}, ps, kNow).hops.empty());
    RelayService none(2);
    none.set_configured(relays(6, 2));
    EXPECT_TRUE(none.pick_path({80, {}, {}, kFlagOnion}, ps, kNow).hops.empty());
    EXPECT_FALSE(none.pick_path({80, {}, {}}, ps, kNow).hops.empty());
}

TEST(RelayService, a_relay_is_known_once_and_only_with_an_address) {
    RelayService s(1);
    auto c = relays(3);
    c.push_back(c[1]);  // listed twice
    s.set_configured(c);
    EXPECT_EQ(s.known().size(), 3u);
    EXPECT_FALSE(known_relay(hop(7, {}), true));
    std::vector<link::LinkAddress> many;
    for (int i = 0; i < 10; ++i) many.push_back(udp_at(i));
    EXPECT_EQ(known_relay(hop(7, many), true)->hop.hop.addresses.size(), circuit::kMaxHopAddresses);
}

TEST(RelayService, enough_relays_needs_the_hop_count_and_an_exit) {
    RelayService s(1);
    EXPECT_FALSE(s.enough_for(3));
    s.set_configured(relays(3, 100));  // node 0 is the only exit
    EXPECT_TRUE(s.enough_for(3));
    EXPECT_FALSE(s.enough_for(4));
    auto no_exit = relays(3, 100);
    no_exit[0].candidate.exit_ok = false;
    s.set_configured(no_exit);
    EXPECT_FALSE(s.enough_for(3));
}

TEST(RelayService, paths_end_at_an_exit_start_at_a_guard_and_keep_the_guards) {
    RelayService s(42);
    s.set_configured(relays(12));
    PathSettings ps;
    std::set<crypto::NodeId> exits;
    for (int round = 0; round < 300; ++round) {
        auto p = s.pick_path({443, {}, {}}, ps, kNow);
        ASSERT_EQ(p.hops.size(), 3u);
        EXPECT_EQ(p.candidates, 12u);
        auto path = ids(p.hops);
        EXPECT_EQ(path.back().bytes[0] % 3, 0) << "not an exit";
        EXPECT_TRUE(contains(s.peers().guards(), path.front()));
        EXPECT_EQ(std::set<crypto::NodeId>(path.begin(), path.end()).size(), 3u);
        exits.insert(path.back());
    }
    EXPECT_EQ(s.peers().guards().size(), kDefaultGuards);
    EXPECT_GT(exits.size(), 1u);  // random, not best-first
}

TEST(RelayService, a_path_avoids_relays_and_ends_at_the_exit_asked_for) {
    RelayService s(3);
    s.set_configured(relays(12));
    PathSettings ps;
    for (int round = 0; round < 200; ++round) {
        auto p = s.pick_path({80, node(6), {node(1), node(2)}}, ps, kNow);
        ASSERT_EQ(p.hops.size(), 3u);
        auto path = ids(p.hops);
        EXPECT_EQ(path.back(), node(6));
        EXPECT_FALSE(contains(path, node(1)));
        EXPECT_FALSE(contains(path, node(2)));
        EXPECT_EQ(p.candidates, 10u);
    }
    // An exit that is not one, or one to avoid: no path.
    EXPECT_TRUE(s.pick_path({80, node(1), {}}, ps, kNow).hops.empty());
    EXPECT_TRUE(s.pick_path({80, node(6), {node(6)}}, ps, kNow).hops.empty());
}

TEST(RelayService, the_exit_filter_decides_which_published_policies_accept_the_port) {
    RelayService s(5);
    auto c = relays(6, 100);  // node 0: the only plain exit
    for (int i : {1, 2}) {
        c[i].candidate.exit_ok = true;
        c[i].exit_policy = {"accept *:" + std::to_string(8000 + i)};
    }
    s.set_configured(c);
    s.set_exit_filter([](const std::vector<std::string>& policy, std::uint16_t port) {
        return policy.front() == "accept *:" + std::to_string(port);
    });
    PathSettings ps;
    ps.hops = 2;
    std::set<crypto::NodeId> exits;
    for (int round = 0; round < 200; ++round) {
        auto p = s.pick_path({8002, {}, {}}, ps, kNow);
        ASSERT_EQ(p.hops.size(), 2u);
        exits.insert(p.hops.back().hop.id);
    }
    EXPECT_EQ(exits, (std::set<crypto::NodeId>{node(0), node(2)}));
    // Without a filter every exit may serve any port.
    RelayService open(5);
    open.set_configured(c);
    exits.clear();
    for (int round = 0; round < 300; ++round)
        exits.insert(open.pick_path({8002, {}, {}}, ps, kNow).hops.back().hop.id);
    EXPECT_EQ(exits.size(), 3u);
}

TEST(RelayService, guards_and_first_hops_share_a_transport_with_the_client) {
    RelayService s(9);
    std::vector<KnownRelay> c;
    for (int i = 0; i < 8; ++i) {
        auto at = udp_at(i);
        if (i >= 4) at.kind = link::TransportKind::tcp;
        c.push_back(*known_relay(hop(i, {at}), i == 0 || i == 4));
    }
    s.set_configured(c);
    PathSettings ps;
    ps.client_transports = transport_bit(link::TransportKind::tcp);
    for (int round = 0; round < 100; ++round) {
        auto p = s.pick_path({443, {}, {}}, ps, kNow);
        ASSERT_FALSE(p.hops.empty());
        EXPECT_EQ(p.hops.front().hop.addresses.front().kind, link::TransportKind::tcp);
    }
    for (const auto& g : s.peers().guards()) EXPECT_GE(g.bytes[0], 4);
}

TEST(RelayService, built_circuits_score_each_relay) {
    RelayService s(1);
    circuit::ClientEvent ev{};
    ev.kind = circuit::ClientEvent::Kind::built;
    ev.path = {node(1), node(2)};
    ev.hop_times = {std::chrono::milliseconds(40)};
    EXPECT_EQ(s.observe(ev, kNow).kind, Verdict::Kind::none);
    const auto* a = s.peers().find(node(1));
    const auto* b = s.peers().find(node(2));
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->successes, 1u);
    EXPECT_EQ(b->successes, 1u);
    ASSERT_TRUE(a->latency_ms);
    EXPECT_DOUBLE_EQ(*a->latency_ms, 40);
    EXPECT_FALSE(b->latency_ms);  // no time for that hop
    EXPECT_GT(a->reliability, 0.5);
    s.observe_throughput({node(1), node(2)}, 1e6, kNow);
    EXPECT_DOUBLE_EQ(*s.peers().find(node(2))->bandwidth, 1e6);
}

TEST(RelayService, a_relay_that_stops_answering_is_down_for_five_minutes) {
    using circuit::DestroyReason;
    for (auto [reason, kind] :
         {std::pair{DestroyReason::timeout, circuit::ClientEvent::Kind::failed},
          std::pair{DestroyReason::connect_failed, circuit::ClientEvent::Kind::failed},
          std::pair{DestroyReason::none, circuit::ClientEvent::Kind::closed}}) {
        RelayService s(1);
        s.set_configured(relays(6));
        auto v = s.observe(failed_at({node(1), node(2), node(3)}, 1, reason, kind), kNow);
        EXPECT_EQ(v.kind, Verdict::Kind::marked_down);
        EXPECT_EQ(v.relay, node(2));
        EXPECT_EQ(v.seconds, kDownSeconds);
        EXPECT_EQ(s.peers().find(node(2))->failures, 1u);
        EXPECT_TRUE(s.peers().blacklisted(node(2), kNow + kDownSeconds - 1));
        EXPECT_FALSE(s.peers().blacklisted(node(2), kNow + kDownSeconds));
        EXPECT_EQ(s.peers().find(node(1)), nullptr);  // the others are not blamed
        PathSettings ps;  // 3 hops: node 2 may be a middle even when it is not a guard
        bool back = false;
        for (int round = 0; round < 200; ++round) {
            EXPECT_FALSE(contains(ids(s.pick_path({443, {}, {}}, ps, kNow + 10).hops), node(2)));
            back = back ||
                   contains(ids(s.pick_path({443, {}, {}}, ps, kNow + kDownSeconds).hops), node(2));
        }
        EXPECT_TRUE(back) << "down, not gone";
        // Down already: a second report does not extend it.
        EXPECT_EQ(s.observe(failed_at({node(2)}, 0, reason, kind), kNow + 60).kind,
                  Verdict::Kind::none);
        EXPECT_FALSE(s.peers().blacklisted(node(2), kNow + kDownSeconds));
    }
}

// A build the client gives up itself (a spare for a port nobody asks for, the node
// stopping) blames no relay: before, each one counted as a failure of the hop it had
// reached, so a node that stopped often set good relays aside.
TEST(RelayService, a_build_the_client_abandons_blames_no_relay) {
    using circuit::DestroyReason;
    RelayService s(1);
    s.set_configured(relays(6));
    for (auto reason : {DestroyReason::finished, DestroyReason::shutdown}) {
        for (int i = 0; i < 10; ++i) {
            auto ev = failed_at({node(1), node(2), node(3)}, 1, reason);
            ev.abandoned = true;
            EXPECT_EQ(s.observe(ev, kNow + i).kind, Verdict::Kind::none);
        }
    }
    EXPECT_EQ(s.peers().find(node(2)), nullptr);
    // The same event from the network does blame it.
    s.observe(failed_at({node(1), node(2), node(3)}, 1, DestroyReason::handshake), kNow);
    ASSERT_NE(s.peers().find(node(2)), nullptr);
    EXPECT_EQ(s.peers().find(node(2))->failures, 1u);
}

TEST(RelayService, a_relay_that_keeps_failing_is_set_aside_for_an_hour) {
    RelayService s(1);
    // Reliability starts at 0.5 and falls by a fifth per failure: below 0.1 at the 8th.
    for (int i = 1; i <= 7; ++i)
        EXPECT_EQ(
            s.observe(failed_at({node(4)}, 0, circuit::DestroyReason::handshake), kNow + i).kind,
            Verdict::Kind::none)
            << i;
    EXPECT_FALSE(s.peers().blacklisted(node(4), kNow + 8));
    auto v = s.observe(failed_at({node(4)}, 0, circuit::DestroyReason::protocol), kNow + 8);
    EXPECT_EQ(v.kind, Verdict::Kind::set_aside);
    EXPECT_EQ(v.seconds, kSetAsideSeconds);
    EXPECT_TRUE(s.peers().blacklisted(node(4), kNow + 8 + kSetAsideSeconds - 1));
    EXPECT_FALSE(s.peers().blacklisted(node(4), kNow + 8 + kSetAsideSeconds));
}

TEST(RelayService, few_failures_of_a_reliable_relay_do_not_set_it_aside) {
    RelayService s(1);
    circuit::ClientEvent built{};
    built.kind = circuit::ClientEvent::Kind::built;
    built.path = {node(4)};
    for (int i = 0; i < 20; ++i) s.observe(built, kNow);
    for (int i = 0; i < 6; ++i)
        EXPECT_EQ(s.observe(failed_at({node(4)}, 0, circuit::DestroyReason::resource), kNow).kind,
                  Verdict::Kind::none);
    EXPECT_FALSE(s.peers().blacklisted(node(4), kNow));
}

TEST(RelayService, events_without_a_failed_relay_change_nothing) {
    RelayService s(1);
    EXPECT_EQ(s.observe(failed_at({node(1)}, 1, circuit::DestroyReason::timeout), kNow).kind,
              Verdict::Kind::none);
    EXPECT_EQ(s.observe(failed_at({node(1)}, 0, circuit::DestroyReason::timeout,
                                  circuit::ClientEvent::Kind::message),
                        kNow)
                  .kind,
              Verdict::Kind::none);
    EXPECT_EQ(s.peers().size(), 0u);
}

TEST(RelayService, a_guard_set_aside_for_an_hour_is_replaced_one_down_briefly_stays) {
    RelayService s(11);
    s.set_configured(relays(12));
    PathSettings ps;
    ASSERT_FALSE(s.pick_path({443, {}, {}}, ps, kNow).hops.empty());
    auto guards = s.peers().guards();
    ASSERT_EQ(guards.size(), 3u);
    s.observe(failed_at({guards[0]}, 0, circuit::DestroyReason::timeout), kNow);
    s.pick_path({443, {}, {}}, ps, kNow + 1);
    EXPECT_TRUE(contains(s.peers().guards(), guards[0]));
    s.peers().blacklist(guards[1], kNow + 2 + kGuardDropSeconds, "test");
    s.pick_path({443, {}, {}}, ps, kNow + 2);
    EXPECT_FALSE(contains(s.peers().guards(), guards[1]));
    EXPECT_EQ(s.peers().guards().size(), 3u);
}

TEST(RelayService, the_same_seed_picks_the_same_paths) {
    RelayService a(77), b(77);
    a.set_configured(relays(20));
    b.set_configured(relays(20));
    PathSettings ps;
    for (int i = 0; i < 50; ++i)
        EXPECT_EQ(ids(a.pick_path({443, {}, {}}, ps, kNow).hops),
                  ids(b.pick_path({443, {}, {}}, ps, kNow).hops));
}

// A small network where every relay that could make a path was marked down (the client's
// own machine was overloaded and its builds timed out): it tries them again instead of
// having no path for five minutes, and says so.
TEST(RelayService, when_only_down_relays_could_make_a_path_they_are_tried_again) {
    RelayService s(3);
    s.set_configured(relays(4));
    PathSettings ps;
    auto first = s.pick_path({443, {}, {}}, ps, kNow);
    ASSERT_EQ(first.hops.size(), 3u);
    EXPECT_FALSE(first.retried_blacklisted);
    for (int i = 0; i < 4; i += 2)
        EXPECT_EQ(s.observe(failed_at({node(i)}, 0, circuit::DestroyReason::timeout), kNow).kind,
                  Verdict::Kind::marked_down);
    auto again = s.pick_path({443, {}, {}}, ps, kNow + 1);
    ASSERT_EQ(again.hops.size(), 3u);
    EXPECT_TRUE(again.retried_blacklisted);
    EXPECT_TRUE(s.peers().blacklisted(node(0), kNow + 1)) << "the marks themselves stay";
}

TEST(RelayService, no_path_when_too_few_relays_fit) {
    RelayService s(1);
    s.set_configured(relays(2));
    auto p = s.pick_path({443, {}, {}}, PathSettings{}, kNow);
    EXPECT_TRUE(p.hops.empty());
    EXPECT_EQ(p.candidates, 2u);
}

}  // namespace
}  // namespace zmesh::discovery
