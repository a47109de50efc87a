#pragma once
// Path selection: weighted random choice (latency, reliability, bandwidth and diversity
// scores, 40/30/20/10 by default) under hard rules: distinct relays, no two in the same
// /16 (IPv4) or /32 (IPv6) or declared family, an exit that accepts the destination port
// last, a guard first, and a transport in common between neighbours (the client and its
// first hop, each hop and the next). Random, not best-first: a client that always picked the top
// relays would be predictable. Pure.

#include <optional>
#include <random>
#include <vector>

#include "zmesh/discovery/peer_store.hpp"
#include "zmesh/link/address.hpp"

namespace zmesh::discovery {

struct Candidate {
    crypto::NodeId id;
    ByteArray<16> ip{};  // IPv6 or v4-mapped
    std::vector<crypto::NodeId> family;
    bool exit_ok = false;  // may end the path: an exit whose policy accepts the port
    double advertised_bandwidth = 0;
    // The transports it offers, as transport_bits; 0: not known, joins any neighbour.
    std::uint32_t transports = 0;
};

inline std::uint32_t transport_bit(link::TransportKind k) {
    return 1u << static_cast<unsigned>(k);
}
// Two neighbours on a path can be linked: a transport in common (or one not known).
inline bool can_link(std::uint32_t a, std::uint32_t b) {
    return a == 0 || b == 0 || (a & b) != 0;
}

struct Weights {
    double latency = 0.4;
    double reliability = 0.3;
    double bandwidth = 0.2;
    double diversity = 0.1;
};

// Same /16 (IPv4) or /32 (IPv6). Loopback addresses never match: relays on 127/8 exist
// only in test networks on one machine.
bool same_subnet(const ByteArray<16>& a, const ByteArray<16>& b);
// May not share a circuit: same relay, same subnet (unless `distinct_subnets` is off), or
// one names the other as family.
bool related(const Candidate& a, const Candidate& b, bool distinct_subnets = true);

// The weight of a candidate, in (0, 1].
double score(const Candidate& c, const PeerRecord* measured, double max_bandwidth, double crowding,
             const Weights& w);

// Indices into `cands`, first hop first; nullopt when no path satisfies the rules.
// `client_transports`: those the client can open its first link over (0: any).
// `distinct_subnets` off lets relays of one subnet share a path (circuit.distinct_subnets:
// networks whose relays all share one, as on a container network or in a cluster).
std::optional<std::vector<std::size_t>> select_path(const std::vector<Candidate>& cands,
                                                    const PeerStore& peers, std::uint64_t now,
                                                    const Weights& w, std::size_t hops,
                                                    std::mt19937_64& rng,
                                                    std::uint32_t client_transports = 0,
                                                    bool distinct_subnets = true);

// Keeps `count` guards: drops blacklisted ones and those older than `rotation_seconds`,
// then adds weighted-random usable candidates that are not related to the other guards.
void maintain_guards(PeerStore& peers, const std::vector<Candidate>& cands, std::uint64_t now,
                     const Weights& w, std::size_t count, std::uint64_t rotation_seconds,
                     std::mt19937_64& rng, bool distinct_subnets = true);

}  // namespace zmesh::discovery
