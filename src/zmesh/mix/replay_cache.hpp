#pragma once
// The replay tags one mix key has seen, in a Bloom filter of fixed size chosen from a
// capacity and a false-positive rate. Memory never grows and a tag is never forgotten, so a
// replay is never let through; at capacity (or at the caller's budget) it refuses new tags
// instead. MixKeyring sizes it so that its admission budget keeps it from filling before
// the key is erased (docs/mix.md, "Key epochs and the replay cache"). A false positive
// drops one honest packet. Not thread-safe (nor is MixKeyring): one owner thread.

#include <array>
#include <cstdint>
#include <vector>

#include "zmesh/crypto/secure.hpp"
#include "zmesh/mix/sphinx.hpp"

namespace zmesh::mix {

struct ReplayCacheConfig {
    std::size_t capacity = std::size_t{1} << 22;  // tags per epoch (about 4.2 million)
    double false_positive_rate = 1e-6;            // at capacity
};

class ReplayCache {
  public:
    // over_budget: new, but size() reached the budget passed in; full: reached capacity().
    // Neither records the tag.
    enum class Outcome { fresh, replayed, over_budget, full };

    // Out-of-range settings are clamped: capacity to [1, 2^32], the rate to [1e-12, 0.5].
    ReplayCache(const ReplayCacheConfig& config, const RandomFill& rng);

    // Records the tag; replayed when it (or a false positive) was there already. A replay
    // is answered as such whatever the budget.
    Outcome check_and_insert(const ReplayTag& tag);
    Outcome check_and_insert(const ReplayTag& tag, std::size_t budget);
    bool contains(const ReplayTag& tag) const;

    std::size_t size() const { return count_; }
    std::size_t capacity() const { return capacity_; }
    std::size_t bits() const { return bits_; }
    std::size_t hash_count() const { return hashes_; }
    std::size_t memory_bytes() const { return words_.size() * sizeof(std::uint64_t); }
    // The rate the filter reaches at capacity with its rounded size and hash count.
    double expected_false_positive_rate() const;

  private:
    static constexpr std::size_t kMaxHashes = 40;
    using Positions = std::array<std::uint64_t, kMaxHashes>;
    void positions(const ReplayTag& tag, Positions& out) const;
    bool all_set(const Positions& pos) const;

    std::size_t capacity_;
    std::size_t bits_;
    std::size_t hashes_;
    std::size_t count_ = 0;
    // Bit positions come from a keyed hash, so that nobody can aim tags at chosen bits.
    crypto::SymmetricKey key_;
    std::vector<std::uint64_t> words_;
};

}  // namespace zmesh::mix
