#pragma once
// A relay's onion keys over time. The onion key authenticates the relay in the hop
// handshake (ntor's B); hop keys are forward secret through the ephemerals, but a stolen
// onion key lets its thief impersonate the relay to every client that still uses it. So
// the key is replaced regularly: a new key is made and published in the next descriptor,
// the old one is still accepted for an overlap (clients holding the old descriptor can
// still build circuits), then erased. Pure: time comes in from the caller.

#include <optional>
#include <vector>

#include "zmesh/circuit/limits.hpp"
#include "zmesh/circuit/types.hpp"
#include "zmesh/crypto/keys.hpp"

namespace zmesh::circuit {

struct OnionKeyPolicy {
    Duration rotation = kOnionKeyRotation;  // zero: never rotate
    Duration overlap = kOnionKeyOverlap;
};

class OnionKeys {
  public:
    // `created`: when `current` was made (unknown: it counts as made at the first tick).
    OnionKeys(crypto::X25519KeyPair current, std::optional<TimePoint> created,
              OnionKeyPolicy policy = {});

    // Makes a new key when the current one is older than the rotation period, and erases
    // replaced keys whose overlap is over. True when the current key changed.
    bool on_tick(TimePoint now);
    // When on_tick() next has work (a rotation, a replaced key to erase; at once when the
    // creation time is still unknown); nullopt: never.
    std::optional<TimePoint> next_deadline() const;
    // A new current key now; the old one is accepted until now + overlap.
    void rotate(TimePoint now);
    // A replaced key still to be accepted until `until` (one kept across a restart).
    void add_retired(const crypto::X25519KeyPair& key, TimePoint until);

    // The accepted key whose public half a handshake names, if any.
    const crypto::X25519KeyPair* find(const crypto::X25519Public& pub) const;
    const crypto::X25519KeyPair& current() const { return current_; }
    // The newest replaced key still accepted, if any.
    const crypto::X25519KeyPair* previous() const;
    std::size_t size() const { return 1 + retired_.size(); }
    std::uint64_t rotations() const { return rotations_; }

  private:
    struct Retired {
        crypto::X25519KeyPair key;  // erased (its secret wiped) when dropped
        TimePoint until;
    };
    crypto::X25519KeyPair current_;
    std::optional<TimePoint> created_;
    OnionKeyPolicy policy_;
    std::vector<Retired> retired_;  // oldest first
    std::uint64_t rotations_ = 0;
};

}  // namespace zmesh::circuit
