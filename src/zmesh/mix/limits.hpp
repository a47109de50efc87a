#pragma once
// Every size of the Sphinx packet (docs/mix.md has the byte layout). A Sphinx packet is
// the body of one cell, so it travels in one 1232-byte link packet like any other cell.

#include <chrono>
#include <cstdint>

#include "zmesh/wire/cell.hpp"

namespace zmesh::mix {

inline constexpr std::size_t kPacketSize = wire::kCellBodySize;  // 1195

inline constexpr std::size_t kMaxHops = 5;
inline constexpr std::size_t kGroupElementSize = 32;  // X25519 public key (alpha)
inline constexpr std::size_t kMacSize = 16;           // gamma: keyed BLAKE2b-128
inline constexpr std::size_t kAddressSize = 32;       // node id or destination address
inline constexpr std::size_t kSurbIdSize = 16;

// One hop's routing block: flag (1) | address (32) | delay in ms (4, big endian) |
// next hop's MAC, or at the last hop a SURB id (16).
inline constexpr std::size_t kRoutingBlockSize = 1 + kAddressSize + 4 + kMacSize;     // 53
inline constexpr std::size_t kBetaSize = kMaxHops * kRoutingBlockSize;                // 265
inline constexpr std::size_t kHeaderSize = kGroupElementSize + kBetaSize + kMacSize;  // 313
inline constexpr std::size_t kPayloadSize = kPacketSize - kHeaderSize;                // 882

// The payload's plaintext: kAuthSize zero bytes | length (2, big endian) | message | zeros.
// Tampering anywhere in an encrypted payload turns all of it, the zeros too, into noise.
inline constexpr std::size_t kAuthSize = 16;
inline constexpr std::size_t kMaxMessageSize = kPayloadSize - kAuthSize - 2;  // 864

// LIONESS splits the payload into a 32-byte left part (a ChaCha20 key's size) and the rest.
inline constexpr std::size_t kLionessLeftSize = 32;

// The protocol maximum of one hop's delay. A mix refuses a packet that asks for more
// (bad_delay), a sender cannot make one (bad_path). Bounded so that a packet built just
// before a key change still reaches every hop while that hop's key is held: the delays of
// the first kMaxHops - 1 hops (2 min) plus the allowed clock skew (2 min) fit in the
// default 5-minute overlap of KeyringConfig (docs/mix.md, "Key epochs").
inline constexpr std::chrono::milliseconds kMaxDelay{30'000};

static_assert(kHeaderSize + kPayloadSize == kPacketSize);
static_assert(kPayloadSize > kLionessLeftSize + kAuthSize + 2);

}  // namespace zmesh::mix
