#pragma once
// Sizes and limits of the circuit layer, in one place.

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "zmesh/wire/cell.hpp"

namespace zmesh::circuit {

inline constexpr std::size_t kMinHops = 2;
inline constexpr std::size_t kMaxHops = 8;
inline constexpr std::size_t kDefaultHops = 3;

// Relay cell body: kMaxHops slots of 16 bytes, then the payload.
inline constexpr std::size_t kSlotSize = 16;
inline constexpr std::size_t kSlotArea = kMaxHops * kSlotSize;      // 128
inline constexpr std::size_t kBodySize = wire::kCellBodySize;       // 1195
inline constexpr std::size_t kPayloadSize = kBodySize - kSlotArea;  // 1067
inline constexpr std::size_t kTagSize = 12;
inline constexpr std::size_t kSeqSize = 4;

// A circuit carries at most this many cells per direction, then must be replaced:
// the per-cell counter is 32 bits and never wraps.
inline constexpr std::uint32_t kMaxCellsPerDirection = 0xfffffff0u;

// CREATE cells whose handshake continues in CREATE_CONTINUE cells, waiting for the rest
// (extend_timeout at most): per link and in all. A link over its share loses its own
// oldest, a full table the oldest of the link holding the most (core/fair_table.hpp), so
// one link's flood never refuses another link's CREATE. A real CREATE's cells leave
// together, so a link has a handful pending at most.
inline constexpr std::size_t kMaxPendingCreates = 1024;
inline constexpr std::size_t kMaxPendingCreatesPerLink = 32;

// CREATE handshakes handed to worker threads and not answered yet; past this many a
// relay answers the next ones on its own thread (slower for the cells waiting behind
// them, but never a refusal for a reason of its own).
inline constexpr std::size_t kMaxHandshakesInProgress = 1024;

// EXTEND: a next hop offers at most this many link addresses (one per transport).
inline constexpr std::size_t kMaxHopAddresses = 6;
inline constexpr std::size_t kExtendAddressSize = 1 + 16 + 2;     // transport, IP, port
inline constexpr std::size_t kExtendFixed = 32 + 32 + 1 + 2 + 2;  // id, key, count, type, len

// Key lifetimes (docs/protocol.md, "Key lifetimes").
// A relay makes a new onion key this often and publishes it in its next descriptor.
inline constexpr std::chrono::seconds kOnionKeyRotation = std::chrono::hours(24 * 7);
// The replaced key is still accepted this long, then erased. It must outlast every
// descriptor that names it: a descriptor lives 24 hours (clients may hold one that long),
// and a relay republishes every 6, so two days leaves a day of margin for slow fetches
// and clock skew.
inline constexpr std::chrono::seconds kOnionKeyOverlap = std::chrono::hours(48);
// Onion keys a relay holds at once: the current one and replaced ones still accepted.
inline constexpr std::size_t kMaxOnionKeys = 4;
// A client replaces a circuit this old: its streams move to a fresh circuit (new hop
// keys, new middle relays), which bounds how long one set of hop keys protects traffic and
// how much of a client's activity one path sees.
inline constexpr std::chrono::seconds kMaxCircuitLifetime = std::chrono::hours(1);

// Subscribers of one kind of CircuitNode output (client events, messages of one relay
// command, closed circuits, onion key changes): the client, the exit, the directory, mix
// and services need a few each; more is a leak of subscription tokens.
inline constexpr std::size_t kMaxSubscribers = 16;

// Two timer wake-ups of CircuitNode are at least this far apart: a state machine whose
// deadline a tick failed to move (a bug) costs a thousand wake-ups a second, not a core.
inline constexpr std::chrono::milliseconds kMinTimerGap{1};

// A timer that wakes more than kLateWakeup after its deadline says this process (or its
// event loop) did not run meanwhile: answers that peers sent in that time are still unread,
// in sockets or, in a one-process network, inside this process's own relays. The deadline
// is then judged once more after waiting as long again (at most kMaxLateGrace), so a
// probe or build is not failed for the time the machine starved us.
inline constexpr std::chrono::milliseconds kLateWakeup{25};
inline constexpr std::chrono::milliseconds kMaxLateGrace{1000};

}  // namespace zmesh::circuit
