#pragma once
// The client's view of the relays: which it knows (configured contacts first, then the
// verified directory, itself never), how they did (the peer store: latency, reliability,
// bandwidth, the blacklist with down times, the guards), and the paths it builds from them
// (select_path under the guards). Pure: no I/O, time passed in as unix seconds, randomness
// from its own seeded generator. The node feeds it circuit outcomes and asks it for paths.

#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "zmesh/circuit/client_table.hpp"
#include "zmesh/discovery/directory.hpp"
#include "zmesh/discovery/limits.hpp"
#include "zmesh/discovery/path_select.hpp"
#include "zmesh/discovery/peer_store.hpp"

namespace zmesh::discovery {

// A relay that may go into a path: how a circuit reaches it and what selection weighs.
struct KnownRelay {
    circuit::PathHop hop;
    Candidate candidate;  // exit_ok: the relay is an exit (the port is checked per path)
    std::vector<std::string> exit_policy;  // as published; empty: any port
    std::uint8_t abilities = 0;            // kFlagOnion, kFlagI2p, kFlagUpstream
    bool exit() const { return candidate.exit_ok; }
};

// A relay known from a hand-copied contact (circuit.relays) or a descriptor. nullopt
// when it names no address (nothing to link to).
std::optional<KnownRelay> known_relay(circuit::PathHop hop, bool exit,
                                      std::vector<crypto::NodeId> family = {},
                                      double advertised_bandwidth = 0,
                                      std::vector<std::string> exit_policy = {},
                                      std::uint8_t abilities = 0);
std::optional<KnownRelay> known_relay(const crypto::NodeId& id, const Descriptor& d);

// What a new path must satisfy: its exit accepts `port` and has the abilities `needs`
// (ability_needed() of the destination: a .onion or .i2p name goes only to an exit that
// says it reaches it); when `exit` is set the path ends there; no relay in `avoid`.
struct PathQuery {
    std::uint16_t port = 0;
    std::optional<crypto::NodeId> exit;
    std::vector<crypto::NodeId> avoid;
    std::uint8_t needs = 0;
};

// The circuit.* options path choice reads, at the time of the choice.
struct PathSettings {
    Weights weights;
    std::size_t hops = 3;
    std::size_t guards = kDefaultGuards;
    std::uint64_t guard_rotation_seconds = kDefaultGuardRotationSeconds;
    // Transports this node can open its first link over (transport_bits; 0: any).
    std::uint32_t client_transports = 0;
    bool distinct_subnets = true;  // circuit.distinct_subnets
};

struct PathChoice {
    std::vector<circuit::PathHop> hops;  // first hop first; empty: no path fits the rules
    std::size_t candidates = 0;          // relays that were considered
    // No path fitted without relays marked down or set aside, so they were tried again
    // (as Tor retries its guards when all are down): a node's own overload or a brief
    // outage must not leave it without any path for minutes.
    bool retried_blacklisted = false;
};

// What a circuit's outcome did to the relay it failed at.
struct Verdict {
    enum class Kind { none, marked_down, set_aside };
    Kind kind = Kind::none;
    crypto::NodeId relay{};
    std::uint64_t seconds = 0;  // how long it is left out of paths
};

class RelayService {
  public:
    // Whether an exit with this published policy may accept connections on `port` (the
    // exit layer parses policies; it sits above this one). Unset: every exit may.
    using ExitFilter = std::function<bool(const std::vector<std::string>& policy, std::uint16_t)>;

    explicit RelayService(std::uint64_t seed = std::random_device{}()) : rng_(seed) {}

    // This node: never in its own paths.
    void set_self(const crypto::NodeId& id) { self_ = id; }
    // Relays named in the configuration; they come before the directory's.
    void set_configured(std::vector<KnownRelay> relays) { configured_ = std::move(relays); }
    const std::vector<KnownRelay>& configured() const { return configured_; }
    void set_exit_filter(ExitFilter f) { exit_filter_ = std::move(f); }

    Directory& directory() { return directory_; }
    const Directory& directory() const { return directory_; }
    PeerStore& peers() { return peers_; }
    const PeerStore& peers() const { return peers_; }

    // Every relay that may be put in a path, each once, configured ones first.
    std::vector<KnownRelay> known() const;
    // Enough relays for a `hops`-hop path, one of them an exit.
    bool enough_for(std::size_t hops) const;

    // A path for a new circuit; keeps the guards up to date first (among the relays the
    // node has a transport in common with).
    PathChoice pick_path(const PathQuery& q, const PathSettings& s, std::uint64_t now);

    // A circuit was built (each relay: a success and its hop's time) or failed or closed
    // (the relay it failed at: a failure, and down or set aside when it is likely dead or
    // keeps failing). Other events are ignored.
    Verdict observe(const circuit::ClientEvent& ev, std::uint64_t now);
    // A stream measured `bytes_per_second` over a circuit: every relay on it carried that.
    void observe_throughput(const std::vector<crypto::NodeId>& path, double bytes_per_second,
                            std::uint64_t now);

  private:
    std::optional<crypto::NodeId> self_;
    std::vector<KnownRelay> configured_;
    Directory directory_;
    PeerStore peers_;
    ExitFilter exit_filter_;
    std::mt19937_64 rng_;
};

}  // namespace zmesh::discovery
