#include "zmesh/circuit/onion_keys.hpp"

#include <algorithm>

namespace zmesh::circuit {

OnionKeys::OnionKeys(crypto::X25519KeyPair current, std::optional<TimePoint> created,
                     OnionKeyPolicy policy)
    : current_(std::move(current)), created_(created), policy_(policy) {}

bool OnionKeys::on_tick(TimePoint now) {
    // Erasing a Retired wipes its secret (crypto::Secret wipes on destruction and when
    // overwritten).
    std::erase_if(retired_, [&](const Retired& r) { return now >= r.until; });
    if (!created_) created_ = now;
    if (policy_.rotation <= Duration::zero() || now - *created_ < policy_.rotation) return false;
    rotate(now);
    return true;
}

std::optional<TimePoint> OnionKeys::next_deadline() const {
    std::optional<TimePoint> next;
    if (!created_)
        next = TimePoint::min();
    else if (policy_.rotation > Duration::zero())
        next = *created_ + policy_.rotation;
    for (const auto& r : retired_)
        if (!next || r.until < *next) next = r.until;
    return next;
}

void OnionKeys::rotate(TimePoint now) {
    crypto::X25519KeyPair replaced = current_;  // wiped when it goes out of scope
    current_ = crypto::X25519KeyPair::generate();
    if (policy_.overlap > Duration::zero()) add_retired(replaced, now + policy_.overlap);
    created_ = now;
    ++rotations_;
}

void OnionKeys::add_retired(const crypto::X25519KeyPair& key, TimePoint until) {
    if (key.pub == current_.pub) return;
    std::erase_if(retired_, [&](const Retired& r) { return r.key.pub == key.pub; });
    // Bounded: past kMaxOnionKeys the oldest replaced key goes first.
    while (!retired_.empty() && size() >= kMaxOnionKeys) retired_.erase(retired_.begin());
    retired_.push_back({key, until});
}

const crypto::X25519KeyPair* OnionKeys::find(const crypto::X25519Public& pub) const {
    if (pub == current_.pub) return &current_;
    for (const auto& r : retired_)
        if (r.key.pub == pub) return &r.key;
    return nullptr;
}

const crypto::X25519KeyPair* OnionKeys::previous() const {
    return retired_.empty() ? nullptr : &retired_.back().key;
}

}  // namespace zmesh::circuit
