#pragma once
// A mix's keys, one per epoch of wall-clock time, each with its own replay cache. Pure:
// time is passed in, randomness comes from the caller.
//
// Epoch e covers [e * epoch, (e + 1) * epoch). Its key is created `lead` before the epoch
// starts (so that it can be published before senders need it), used through the epoch,
// and kept `overlap` after it ends for packets built just before the change or delayed on
// the way. Then the key and its replay cache are erased: once the secret is gone nobody,
// this mix included, can unwrap a recorded packet of that epoch, and a replay of one
// fails its MAC, so the cache is no longer needed.

#include <chrono>
#include <deque>
#include <optional>

#include "zmesh/mix/replay_cache.hpp"
#include "zmesh/mix/sphinx.hpp"

namespace zmesh::mix {

struct KeyringConfig {
    std::chrono::seconds epoch{std::chrono::hours(1)};
    std::chrono::seconds overlap{std::chrono::minutes(10)};
    std::chrono::seconds lead{std::chrono::minutes(10)};
    ReplayCacheConfig cache;
};

struct EpochPublic {
    std::uint64_t epoch;
    crypto::X25519Public key;
    std::chrono::sys_seconds valid_from;   // epoch start
    std::chrono::sys_seconds valid_until;  // epoch end + overlap
};

class MixKeyring {
  public:
    // epoch must be positive; overlap and lead are cut to one epoch.
    MixKeyring(const KeyringConfig& config, RandomFill rng);

    // Creates the keys `now` needs and erases the expired ones. Time going back is ignored.
    void update(std::chrono::sys_seconds now);

    // Unwraps with the key that verifies (current epoch first), then checks and records the
    // replay tag in that key's cache. Call update(now) first.
    Result<Processed> process(ByteView packet);

    std::uint64_t epoch_of(std::chrono::sys_seconds t) const;
    // The keys held, oldest first: what a descriptor would publish.
    std::vector<EpochPublic> public_keys() const;
    std::optional<EpochPublic> current() const;
    std::size_t key_count() const { return keys_.size(); }
    std::size_t memory_bytes() const;

  private:
    struct EpochKey {
        EpochPublic pub;
        crypto::X25519Secret secret;
        ReplayCache cache;
    };
    void add(std::uint64_t epoch);

    KeyringConfig config_;
    RandomFill rng_;
    std::optional<std::chrono::sys_seconds> last_update_;
    std::optional<std::uint64_t> current_;
    std::deque<EpochKey> keys_;  // ascending epoch
};

}  // namespace zmesh::mix
