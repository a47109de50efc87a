#pragma once
// What a node knows of the network's relays: verified descriptors by node id, bounded,
// newest per relay, expired ones purged. Bootstrap nodes serve the whole set as a bundle
// signed with their own identity key, so a client that knows the bootstrap's key (from its
// configuration) can tell that nobody on the way dropped or replayed entries. Pure.

#include <map>
#include <optional>

#include "zmesh/discovery/descriptor.hpp"

namespace zmesh::discovery {

inline constexpr std::size_t kMaxDirectorySize = 10000;
inline constexpr std::size_t kMaxBundleEntries = 4096;
inline constexpr std::size_t kMaxBundleSize = kMaxBundleEntries * (kMaxDescriptorSize + 2) + 256;

struct DirectoryStats {
    std::uint64_t accepted = 0;
    std::uint64_t replaced = 0;
    std::uint64_t stale = 0;  // an older or identical copy of one we have
    std::uint64_t rejected_malformed = 0;
    std::uint64_t rejected_oversized = 0;
    std::uint64_t rejected_signature = 0;
    std::uint64_t rejected_expired = 0;
    std::uint64_t rejected_not_yet_valid = 0;
    std::uint64_t rejected_lifetime = 0;
    std::uint64_t rejected_full = 0;
    std::uint64_t purged = 0;
    std::uint64_t bundles_rejected = 0;
};

class Directory {
  public:
    struct Entry {
        Descriptor descriptor;
        Bytes encoded;
    };
    enum class Outcome { accepted, replaced, stale, rejected };

    // Verifies and keeps the descriptor (the newest per relay). Every outcome is counted.
    Outcome insert(ByteView encoded, std::uint64_t now);
    void purge(std::uint64_t now);
    const std::map<crypto::NodeId, Entry>& entries() const { return entries_; }
    std::size_t size() const { return entries_.size(); }
    const DirectoryStats& stats() const { return stats_; }

    // A bundle of every descriptor, signed by `signer` at time `now`.
    Bytes make_bundle(const crypto::Identity& signer, std::uint64_t now) const;
    // Checks the bundle's signature against `signer` and its age (at most max_age seconds),
    // then inserts each descriptor. nullopt (counted) when the bundle itself is bad;
    // otherwise how many descriptors were accepted or replaced.
    std::optional<std::size_t> insert_bundle(ByteView bundle, const crypto::Ed25519Public& signer,
                                             std::uint64_t now, std::uint64_t max_age);

  private:
    std::map<crypto::NodeId, Entry> entries_;
    DirectoryStats stats_;
};

}  // namespace zmesh::discovery
