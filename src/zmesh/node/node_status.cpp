// What a node reports about itself: status, listings and metrics, as plain structs.
#include <algorithm>
#include <map>

#include "zmesh/core/clock.hpp"
#include "zmesh/node/collect.hpp"
#include "zmesh/node/net_options.hpp"
#include "zmesh/node/node_impl.hpp"

namespace zmesh::node {

Status Node::Impl::status() const {
    Status s;
    s.version = kVersion;
    s.roles = opts_.roles.names();
    s.hybrid = opts_.links.hybrid;
    s.require_post_quantum = opts_.links.require_post_quantum;
    s.listeners = listeners_;
    if (progress_) s.bootstrap_progress = progress_->state(zmesh::Clock::now());
    if (!running_) return s;
    s.node_id = crypto::node_id_string(identity_->node_id());
    s.uptime_seconds = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(zmesh::Clock::now() - started_).count());
    s.client_circuits = static_cast<std::uint32_t>(circuits_->client().size());
    s.relay_circuits = static_cast<std::uint32_t>(circuits_->relay().size());
    s.peers = static_cast<std::uint32_t>(links_->session_count());
    const auto& cs = circuits_->client().stats();
    s.circuits_built = cs.circuits_built;
    s.circuits_failed = cs.circuits_failed;
    if (pool_) {
        s.streams = static_cast<std::uint32_t>(pool_->streams().size());
        s.streams_opened = pool_->stats().streams_opened;
        s.streams_failed = pool_->stats().streams_failed;
    }
    const auto& rs = circuits_->relay().stats();
    s.cells_relayed = rs.cells_forward + rs.cells_backward;
    for (const auto& link : links_->links()) {
        s.link_bytes_in += link->bytes_in();
        s.link_bytes_out += link->bytes_out();
    }
    if (contact_) s.contact = format_contact(*contact_);
    s.relays_known = static_cast<std::uint32_t>(relays_.known().size());
    s.guards = static_cast<std::uint32_t>(relays_.peers().guards().size());
    if (bootstrap_) s.bootstrap = format_bootstrap(*bootstrap_);
    return s;
}

std::vector<CircuitInfo> Node::Impl::circuits() const {
    std::vector<CircuitInfo> out;
    if (!circuits_) return out;
    std::map<circuit::CircuitHandle, std::uint32_t> streams;
    if (pool_)
        for (const auto& s : pool_->streams()) ++streams[s.circuit];
    auto now = circuit::Clock::now();
    for (const auto& c : circuits_->client().list()) {
        CircuitInfo i;
        i.id = c.handle;
        i.built = c.built;
        for (const auto& id : c.path) i.path.push_back(crypto::node_id_string(id));
        for (auto rtt : c.hop_rtt)
            i.hop_rtt_ms.push_back(std::chrono::duration<double, std::milli>(rtt).count());
        i.age_seconds = std::chrono::duration<double>(now - c.started).count();
        i.streams = streams[c.handle];
        out.push_back(std::move(i));
    }
    return out;
}

std::vector<StreamInfo> Node::Impl::streams() const {
    std::vector<StreamInfo> out;
    if (!pool_) return out;
    for (const auto& s : pool_->streams())
        out.push_back({s.circuit, s.stream.id, s.stream.open, s.target, s.stream.bytes_out,
                       s.stream.bytes_in});
    return out;
}

std::vector<PeerInfo> Node::Impl::peers() const {
    std::vector<PeerInfo> out;
    if (!links_) return out;
    auto now = link::Clock::now();
    for (const auto& link : links_->links()) {
        for (const auto& p : link->endpoint().sessions()) {
            PeerInfo i;
            i.session = p.id;
            // Anonymous (NK) peers are clients: their addresses are not ours to show.
            if (p.remote_static) {
                auto at = link->peer_address(p.address);
                i.address = std::string(link->transport_name()) + "://" +
                            (at ? format_socket_address(*at) : "closed");
                i.node_key = to_hex(p.remote_static->view());
            } else {
                i.address = "client";
            }
            i.outbound = p.initiator;
            i.established = p.established;
            i.post_quantum = p.hybrid;
            i.age_seconds = std::chrono::duration<double>(now - p.created).count();
            i.idle_seconds = std::chrono::duration<double>(now - p.last_received).count();
            out.push_back(std::move(i));
        }
    }
    return out;
}

std::vector<RelayInfo> Node::Impl::relays() const {
    std::vector<RelayInfo> out;
    auto now = unix_now();
    const auto guards = relays_.peers().guards();
    const auto& configured = relays_.configured();
    for (const auto& k : relays_.known()) {
        const auto& id = k.candidate.id;
        RelayInfo r;
        r.id = crypto::node_id_string(id);
        for (const auto& a : k.hop.hop.addresses) r.addresses.push_back(format_link_address(a));
        for (const auto& f : k.candidate.family) r.family.push_back(crypto::node_id_string(f));
        if (auto e = directory_.entries().find(id); e != directory_.entries().end()) {
            r.flags = e->second.descriptor.flag_names();
        } else {
            r.flags.emplace_back("relay");  // a contact line: relay, perhaps exit
            if (k.exit()) r.flags.emplace_back("exit");
        }
        r.exit = k.exit();
        r.guard = std::find(guards.begin(), guards.end(), id) != guards.end();
        r.configured = std::any_of(configured.begin(), configured.end(),
                                   [&](const auto& c) { return c.candidate.id == id; });
        r.down = relays_.peers().blacklisted(id, now);
        r.advertised_bandwidth = k.candidate.advertised_bandwidth;
        if (const auto* m = relays_.peers().find(id)) {
            r.measured_bandwidth = m->bandwidth;
            r.latency_ms = m->latency_ms;
            if (m->successes + m->failures > 0) r.reliability = m->reliability;
        }
        out.push_back(std::move(r));
    }
    return out;
}

void Node::Impl::collect_metrics(Snapshot& snap, const Labels& l, bool with_fec) const {
    if (!running_) return;
    collect_links(snap, *links_, l);
    collect_relay(snap, circuits_->relay().stats(), circuits_->relay().size(), l);
    collect_client(snap, circuits_->client().stats(), circuits_->client().size(), l);
    collect_directory(snap, directory_, l);
    if (dht_)
        snap.add("zmesh_dht_good_nodes", "DHT: nodes answering in the routing table.",
                 MetricType::gauge, l, static_cast<double>(dht_->good_nodes()));
    if (pool_) collect_pool(snap, pool_->stats(), l);
    if (with_fec) collect_fec(snap, *fec_counters_, l);
    if (exit_) collect_exit(snap, exit_->stats(), exit_->parked(), l);
    if (progress_)
        snap.add("zmesh_bootstrap_progress",
                 "Bootstrap progress in percent: 100 once the node is ready (docs/daemon.md).",
                 MetricType::gauge, l, progress_->percent());
    snap.add("zmesh_uptime_seconds", "Seconds since the node started.", MetricType::gauge, l,
             std::chrono::duration<double>(zmesh::Clock::now() - started_).count());
    for (const auto& source : metric_sources_) source(snap, l);
}

}  // namespace zmesh::node
