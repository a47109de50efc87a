// Issue 16: the attacks on the relay cell construction and the circuit tables, performed.
// Each test fails against the code before its fix (docs/protocol.md, "Why this
// construction", explains the fixes).
//
//  - forward counters: a hop learns its position and the path length from the counters
//    it decrypts (one counter for the whole circuit; probes and EXTEND fragments for
//    earlier hops left gaps of exactly i at hop i);
//  - drop and reorder watermarks: a guard drops or swaps cells for a colluding exit to
//    read in its counters;
//  - backward slot area: an exit flips a slot byte, an honest middle wraps, the guard
//    flips the same byte one slot further and the client accepted the cell (tagging with
//    confirmation);
//  - the client's fragment reassembler, shared by all hops: a hop spliced its bytes into
//    another hop's message;
//  - RelayTable::originate skipped the per-direction cell limit (nonce reuse after 2^32).
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "circuit/circuit_net.hpp"
#include "zmesh/circuit/relay_crypto.hpp"

namespace zmesh::circuit {
namespace {

using testing_net::data_message;
using testing_net::Net;
using testing_net::Wire;

bool is_relay(const Wire& w) {
    return wire::cell_command(w.cell) == wire::CellCommand::relay;
}

struct Keys {
    explicit Keys(std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            keys.push_back(std::make_unique<LayerKey>(
                DirectionKeys{crypto::random_value<crypto::SymmetricKey>(),
                              crypto::random_value<crypto::SymmetricKey>()}));
            ptrs.push_back(keys.back().get());
        }
    }
    std::vector<std::unique_ptr<LayerKey>> keys;
    std::vector<const LayerKey*> ptrs;
};

// ---- forward counters ----------------------------------------------------------------

// What each relay of the path logs: the forward cell numbers its layer accepts, in order.
std::vector<std::vector<std::uint32_t>> counters_seen(std::size_t hops) {
    Net net(hops);
    std::vector<std::vector<std::uint32_t>> seen(hops);
    for (std::size_t i = 0; i < hops; ++i)
        net.relays[i].table->set_forward_tap(
            [&seen, i](const LinkCircuit&, std::uint32_t n) { seen[i].push_back(n); });
    CircuitHandle h = net.build(hops);  // EXTEND fragments for every hop but the first
    EXPECT_TRUE(net.client.is_built(h));
    for (int round = 0; round < 3; ++round) {
        for (std::uint8_t i = 0; i < 4; ++i) net.send(h, data_message(1, 100, i));
        net.probe(h);  // a PING to every hop
    }
    net.send(h, data_message(1, 100, 9));
    EXPECT_TRUE(net.client.is_built(h));
    return seen;
}

TEST(HardeningCircuit, forward_counters_reveal_neither_position_nor_path_length) {
    for (std::size_t hops : {3u, 4u}) {
        auto seen = counters_seen(hops);
        for (std::size_t i = 0; i < hops; ++i) {
            // Every hop sees 1, 2, 3, ... with no gap, whatever its position, the path
            // length and the probes and EXTENDs meant for other hops: the only thing its
            // counters tell it is how many cells it has seen, which it counts anyway.
            ASSERT_FALSE(seen[i].empty()) << hops << " hops, hop " << i;
            for (std::size_t k = 0; k < seen[i].size(); ++k)
                ASSERT_EQ(seen[i][k], k + 1) << hops << " hops, hop " << i << ", cell " << k;
        }
    }
}

// The counter value inside the slot block starts at a per-hop base derived from the hop's
// keys, so the first value a hop decrypts is as random as its keys, not 1 (or 2i + 1).
TEST(HardeningRelayCrypto, first_counter_value_is_derived_from_the_hop_keys) {
    std::set<std::uint32_t> firsts;
    for (int path = 0; path < 8; ++path) {
        Keys hops(kMaxHops);
        Bytes payload(kPayloadSize, 0);
        std::vector<std::uint32_t> first(kMaxHops, 1);
        Body body;
        ASSERT_TRUE(seal_forward(hops.ptrs, first, payload, body));
        for (std::size_t i = 0; i < kMaxHops; ++i) {
            firsts.insert(hops.keys[i]->open_slot(ByteView{body}.first(kSlotSize)).seq);
            link::ReplayWindow w;
            auto n = peel_forward(*hops.keys[i], w, body);
            ASSERT_TRUE(n);
            EXPECT_EQ(*n, 1u);
        }
    }
    // 64 hops: distinct values (a collision of 64 random 32-bit values: p < 10^-6).
    EXPECT_EQ(firsts.size(), 8u * kMaxHops);
    for (std::uint32_t v : firsts) EXPECT_GT(v, 2u * kMaxHops + 1);
}

// ---- drop and reorder watermarks -----------------------------------------------------

// The guard drops chosen cells on their way to the middle (the exit would read the
// pattern from its counters and stream numbers). The honest middle's PONG reports fewer
// cells than the client sent through it: the client closes the circuit.
TEST(HardeningCircuit, cells_dropped_by_the_guard_for_a_colluding_exit_close_the_circuit) {
    Net net(3);
    CircuitHandle h = net.build(3);
    ASSERT_TRUE(net.client.is_built(h));
    int forwarded = 0;
    net.tamper = [&](Wire& w) {
        if (w.from != 1 || w.to != 2 || !is_relay(w)) return true;
        return ++forwarded % 2 == 0;  // the watermark: every other cell
    };
    for (std::uint8_t i = 0; i < 16; ++i) net.send(h, data_message(1, 100, i));
    EXPECT_EQ(net.delivered.size(), 8u);
    net.tamper = nullptr;
    net.probe(h);
    EXPECT_FALSE(net.client.is_built(h));
    EXPECT_EQ(net.client.stats().watermark_closed, 1u);
    const ClientEvent* closed = net.last(ClientEvent::Kind::closed);
    ASSERT_NE(closed, nullptr);
    EXPECT_EQ(closed->reason, DestroyReason::integrity);
    EXPECT_EQ(net.relay_circuits(), 0u);
}

// Swapping cells instead of dropping them: the middle counts cells that came after a
// later one.
TEST(HardeningCircuit, cells_reordered_by_the_guard_close_the_circuit) {
    Net net(3);
    CircuitHandle h = net.build(3);
    ASSERT_TRUE(net.client.is_built(h));
    std::optional<Wire> held;
    net.tamper = [&](Wire& w) {
        if (w.from != 1 || w.to != 2 || !is_relay(w)) return true;
        if (!held) {
            held = w;
            return false;
        }
        net.deliver(w);  // the later cell first, then the one held back
        net.deliver(*held);
        held.reset();
        return false;
    };
    for (std::uint8_t i = 0; i < 16; ++i) net.send(h, data_message(1, 100, i));
    net.run();
    EXPECT_EQ(net.delivered.size(), 16u);  // every cell arrived, 8 pairs swapped
    net.tamper = nullptr;
    net.probe(h);
    EXPECT_FALSE(net.client.is_built(h));
    EXPECT_EQ(net.client.stats().watermark_closed, 1u);
}

// Ordinary loss stays within the allowance: one lost cell of 40 does not close anything.
TEST(HardeningCircuit, a_lost_cell_is_not_taken_for_a_watermark) {
    Net net(3);
    CircuitHandle h = net.build(3);
    int forwarded = 0;
    net.tamper = [&](Wire& w) {
        return !(w.from == 1 && w.to == 2 && is_relay(w) && ++forwarded == 7);
    };
    for (std::uint8_t i = 0; i < 40; ++i) net.send(h, data_message(1, 100, i));
    net.probe(h);
    EXPECT_TRUE(net.client.is_built(h));
    EXPECT_EQ(net.client.stats().watermark_closed, 0u);
    EXPECT_EQ(net.delivered.size(), 39u);
}

// ---- backward slot area --------------------------------------------------------------

// The exit flips byte j of the slot area it sends, the honest middle wraps, the guard
// flips the byte where the middle's shift put it (j + 16 of what it receives, or j + 32
// of what it sends). With slots under keystream alone the flips cancelled and the client
// accepted the cell: the exit learnt that the guard is on its circuit. Now the middle's
// layer turns the exit's flip into a random block: the client refuses every one.
TEST(HardeningRelayCrypto, backward_slot_flips_cannot_be_cancelled_across_an_honest_middle) {
    Keys path(3);
    Bytes payload(kPayloadSize, 0x33);
    std::fill_n(payload.begin(), 8, 0);
    // The slot bytes of the exit's output that reach the client: the middle and the guard
    // each drop one slot.
    constexpr std::size_t kUsable = kSlotArea - 2 * kSlotSize;
    std::uint32_t n = 0;
    std::vector<std::size_t> accepted;  // slot bytes for which the cancel went through
    for (bool guard_after_wrap : {false, true}) {
        for (std::size_t j = 0; j < kUsable; ++j) {
            ++n;
            Body body;
            start_backward(payload, body);
            wrap_backward(*path.keys[2], n, body);
            body[j] ^= 0x01;
            wrap_backward(*path.keys[1], n, body);
            if (!guard_after_wrap) body[j + kSlotSize] ^= 0x01;
            wrap_backward(*path.keys[0], n, body);
            if (guard_after_wrap) body[j + 2 * kSlotSize] ^= 0x01;
            std::vector<link::ReplayWindow> windows(3);
            if (open_backward(path.ptrs, windows, body)) accepted.push_back(j);
        }
    }
    EXPECT_TRUE(accepted.empty()) << accepted.size() << " of " << 2 * kUsable
                                  << " cancelled flips accepted, the first at slot byte "
                                  << accepted.front();
}

// The same attack end to end: the client destroys the circuit.
TEST(HardeningCircuit, backward_slot_cancel_attack_tears_the_circuit_down) {
    for (std::size_t j : {0u, 15u, 16u, 47u, 80u, 95u}) {
        Net net(3);
        CircuitHandle h = net.build(3);
        ASSERT_TRUE(net.client.is_built(h));
        const std::size_t at = wire::kCellHeaderSize + j;
        net.tamper = [&](Wire& w) {
            if (!is_relay(w)) return true;
            if (w.from == 3 && w.to == 2) w.cell[at] ^= 0x80;              // the exit
            if (w.from == 2 && w.to == 1) w.cell[at + kSlotSize] ^= 0x80;  // the guard
            return true;
        };
        net.send(h, data_message(1, 100, 1));
        EXPECT_EQ(net.delivered.size(), 1u);
        EXPECT_EQ(net.count(ClientEvent::Kind::message), 0) << "slot byte " << j;
        EXPECT_EQ(net.client.stats().drop_integrity, 1u) << "slot byte " << j;
        EXPECT_FALSE(net.client.is_built(h)) << "slot byte " << j;
    }
}

// ---- fragments -----------------------------------------------------------------------

// While the middle's EXTENDED (two fragments) comes back, the guard slips in a fragment
// of its own that completes it. With one reassembler for all hops the client assembled
// the middle's first part and the guard's bytes and failed the build; keyed by hop, the
// guard's fragment waits on its own and the build completes.
TEST(HardeningCircuit, a_hop_cannot_add_fragments_to_another_hops_message) {
    Net net(3);
    std::uint32_t guard_side_id = 0;
    int backward = 0;
    const std::size_t total = encode_extended({Bytes(kHybridReplySize, 0)}).size();
    const std::size_t first_part = kMaxRelayData - 3;
    ASSERT_GT(total, first_part);
    net.tamper = [&](Wire& w) {
        if (w.from == 0 && w.to == 1) guard_side_id = wire::cell_circuit_id(w.cell);
        if (!(w.from == 1 && w.to == 0 && is_relay(w))) return true;
        // Backward relay cells: the guard's EXTENDED (2), then the middle's (2).
        if (++backward != 4) return true;
        RelayMessage mine{RelayCommand::fragment, 0, Bytes(3 + total - first_part, 0xee)};
        store_u16_be(mine.data.data(), static_cast<std::uint16_t>(total));
        mine.data[2] = static_cast<std::uint8_t>(RelayCommand::extended);
        RelayOutput out;
        EXPECT_TRUE(net.relays[0].table->send_backward({1, guard_side_id}, mine, net.now, out));
        for (auto& c : out.cells) net.deliver({0, 1, c.cell});
        return true;
    };
    CircuitHandle h = net.build(3);
    EXPECT_EQ(backward, 4);
    EXPECT_TRUE(net.client.is_built(h));
    net.tamper = nullptr;
    net.send(h, data_message(1, 100, 1));
    EXPECT_EQ(net.count(ClientEvent::Kind::message), 1);
}

// ---- the backward cell limit ---------------------------------------------------------

// A relay's own messages (PONG, EXTENDED) used its backward counter without checking the
// limit, so pings could run it past 2^32 and reuse nonces. Here the exit's limit is 3.
TEST(HardeningCircuit, a_relay_originates_no_cell_beyond_the_backward_limit) {
    Net net(3);
    RelayConfig cfg = net.relays[2].table->config();
    cfg.max_cells_per_direction = 3;
    cfg.onion = net.relays[2].onion;  // config() holds no key: the key ring has the only copy
    net.relays[2].table = std::make_unique<RelayTable>(cfg);
    int from_exit = 0;
    net.tamper = [&](Wire& w) {
        if (w.from == 3 && is_relay(w)) ++from_exit;
        return true;
    };
    CircuitHandle h = net.build(3);
    ASSERT_TRUE(net.client.is_built(h));
    for (std::uint8_t i = 0; i < 3; ++i) net.send(h, data_message(1, 10, i));  // 3 echoes
    EXPECT_EQ(from_exit, 3);
    net.probe(h);  // the exit's PONG would be cell 4
    EXPECT_EQ(from_exit, 3);
    EXPECT_FALSE(net.client.is_built(h));
    const ClientEvent* closed = net.last(ClientEvent::Kind::closed);
    ASSERT_NE(closed, nullptr);
    EXPECT_EQ(closed->reason, DestroyReason::resource);
}

}  // namespace
}  // namespace zmesh::circuit
