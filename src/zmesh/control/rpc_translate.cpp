#include "zmesh/control/rpc_translate.hpp"

#include <chrono>

#include "zmesh/control/metrics.hpp"

namespace zmesh::control {

v1::NodeStatus to_proto(const node::Status& n, const DaemonFacts& d) {
    v1::NodeStatus s;
    s.set_version(n.version);
    s.set_node_id(n.node_id);
    for (const auto& r : n.roles) s.add_roles(r);
    s.set_uptime_seconds(n.uptime_seconds);
    s.set_pid(d.pid);
    s.set_handshake(n.hybrid ? "hybrid" : "classical");
    s.set_require_post_quantum(n.require_post_quantum);
    s.set_seccomp(d.seccomp);
    for (const auto* list : {&n.listeners, &d.listeners})
        for (const auto& l : *list) {
            auto* out = s.add_listeners();
            out->set_kind(l.kind);
            out->set_address(l.address);
        }
    s.set_client_circuits(n.client_circuits);
    s.set_relay_circuits(n.relay_circuits);
    s.set_peers(n.peers);
    s.set_circuits_built(n.circuits_built);
    s.set_circuits_failed(n.circuits_failed);
    s.set_streams(n.streams);
    s.set_streams_opened(n.streams_opened);
    s.set_streams_failed(n.streams_failed);
    s.set_cells_relayed(n.cells_relayed);
    s.set_link_bytes_in(n.link_bytes_in);
    s.set_link_bytes_out(n.link_bytes_out);
    s.set_config_file(d.config_file);
    s.set_reloads(d.reloads);
    s.set_contact(n.contact);
    s.set_user(d.user);
    s.set_relays_known(n.relays_known);
    s.set_guards(n.guards);
    s.set_bootstrap(n.bootstrap);
    const auto& b = n.bootstrap_progress;
    auto* progress = s.mutable_bootstrap_progress();
    progress->set_percent(b.percent);
    progress->set_step(node::to_string(b.step));
    progress->set_last_event(b.last_event);
    progress->set_waiting_for(b.waiting_for);
    progress->set_seconds_waiting(b.seconds_waiting);
    return s;
}

v1::ListCircuitsResponse to_proto(const std::vector<node::CircuitInfo>& list) {
    v1::ListCircuitsResponse r;
    for (const auto& c : list) {
        auto* out = r.add_circuits();
        out->set_id(c.id);
        out->set_state(c.built ? "built" : "building");
        out->set_hops(static_cast<std::uint32_t>(c.path.size()));
        for (const auto& id : c.path) out->add_path(id);
        for (auto rtt : c.hop_rtt_ms) out->add_hop_rtt_ms(rtt);
        out->set_age_seconds(c.age_seconds);
        out->set_streams(c.streams);
    }
    return r;
}

v1::ListStreamsResponse to_proto(const std::vector<node::StreamInfo>& list) {
    v1::ListStreamsResponse r;
    for (const auto& s : list) {
        auto* out = r.add_streams();
        out->set_circuit(s.circuit);
        out->set_id(s.id);
        out->set_state(s.open ? "open" : "opening");
        out->set_target(s.target);
        out->set_bytes_out(s.bytes_out);
        out->set_bytes_in(s.bytes_in);
    }
    return r;
}

v1::ListPeersResponse to_proto(const std::vector<node::PeerInfo>& list) {
    v1::ListPeersResponse r;
    for (const auto& p : list) {
        auto* out = r.add_peers();
        out->set_session(p.session);
        out->set_address(p.address);
        out->set_node_key(p.node_key);
        out->set_direction(p.outbound ? "outbound" : "inbound");
        out->set_established(p.established);
        out->set_post_quantum(p.post_quantum);
        out->set_age_seconds(p.age_seconds);
        out->set_idle_seconds(p.idle_seconds);
    }
    return r;
}

v1::ListRelaysResponse to_proto(const std::vector<node::RelayInfo>& list) {
    v1::ListRelaysResponse r;
    for (const auto& k : list) {
        auto* out = r.add_relays();
        out->set_id(k.id);
        for (const auto& a : k.addresses) out->add_addresses(a);
        for (const auto& f : k.family) out->add_family(f);
        for (const auto& f : k.flags) out->add_flags(f);
        out->set_exit(k.exit);
        out->set_guard(k.guard);
        out->set_configured(k.configured);
        out->set_down(k.down);
        out->set_advertised_bandwidth(k.advertised_bandwidth);
        if (k.measured_bandwidth) out->set_measured_bandwidth(*k.measured_bandwidth);
        if (k.latency_ms) out->set_latency_ms(*k.latency_ms);
        if (k.reliability) out->set_reliability(*k.reliability);
    }
    return r;
}

v1::GetMetricsResponse render(const Snapshot& snap, v1::GetMetricsRequest::Format f) {
    v1::GetMetricsResponse r;
    switch (f) {
        case v1::GetMetricsRequest::JSON:
            r.set_content_type("application/json");
            r.set_body(to_json(snap));
            break;
        case v1::GetMetricsRequest::INFLUX:
            r.set_content_type("text/plain");
            r.set_body(to_influx(snap, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count()));
            break;
        default:
            r.set_content_type("text/plain; version=0.0.4");
            r.set_body(to_prometheus(snap));
            break;
    }
    return r;
}

}  // namespace zmesh::control
