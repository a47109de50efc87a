#pragma once
// What this node has measured of the relays it used, kept across restarts under the data
// directory: latency, reliability and bandwidth as exponentially weighted moving averages
// of real observations, a blacklist with expiry, and the client's guards. Bounded (the
// least recently seen entries go first). Pure: the daemon reads and writes the file.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "zmesh/crypto/identity.hpp"

namespace zmesh::discovery {

inline constexpr std::size_t kMaxPeers = 10000;
inline constexpr double kEwmaWeight = 0.2;  // of each new observation

struct PeerRecord {
    std::optional<double> latency_ms;  // EWMA of per-hop extend times
    double reliability = 0.5;          // EWMA of 1 (circuit built) / 0 (failed at this hop)
    std::optional<double> bandwidth;   // EWMA of measured bytes per second
    std::uint64_t successes = 0;
    std::uint64_t failures = 0;
    std::uint64_t last_seen = 0;          // unix seconds
    std::uint64_t blacklisted_until = 0;  // unix seconds; 0: not blacklisted
    std::string blacklist_reason;
    std::uint64_t guard_since = 0;  // unix seconds; 0: not a guard
};

class PeerStore {
  public:
    void observe_latency(const crypto::NodeId& id, double ms, std::uint64_t now);
    void observe_result(const crypto::NodeId& id, bool ok, std::uint64_t now);
    void observe_bandwidth(const crypto::NodeId& id, double bytes_per_second, std::uint64_t now);
    void blacklist(const crypto::NodeId& id, std::uint64_t until, std::string reason);
    bool blacklisted(const crypto::NodeId& id, std::uint64_t now) const;

    // Guards: a small persistent set of first hops.
    std::vector<crypto::NodeId> guards() const;
    void make_guard(const crypto::NodeId& id, std::uint64_t now);
    void drop_guard(const crypto::NodeId& id);

    const PeerRecord* find(const crypto::NodeId& id) const;
    std::size_t size() const { return peers_.size(); }

    // JSON text; parse() refuses malformed input with a reason and keeps at most kMaxPeers.
    std::string serialize() const;
    static std::optional<PeerStore> parse(std::string_view text, std::string* why = nullptr);

  private:
    PeerRecord& touch(const crypto::NodeId& id, std::uint64_t now);
    std::map<crypto::NodeId, PeerRecord> peers_;
};

}  // namespace zmesh::discovery
