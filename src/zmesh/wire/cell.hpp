#pragma once
// The fixed-size cell every link carries, and the sizes it is derived from.
//
// A UDP datagram is always kPacketSize bytes: the IPv6 minimum MTU (1280) less the
// IPv6 (40) and UDP (8) headers. A data packet spends kLinkOverhead bytes on its
// header and AEAD tag, which leaves kCellSize bytes for one cell.

#include <cstdint>

#include "zmesh/core/bytes.hpp"

namespace zmesh::wire {

inline constexpr std::size_t kPacketSize = 1232;
inline constexpr std::size_t kLinkHeaderSize = 16;
inline constexpr std::size_t kLinkTagSize = 16;
inline constexpr std::size_t kLinkOverhead = kLinkHeaderSize + kLinkTagSize;
inline constexpr std::size_t kCellSize = kPacketSize - kLinkOverhead;  // 1200

// Cell layout: circuit id (4, big endian), command (1), body.
inline constexpr std::size_t kCellHeaderSize = 5;
inline constexpr std::size_t kCellBodySize = kCellSize - kCellHeaderSize;

// Circuit id 0 belongs to the link itself (padding, keepalive, link control).
inline constexpr std::uint32_t kLinkCircuitId = 0;

enum class CellCommand : std::uint8_t {
    padding = 0,          // link keepalive / cover; dropped by the receiver
    rekey_request = 1,    // responder asks the initiator to rekey the link
    data = 2,             // opaque payload (link tests and benchmarks)
    create = 3,           // circuit: first hop handshake
    created = 4,          // circuit: its answer
    relay = 5,            // circuit: onion-encrypted relay cell
    destroy = 6,          // circuit: tear down
    create_continue = 7,  // circuit: the rest of a CREATE too large for one cell
};

using Cell = ByteArray<kCellSize>;
using Packet = ByteArray<kPacketSize>;

inline std::uint32_t cell_circuit_id(const Cell& c) {
    return load_u32_be(c.data());
}
inline CellCommand cell_command(const Cell& c) {
    return static_cast<CellCommand>(c[4]);
}
inline void set_cell_header(Cell& c, std::uint32_t circuit_id, CellCommand cmd) {
    store_u32_be(c.data(), circuit_id);
    c[4] = static_cast<std::uint8_t>(cmd);
}

}  // namespace zmesh::wire
