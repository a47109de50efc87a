#include "zmesh/mix/keyring.hpp"

#include <algorithm>
#include <new>
#include <stdexcept>

namespace zmesh::mix {

std::size_t replay_capacity(const KeyringConfig& c) {
    const std::int64_t seconds =
        std::max<std::int64_t>(0, (c.skew + c.epoch + c.overlap).count()) + c.burst_seconds;
    return static_cast<std::size_t>(seconds) * c.max_rate;
}

Status validate(const KeyringConfig& c) {
    using std::chrono::seconds;
    // In this order, so that no sum or product below can overflow.
    const bool ok = c.epoch > seconds{0} && c.epoch <= std::chrono::hours(24 * 7) &&
                    c.skew >= seconds{0} && c.skew < c.epoch && c.overlap >= seconds{0} &&
                    c.overlap < c.epoch && c.skew + c.overlap < c.epoch && c.lead >= seconds{0} &&
                    c.lead / c.epoch <= std::int64_t{kMaxKeysAhead} && c.max_rate > 0 &&
                    c.burst_seconds <= 3600 && replay_capacity(c) <= kMaxReplayCapacity &&
                    c.false_positive_rate >= 1e-12 && c.false_positive_rate <= 0.5;
    if (!ok) return MixErrc::bad_config;
    return {};
}

MixKeyring::MixKeyring(const KeyringConfig& config, RandomFill rng)
    : config_(config), rng_(std::move(rng)) {
    if (!validate(config_)) throw std::invalid_argument("mix keyring: settings out of range");
    capacity_ = replay_capacity(config_);
}

std::uint64_t MixKeyring::epoch_of(std::chrono::sys_seconds t) const {
    const auto s = std::max<std::int64_t>(0, t.time_since_epoch().count());
    return static_cast<std::uint64_t>(s) / static_cast<std::uint64_t>(config_.epoch.count());
}

std::chrono::sys_seconds MixKeyring::accept_from(const EpochKey& k) const {
    return k.pub.valid_from - config_.skew;
}

bool MixKeyring::accepting(const EpochKey& k, std::chrono::sys_seconds now) const {
    return now >= accept_from(k) && now < k.pub.valid_until;
}

std::size_t MixKeyring::budget(const EpochKey& k, std::chrono::sys_seconds now) const {
    const auto elapsed = std::max<std::int64_t>(0, (now - accept_from(k)).count());
    const auto seconds = static_cast<std::size_t>(elapsed) + config_.burst_seconds;
    return std::min(capacity_, seconds * config_.max_rate);
}

void MixKeyring::add(std::uint64_t epoch) {
    crypto::X25519Secret secret;
    rng_(secret.mut_view());
    const auto kp = crypto::X25519KeyPair::from_secret(secret);
    const std::chrono::sys_seconds start{config_.epoch * static_cast<std::int64_t>(epoch)};
    keys_.push_back(EpochKey{
        EpochPublic{epoch, kp.pub, start, start + config_.epoch + config_.overlap}, secret, {}});
}

void MixKeyring::update(std::chrono::sys_seconds now) {
    if (last_update_ && now < *last_update_) return;
    last_update_ = now;
    current_ = epoch_of(now);
    // Erasing a deque element wipes its secret (Secret's destructor) and its cache key.
    std::erase_if(keys_, [&](const EpochKey& k) { return now >= k.pub.valid_until; });
    // Keys are created in ascending order, each once, from the current epoch to `lead` ahead.
    const std::uint64_t last = epoch_of(now + config_.lead);
    std::uint64_t next = keys_.empty() ? *current_ : keys_.back().pub.epoch + 1;
    for (next = std::max(next, *current_); next <= last; ++next) add(next);
    for (auto& k : keys_) {
        if (k.cache || !accepting(k, now)) continue;
        try {
            k.cache.emplace(ReplayCacheConfig{capacity_, config_.false_positive_rate}, rng_);
        } catch (const std::bad_alloc&) {
            // Retried at the next update; until then this key's packets are cache_full.
        }
    }
}

Status MixKeyring::admit(EpochKey& k, const ReplayTag& tag, std::chrono::sys_seconds now) {
    if (!k.cache) {
        ++counters_.cache_full;
        return MixErrc::cache_full;
    }
    switch (k.cache->check_and_insert(tag, budget(k, now))) {
        case ReplayCache::Outcome::fresh:
            ++counters_.admitted;
            return {};
        case ReplayCache::Outcome::replayed:
            ++counters_.replayed;
            return MixErrc::replayed;
        case ReplayCache::Outcome::over_budget:
            ++counters_.rate_limited;
            return MixErrc::rate_limited;
        case ReplayCache::Outcome::full:
            break;
    }
    ++counters_.cache_full;
    return MixErrc::cache_full;
}

Result<Processed> MixKeyring::process(ByteView packet, std::chrono::sys_seconds now) {
    if (packet.size() < kPacketSize) return MixErrc::truncated;
    if (packet.size() > kPacketSize) return MixErrc::oversized;
    update(now);
    now = *last_update_;  // a clock that went back counts as the latest time seen
    // Current epoch first: nearly every packet uses it, so one X25519 for the MAC check.
    for (int pass = 0; pass < 2; ++pass)
        for (auto& key : keys_) {
            if ((pass == 0) != (key.pub.epoch == *current_) || !accepting(key, now)) continue;
            EpochKey* k = &key;
            auto r = process_packet(k->secret, packet,
                                    [&, k](const ReplayTag& tag) { return admit(*k, tag, now); });
            // Only a MAC failure says "not this key"; anything else came after it verified.
            if (r || r.error() != MixErrc::bad_mac) return r;
        }
    return MixErrc::bad_mac;
}

std::vector<EpochPublic> MixKeyring::public_keys() const {
    std::vector<EpochPublic> out;
    for (const auto& k : keys_) out.push_back(k.pub);
    return out;
}

std::optional<EpochPublic> MixKeyring::current() const {
    for (const auto& k : keys_)
        if (current_ && k.pub.epoch == *current_) return k.pub;
    return std::nullopt;
}

std::size_t MixKeyring::memory_bytes() const {
    std::size_t n = 0;
    for (const auto& k : keys_)
        if (k.cache) n += k.cache->memory_bytes();
    return n;
}

KeyringStats MixKeyring::stats() const {
    KeyringStats s = counters_;
    s.memory_bytes = memory_bytes();
    const auto now = last_update_.value_or(std::chrono::sys_seconds{});
    for (const auto& k : keys_) {
        if (!k.cache) continue;
        s.accepting.push_back(
            {k.pub.epoch, k.cache->size(), budget(k, now), k.cache->capacity(),
             static_cast<double>(k.cache->size()) / static_cast<double>(k.cache->capacity())});
    }
    return s;
}

}  // namespace zmesh::mix
