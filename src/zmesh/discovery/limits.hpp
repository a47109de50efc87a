#pragma once
// Policy numbers of the discovery layer, in one place: how long descriptors live and how
// often they are published and fetched, and how long a relay that failed is left out of
// paths.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace zmesh::discovery {

// Descriptors: a relay signs one valid this long and publishes a fresh one well before.
inline constexpr std::uint64_t kDescriptorLifetime = 24 * 3600;
inline constexpr auto kRepublishInterval = std::chrono::hours(6);
// Clients fetch bundles this often once they know enough relays; bundles older than
// kMaxBundleAge seconds are refused (a replayed old view of the network).
inline constexpr auto kRefetchInterval = std::chrono::minutes(10);
inline constexpr std::uint64_t kMaxBundleAge = 3600;
// The peer store is written to disk this often (and at shutdown).
inline constexpr auto kPeerSaveInterval = std::chrono::minutes(5);

// A relay that stopped answering (probes, a stalled build) or that its neighbour could not
// reach is left out of new paths this long.
inline constexpr std::uint64_t kDownSeconds = 300;
// A relay with at least kSetAsideFailures failures and a reliability below
// kSetAsideReliability is set aside this long rather than retried.
inline constexpr std::uint64_t kSetAsideSeconds = 3600;
inline constexpr std::uint64_t kSetAsideFailures = 5;
inline constexpr double kSetAsideReliability = 0.1;
// A guard blacklisted for at least this long is replaced; one down for less stays a guard.
inline constexpr std::uint64_t kGuardDropSeconds = 3600;

// Defaults of the circuit.* options that drive guard choice.
inline constexpr std::size_t kDefaultGuards = 3;
inline constexpr std::uint64_t kDefaultGuardRotationSeconds = 60 * 86400;

}  // namespace zmesh::discovery
