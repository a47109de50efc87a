#pragma once
// A mix's keys, one per short epoch of wall-clock time, each with its own replay cache and
// admission budget. Pure: time is passed in, randomness comes from the caller. Not
// thread-safe: one keyring belongs to one thread (the node's event loop).
//
// Epoch e covers [e * epoch, (e + 1) * epoch). Its key is created `lead` before the epoch
// starts (a day by default, so that a mix publishes each key once, long before use, and
// cannot quietly give different clients different keys), accepts packets from `skew`
// before the epoch starts (clock skew between senders and the mix, no more) until
// `overlap` after it ends (packets built just before the change and delayed on the way),
// and is then erased with its replay cache: once the secret is gone nobody, this mix
// included, can unwrap a recorded packet of that epoch, and a replay of one fails its MAC.
//
// Each key admits at most max_rate packets per second on average, counted from when it
// starts accepting, plus a burst of burst_seconds × max_rate: a new tag beyond that budget
// is refused as rate_limited (only that packet; the budget grows again every second). The
// replay cache holds exactly what the budget can admit in the key's life, so it never
// fills and a flood cannot shut the key down for the rest of its epoch.

#include <chrono>
#include <deque>
#include <optional>

#include "zmesh/mix/replay_cache.hpp"
#include "zmesh/mix/sphinx.hpp"

namespace zmesh::mix {

struct KeyringConfig {
    std::chrono::seconds epoch{std::chrono::minutes(15)};  // network-wide
    std::chrono::seconds overlap{std::chrono::minutes(5)};
    std::chrono::seconds skew{std::chrono::minutes(2)};
    std::chrono::seconds lead{std::chrono::hours(24)};
    std::uint32_t max_rate = 4000;      // packets per second per key, on average
    std::uint32_t burst_seconds = 10;   // budget at the start of acceptance, in seconds of rate
    double false_positive_rate = 1e-6;  // of a full replay cache
};

// The bounds validate() enforces.
inline constexpr std::size_t kMaxReplayCapacity = std::size_t{1} << 26;  // about 240 MB at 1e-6
inline constexpr std::size_t kMaxKeysAhead = 2048;                       // lead / epoch

// Tags one key's replay cache holds: max_rate × (burst_seconds + skew + epoch + overlap).
std::size_t replay_capacity(const KeyringConfig& config);
// bad_config unless: epoch > 0; skew, overlap >= 0 and skew + overlap < epoch (at most two
// keys accept at any time); 0 <= lead and lead / epoch <= kMaxKeysAhead; max_rate > 0;
// replay_capacity <= kMaxReplayCapacity; the false-positive rate in [1e-12, 0.5].
Status validate(const KeyringConfig& config);

struct EpochPublic {
    std::uint64_t epoch;
    crypto::X25519Public key;
    std::chrono::sys_seconds valid_from;   // epoch start (accepted from skew before)
    std::chrono::sys_seconds valid_until;  // epoch end + overlap
};

// For metrics. Counters are cumulative since construction, over all keys.
struct KeyringStats {
    struct Key {
        std::uint64_t epoch;
        std::size_t admitted;  // tags in its replay cache
        std::size_t budget;    // admissions allowed by now
        std::size_t capacity;  // of its replay cache
        double fill;           // admitted / capacity
    };
    std::vector<Key> accepting;  // keys whose acceptance window has begun, oldest first
    std::uint64_t admitted = 0;
    std::uint64_t replayed = 0;
    std::uint64_t rate_limited = 0;
    std::uint64_t cache_full = 0;  // only when a cache could not be allocated
    std::size_t memory_bytes = 0;  // of all replay caches
};

class MixKeyring {
  public:
    // Throws std::invalid_argument unless validate(config) passes: check it where the
    // configuration is read, this is the only throw.
    MixKeyring(const KeyringConfig& config, RandomFill rng);

    // Creates the keys up to `lead` ahead, gives the keys that start accepting their replay
    // cache and erases the expired ones. Time going back is ignored. Never throws.
    void update(std::chrono::sys_seconds now);

    // update(now), then unwraps with the accepting key that verifies (current epoch first)
    // and checks and records the replay tag in that key's cache within its budget.
    Result<Processed> process(ByteView packet, std::chrono::sys_seconds now);

    std::uint64_t epoch_of(std::chrono::sys_seconds t) const;
    // The keys held, oldest first, with the current one and a day ahead by default: what
    // a descriptor publishes.
    std::vector<EpochPublic> public_keys() const;
    std::optional<EpochPublic> current() const;
    std::size_t key_count() const { return keys_.size(); }
    std::size_t memory_bytes() const;
    std::size_t capacity() const { return capacity_; }
    KeyringStats stats() const;

  private:
    struct EpochKey {
        EpochPublic pub;
        crypto::X25519Secret secret;
        std::optional<ReplayCache> cache;  // from valid_from - skew on
    };
    void add(std::uint64_t epoch);
    std::chrono::sys_seconds accept_from(const EpochKey& k) const;
    bool accepting(const EpochKey& k, std::chrono::sys_seconds now) const;
    std::size_t budget(const EpochKey& k, std::chrono::sys_seconds now) const;
    Status admit(EpochKey& k, const ReplayTag& tag, std::chrono::sys_seconds now);

    KeyringConfig config_;
    RandomFill rng_;
    std::size_t capacity_ = 0;
    std::optional<std::chrono::sys_seconds> last_update_;
    std::optional<std::uint64_t> current_;
    std::deque<EpochKey> keys_;  // ascending epoch
    KeyringStats counters_;      // the cumulative counters (accepting is filled by stats())
};

}  // namespace zmesh::mix
