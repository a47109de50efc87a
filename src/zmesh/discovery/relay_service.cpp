#include "zmesh/discovery/relay_service.hpp"

#include <algorithm>

#include "zmesh/circuit/limits.hpp"

namespace zmesh::discovery {

std::optional<KnownRelay> known_relay(circuit::PathHop hop, bool exit,
                                      std::vector<crypto::NodeId> family,
                                      double advertised_bandwidth,
                                      std::vector<std::string> exit_policy,
                                      std::uint8_t abilities) {
    if (hop.hop.addresses.empty()) return std::nullopt;
    if (hop.hop.addresses.size() > circuit::kMaxHopAddresses)
        hop.hop.addresses.resize(circuit::kMaxHopAddresses);
    KnownRelay k;
    k.candidate.id = hop.hop.id;
    k.candidate.ip = link::ip_bytes(hop.hop.addresses.front().at.ip);
    for (const auto& a : hop.hop.addresses) k.candidate.transports |= transport_bit(a.kind);
    k.candidate.family = std::move(family);
    k.candidate.exit_ok = exit;
    k.candidate.advertised_bandwidth = advertised_bandwidth;
    k.hop = std::move(hop);
    k.exit_policy = std::move(exit_policy);
    k.abilities = exit ? abilities : 0;
    return k;
}

std::optional<KnownRelay> known_relay(const crypto::NodeId& id, const Descriptor& d) {
    if (!d.has(kFlagRelay)) return std::nullopt;
    circuit::PathHop hop;
    hop.hop.id = id;
    hop.hop.link_key = d.link_key;
    hop.onion = d.onion_key;
    // Every address: a relay this node cannot reach itself may still be a later hop.
    for (const auto& a : d.addresses)
        if (hop.hop.addresses.size() < circuit::kMaxHopAddresses)
            hop.hop.addresses.push_back({a.transport, {link::ip_from_bytes(a.ip.data()), a.port}});
    return known_relay(std::move(hop), d.has(kFlagExit), d.family, static_cast<double>(d.bandwidth),
                       d.exit_policy, d.flags & (kFlagOnion | kFlagI2p | kFlagUpstream));
}

std::vector<KnownRelay> RelayService::known() const {
    std::vector<KnownRelay> out;
    auto add = [&](std::optional<KnownRelay> k) {
        if (!k || std::any_of(out.begin(), out.end(), [&](const KnownRelay& o) {
                return o.candidate.id == k->candidate.id;
            }))
            return;
        out.push_back(std::move(*k));
    };
    for (const auto& k : configured_) add(k);
    for (const auto& [id, e] : directory_.entries())
        if (id != self_) add(known_relay(id, e.descriptor));
    return out;
}

bool RelayService::enough_for(std::size_t hops) const {
    auto relays = known();
    return relays.size() >= hops &&
           std::any_of(relays.begin(), relays.end(), [](const KnownRelay& k) { return k.exit(); });
}

PathChoice RelayService::pick_path(const PathQuery& q, const PathSettings& s, std::uint64_t now) {
    auto known = this->known();
    std::erase_if(known, [&](const KnownRelay& k) {
        return std::find(q.avoid.begin(), q.avoid.end(), k.candidate.id) != q.avoid.end();
    });
    std::vector<Candidate> cands;
    for (const auto& k : known) {
        auto c = k.candidate;
        if (c.exit_ok && !k.exit_policy.empty() && exit_filter_)
            c.exit_ok = exit_filter_(k.exit_policy, q.port);
        if (q.exit) c.exit_ok = c.exit_ok && c.id == *q.exit;
        if ((k.abilities & q.needs) != q.needs) c.exit_ok = false;
        cands.push_back(std::move(c));
    }
    // Guards are first hops: only relays this node has a transport in common with.
    std::vector<Candidate> guardable;
    for (const auto& c : cands)
        if (can_link(s.client_transports, c.transports)) guardable.push_back(c);
    maintain_guards(peers_, guardable, now, s.weights, s.guards, s.guard_rotation_seconds, rng_,
                    s.distinct_subnets);
    PathChoice out;
    out.candidates = cands.size();
    auto path = select_path(cands, peers_, now, s.weights, s.hops, rng_, s.client_transports,
                            s.distinct_subnets);
    if (!path && std::any_of(cands.begin(), cands.end(),
                             [&](const Candidate& c) { return peers_.blacklisted(c.id, now); })) {
        // Nothing fits without the blacklisted relays: try them again rather than none.
        PeerStore lifted = peers_;
        for (const auto& c : cands)
            if (lifted.blacklisted(c.id, now)) lifted.blacklist(c.id, 0, "");
        path = select_path(cands, lifted, now, s.weights, s.hops, rng_, s.client_transports,
                           s.distinct_subnets);
        out.retried_blacklisted = path.has_value();
    }
    if (path)
        for (auto i : *path) out.hops.push_back(known[i].hop);
    return out;
}

Verdict RelayService::observe(const circuit::ClientEvent& ev, std::uint64_t now) {
    using Kind = circuit::ClientEvent::Kind;
    if (ev.kind == Kind::built) {
        for (std::size_t i = 0; i < ev.path.size(); ++i) {
            peers_.observe_result(ev.path[i], true, now);
            if (i < ev.hop_times.size())
                peers_.observe_latency(
                    ev.path[i], std::chrono::duration<double, std::milli>(ev.hop_times[i]).count(),
                    now);
        }
        return {};
    }
    // A circuit the client gave up itself (a spare closed, the node stopping) says
    // nothing about the relay its build had reached.
    if (ev.kind == Kind::message || ev.abandoned || ev.failed_hop >= ev.path.size()) return {};
    const auto& id = ev.path[ev.failed_hop];
    peers_.observe_result(id, false, now);
    if (peers_.blacklisted(id, now)) return {};
    // A relay that stopped answering (liveness probes, a stalled build) or that its
    // neighbour could not reach is most likely down: it is left out of paths for a few
    // minutes, so new circuits and moved streams do not wait on it again.
    bool down = ev.kind == Kind::closed || ev.reason == circuit::DestroyReason::timeout ||
                ev.reason == circuit::DestroyReason::connect_failed;
    if (down) {
        peers_.blacklist(id, now + kDownSeconds, "stopped answering");
        return {Verdict::Kind::marked_down, id, kDownSeconds};
    }
    // A relay that keeps failing is set aside rather than retried.
    const auto* r = peers_.find(id);
    if (r && r->failures >= kSetAsideFailures && r->reliability < kSetAsideReliability) {
        peers_.blacklist(id, now + kSetAsideSeconds, "circuits keep failing at this relay");
        return {Verdict::Kind::set_aside, id, kSetAsideSeconds};
    }
    return {};
}

void RelayService::observe_throughput(const std::vector<crypto::NodeId>& path,
                                      double bytes_per_second, std::uint64_t now) {
    for (const auto& id : path) peers_.observe_bandwidth(id, bytes_per_second, now);
}

}  // namespace zmesh::discovery
