#pragma once
// Turns the counters of the lower layers into metric families.

#include "zmesh/circuit/client_table.hpp"
#include "zmesh/circuit/relay_table.hpp"
#include "zmesh/client/pool.hpp"
#include "zmesh/discovery/directory.hpp"
#include "zmesh/exit/exit_service.hpp"
#include "zmesh/link/link_set.hpp"
#include "zmesh/link/stats.hpp"
#include "zmesh/node/metrics.hpp"
#include "zmesh/stream/stream.hpp"

namespace zmesh::node {

// One counter family per field: PREFIX<field>_total, help "WHAT: field words.".
void add_counters(Snapshot& s, const std::string& prefix, const std::string& what,
                  const std::vector<std::pair<std::string_view, std::uint64_t>>& fields,
                  const Labels& labels);

struct LinkBytes {
    std::uint64_t in = 0;
    std::uint64_t out = 0;
};
void collect_link(Snapshot& s, const link::LinkStats& stats, std::size_t sessions,
                  const LinkBytes& bytes, const Labels& labels);
// A node's link service, as above with a transport label ("udp", "webrtc", ...), its
// drops and what the transport itself counts.
void collect_link(Snapshot& s, const link::LinkService& link, const Labels& labels);
// Every link of a node, as above (one set of samples per transport).
void collect_links(Snapshot& s, const link::LinkSet& links, const Labels& labels);
void collect_relay(Snapshot& s, const circuit::RelayStats& stats, std::size_t circuits,
                   const Labels& labels);
void collect_client(Snapshot& s, const circuit::ClientStats& stats, std::size_t circuits,
                    const Labels& labels);
void collect_directory(Snapshot& s, const discovery::Directory& dir, const Labels& labels);

// Forward erasure coding of a node's streams.
void collect_fec(Snapshot& s, const stream::FecCounters& c, const Labels& labels);

// The client pool's streams (zmesh_proxy_*, the names the SOCKS5 entry always had) and
// the newest circuit's build time.
void collect_pool(Snapshot& s, const client::PoolStats& st, const Labels& labels);
void collect_exit(Snapshot& s, const exit::ExitStats& st, std::size_t parked, const Labels& labels);

}  // namespace zmesh::node
