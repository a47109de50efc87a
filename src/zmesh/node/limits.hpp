#pragma once
// The node's policy numbers: descriptor lifetimes, fetch and publish schedules, how long
// a relay that failed is left out of paths.

#include <chrono>
#include <cstdint>

namespace zmesh::node {

// How long a stopping node keeps running its links so DESTROY cells reach the peers.
inline constexpr auto kShutdownGrace = std::chrono::milliseconds(300);
inline constexpr std::uint64_t kDescriptorLifetime = 24 * 3600;
inline constexpr auto kRepublishInterval = std::chrono::hours(6);
inline constexpr auto kRefetchInterval = std::chrono::minutes(10);
inline constexpr std::uint64_t kMaxBundleAge = 3600;
// Publishing and fetching retry with backoff from this, up to the maximum.
inline constexpr auto kFirstRetry = std::chrono::milliseconds(250);
inline constexpr auto kMaxPublishRetry = std::chrono::milliseconds(60000);
inline constexpr auto kMaxFetchRetry = std::chrono::milliseconds(30000);
// The peer store is written this often (and at stop).
inline constexpr auto kPeerSaveInterval = std::chrono::minutes(5);
// A relay found unresponsive is left out of new paths this long.
inline constexpr std::uint64_t kDownSeconds = 300;
// A relay where circuits keep failing (this many failures, reliability below the bound)
// is set aside this long.
inline constexpr std::uint64_t kFailingMinFailures = 5;
inline constexpr double kFailingMaxReliability = 0.1;
inline constexpr std::uint64_t kFailingSeconds = 3600;
// Event subscribers at once.
inline constexpr std::size_t kMaxSubscribers = 64;

}  // namespace zmesh::node
