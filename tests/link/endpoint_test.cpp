// The link endpoint as a pure state machine: two endpoints joined by a virtual network
// that the tests can make lose, duplicate, reorder or corrupt packets; time is virtual.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "link/endpoint_net.hpp"

namespace zmesh::link {
namespace {

using namespace test;

class Patterns : public ::testing::TestWithParam<Pattern> {};

TEST_P(Patterns, handshake_then_exact_cells_both_ways) {
    Net net;
    SessionId s = net.connect(GetParam());
    ASSERT_TRUE(net.a.ep.established(s));
    SessionId r = net.peer_session();
    ASSERT_NE(r, 0u);
    EXPECT_EQ(net.a.count(LinkEvent::Kind::established), 1);
    EXPECT_EQ(net.b.count(LinkEvent::Kind::established), 1);
    // The responder learns who connected, except under NK where the client stays anonymous.
    auto learned = net.b.events.front().remote_static;
    if (GetParam() == Pattern::NK) {
        EXPECT_FALSE(learned.has_value());
    } else {
        ASSERT_TRUE(learned.has_value());
        EXPECT_EQ(*learned, net.a.ep.static_public());
    }
    for (std::uint32_t i = 0; i < 50; ++i) {
        net.send(0, s, numbered_cell(i));
        net.send(1, r, numbered_cell(1000 + i));
    }
    ASSERT_EQ(net.b.cells.size(), 50u);
    ASSERT_EQ(net.a.cells.size(), 50u);
    for (std::uint32_t i = 0; i < 50; ++i) {
        EXPECT_EQ(net.b.cells[i].cell, numbered_cell(i));
        EXPECT_EQ(net.a.cells[i].cell, numbered_cell(1000 + i));
    }
    EXPECT_EQ(net.a.ep.stats().dropped() + net.b.ep.stats().dropped(), 0u);
}

TEST_P(Patterns, classical_handshake_still_works) {
    Net net({}, /*hybrid=*/false);
    SessionId s = net.connect(GetParam());
    ASSERT_TRUE(net.a.ep.established(s));
    net.send(0, s, numbered_cell(3));
    EXPECT_EQ(net.b.cells.back().cell, numbered_cell(3));
    EXPECT_EQ(net.b.ep.stats().fragments_in, 0u);
}

TEST_P(Patterns, hybrid_first_message_survives_reordered_and_duplicated_fragments) {
    Net net;
    net.hold = true;
    Output out;
    auto s = net.a.ep.connect(net.b.addr, net.b.ep.static_public(), GetParam(), net.now, out);
    net.collect(0, out);
    std::vector<InFlight> first(net.wire().begin(), net.wire().end());
    net.wire().clear();
    ASSERT_EQ(first.size(), 2u);  // the ML-KEM key does not fit one packet
    net.hold = false;
    net.deliver(first[1]);
    net.deliver(first[1]);
    net.deliver(first[0]);
    net.run();
    EXPECT_TRUE(net.a.ep.established(*s));
    EXPECT_EQ(net.b.ep.stats().fragments_in, 3u);
}

INSTANTIATE_TEST_SUITE_P(Link, Patterns, ::testing::Values(Pattern::NK, Pattern::IK, Pattern::XK));

TEST(Endpoint, requiring_post_quantum_refuses_classical_peers) {
    LinkLimits limits;
    limits.timers.handshake_give_up = seconds(3);
    Net classical(limits, /*hybrid=*/false, /*b_requires_pq=*/true);
    SessionId s = classical.connect(Pattern::IK);
    classical.advance(seconds(4));
    EXPECT_FALSE(classical.a.ep.established(s));
    EXPECT_GE(classical.b.ep.stats().drop_classical_refused, 1u);
    EXPECT_EQ(classical.b.ep.session_count(), 0u);
    Net hybrid(limits, /*hybrid=*/true, /*b_requires_pq=*/true);
    EXPECT_TRUE(hybrid.a.ep.established(hybrid.connect(Pattern::IK)));
    EXPECT_EQ(hybrid.b.ep.stats().drop_classical_refused, 0u);
}

TEST(Endpoint, inconsistent_fragments_are_dropped) {
    Net net;
    net.hold = true;
    Output out;
    (void)net.a.ep.connect(net.b.addr, net.b.ep.static_public(), Pattern::NK, net.now, out);
    net.collect(0, out);
    std::vector<InFlight> first(net.wire().begin(), net.wire().end());
    net.wire().clear();
    // The same sender claiming a different fragment count is dropped; its stamp (mac1)
    // no longer matches once the header changes, so it fails there first.
    InFlight bad = first[1];
    bad.packet[7] = 3;
    net.deliver(first[0]);
    net.deliver(bad);
    EXPECT_EQ(net.b.ep.stats().drop_bad_mac1, 1u);
    EXPECT_EQ(net.b.ep.session_count(), 0u);
}

TEST(Endpoint, cells_sent_before_the_handshake_are_queued_and_delivered) {
    Net net;
    net.hold = true;
    Output out;
    auto s = net.a.ep.connect(net.b.addr, net.b.ep.static_public(), Pattern::IK, net.now, out);
    net.collect(0, out);
    for (std::uint32_t i = 0; i < 10; ++i) {
        ASSERT_TRUE(net.a.ep.send_cell(*s, numbered_cell(i), net.now, out));
        net.collect(0, out);
    }
    net.hold = false;
    net.run();
    ASSERT_EQ(net.b.cells.size(), 10u);
    EXPECT_EQ(net.b.cells[9].cell, numbered_cell(9));
}

TEST(Endpoint, receiver_handles_loss_reordering_and_duplicates) {
    Net net;
    SessionId s = net.connect(Pattern::IK);
    net.hold = true;
    constexpr std::uint32_t kCells = 3000;
    for (std::uint32_t i = 0; i < kCells; ++i) {
        Output out;
        ASSERT_TRUE(net.a.ep.send_cell(s, numbered_cell(i), net.now, out));
        net.collect(0, out);
    }
    std::vector<InFlight> packets(net.wire().begin(), net.wire().end());
    net.wire().clear();
    ASSERT_EQ(packets.size(), kCells);
    std::mt19937 rng(7);
    std::vector<InFlight> shaped;
    std::set<std::uint32_t> expected;
    int duplicates = 0;
    for (std::uint32_t i = 0; i < kCells; ++i) {
        if (rng() % 100 < 5) continue;  // 5% lost
        expected.insert(i);
        shaped.push_back(packets[i]);
        if (rng() % 100 < 10) {  // 10% duplicated
            shaped.push_back(packets[i]);
            ++duplicates;
        }
    }
    // Reorder within blocks of 200 packets (well inside the replay window).
    for (std::size_t at = 0; at < shaped.size(); at += 200)
        std::shuffle(
            shaped.begin() + static_cast<std::ptrdiff_t>(at),
            shaped.begin() + static_cast<std::ptrdiff_t>(std::min(at + 200, shaped.size())), rng);
    for (const auto& f : shaped) net.deliver(f);

    std::set<std::uint32_t> got;
    for (const auto& d : net.b.cells) {
        std::uint32_t n = number_of(d.cell);
        EXPECT_EQ(d.cell, numbered_cell(n));
        EXPECT_TRUE(got.insert(n).second) << "delivered twice: " << n;
    }
    EXPECT_EQ(got, expected);
    EXPECT_EQ(net.b.ep.stats().drop_duplicate, static_cast<std::uint64_t>(duplicates));
    EXPECT_EQ(net.b.ep.stats().drop_auth_failed, 0u);
}

TEST(Endpoint, replayed_and_too_old_packets_are_dropped_and_counted) {
    Net net;
    SessionId s = net.connect(Pattern::IK);
    net.hold = true;
    std::vector<InFlight> packets;
    for (std::uint32_t i = 0; i < kReplayWindow + 10; ++i) {
        Output out;
        ASSERT_TRUE(net.a.ep.send_cell(s, numbered_cell(i), net.now, out));
        net.collect(0, out);
    }
    packets.assign(net.wire().begin(), net.wire().end());
    net.wire().clear();
    std::size_t before = net.b.cells.size();
    for (std::size_t i = 1; i < packets.size(); ++i) net.deliver(packets[i]);
    net.deliver(packets[packets.size() - 3]);  // replay
    net.deliver(packets[0]);                   // never seen, but older than the window now
    EXPECT_EQ(net.b.cells.size() - before, packets.size() - 1);
    EXPECT_EQ(net.b.ep.stats().drop_duplicate, 1u);
    EXPECT_EQ(net.b.ep.stats().drop_too_old, 1u);
}

TEST(Endpoint, any_flipped_bit_in_a_data_packet_is_rejected) {
    Net net;
    SessionId s = net.connect(Pattern::IK);
    net.hold = true;
    net.send(0, s, numbered_cell(1));
    InFlight f = net.wire().front();
    net.wire().clear();
    std::size_t before = net.b.cells.size();
    for (std::size_t bit = 0; bit < wire::kPacketSize * 8; bit += 11) {
        InFlight bad = f;
        bad.packet[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        net.deliver(bad);
    }
    EXPECT_EQ(net.b.cells.size(), before);
    EXPECT_GT(net.b.ep.stats().drop_auth_failed, 800u);
    net.deliver(f);
    EXPECT_EQ(net.b.cells.size(), before + 1);
}

TEST(Endpoint, garbage_is_dropped_and_counted_without_effect) {
    Net net;
    SessionId s = net.connect(Pattern::XK);
    std::mt19937 rng(3);
    std::uint64_t dropped_before = net.b.ep.stats().dropped();
    for (int i = 0; i < 3000; ++i) {
        Packet p;
        for (auto& byte : p) byte = static_cast<std::uint8_t>(rng());
        p[0] = static_cast<std::uint8_t>(i % 5);
        if (i % 3 == 0) p[1] = p[2] = p[3] = 0;
        if (i % 5 == 1) std::fill(p.begin() + 6, p.begin() + 8, 0);
        Output out;
        net.b.ep.on_packet(address(9), p, net.now, out);
        EXPECT_TRUE(out.cells.empty());
        EXPECT_TRUE(out.events.empty());
        net.b.ep.on_packet(address(9), ByteView{p}.first(i % wire::kPacketSize), net.now, out);
    }
    EXPECT_EQ(net.b.ep.stats().dropped() - dropped_before, 6000u);
    EXPECT_EQ(net.b.ep.session_count(), 1u);
    net.send(0, s, numbered_cell(5));
    EXPECT_EQ(net.b.cells.back().cell, numbered_cell(5));
}

TEST(Endpoint, wrong_responder_key_fails_after_retries) {
    Net net;
    Output out;
    auto wrong = crypto::X25519KeyPair::generate().pub;
    auto s = net.a.ep.connect(net.b.addr, wrong, Pattern::IK, net.now, out);
    net.collect(0, out);
    net.run();
    EXPECT_EQ(net.b.ep.stats().drop_bad_mac1, 2u);  // both fragments of the hybrid message
    net.advance(seconds(70));
    EXPECT_FALSE(net.a.ep.established(*s));
    EXPECT_EQ(net.a.count(LinkEvent::Kind::closed), 1);
    EXPECT_EQ(net.a.ep.stats().sessions_failed, 1u);
    EXPECT_GT(net.a.ep.stats().handshake_retransmits, 3u);
    EXPECT_EQ(net.b.ep.session_count(), 0u);
}

TEST(Endpoint, lost_handshakes_are_retransmitted_with_backoff) {
    Net net;
    int attempts = 0;
    net.filter = [&](const InFlight& f) {
        bool initiation = f.packet[0] == 1 && f.packet[1] == 0;
        if (initiation && f.packet[6] == 0) ++attempts;  // fragment 0 starts an attempt
        return !initiation || attempts > 3;              // lose the first three attempts
    };
    SessionId s = net.connect(Pattern::IK);
    EXPECT_FALSE(net.a.ep.established(s));
    net.advance(seconds(1));
    EXPECT_FALSE(net.a.ep.established(s));  // backoff: 0.5 s, then 1 s, then 2 s
    net.advance(seconds(3));
    EXPECT_TRUE(net.a.ep.established(s));
    EXPECT_EQ(net.a.ep.stats().handshake_retransmits, 3u);
}

TEST(Endpoint, lost_confirmation_is_recovered) {
    Net net;
    bool dropped = false;
    net.filter = [&](const InFlight& f) {
        // Drop the initiator's first data packet (its key confirmation).
        if (f.to == 1 && f.packet[0] == 3 && !dropped) {
            dropped = true;
            return false;
        }
        return true;
    };
    SessionId s = net.connect(Pattern::IK);
    EXPECT_EQ(net.b.count(LinkEvent::Kind::established), 0);
    net.advance(seconds(2));
    EXPECT_EQ(net.b.count(LinkEvent::Kind::established), 1);
    net.send(0, s, numbered_cell(1));
    EXPECT_EQ(net.b.cells.back().cell, numbered_cell(1));
}

TEST(Endpoint, handshake_flood_gets_cookies_and_real_peer_still_connects) {
    LinkLimits limits;
    limits.handshake_load_threshold = 5;
    Net net(limits);
    // A flood of initiations from many spoofed addresses, each with a valid mac1.
    for (int i = 0; i < 200; ++i) {
        Node attacker(static_cast<std::uint8_t>(10 + i % 200), limits);
        Output out;
        (void)attacker.ep.connect(net.b.addr, net.b.ep.static_public(), Pattern::NK, net.now, out);
        for (auto& p : out.packets) {
            Output reply;
            net.b.ep.on_packet(address(static_cast<std::uint8_t>(100 + i % 100)), p.packet, net.now,
                               reply);
        }
    }
    EXPECT_GE(net.b.ep.stats().cookies_sent, 190u);
    EXPECT_GE(net.b.ep.stats().drop_under_load, 190u);
    EXPECT_LE(net.b.ep.session_count(), 6u);
    // Still under load: the real client collects a cookie and gets through with mac2.
    SessionId s = net.connect(Pattern::IK);
    EXPECT_TRUE(net.a.ep.established(s));
    EXPECT_EQ(net.a.ep.stats().cookies_received, 1u);
}

TEST(Endpoint, rekeys_on_time_without_losing_cells) {
    Net net;
    SessionId s = net.connect(Pattern::IK);
    SessionId r = net.peer_session();
    std::uint32_t n = 0;
    for (int round = 0; round < 4; ++round) {
        for (int i = 0; i < 20; ++i) net.send(0, s, numbered_cell(n++));
        for (int i = 0; i < 20; ++i) net.send(1, r, numbered_cell(n++));
        net.advance(seconds(61));
    }
    EXPECT_GE(net.a.count(LinkEvent::Kind::rekeyed), 1);
    EXPECT_GE(net.b.count(LinkEvent::Kind::rekeyed), 1);
    EXPECT_EQ(net.a.cells.size() + net.b.cells.size(), n);
    EXPECT_EQ(net.a.count(LinkEvent::Kind::closed), 0);
    EXPECT_EQ(net.b.ep.stats().drop_handshake_failed, 0u);
}

TEST(Endpoint, rekeys_after_packet_limit_from_either_side) {
    for (int sender : {0, 1}) {
        LinkLimits limits;
        limits.timers.rekey_after_packets = 100;
        Net net(limits);
        SessionId s = net.connect(Pattern::NK);
        SessionId ids[2] = {s, net.peer_session()};
        for (std::uint32_t i = 0; i < 350; ++i) {
            net.send(sender, ids[sender], numbered_cell(i));
            if (i % 50 == 0) net.advance(milliseconds(100));
        }
        net.advance(milliseconds(500));
        EXPECT_GE(net.a.count(LinkEvent::Kind::rekeyed), 2) << "sender " << sender;
        EXPECT_EQ(net.node(1 - sender).cells.size(), 350u);
    }
}

TEST(Endpoint, forged_rekey_for_an_anonymous_session_is_refused) {
    Net net({}, /*hybrid=*/false);  // a classical session: the forged message fits one packet
    SessionId s = net.connect(Pattern::NK);
    net.hold = true;
    net.send(0, s, numbered_cell(1));
    std::uint32_t victim_index = load_u32_be(net.wire().front().packet.data() + 4);
    net.wire().clear();
    net.hold = false;
    // An attacker who saw that index asks B to rekey the victim's session to its own keys.
    noise::HandshakeConfig hc;
    hc.pattern = Pattern::NK;
    hc.role = noise::Role::initiator;
    hc.remote_static = net.b.ep.static_public();
    auto hs = noise::HandshakeState::create(hc);
    Bytes payload{1, 1};
    payload.resize(2 + 16, 0xaa);
    auto msg = hs->write_message(payload);
    auto packet = build_handshake({0, 0x12, 1, 4242, victim_index}, *msg);
    CookieStamp stamp(net.b.ep.static_public(), seconds(120));
    stamp.stamp(*packet, net.now);
    Output out;
    net.b.ep.on_packet(address(66), *packet, net.now, out);
    EXPECT_TRUE(out.packets.empty());
    EXPECT_EQ(net.b.ep.stats().drop_handshake_failed, 1u);
    net.send(0, s, numbered_cell(2));
    EXPECT_EQ(net.b.cells.back().cell, numbered_cell(2));
}

TEST(Endpoint, keepalives_when_idle_and_dead_peer_detected) {
    Net net;
    SessionId s = net.connect(Pattern::IK);
    net.advance(seconds(25));
    EXPECT_TRUE(net.a.ep.established(s));
    EXPECT_GE(net.a.ep.stats().keepalives_out, 2u);
    EXPECT_GE(net.b.ep.stats().keepalives_in, 2u);
    EXPECT_TRUE(net.b.cells.empty());                    // keepalives never reach the layer above
    net.filter = [](const InFlight&) { return false; };  // the network dies
    net.advance(seconds(40));
    EXPECT_EQ(net.a.count(LinkEvent::Kind::closed), 1);
    EXPECT_EQ(net.b.count(LinkEvent::Kind::closed), 1);
    EXPECT_EQ(net.a.ep.session_count(), 0u);
    EXPECT_EQ(net.b.ep.session_count(), 0u);
}

// Driven by deadlines alone (no periodic tick): an idle link wakes only for its
// keepalives, and a dead peer is declared exactly dead_after after its last packet (to the
// nanosecond; a 100 ms sweep was up to 100 ms late).
TEST(Endpoint, timers_fire_at_their_deadlines_without_a_periodic_tick) {
    Net net;
    EXPECT_FALSE(net.a.ep.next_deadline());  // no session: no timer at all
    SessionId s = net.connect(Pattern::IK);
    int idle_wakeups = net.run_deadlines(net.now + seconds(25));
    EXPECT_TRUE(net.a.ep.established(s));
    EXPECT_GE(net.a.ep.stats().keepalives_out, 2u);
    EXPECT_GE(net.b.ep.stats().keepalives_in, 2u);
    EXPECT_LE(idle_wakeups, 12);  // a 100 ms sweep woke 250 times
    auto last_received = net.a.ep.sessions().at(0).last_received;
    net.filter = [](const InFlight&) { return false; };  // the network dies
    net.run_deadlines(net.now + seconds(60),
                      [&] { return net.a.count(LinkEvent::Kind::closed) > 0; });
    ASSERT_EQ(net.a.count(LinkEvent::Kind::closed), 1);
    EXPECT_EQ(net.now - last_received, LinkTimers{}.dead_after);
}

TEST(Endpoint, unconfirmed_responder_state_expires) {
    Net net;
    net.filter = [](const InFlight& f) { return f.to == 1; };  // B's replies never arrive
    Output out;
    (void)net.a.ep.connect(net.b.addr, net.b.ep.static_public(), Pattern::XK, net.now, out);
    net.collect(0, out);
    net.run();
    EXPECT_EQ(net.b.ep.session_count(), 1u);
    net.advance(seconds(11));
    // Retransmissions keep making half-open state; none outlives its lifetime.
    net.filter = [](const InFlight&) { return false; };
    net.advance(seconds(11));
    EXPECT_EQ(net.b.ep.session_count(), 0u);
}

TEST(Endpoint, send_queue_is_bounded) {
    Net net;
    net.hold = true;
    Output out;
    auto s = net.a.ep.connect(net.b.addr, net.b.ep.static_public(), Pattern::IK, net.now, out);
    std::size_t ok = 0;
    for (std::size_t i = 0; i < kMaxQueuedCells + 10; ++i)
        if (net.a.ep.send_cell(*s, numbered_cell(1), net.now, out)) ++ok;
    EXPECT_EQ(ok, kMaxQueuedCells);
    EXPECT_EQ(net.a.ep.stats().drop_queue_full, 10u);
    EXPECT_FALSE(net.a.ep.send_cell(9999, numbered_cell(1), net.now, out));
}

}  // namespace
}  // namespace zmesh::link
