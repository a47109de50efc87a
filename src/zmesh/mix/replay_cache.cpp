#include "zmesh/mix/replay_cache.hpp"

#include <algorithm>
#include <cmath>

#include "zmesh/crypto/hash.hpp"

namespace zmesh::mix {

ReplayCache::ReplayCache(const ReplayCacheConfig& config, const RandomFill& rng) {
    capacity_ = std::clamp<std::size_t>(config.capacity, 1, std::size_t{1} << 32);
    const double p = std::clamp(config.false_positive_rate, 1e-12, 0.5);
    const double ln2 = std::log(2.0);
    // The optimal Bloom filter: m = -n ln p / (ln 2)^2 bits, k = (m / n) ln 2 hashes.
    const double m = std::ceil(-static_cast<double>(capacity_) * std::log(p) / (ln2 * ln2));
    bits_ = std::max<std::size_t>(64, static_cast<std::size_t>(m));
    hashes_ = std::clamp<std::size_t>(
        static_cast<std::size_t>(std::lround(static_cast<double>(bits_) / capacity_ * ln2)), 1,
        kMaxHashes);
    words_.assign((bits_ + 63) / 64, 0);
    rng(key_.mut_view());
}

void ReplayCache::positions(const ReplayTag& tag, Positions& out) const {
    // Kirsch and Mitzenmacher: k positions h1 + i * h2 from two 64-bit hashes.
    ByteArray<16> h;
    crypto::blake2b(h, tag.view(), key_.view());
    const std::uint64_t h1 = load_u64_le(h.data());
    const std::uint64_t h2 = load_u64_le(h.data() + 8) | 1;
    for (std::size_t i = 0; i < hashes_; ++i) out[i] = (h1 + i * h2) % bits_;
}

bool ReplayCache::all_set(const Positions& pos) const {
    bool all = true;
    for (std::size_t i = 0; i < hashes_; ++i)
        all = all && (words_[pos[i] / 64] >> (pos[i] % 64) & 1) != 0;
    return all;
}

bool ReplayCache::contains(const ReplayTag& tag) const {
    Positions pos;
    positions(tag, pos);
    return all_set(pos);
}

ReplayCache::Outcome ReplayCache::check_and_insert(const ReplayTag& tag) {
    return check_and_insert(tag, capacity_);
}

ReplayCache::Outcome ReplayCache::check_and_insert(const ReplayTag& tag, std::size_t budget) {
    Positions pos;
    positions(tag, pos);
    if (all_set(pos)) return Outcome::replayed;
    if (count_ >= capacity_) return Outcome::full;
    if (count_ >= budget) return Outcome::over_budget;
    for (std::size_t i = 0; i < hashes_; ++i)
        words_[pos[i] / 64] |= std::uint64_t{1} << (pos[i] % 64);
    ++count_;
    return Outcome::fresh;
}

double ReplayCache::expected_false_positive_rate() const {
    const double k = static_cast<double>(hashes_);
    return std::pow(
        1.0 - std::exp(-k * static_cast<double>(capacity_) / static_cast<double>(bits_)), k);
}

}  // namespace zmesh::mix
