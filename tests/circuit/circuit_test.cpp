// Circuits end to end over an in-memory network of relays and one client: telescoping
// builds of 2..8 hops, messages both ways, and what tampering, replays, full tables,
// idle timers and unreachable hops do.
#include <gtest/gtest.h>

#include <random>

#include "circuit/circuit_net.hpp"

namespace zmesh::circuit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing_net::data_message;
using testing_net::Net;
using testing_net::Wire;

TEST(Circuit, builds_every_length_and_carries_messages_both_ways) {
    for (std::size_t hops = kMinHops; hops <= kMaxHops; ++hops) {
        Net net(kMaxHops);
        CircuitHandle h = net.build(hops);
        ASSERT_TRUE(net.client.is_built(h)) << hops << " hops";
        EXPECT_EQ(net.client.hop_count(h), hops);
        EXPECT_EQ(net.count(ClientEvent::Kind::built), 1);
        // Only the relays on the path hold the circuit.
        for (std::size_t i = 0; i < kMaxHops; ++i)
            EXPECT_EQ(net.relays[i].table->size(), i < hops ? 1u : 0u);
        for (std::uint8_t i = 0; i < 10; ++i) {
            net.send(h, data_message(3, i == 0 ? kMaxRelayData : 100u * i, i));
        }
        ASSERT_EQ(net.delivered.size(), 10u);
        EXPECT_EQ(net.delivered[0].data, data_message(3, kMaxRelayData, 0).data);
        ASSERT_EQ(net.count(ClientEvent::Kind::message), 10);
        const ClientEvent* echo = net.last(ClientEvent::Kind::message);
        EXPECT_EQ(echo->hop, hops - 1);  // from the exit
        EXPECT_EQ(echo->message.data, data_message(3, 900, 9).data);
        EXPECT_EQ(echo->message.stream, 3);
    }
}

TEST(Circuit, classical_handshake_builds_too_unless_relays_require_post_quantum) {
    ClientConfig classical;
    classical.handshake = HandshakeType::ntor_x25519;
    Net net(3, {}, classical);
    CircuitHandle h = net.build(3);
    ASSERT_TRUE(net.client.is_built(h));
    net.send(h, data_message(1, 100, 1));
    EXPECT_EQ(net.delivered.size(), 1u);

    RelayConfig strict;
    strict.require_post_quantum = true;
    Net pq(3, strict, classical);
    EXPECT_FALSE(pq.client.is_built(pq.build(3)));
    EXPECT_EQ(pq.last(ClientEvent::Kind::failed)->reason, DestroyReason::handshake);
    EXPECT_EQ(pq.relays[0].table->stats().refused_classical, 1u);
    Net pq_ok(3, strict);  // the default client handshake is hybrid
    EXPECT_TRUE(pq_ok.client.is_built(pq_ok.build(3)));
}

TEST(Circuit, oversized_or_inconsistent_fragments_destroy_the_circuit) {
    Reassembler r;
    RelayMessage big{RelayCommand::extend, 0, Bytes(3000, 7)};
    auto parts = split_relay(big);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_FALSE(*r.add(parts[0]));
    EXPECT_FALSE(*r.add(parts[1]));
    auto whole = r.add(parts[2]);
    ASSERT_TRUE(whole && *whole);
    EXPECT_EQ((*whole)->data, big.data);
    EXPECT_EQ((*whole)->command, RelayCommand::extend);
    // A fragment claiming another total, or bytes beyond the total, is refused.
    Reassembler bad;
    EXPECT_TRUE(bad.add(parts[0]));
    RelayMessage other = parts[1];
    store_u16_be(other.data.data(), 5000);
    EXPECT_FALSE(bad.add(other));
    Reassembler huge;
    RelayMessage too_big = parts[0];
    store_u16_be(too_big.data.data(), 60000);
    EXPECT_FALSE(huge.add(too_big));
}

TEST(Circuit, a_flipped_bit_on_any_forward_link_tears_the_circuit_down) {
    for (int link = 0; link < 3; ++link) {  // client->r1, r1->r2, r2->r3
        Net net(3);
        CircuitHandle h = net.build(3);
        ASSERT_TRUE(net.client.is_built(h));
        std::mt19937 rng(static_cast<unsigned>(link));
        net.tamper = [&](Wire& w) {
            if (w.from == link && w.to == link + 1 &&
                wire::cell_command(w.cell) == wire::CellCommand::relay) {
                std::size_t bit = wire::kCellHeaderSize * 8 + rng() % (wire::kCellBodySize * 8);
                w.cell[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
                net.tamper = nullptr;
            }
            return true;
        };
        net.send(h, data_message(1, 500, 1));
        EXPECT_TRUE(net.delivered.empty()) << "link " << link;
        EXPECT_EQ(net.relays[link].table->stats().drop_integrity, 1u) << "link " << link;
        const ClientEvent* closed = net.last(ClientEvent::Kind::closed);
        ASSERT_NE(closed, nullptr) << "link " << link;
        EXPECT_EQ(closed->reason, DestroyReason::integrity);
        EXPECT_EQ(net.relay_circuits(), 0u) << "link " << link;
        EXPECT_EQ(net.client.size(), 0u);
    }
}

TEST(Circuit, a_flipped_bit_on_the_way_back_is_caught_by_the_client) {
    for (int link = 1; link <= 3; ++link) {  // r1->client, r2->r1, r3->r2
        Net net(3);
        CircuitHandle h = net.build(3);
        net.tamper = [&](Wire& w) {
            if (w.from == link && w.to == link - 1 &&
                wire::cell_command(w.cell) == wire::CellCommand::relay) {
                // The last part of the body holds the payload, which every layer covers.
                w.cell[wire::kCellSize - 1] ^= 0x80;
                net.tamper = nullptr;
            }
            return true;
        };
        net.send(h, data_message(1, 500, 1));
        EXPECT_EQ(net.client.stats().drop_integrity, 1u) << "link " << link;
        EXPECT_EQ(net.count(ClientEvent::Kind::message), 0);
        EXPECT_EQ(net.last(ClientEvent::Kind::closed)->reason, DestroyReason::integrity);
        EXPECT_EQ(net.relay_circuits(), 0u);
    }
}

TEST(Circuit, a_replayed_relay_cell_is_rejected_and_counted) {
    Net net(3);
    CircuitHandle h = net.build(3);
    std::optional<Wire> copy;
    net.tamper = [&](Wire& w) {
        if (w.from == 1 && w.to == 2 && wire::cell_command(w.cell) == wire::CellCommand::relay &&
            !copy)
            copy = w;
        return true;
    };
    net.send(h, data_message(1, 10, 1));
    ASSERT_TRUE(copy.has_value());
    net.tamper = nullptr;
    net.deliver(*copy);  // the same cell again on the same link
    net.run();
    EXPECT_EQ(net.relays[1].table->stats().drop_replayed, 1u);
    EXPECT_EQ(net.delivered.size(), 1u);
    net.send(h, data_message(1, 10, 2));
    EXPECT_EQ(net.delivered.size(), 2u);  // the circuit still works
}

TEST(Circuit, full_relay_table_refuses_new_circuits) {
    RelayConfig base;
    base.max_circuits = 1;
    Net net(3, base);
    ASSERT_TRUE(net.client.is_built(net.build(2)));
    CircuitHandle second = net.build(2);
    EXPECT_FALSE(net.client.is_built(second));
    EXPECT_EQ(net.last(ClientEvent::Kind::failed)->reason, DestroyReason::resource);
    EXPECT_EQ(net.relays[0].table->stats().refused_table_full, 1u);
}

TEST(Circuit, idle_circuits_time_out_everywhere) {
    RelayConfig base;
    base.idle_timeout = seconds(60);
    Net net(3, base);
    CircuitHandle h = net.build(3);
    net.tick(seconds(30));
    net.send(h, data_message(1, 10, 1));
    net.tick(seconds(45));
    EXPECT_TRUE(net.client.is_built(h));  // activity reset the timer
    net.tick(seconds(61));
    EXPECT_EQ(net.relay_circuits(), 0u);
    EXPECT_EQ(net.last(ClientEvent::Kind::closed)->reason, DestroyReason::timeout);
}

TEST(Circuit, a_hop_that_stops_answering_is_found_by_liveness_probes) {
    Net net(3);
    net.echo = false;  // the exit answers nothing: only probes come back
    CircuitHandle h = net.build(3);
    net.send(h, data_message(1, 10, 1));
    net.tick(milliseconds(100));
    EXPECT_EQ(net.client.stats().probes_sent, 0u);  // not silent for long enough yet
    net.tick(milliseconds(100));
    EXPECT_EQ(net.client.stats().probes_sent, 1u);  // every hop answered at once
    net.tick(seconds(1));
    EXPECT_EQ(net.client.stats().probes_sent, 1u);  // the answers count as hearing back
    ASSERT_TRUE(net.client.is_built(h));
    ASSERT_EQ(net.client.list().at(0).hop_rtt.size(), 3u);
    // The middle relay dies: nothing reaches it or comes from it.
    net.tamper = [](Wire& w) { return w.to != 2 && w.from != 2; };
    net.send(h, data_message(1, 10, 2));
    net.tick(milliseconds(200));
    EXPECT_EQ(net.client.stats().probes_sent, 2u);
    EXPECT_TRUE(net.client.is_built(h));  // the probe has not timed out yet
    // An unanswered probe is sent again (a PING or PONG may be lost) until
    // probe_attempts went unanswered.
    for (std::uint64_t attempt = 2; attempt <= ClientConfig{}.probe_attempts; ++attempt) {
        net.tick(milliseconds(250));
        EXPECT_TRUE(net.client.is_built(h));
        EXPECT_EQ(net.client.stats().probes_sent, attempt + 1);
    }
    net.tick(milliseconds(250));
    EXPECT_FALSE(net.client.is_built(h));
    const ClientEvent* closed = net.last(ClientEvent::Kind::closed);
    ASSERT_NE(closed, nullptr);
    EXPECT_EQ(closed->reason, DestroyReason::timeout);
    EXPECT_EQ(closed->failed_hop, 1u);  // the first hop that did not answer
    EXPECT_EQ(net.client.stats().dead_hops, 1u);
}

// A probe lost on the way (here: the exit unreachable for one probe's time) is asked
// again; the circuit stays, and no relay is called dead.
TEST(Circuit, a_lost_probe_is_asked_again_before_a_hop_is_called_dead) {
    Net net(3);
    net.echo = false;  // only probes come back
    CircuitHandle h = net.build(3);
    net.tamper = [](Wire& w) { return w.to != 3 && w.from != 3; };
    net.send(h, data_message(1, 10, 1));
    net.tick(milliseconds(200));
    EXPECT_EQ(net.client.stats().probes_sent, 1u);  // lost at the exit
    net.tamper = nullptr;
    net.tick(milliseconds(250));
    EXPECT_EQ(net.client.stats().probes_sent, 2u);
    EXPECT_EQ(net.client.stats().probes_repeated, 1u);
    net.tick(seconds(1));
    EXPECT_TRUE(net.client.is_built(h));
    EXPECT_EQ(net.client.stats().dead_hops, 0u);
    EXPECT_EQ(net.client.stats().probes_sent, 2u);  // answered: no more probes
}

// The tables report when they next have work, to the nanosecond: the client's liveness
// probe (stall_after after the first unanswered cell) and lifetime, the relays' idle
// timeouts and onion key rotation. A driver sleeping until then misses nothing.
TEST(Circuit, tables_report_their_next_deadline_exactly) {
    RelayConfig base;
    base.idle_timeout = seconds(60);
    Net net(3, base);
    net.echo = false;
    EXPECT_FALSE(net.client.next_deadline());  // nothing to wait for
    for (auto& r : net.relays) EXPECT_EQ(r.table->next_deadline(), TimePoint::min());
    net.tick(Duration{});  // the onion keys' creation time is taken at the first tick
    for (auto& r : net.relays)
        EXPECT_EQ(r.table->next_deadline(), net.now + base.onion_policy.rotation);
    CircuitHandle h = net.build(3);
    // Built and quiet: only its lifetime.
    EXPECT_EQ(net.client.next_deadline(), net.now + ClientConfig{}.max_lifetime);
    for (auto& r : net.relays) EXPECT_EQ(r.table->next_deadline(), net.now + seconds(60));
    auto sent = net.now;
    net.send(h, data_message(1, 10, 1));
    auto due = net.client.next_deadline();
    ASSERT_TRUE(due);
    EXPECT_EQ(*due, sent + ClientConfig{}.stall_after);
    net.tick(*due - net.now - std::chrono::nanoseconds(1));
    EXPECT_EQ(net.client.stats().probes_sent, 0u);
    net.tick(std::chrono::nanoseconds(1));
    EXPECT_EQ(net.client.stats().probes_sent, 1u);  // probed at the deadline, not a sweep later
    // Idle relays close the circuit at their deadline.
    net.tamper = [](Wire&) { return false; };  // nothing arrives any more
    auto idle_at = net.relays[0].table->next_deadline();
    ASSERT_TRUE(idle_at);
    net.tick(*idle_at - net.now);
    EXPECT_EQ(net.relays[0].table->size(), 0u);
}

TEST(Circuit, a_stalled_build_fails_at_the_silent_hop_after_an_adaptive_timeout) {
    Net net(3);
    EXPECT_EQ(net.client.build_timeout(), ClientConfig{}.build_timeout);  // no history yet
    for (int i = 0; i < 5; ++i) net.build(3);
    // Builds here take no time: four times the median is below the floor.
    EXPECT_EQ(net.client.build_timeout(), ClientConfig{}.min_build_timeout);
    net.tamper = [](Wire& w) { return w.to != 3 && w.from != 3; };  // the exit went silent
    CircuitHandle h = net.build(3);
    net.tick(seconds(1));
    EXPECT_EQ(net.count(ClientEvent::Kind::failed), 0);
    net.tick(seconds(1));
    EXPECT_FALSE(net.client.is_built(h));
    const ClientEvent* failed = net.last(ClientEvent::Kind::failed);
    ASSERT_NE(failed, nullptr);
    EXPECT_EQ(failed->reason, DestroyReason::timeout);
    EXPECT_EQ(failed->failed_hop, 2u);
}

TEST(Circuit, unreachable_next_hop_fails_the_build) {
    Net net(3);
    net.unreachable.insert(3);  // relay 3, the third hop
    CircuitHandle h = net.build(3);
    EXPECT_FALSE(net.client.is_built(h));
    EXPECT_EQ(net.last(ClientEvent::Kind::failed)->reason, DestroyReason::connect_failed);
    EXPECT_EQ(net.relays[1].table->stats().extend_failed, 1u);
    EXPECT_EQ(net.relay_circuits(), 0u);
}

TEST(Circuit, a_path_hop_needs_one_to_six_addresses) {
    Net net(3);
    auto path = net.path(2);
    path[1].hop.addresses.clear();
    ClientOutput out;
    EXPECT_EQ(net.client.build(path, net.now, out).error(), make_error_code(Errc::malformed));
    path[1].hop.addresses.assign(kMaxHopAddresses + 1, path[0].hop.addresses[0]);
    EXPECT_EQ(net.client.build(path, net.now, out).error(), make_error_code(Errc::malformed));
}

// EXTEND names every address of the next hop with its transport; the count, the kinds
// and the length are checked.
TEST(CircuitMessages, extend_carries_addresses_on_several_transports) {
    using K = link::TransportKind;
    Extend e;
    e.next.id = crypto::Identity::generate().node_id();
    e.next.link_key = crypto::X25519KeyPair::generate().pub;
    e.next.addresses = {{K::webrtc, {boost::asio::ip::make_address("127.0.0.2"), 443}},
                        {K::udp, {boost::asio::ip::make_address("2001:db8::1"), 7000}},
                        {static_cast<K>(42), {boost::asio::ip::make_address("10.0.0.1"), 9}}};
    e.type = HandshakeType::ntor_x25519;
    e.handshake = Bytes(84, 7);
    auto wire = encode_extend(e);
    EXPECT_EQ(wire.size(), kExtendFixed + 3 * kExtendAddressSize + 84);
    auto back = decode_extend(wire);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->next.id, e.next.id);
    EXPECT_EQ(back->next.link_key, e.next.link_key);
    EXPECT_EQ(back->next.addresses, e.next.addresses);  // an unknown transport is kept
    EXPECT_EQ(back->handshake, e.handshake);

    auto damaged = [&](auto change) {
        Bytes w = wire;
        change(w);
        return !decode_extend(w);
    };
    EXPECT_TRUE(damaged([](Bytes& w) { w[64] = 0; }));                     // no address
    EXPECT_TRUE(damaged([](Bytes& w) { w[64] = kMaxHopAddresses + 1; }));  // too many
    EXPECT_TRUE(damaged([](Bytes& w) { w[64] = 4; }));                     // count lies
    EXPECT_TRUE(damaged([](Bytes& w) { w[65] = 0; }));                     // transport 0
    EXPECT_TRUE(damaged([](Bytes& w) { w.pop_back(); }));                  // length lies
    EXPECT_TRUE(damaged([](Bytes& w) { w.resize(70); }));                  // truncated
}

TEST(Circuit, garbage_cells_are_counted_and_harmless) {
    Net net(3);
    CircuitHandle h = net.build(3);
    std::mt19937 rng(5);
    for (int i = 0; i < 2000; ++i) {
        wire::Cell c;
        for (auto& b : c) b = static_cast<std::uint8_t>(rng());
        c[4] = static_cast<std::uint8_t>(3 + i % 4);  // create, created, relay, destroy
        RelayOutput out;
        net.relays[0].table->on_cell(99, c, net.now, out);  // from a stranger
        for (const auto& cell : out.cells) EXPECT_EQ(cell.to, 99u);
    }
    EXPECT_GT(net.relays[0].table->stats().refused_handshake, 400u);
    EXPECT_GT(net.relays[0].table->stats().drop_unknown_circuit, 1000u);
    net.send(h, data_message(1, 10, 1));
    EXPECT_EQ(net.delivered.size(), 1u);
}

TEST(Circuit, client_close_destroys_along_the_path) {
    Net net(4);
    CircuitHandle h = net.build(4);
    ASSERT_EQ(net.relay_circuits(), 4u);
    ClientOutput out;
    net.client.close(h, out);
    net.take_client(out);
    net.run();
    EXPECT_EQ(net.relay_circuits(), 0u);
    EXPECT_EQ(net.last(ClientEvent::Kind::closed)->reason, DestroyReason::finished);
}

// A build the client gives up itself (a spare for a port nobody asks for any more, a
// shutdown) is no failed build: the counters operators read as the network's health
// (circuits_failed, failed_by_hops) only count builds the network failed.
TEST(Circuit, a_build_the_client_abandons_is_not_counted_as_failed) {
    Net net(3);
    net.tamper = [](Wire& w) { return w.to != 3 && w.from != 3; };  // the exit went silent
    CircuitHandle h = net.build(3);
    ASSERT_FALSE(net.client.is_built(h));
    ClientOutput out;
    net.client.close(h, out);
    net.take_client(out);
    EXPECT_EQ(net.last(ClientEvent::Kind::failed)->reason, DestroyReason::finished);
    EXPECT_EQ(net.client.stats().circuits_failed, 0u);
    EXPECT_EQ(net.client.stats().circuits_closed, 1u);
    EXPECT_EQ(net.client.stats().failed_by_hops[3], 0u);
    // One the network fails still counts.
    CircuitHandle stalled = net.build(3);
    net.tick(seconds(61));
    EXPECT_FALSE(net.client.is_built(stalled));
    EXPECT_EQ(net.client.stats().circuits_failed, 1u);
    EXPECT_EQ(net.client.stats().failed_by_hops[3], 1u);
}

}  // namespace
}  // namespace zmesh::circuit
