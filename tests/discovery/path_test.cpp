// Property tests of path selection and the peer store.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "zmesh/discovery/path_select.hpp"

namespace zmesh::discovery {
namespace {

constexpr std::uint64_t kNow = 1'800'000'000;

ByteArray<16> v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    ByteArray<16> ip{};
    ip[10] = ip[11] = 0xff;
    ip[12] = a;
    ip[13] = b;
    ip[14] = c;
    ip[15] = d;
    return ip;
}

crypto::NodeId node(int i) {
    crypto::NodeId id;
    id.bytes[0] = static_cast<std::uint8_t>(i);
    id.bytes[1] = static_cast<std::uint8_t>(i >> 8);
    id.bytes[31] = 1;
    return id;
}

// 60 relays in 12 /16 subnets, some in families of three, every fourth an exit.
std::vector<Candidate> network() {
    std::vector<Candidate> c;
    for (int i = 0; i < 60; ++i) {
        Candidate x;
        x.id = node(i);
        x.ip = v4(static_cast<std::uint8_t>(10 + i % 12), 7, static_cast<std::uint8_t>(i), 1);
        x.exit_ok = i % 4 == 0;
        x.advertised_bandwidth = 1e6 * (1 + i % 5);
        c.push_back(x);
    }
    for (int f = 0; f + 2 < 30; f += 3)
        for (int a = f; a < f + 3; ++a)
            for (int b = f; b < f + 3; ++b)
                if (a != b) c[a].family.push_back(c[b].id);
    return c;
}

TEST(PathSelect, paths_are_diverse_end_in_an_exit_and_avoid_the_blacklist) {
    auto cands = network();
    PeerStore peers;
    peers.blacklist(cands[4].id, kNow + 3600, "test");
    std::mt19937_64 rng(7);
    for (int round = 0; round < 5000; ++round) {
        std::size_t hops = 2 + round % 7;
        auto path = select_path(cands, peers, kNow, {}, hops, rng);
        ASSERT_TRUE(path) << "hops " << hops;
        ASSERT_EQ(path->size(), hops);
        EXPECT_TRUE(cands[path->back()].exit_ok);
        for (std::size_t i = 0; i < hops; ++i) {
            EXPECT_NE(cands[(*path)[i]].id, cands[4].id);
            for (std::size_t j = i + 1; j < hops; ++j)
                ASSERT_FALSE(related(cands[(*path)[i]], cands[(*path)[j]]))
                    << "relays " << (*path)[i] << " and " << (*path)[j];
        }
    }
}

TEST(PathSelect, impossible_rules_give_no_path) {
    std::vector<Candidate> cands;
    for (int i = 0; i < 5; ++i) {  // all in one /16
        Candidate c;
        c.id = node(i);
        c.ip = v4(10, 1, static_cast<std::uint8_t>(i), 1);
        c.exit_ok = true;
        cands.push_back(c);
    }
    PeerStore peers;
    std::mt19937_64 rng(1);
    EXPECT_FALSE(select_path(cands, peers, kNow, {}, 2, rng));
    EXPECT_TRUE(select_path(cands, peers, kNow, {}, 1, rng));
    // Without the subnet rule (circuit.distinct_subnets off: a container network) they
    // make paths, of distinct relays still, and guards.
    for (int round = 0; round < 200; ++round) {
        auto path = select_path(cands, peers, kNow, {}, 3, rng, 0, false);
        ASSERT_TRUE(path);
        std::set<std::size_t> distinct(path->begin(), path->end());
        EXPECT_EQ(distinct.size(), 3u);
    }
    EXPECT_FALSE(select_path(cands, peers, kNow, {}, 6, rng, 0, false));  // 5 relays
    maintain_guards(peers, cands, kNow, {}, 3, 86400, rng);
    EXPECT_EQ(peers.guards().size(), 1u);  // one per subnet
    PeerStore unruled;
    maintain_guards(unruled, cands, kNow, {}, 3, 86400, rng, false);
    EXPECT_EQ(unruled.guards().size(), 3u);
    // Loopback relays (test networks) are exempt from the subnet rule.
    for (auto& c : cands) c.ip = v4(127, 0, 0, 1);
    EXPECT_TRUE(select_path(cands, peers, kNow, {}, 3, rng));
}

// Neighbours on a path share a transport: the client and its first hop, each hop and the
// next. Relays 0-3 speak UDP, 4-7 WebRTC, 8 both (the only bridge); the exits are 6 and 7.
TEST(PathSelect, neighbours_share_a_transport) {
    using link::TransportKind;
    auto udp = transport_bit(TransportKind::udp);
    auto rtc = transport_bit(TransportKind::webrtc);
    std::vector<Candidate> cands;
    for (int i = 0; i < 9; ++i) {
        Candidate c;
        c.id = node(i);
        c.ip = v4(static_cast<std::uint8_t>(30 + i), 0, 0, 1);
        c.transports = i < 4 ? udp : i < 8 ? rtc : (udp | rtc);
        c.exit_ok = i == 6 || i == 7;
        cands.push_back(c);
    }
    PeerStore peers;
    std::mt19937_64 rng(3);
    for (int round = 0; round < 300; ++round) {
        auto path = select_path(cands, peers, kNow, {}, 3, rng, udp);  // a UDP-only client
        ASSERT_TRUE(path);
        const auto& p = *path;
        EXPECT_TRUE(cands[p[0]].transports & udp);
        EXPECT_TRUE(can_link(cands[p[0]].transports, cands[p[1]].transports));
        EXPECT_TRUE(can_link(cands[p[1]].transports, cands[p[2]].transports));
        // From UDP to a WebRTC exit in three hops: relay 8 must be in the path.
        EXPECT_NE(std::find(p.begin(), p.end(), 8u), p.end());
    }
    // Without the bridge no path joins a UDP client to a WebRTC exit.
    cands[8].transports = udp;
    EXPECT_FALSE(select_path(cands, peers, kNow, {}, 3, rng, udp));
    // Candidates without known transports join anything.
    for (auto& c : cands) c.transports = 0;
    EXPECT_TRUE(select_path(cands, peers, kNow, {}, 3, rng, udp));
}

TEST(PathSelect, measured_reliability_and_latency_steer_the_choice) {
    // Two exits in different subnets: one reliable and fast, one failing and slow.
    std::vector<Candidate> cands(2);
    for (int i = 0; i < 2; ++i) {
        cands[i].id = node(i);
        cands[i].ip = v4(static_cast<std::uint8_t>(20 + i), 0, 0, 1);
        cands[i].exit_ok = true;
    }
    PeerStore peers;
    for (int k = 0; k < 30; ++k) {
        peers.observe_result(cands[0].id, true, kNow);
        peers.observe_latency(cands[0].id, 20, kNow);
        peers.observe_result(cands[1].id, false, kNow);
        peers.observe_latency(cands[1].id, 900, kNow);
    }
    std::mt19937_64 rng(3);
    std::map<std::size_t, int> count;
    for (int k = 0; k < 20000; ++k) ++count[(*select_path(cands, peers, kNow, {}, 1, rng))[0]];
    double s0 = score(cands[0], peers.find(cands[0].id), 0, 0, {});
    double s1 = score(cands[1], peers.find(cands[1].id), 0, 0, {});
    double expected = s0 / (s0 + s1);
    double seen = count[0] / 20000.0;
    EXPECT_GT(s0, 3 * s1);
    EXPECT_NEAR(seen, expected, 0.02);  // chosen in proportion to the weights
    EXPECT_GT(count[1], 0);             // but the weaker one is not starved
}

TEST(PathSelect, weights_change_what_counts) {
    Candidate fast, wide;
    fast.id = node(1);
    wide.id = node(2);
    PeerStore peers;
    peers.observe_latency(fast.id, 5, kNow);
    peers.observe_latency(wide.id, 400, kNow);
    peers.observe_bandwidth(fast.id, 1e5, kNow);
    peers.observe_bandwidth(wide.id, 1e8, kNow);
    Weights latency_only{1, 0, 0, 0};
    Weights bandwidth_only{0, 0, 1, 0};
    EXPECT_GT(score(fast, peers.find(fast.id), 1e8, 0, latency_only),
              score(wide, peers.find(wide.id), 1e8, 0, latency_only));
    EXPECT_LT(score(fast, peers.find(fast.id), 1e8, 0, bandwidth_only),
              score(wide, peers.find(wide.id), 1e8, 0, bandwidth_only));
}

TEST(Guards, first_hops_are_guards_kept_and_rotated) {
    auto cands = network();
    PeerStore peers;
    std::mt19937_64 rng(11);
    maintain_guards(peers, cands, kNow, {}, 3, 30 * 86400, rng);
    auto guards = peers.guards();
    ASSERT_EQ(guards.size(), 3u);
    for (int round = 0; round < 2000; ++round) {
        auto path = select_path(cands, peers, kNow, {}, 3, rng);
        ASSERT_TRUE(path);
        EXPECT_NE(std::find(guards.begin(), guards.end(), cands[path->front()].id), guards.end());
    }
    maintain_guards(peers, cands, kNow + 86400, {}, 3, 30 * 86400, rng);
    EXPECT_EQ(peers.guards(), guards);  // sticky
    peers.blacklist(guards[0], kNow + 10 * 86400, "test");
    maintain_guards(peers, cands, kNow + 86400, {}, 3, 30 * 86400, rng);
    auto after = peers.guards();
    EXPECT_EQ(after.size(), 3u);
    EXPECT_EQ(std::find(after.begin(), after.end(), guards[0]), after.end());
    maintain_guards(peers, cands, kNow + 31 * 86400, {}, 3, 30 * 86400, rng);
    for (const auto& g : peers.guards())  // all rotated after their lifetime
        EXPECT_GE(peers.find(g)->guard_since, kNow + 31 * 86400);
}

TEST(PeerStore, survives_a_round_trip_and_refuses_garbage) {
    PeerStore peers;
    peers.observe_latency(node(1), 42, kNow);
    peers.observe_latency(node(1), 52, kNow);
    peers.observe_result(node(1), false, kNow);
    peers.observe_bandwidth(node(2), 1e6, kNow);
    peers.blacklist(node(3), kNow + 60, "bad signature");
    peers.make_guard(node(2), kNow);
    std::string text = peers.serialize();
    auto back = PeerStore::parse(text);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->serialize(), text);
    EXPECT_NEAR(*back->find(node(1))->latency_ms, 0.8 * 42 + 0.2 * 52, 1e-9);
    EXPECT_NEAR(back->find(node(1))->reliability, 0.8 * 0.5, 1e-9);
    EXPECT_TRUE(back->blacklisted(node(3), kNow));
    EXPECT_FALSE(back->blacklisted(node(3), kNow + 60));
    EXPECT_EQ(back->guards(), std::vector<crypto::NodeId>{node(2)});
    std::string why;
    EXPECT_FALSE(PeerStore::parse("{", &why));
    EXPECT_FALSE(PeerStore::parse(R"({"version":1,"peers":[{"id":"zz"}]})", &why));
    EXPECT_FALSE(PeerStore::parse(R"({"version":2,"peers":[]})", &why));
}

}  // namespace
}  // namespace zmesh::discovery
