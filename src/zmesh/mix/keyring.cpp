#include "zmesh/mix/keyring.hpp"

#include <algorithm>
#include <stdexcept>

namespace zmesh::mix {

MixKeyring::MixKeyring(const KeyringConfig& config, RandomFill rng)
    : config_(config), rng_(std::move(rng)) {
    if (config_.epoch.count() <= 0)
        throw std::invalid_argument("mix keyring: epoch must be positive");
    config_.overlap = std::clamp(config_.overlap, std::chrono::seconds{0}, config_.epoch);
    config_.lead = std::clamp(config_.lead, std::chrono::seconds{0}, config_.epoch);
}

std::uint64_t MixKeyring::epoch_of(std::chrono::sys_seconds t) const {
    const auto s = std::max<std::int64_t>(0, t.time_since_epoch().count());
    return static_cast<std::uint64_t>(s) / static_cast<std::uint64_t>(config_.epoch.count());
}

void MixKeyring::add(std::uint64_t epoch) {
    for (const auto& k : keys_)
        if (k.pub.epoch == epoch) return;
    crypto::X25519Secret secret;
    rng_(secret.mut_view());
    const auto kp = crypto::X25519KeyPair::from_secret(secret);
    const std::chrono::sys_seconds start{config_.epoch * static_cast<std::int64_t>(epoch)};
    EpochKey k{EpochPublic{epoch, kp.pub, start, start + config_.epoch + config_.overlap}, secret,
               ReplayCache(config_.cache, rng_)};
    auto at = std::find_if(keys_.begin(), keys_.end(),
                           [&](const EpochKey& e) { return e.pub.epoch > epoch; });
    keys_.insert(at, std::move(k));
}

void MixKeyring::update(std::chrono::sys_seconds now) {
    if (last_update_ && now < *last_update_) return;
    last_update_ = now;
    const std::uint64_t e = epoch_of(now);
    current_ = e;
    add(e);
    if (now + config_.lead >=
        std::chrono::sys_seconds{config_.epoch * static_cast<std::int64_t>(e + 1)})
        add(e + 1);
    // Erasing the deque element wipes the secret (Secret's destructor) and the cache key.
    std::erase_if(keys_, [&](const EpochKey& k) { return now >= k.pub.valid_until; });
}

Result<Processed> MixKeyring::process(ByteView packet) {
    if (packet.size() < kPacketSize) return MixErrc::truncated;
    if (packet.size() > kPacketSize) return MixErrc::oversized;
    // Current epoch first: nearly every packet uses it, so one X25519 for the MAC check.
    for (int pass = 0; pass < 2; ++pass)
        for (auto& key : keys_) {
            if ((pass == 0) != (current_ && key.pub.epoch == *current_)) continue;
            EpochKey* k = &key;
            auto r = process_packet(k->secret, packet, [k](const ReplayTag& tag) -> Status {
                switch (k->cache.check_and_insert(tag)) {
                    case ReplayCache::Outcome::fresh:
                        return {};
                    case ReplayCache::Outcome::replayed:
                        return MixErrc::replayed;
                    case ReplayCache::Outcome::full:
                        return MixErrc::cache_full;
                }
                return MixErrc::cache_full;
            });
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
    for (const auto& k : keys_) n += k.cache.memory_bytes();
    return n;
}

}  // namespace zmesh::mix
