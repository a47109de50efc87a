#pragma once
// The picture of the network a node knows (`zmesh topology`): its relays grouped by
// declared family and by /16 (IPv4) or /32 (IPv6) of their first address, exits and
// guards marked, bandwidth as pen width and latency as colour, and the node's own circuits
// drawn as paths from "you". Pure: relays and circuits in, Graphviz DOT or JSON text out.
//
// Privacy: the node itself is only "you", with no address and no id, and nothing here
// carries a stream's destination. Relays' addresses are public (descriptors).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zmesh::control {

// At most this many relays and circuits are read from a JSON file (a node keeps at most
// 10,000 descriptors).
inline constexpr std::size_t kMaxTopologyRelays = 100000;
inline constexpr std::size_t kMaxTopologyCircuits = 10000;

struct TopologyRelay {
    std::string id;                      // node id (hex)
    std::vector<std::string> addresses;  // TRANSPORT://HOST:PORT; the first one groups it
    std::vector<std::string> family;     // node ids its operator declares as family
    std::vector<std::string> flags;      // as published
    bool exit = false;
    bool guard = false;  // one of this node's guards
    bool configured = false;
    bool down = false;
    double advertised_bandwidth = 0;  // bytes per second
    std::optional<double> measured_bandwidth;
    std::optional<double> latency_ms;
    std::optional<double> reliability;

    // Measured if known, else advertised; 0: unknown.
    double bandwidth() const { return measured_bandwidth.value_or(advertised_bandwidth); }
};

struct TopologyCircuit {
    std::uint64_t id = 0;
    bool built = false;             // else still building
    std::vector<std::string> path;  // relay ids, first hop first
};

struct Topology {
    std::vector<TopologyRelay> relays;  // each id once (later duplicates are dropped)
    std::vector<TopologyCircuit> circuits;
};

// "10.1.0.0/16" for IPv4 (and v4-mapped) addresses, "2001:db8::/32" for IPv6, from a
// link address ("udp://10.1.2.3:7000", "[2001:db8::1]:7000", "10.1.2.3"); "unknown"
// when it names no IP address.
std::string subnet_of(std::string_view address);

// Relays that name each other as family (either way), linked transitively; only groups
// of two or more. Indices into `relays`, in input order.
std::vector<std::vector<std::size_t>> family_groups(const std::vector<TopologyRelay>& relays);

std::string topology_dot(const Topology& t);
std::string topology_json(const Topology& t);
// Reads what topology_json writes (derived fields are recomputed, unknown ones ignored).
// nullopt and a reason for a person when the text is not such a document.
std::optional<Topology> parse_topology_json(std::string_view text, std::string* why = nullptr);

}  // namespace zmesh::control
