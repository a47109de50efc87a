#pragma once
// The client pool's policy numbers, in one place.

#include <chrono>
#include <cstdint>

namespace zmesh::client {

// A stream open (or a directory fetch) that has no answer this long fails.
inline constexpr auto kOpenTimeout = std::chrono::seconds(60);
// A stream that carried at least this much measures its circuit's throughput.
inline constexpr std::uint64_t kMinMeasuredBytes = 1 << 20;
// Builds for one request before it fails (each avoiding the relays that failed before).
inline constexpr int kMaxBuilds = 3;
// Moved streams wait for a path to their exit (none fits now): tried again this often.
inline constexpr auto kRecoveryRetry = std::chrono::milliseconds(200);

}  // namespace zmesh::client
