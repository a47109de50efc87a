// Attacks on the link layer from the outside review (issue 16), each performed against two
// real endpoints on the virtual network of endpoint_net.hpp.
#include <gtest/gtest.h>

#include "link/endpoint_net.hpp"

namespace zmesh::link {
namespace {

using namespace test;

// A first fragment as anyone can make it: mac1 needs only the responder's public key,
// the sender index is the attacker's choice, and the rest of the message never follows.
class Forger {
  public:
    explicit Forger(const crypto::X25519Public& responder) : stamp_(responder, seconds(120)) {}
    Packet first_fragment(std::uint32_t sender, TimePoint now) {
        Bytes junk(kMaxNoiseMessage, 0x5a);
        HandshakeHeader h{0, 0x12, static_cast<std::uint8_t>(2 | kPatternHybrid), sender, 0, 0, 2};
        auto packet = build_handshake(h, junk);
        EXPECT_TRUE(packet);
        stamp_.stamp(*packet, now);
        return *packet;
    }

  private:
    CookieStamp stamp_;
};

// A peer key of low order (here all zeros: what an EXTEND or a descriptor may name) makes
// every first message fail to be written (X25519 refuses the point). The attempt must still
// count: before, the retry time stayed in the past, the driver's timer fired at once,
// forever, and one EXTEND held a relay's core for the minute until give-up.
TEST(HardeningLink, a_handshake_that_cannot_be_written_backs_off_and_gives_up) {
    Net net;
    Output out;
    crypto::X25519Public low_order{};  // all zeros
    auto s = net.a.ep.connect(net.b.addr, low_order, Pattern::IK, net.now, out);
    ASSERT_TRUE(s);
    net.collect(0, out);
    int wakeups = 0;
    net.run_deadlines(net.now + seconds(90),
                      [&] { return ++wakeups > 1000 || net.a.count(LinkEvent::Kind::closed) > 0; });
    EXPECT_LT(wakeups, 40) << "the retry time did not move: the timer spun";
    EXPECT_EQ(net.a.count(LinkEvent::Kind::closed), 1);
    EXPECT_FALSE(net.a.ep.established(*s));
    EXPECT_EQ(net.b.ep.session_count(), 0u);  // nothing was ever sent
}

// Finding 3: one address fills the reassembly table (1,100 first fragments at 200 a
// second, under the cookie threshold), then a peer elsewhere makes a hybrid handshake.
TEST(HardeningLink, reassembly_flood_from_one_address_does_not_block_other_peers) {
    Net net;
    Forger forger(net.b.ep.static_public());
    const PeerAddress attacker = address(66);
    for (std::uint32_t i = 0; i < 1100; ++i) {
        net.deliver({1, attacker, forger.first_fragment(1000 + i, net.now)});
        net.advance(milliseconds(5), milliseconds(5));
    }
    EXPECT_EQ(net.b.ep.stats().cookies_sent, 0u);  // the rate stayed below the threshold
    EXPECT_EQ(net.b.ep.stats().drop_table_full, 0u);
    // The attacker only ever held its own share: each new partial displaced its oldest.
    EXPECT_EQ(net.b.ep.stats().partials_evicted, 1100u - kMaxPartialsPerSource);

    SessionId s = net.connect(Pattern::IK);
    EXPECT_TRUE(net.a.ep.established(s));
    EXPECT_EQ(net.a.ep.stats().handshake_retransmits, 0u);  // at the first attempt
    net.send(0, s, numbered_cell(1));
    ASSERT_FALSE(net.b.cells.empty());
    EXPECT_EQ(net.b.cells.back().cell, numbered_cell(1));
}

// Finding 3, spoofed: 1,100 sources with one fragment each arrive between the two
// fragments of a real peer's first message. A half-full table counts as load, so past
// that mark the flood meets the cookie check, which spoofed sources cannot pass, and the
// real peer's partial message is never displaced.
TEST(HardeningLink, spoofed_reassembly_flood_is_met_with_cookies) {
    Net net;
    net.hold = true;
    Output out;
    auto s = net.a.ep.connect(net.b.addr, net.b.ep.static_public(), Pattern::IK, net.now, out);
    ASSERT_TRUE(s);
    net.collect(0, out);
    std::vector<InFlight> first(net.wire().begin(), net.wire().end());
    net.wire().clear();
    ASSERT_EQ(first.size(), 2u);
    net.hold = false;

    net.deliver(first[0]);
    Forger forger(net.b.ep.static_public());
    constexpr std::uint32_t kFlood = 1100;
    for (std::uint32_t i = 0; i < kFlood; ++i) {
        net.now += milliseconds(5);  // 200 a second: under the rate threshold
        PeerAddress spoofed =
            address(static_cast<std::uint8_t>(i % 250), static_cast<std::uint16_t>(1 + i / 250));
        net.deliver({1, spoofed, forger.first_fragment(7000 + i, net.now)});
    }
    EXPECT_EQ(net.b.ep.stats().cookies_sent, kFlood - (kPartialsLoadMark - 1));
    EXPECT_EQ(net.b.ep.stats().partials_evicted, 0u);
    net.deliver(first[1]);
    net.run();  // under load the peer is asked for its cookie and sends again with it
    EXPECT_TRUE(net.a.ep.established(*s));
    EXPECT_EQ(net.a.ep.stats().cookies_received, 1u);
}

// Finding 3, half-open sessions: 4,200 complete first messages from spoofed sources
// within the 10 s a half-open session lives, at 500 a second (under the rate threshold).
// A flood needs no fresh ones: 64 classical NK messages, each sent again and again, make
// a half-open session (and Diffie-Hellman work) every time. Once half the half-open
// table is used, cookies are demanded: the spoofed sources stop there and a real peer
// still connects.
TEST(HardeningLink, half_open_flood_is_met_with_cookies) {
    Net net({}, /*hybrid=*/false);
    Endpoint spoofer({crypto::X25519KeyPair::generate(), {}, {}, /*hybrid=*/false});
    std::vector<Packet> messages;
    for (int i = 0; i < 64; ++i) {
        Output out;
        (void)spoofer.connect(net.b.addr, net.b.ep.static_public(), Pattern::NK, net.now, out);
        ASSERT_EQ(out.packets.size(), 1u);
        messages.push_back(out.packets[0].packet);
    }
    constexpr std::uint32_t kFlood = 4200;
    for (std::uint32_t i = 0; i < kFlood; ++i) {
        net.now += milliseconds(2);
        PeerAddress spoofed =
            address(static_cast<std::uint8_t>(i % 250), static_cast<std::uint16_t>(1 + i / 250));
        net.deliver({1, spoofed, messages[i % messages.size()]});
    }
    EXPECT_EQ(net.b.ep.stats().drop_table_full, 0u);
    EXPECT_EQ(net.b.ep.stats().cookies_sent, kFlood - kHalfOpenLoadMark);
    SessionId s = net.connect(Pattern::IK);
    EXPECT_TRUE(net.a.ep.established(s));
}

bool rekey_first_message(const InFlight& f) {
    return f.to == 1 && f.packet[0] == 1 && f.packet[1] == 0 && load_u32_be(&f.packet[12]) != 0;
}

// Finding 4: a rekey's message 1, captured on the wire, replayed from another address
// while the responder waits for the initiator to confirm the new keys, and again later.
TEST(HardeningLink, replayed_rekey_initiation_neither_moves_nor_breaks_the_session) {
    for (Pattern pattern : {Pattern::NK, Pattern::IK, Pattern::XK}) {
        SCOPED_TRACE(static_cast<int>(pattern));
        Net net;
        SessionId s = net.connect(pattern);
        SessionId r = net.peer_session();
        ASSERT_NE(r, 0u);
        const PeerAddress attacker = address(66);
        std::vector<Packet> captured;
        bool raced = false;
        auto replay = [&] {
            for (const auto& p : captured) net.deliver({1, attacker, p});
        };
        net.filter = [&](const InFlight& f) {
            if (rekey_first_message(f) && !raced) captured.push_back(f.packet);
            bool answer = f.to == 0 && f.packet[0] == 1 && f.packet[1] == 1;
            if (answer && !captured.empty() && !raced) {
                raced = true;  // the responder has answered the real one: now the copy
                replay();
            }
            return true;
        };
        std::uint32_t n = 0;
        std::size_t to_a = 0;
        std::size_t to_b = 0;
        auto exchange = [&] {
            for (int i = 0; i < 20; ++i, ++to_b) net.send(0, s, numbered_cell(n++));
            for (int i = 0; i < 20; ++i, ++to_a) net.send(1, r, numbered_cell(n++));
        };
        net.advance(seconds(125));  // the rekey at 120 s, raced by the replay
        ASSERT_TRUE(raced);
        EXPECT_EQ(net.b.count(LinkEvent::Kind::rekeyed), 1);
        exchange();
        for (int i = 0; i < 6; ++i) {  // the same copy again, every 10 s
            replay();
            net.advance(seconds(10));
            exchange();
        }
        net.advance(seconds(60));  // past the dead-peer timeout and a second rekey
        exchange();
        replay();
        exchange();

        EXPECT_EQ(net.a.count(LinkEvent::Kind::closed), 0);
        EXPECT_EQ(net.b.count(LinkEvent::Kind::closed), 0);
        EXPECT_EQ(net.a.cells.size(), to_a);
        EXPECT_EQ(net.b.cells.size(), to_b);
        EXPECT_TRUE(net.elsewhere.empty());  // nothing was ever sent to the attacker
        auto sessions = net.b.ep.sessions();
        auto it = std::find_if(sessions.begin(), sessions.end(),
                               [&](const auto& i) { return i.id == r; });
        ASSERT_NE(it, sessions.end());
        EXPECT_EQ(it->address, net.a.addr);
        EXPECT_EQ(net.b.ep.stats().drop_replayed_rekey, captured.empty() ? 0u : 1u);
    }
}

// Finding 4, the other order: the copy (from another address) reaches the responder
// before the original. The session stays where it was until the new keys are confirmed:
// the answer reaches the real initiator, which confirms at once, and no cell goes to the
// copier meanwhile.
TEST(HardeningLink, rekey_initiation_raced_ahead_from_elsewhere_does_not_move_the_session) {
    for (Pattern pattern : {Pattern::NK, Pattern::IK, Pattern::XK}) {
        SCOPED_TRACE(static_cast<int>(pattern));
        Net net;
        SessionId s = net.connect(pattern);
        SessionId r = net.peer_session();
        const PeerAddress attacker = address(66);
        std::vector<InFlight> held;
        bool raced = false;
        net.filter = [&](const InFlight& f) {
            if (raced || !rekey_first_message(f)) return true;
            held.push_back(f);
            if (held.size() < f.packet[7]) return false;  // wait for every fragment
            raced = true;
            for (const auto& h : held) net.deliver({1, attacker, h.packet});  // the copy
            for (const auto& h : held) net.deliver(h);  // then the original, too late
            return false;
        };
        net.advance(seconds(121));
        ASSERT_TRUE(raced);
        for (std::uint32_t i = 0; i < 5; ++i) net.send(1, r, numbered_cell(i));
        net.send(0, s, numbered_cell(5));
        EXPECT_EQ(net.a.cells.size(), 5u);
        EXPECT_EQ(net.b.cells.size(), 1u);
        EXPECT_EQ(net.b.count(LinkEvent::Kind::rekeyed), 1);
        EXPECT_EQ(net.a.ep.stats().handshake_retransmits, 0u);
        EXPECT_EQ(net.b.ep.stats().drop_replayed_rekey, 1u);  // the original, as a copy
        for (const auto& o : net.elsewhere)
            EXPECT_NE(o.packet[0], 3) << "a data packet went to the copier";
        auto sessions = net.b.ep.sessions();
        auto it = std::find_if(sessions.begin(), sessions.end(),
                               [&](const auto& i) { return i.id == r; });
        ASSERT_NE(it, sessions.end());
        EXPECT_EQ(it->address, net.a.addr);
        net.advance(seconds(40));
        EXPECT_EQ(net.a.count(LinkEvent::Kind::closed), 0);
        EXPECT_EQ(net.b.count(LinkEvent::Kind::closed), 0);
    }
}

}  // namespace
}  // namespace zmesh::link
