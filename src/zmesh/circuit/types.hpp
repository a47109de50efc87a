#pragma once
// Names the circuit layer shares between its relay and client sides.

#include <chrono>
#include <cstdint>
#include <functional>

#include "zmesh/circuit/messages.hpp"
#include "zmesh/core/clock.hpp"
#include "zmesh/wire/cell.hpp"

namespace zmesh::circuit {

using Clock = zmesh::Clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

// A link session to a neighbour, as the I/O glue numbers it (never 0).
using PeerRef = std::uint64_t;

// A circuit as one link sees it: the neighbour and the circuit id on that link.
struct LinkCircuit {
    PeerRef peer = 0;
    std::uint32_t id = 0;
    bool operator==(const LinkCircuit&) const = default;
};

struct LinkCircuitHash {
    std::size_t operator()(const LinkCircuit& c) const noexcept {
        return std::hash<std::uint64_t>{}(c.peer * 0x9e3779b97f4a7c15ULL ^ c.id);
    }
};

struct CellOut {
    PeerRef to = 0;
    wire::Cell cell;
};

// A request to the I/O glue: reach this hop over a link, then answer with
// link_ready(request, peer) or link_failed(request).
struct LinkRequest {
    std::uint64_t request = 0;
    NextHop hop;
};

wire::Cell make_cell(const LinkCircuit& c, wire::CellCommand cmd);
inline MutByteView cell_body(wire::Cell& c) {
    return {c.data() + wire::kCellHeaderSize, wire::kCellBodySize};
}
inline ByteView cell_body(const wire::Cell& c) {
    return {c.data() + wire::kCellHeaderSize, wire::kCellBodySize};
}
wire::Cell make_destroy(const LinkCircuit& c, DestroyReason reason);

// A random, non-zero circuit id for `peer` that `taken` does not report as in use.
std::uint32_t fresh_circuit_id(PeerRef peer, const std::function<bool(const LinkCircuit&)>& taken);

}  // namespace zmesh::circuit
