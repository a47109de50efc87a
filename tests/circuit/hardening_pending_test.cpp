// Attacks on the relay side of the circuit layer from the outside review (issue 16).
#include <gtest/gtest.h>

#include "zmesh/circuit/relay_table.hpp"

namespace zmesh::circuit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Relay {
    crypto::Identity identity = crypto::Identity::generate();
    crypto::X25519KeyPair onion = crypto::X25519KeyPair::generate();
    RelayTable table{config()};
    RelayConfig config() const {
        RelayConfig cfg;
        cfg.id = identity.node_id();
        cfg.onion = onion;
        return cfg;
    }
    RelayKeys keys() const { return {identity.node_id(), onion.pub}; }
};

// The first cell of a hybrid CREATE whose continuation never comes: all it takes is a
// link (an anonymous client's will do).
wire::Cell unfinished_create(std::uint32_t circuit_id) {
    Bytes junk(kHybridOnionskinSize, 0x42);
    return encode_create_cells(circuit_id, HandshakeType::ntor_x25519_mlkem768, junk).front();
}

// A real hybrid CREATE, all its cells, or only its `first` ones.
struct RealCreate {
    explicit RealCreate(const RelayKeys& keys) : client(keys) {}
    NtorClient client;
    std::vector<wire::Cell> cells(std::uint32_t circuit_id) const {
        return encode_create_cells(circuit_id, client.type(), client.onionskin());
    }
    // The relay answered CREATED with a reply that completes the client's handshake.
    void expect_created(const RelayOutput& out) const {
        ASSERT_EQ(out.cells.size(), 1u);
        ASSERT_EQ(wire::cell_command(out.cells[0].cell), wire::CellCommand::created);
        auto created = decode_created(cell_body(out.cells[0].cell));
        ASSERT_TRUE(created);
        EXPECT_TRUE(client.finish(created->handshake));
    }
};

// Finding 3: one link sends 1,100 first CREATE cells (more than the whole table of
// unfinished CREATEs) and never continues them. A client's CREATE on another link, and a
// relay's (an EXTEND from a previous hop) on a third, must still be answered.
TEST(HardeningCreates, create_flood_from_one_link_does_not_refuse_other_links) {
    Relay relay;
    TimePoint now{seconds(100)};
    constexpr PeerRef kFlooder = 50;
    std::size_t refused = 0;
    for (std::uint32_t i = 0; i < 1100; ++i) {
        now += milliseconds(1);
        RelayOutput out;
        relay.table.on_cell(kFlooder, unfinished_create(1 + i), now, out);
        refused += out.cells.size();
    }
    EXPECT_EQ(refused, 0u);  // the flood displaces only its own oldest
    EXPECT_EQ(relay.table.stats().pending_creates_evicted, 1100u - kMaxPendingCreatesPerLink);

    for (PeerRef link : {PeerRef{60}, PeerRef{61}}) {
        RealCreate create(relay.keys());
        RelayOutput out;
        for (const auto& cell : create.cells(7)) relay.table.on_cell(link, cell, now, out);
        create.expect_created(out);
    }
    EXPECT_EQ(relay.table.size(), 2u);
    EXPECT_EQ(relay.table.stats().refused_table_full, 0u);
}

// Finding 3, many links: 40 links with 32 unfinished CREATEs each (1,280, more than the
// table holds) arrive between the two cells of a real CREATE. The full table displaces
// the oldest entries of the links holding the most, never the real one.
TEST(HardeningCreates, create_flood_from_many_links_does_not_displace_a_real_create) {
    Relay relay;
    TimePoint now{seconds(100)};
    RealCreate create(relay.keys());
    auto cells = create.cells(7);
    ASSERT_EQ(cells.size(), 2u);
    constexpr PeerRef kClient = 5;
    RelayOutput out;
    relay.table.on_cell(kClient, cells[0], now, out);
    std::size_t refused = 0;
    for (PeerRef link = 100; link < 140; ++link) {
        for (std::uint32_t i = 0; i < kMaxPendingCreatesPerLink; ++i) {
            now += milliseconds(1);
            RelayOutput flood;
            relay.table.on_cell(link, unfinished_create(1 + i), now, flood);
            refused += flood.cells.size();
        }
    }
    EXPECT_EQ(refused, 0u);
    EXPECT_EQ(relay.table.stats().pending_creates_evicted,
              40 * kMaxPendingCreatesPerLink + 1 - kMaxPendingCreates);
    relay.table.on_cell(kClient, cells[1], now, out);
    create.expect_created(out);
}

// A link that closes takes its unfinished CREATEs with it.
TEST(HardeningCreates, unfinished_creates_of_a_closed_link_are_forgotten) {
    Relay relay;
    TimePoint now{seconds(100)};
    RelayOutput out;
    relay.table.on_cell(50, unfinished_create(9), now, out);
    relay.table.on_link_closed(50, out);
    // The continuation, had it come, finds nothing: the id is free for a new CREATE.
    RealCreate create(relay.keys());
    RelayOutput answer;
    for (const auto& cell : create.cells(9)) relay.table.on_cell(50, cell, now, answer);
    create.expect_created(answer);
}

}  // namespace
}  // namespace zmesh::circuit
