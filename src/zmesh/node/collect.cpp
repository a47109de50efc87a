#include "zmesh/node/collect.hpp"

namespace zmesh::node {
namespace {

std::string words(std::string_view field) {
    std::string out(field);
    for (auto& c : out)
        if (c == '_') c = ' ';
    return out;
}

}  // namespace

void add_counters(Snapshot& s, const std::string& prefix, const std::string& what,
                  const std::vector<std::pair<std::string_view, std::uint64_t>>& fields,
                  const Labels& labels) {
    for (const auto& [name, value] : fields)
        s.add(prefix + std::string(name) + "_total", what + ": " + words(name) + ".",
              MetricType::counter, labels, static_cast<double>(value));
}

void collect_link(Snapshot& s, const link::LinkService& link, const Labels& node_labels) {
    Labels labels = node_labels;
    labels.emplace_back("transport", link.transport_name());
    collect_link(s, link.stats(), link.endpoint().session_count(),
                 {link.bytes_in(), link.bytes_out()}, labels);
    add_counters(s, "zmesh_link_", "Links",
                 {{"transmit_drops", link.transmit_drops()},
                  {"transport_rejects", link.transport_rejects()}},
                 labels);
    add_counters(s, "zmesh_transport_", "Link transport", link.transport_counters(), labels);
}

void collect_links(Snapshot& s, const link::LinkSet& links, const Labels& node_labels) {
    for (const auto& link : links.links()) collect_link(s, *link, node_labels);
}

void collect_link(Snapshot& s, const link::LinkStats& st, std::size_t sessions,
                  const LinkBytes& bytes, const Labels& labels) {
    add_counters(s, "zmesh_link_", "Links", st.fields(), labels);
    add_counters(s, "zmesh_link_", "Links", {{"bytes_in", bytes.in}, {"bytes_out", bytes.out}},
                 labels);
    s.add_histogram("zmesh_link_handshake_seconds",
                    "Links: handshakes this node started, first message to keys ready.", labels,
                    st.handshake_seconds);
    s.add("zmesh_link_sessions", "Links: sessions open now.", MetricType::gauge, labels,
          static_cast<double>(sessions));
}

void collect_relay(Snapshot& s, const circuit::RelayStats& st, std::size_t circuits,
                   const Labels& labels) {
    add_counters(s, "zmesh_relay_", "Relayed circuits",
                 {{"circuits_created", st.circuits_created},
                  {"circuits_destroyed", st.circuits_destroyed},
                  {"circuits_extended", st.circuits_extended},
                  {"extend_failed", st.extend_failed},
                  {"cells_forward", st.cells_forward},
                  {"cells_backward", st.cells_backward},
                  {"cells_delivered", st.cells_delivered},
                  {"cells_originated", st.cells_originated},
                  {"drop_integrity", st.drop_integrity},
                  {"drop_replayed", st.drop_replayed},
                  {"drop_unknown_circuit", st.drop_unknown_circuit},
                  {"drop_malformed", st.drop_malformed},
                  {"refused_table_full", st.refused_table_full},
                  {"pending_creates_evicted", st.pending_creates_evicted},
                  {"refused_handshake", st.refused_handshake},
                  {"refused_classical", st.refused_classical},
                  {"idle_closed", st.idle_closed},
                  {"refused_not_relay", st.refused_not_relay},
                  {"refused_extend", st.refused_extend},
                  {"refused_onion_key", st.refused_onion_key},
                  {"onion_key_rotations", st.onion_key_rotations},
                  {"handshakes_deferred", st.handshakes_deferred},
                  {"handshakes_abandoned", st.handshakes_abandoned}},
                 labels);
    s.add("zmesh_relay_circuits", "Relayed circuits: open now.", MetricType::gauge, labels,
          static_cast<double>(circuits));
}

void collect_client(Snapshot& s, const circuit::ClientStats& st, std::size_t circuits,
                    const Labels& labels) {
    add_counters(s, "zmesh_client_", "Client circuits",
                 {{"circuits_built", st.circuits_built},
                  {"circuits_failed", st.circuits_failed},
                  {"circuits_closed", st.circuits_closed},
                  {"cells_sent", st.cells_sent},
                  {"cells_received", st.cells_received},
                  {"drop_integrity", st.drop_integrity},
                  {"drop_replayed", st.drop_replayed},
                  {"drop_unknown_circuit", st.drop_unknown_circuit},
                  {"drop_malformed", st.drop_malformed},
                  {"probes_sent", st.probes_sent},
                  {"probes_repeated", st.probes_repeated},
                  {"dead_hops", st.dead_hops},
                  {"circuits_expired", st.expired},
                  {"watermark_closed", st.watermark_closed}},
                 labels);
    s.add("zmesh_client_circuits", "Client circuits: open now.", MetricType::gauge, labels,
          static_cast<double>(circuits));
    for (std::size_t hops = 1; hops <= circuit::kMaxHops; ++hops) {
        if (st.built_by_hops[hops] == 0 && st.failed_by_hops[hops] == 0) continue;
        Labels l = labels;
        l.emplace_back("hops", std::to_string(hops));
        s.add("zmesh_client_circuits_built_by_hops_total", "Client circuits built, by hop count.",
              MetricType::counter, l, static_cast<double>(st.built_by_hops[hops]));
        s.add("zmesh_client_circuits_failed_by_hops_total",
              "Client circuits that failed to build, by hop count.", MetricType::counter, l,
              static_cast<double>(st.failed_by_hops[hops]));
    }
    s.add_histogram("zmesh_client_circuit_build_seconds",
                    "Client circuits: first CREATE sent to last EXTENDED.", labels,
                    st.build_seconds);
}

void collect_directory(Snapshot& s, const discovery::Directory& dir, const Labels& labels) {
    const auto& st = dir.stats();
    add_counters(s, "zmesh_directory_", "Relay descriptors",
                 {{"accepted", st.accepted},
                  {"replaced", st.replaced},
                  {"stale", st.stale},
                  {"rejected_malformed", st.rejected_malformed},
                  {"rejected_oversized", st.rejected_oversized},
                  {"rejected_signature", st.rejected_signature},
                  {"rejected_expired", st.rejected_expired},
                  {"rejected_not_yet_valid", st.rejected_not_yet_valid},
                  {"rejected_lifetime", st.rejected_lifetime},
                  {"rejected_full", st.rejected_full},
                  {"purged", st.purged},
                  {"bundles_rejected", st.bundles_rejected}},
                 labels);
    s.add("zmesh_directory_relays", "Relay descriptors: verified and known now.", MetricType::gauge,
          labels, static_cast<double>(dir.size()));
}

void collect_fec(Snapshot& s, const stream::FecCounters& c, const Labels& labels) {
    add_counters(s, "zmesh_fec_", "Stream forward erasure coding (Tetrys)",
                 {{"repairs_sent", c.repairs_sent},
                  {"repairs_received", c.repairs_received},
                  {"recovered", c.recovered},
                  {"decode_failures", c.decode_failures},
                  {"loss_reports", c.loss_reports}},
                 labels);
}

void collect_pool(Snapshot& s, const client::PoolStats& st, const Labels& labels) {
    add_counters(s, "zmesh_proxy_", "Client streams",
                 {{"streams_opened", st.streams_opened},
                  {"streams_failed", st.streams_failed},
                  {"preemptive_used", st.preemptive_used},
                  {"recoveries", st.recoveries},
                  {"streams_resumed", st.streams_resumed},
                  {"streams_lost", st.streams_lost},
                  {"streams_reset", st.streams_reset},
                  {"overflow_circuits", st.overflow_circuits}},
                 labels);
    s.add("zmesh_client_last_circuit_build_seconds",
          "Client circuits: build time of the newest circuit.", MetricType::gauge, labels,
          std::chrono::duration<double>(st.last_build_time).count());
}

void collect_exit(Snapshot& s, const exit::ExitStats& es, std::size_t parked,
                  const Labels& labels) {
    add_counters(s, "zmesh_exit_", "Exit",
                 {{"streams_opened", es.streams_opened},
                  {"refused_policy", es.refused_policy},
                  {"resolve_failed", es.resolve_failed},
                  {"connect_failed", es.connect_failed},
                  {"streams_parked", es.streams_parked},
                  {"streams_resumed", es.streams_resumed},
                  {"resume_expired", es.resume_expired},
                  {"resume_unknown", es.resume_unknown},
                  {"directory_served", es.directory_served},
                  {"streams_reset", es.streams_reset},
                  {"upstream_connected", es.upstream_connected},
                  {"upstream_failed", es.upstream_failed},
                  {"refused_ability", es.refused_ability}},
                 labels);
    s.add("zmesh_exit_parked_streams",
          "Exit: streams of dead circuits waiting for their client to move them.",
          MetricType::gauge, labels, static_cast<double>(parked));
}

}  // namespace zmesh::node
