#pragma once
// The node's own policy numbers (descriptor, fetch and blacklist numbers are the
// discovery layer's: discovery/limits.hpp).

#include <chrono>
#include <cstddef>

#include "zmesh/discovery/limits.hpp"

namespace zmesh::node {

using discovery::kDescriptorLifetime;
using discovery::kMaxBundleAge;
using discovery::kPeerSaveInterval;
using discovery::kRefetchInterval;
using discovery::kRepublishInterval;

// How long a stopping node keeps running its links so DESTROY cells reach the peers.
inline constexpr auto kShutdownGrace = std::chrono::milliseconds(300);
// Publishing and fetching retry with backoff from this, up to the maximum.
inline constexpr auto kFirstRetry = std::chrono::milliseconds(250);
inline constexpr auto kMaxPublishRetry = std::chrono::milliseconds(60000);
inline constexpr auto kMaxFetchRetry = std::chrono::milliseconds(30000);
// Event subscribers at once.
inline constexpr std::size_t kMaxSubscribers = 64;

}  // namespace zmesh::node
