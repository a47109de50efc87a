#pragma once
// Everything a Node is built from, as typed values: no TOML, no strings to parse. The
// daemon builds it from its configuration file (control::node_options), the testnet and
// the tests fill it in directly, the public API from its own settings. Every field has a
// working default for a loopback client.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zmesh/discovery/path_select.hpp"
#include "zmesh/exit/upstream.hpp"
#include "zmesh/fec/tetrys.hpp"
#include "zmesh/link/memory_link.hpp"
#include "zmesh/link/webrtc_link.hpp"
#include "zmesh/link/ws_link.hpp"
#include "zmesh/node/contact.hpp"
#include "zmesh/stream/stream.hpp"

namespace zmesh::node {

// What the node does; any combination. relay, exit and bootstrap all accept circuits.
struct Roles {
    bool client = false;     // builds circuits, opens streams (SOCKS5 front ends, open_stream)
    bool relay = false;      // forwards circuits
    bool exit = false;       // connects streams out under the exit policy
    bool bootstrap = false;  // keeps a directory of signed descriptors and serves it
    bool accepts_circuits() const { return relay || exit || bootstrap; }
    // "client", "relay", "exit", "bootstrap": those set, in that order.
    std::vector<std::string> names() const;
};

struct LinkOptions {
    // Listen addresses, one link per transport; unset: that transport is off. Port 0
    // takes any free port (Node::status() lists the ports bound).
    std::optional<link::SocketAddress> udp;
    std::optional<link::SocketAddress> tcp;
    std::optional<link::SocketAddress> ws;
    std::optional<link::SocketAddress> webrtc;
    // Set: the `udp` link is simulated on this in-memory network instead of a socket
    // (link/memory_link.hpp; simulated networks in tests). Shaping options do not apply.
    std::shared_ptr<link::MemoryNetwork> memory;
    link::WsOptions ws_options;          // path, Host header, TLS (certificate loaded)
    link::WebRtcOptions webrtc_options;  // signaling path, ICE addresses, STUN/TURN, TLS
    // Where other nodes reach this relay: with one link this address replaces its own,
    // with several its IP replaces theirs. Unset: the listen addresses.
    std::optional<link::SocketAddress> advertise;
    // Transports in the order they are tried for a peer that offers several (empty: the
    // link layer's default order).
    std::vector<link::TransportKind> order;
    bool hybrid = true;                 // X25519 + ML-KEM-768 handshakes (else classical)
    bool require_post_quantum = false;  // refuse classical-only link and hop handshakes
    // Development shaping of the UDP link: dropped fraction, added delay, bytes/s (0: off).
    double packet_loss = 0;
    std::chrono::milliseconds fake_latency{0};
    std::uint64_t bandwidth_limit = 0;
};

struct DiscoveryOptions {
    std::vector<BootstrapNode> bootstrap;                 // where to publish / fetch descriptors
    std::optional<link::SocketAddress> dht_listen;        // OpenDHT node; unset: none
    std::optional<link::SocketAddress> directory_listen;  // bootstrap role: HTTP directory
    // Relays: other relays of the same operator, published so that no circuit uses two of
    // them (at most discovery::kMaxFamily; this node's own id is left out).
    std::vector<crypto::NodeId> family;
};

struct CircuitOptions {
    std::size_t hops = 3;         // 2..8
    std::vector<Contact> relays;  // named by hand, used with the discovered ones
    std::size_t guards = 3;
    std::chrono::seconds guard_rotation{60 * 86400};
    std::size_t preemptive = 2;               // circuits built ahead of need
    std::chrono::seconds resume_grace{30};    // streams of a dead circuit may move this long
    std::size_t max_circuits = 65536;         // relayed circuits at once
    std::chrono::seconds idle_timeout{600};   // relayed circuits without traffic
    std::chrono::seconds max_lifetime{3600};  // client circuits are replaced after this
    // EXTEND may name private and loopback addresses (a loopback network needs it).
    bool allow_private_addresses = false;
    // No two relays of one /16 (IPv4) or /32 (IPv6) on a path; off where all relays share
    // one (a container network, a cluster).
    bool distinct_subnets = true;
    discovery::Weights weights;  // path selection
    // A relay's threads: its event loop, and the rest compute CREATE handshakes. 0: one per
    // core; 1: handshakes on the event loop too.
    std::size_t threads = 0;
};

struct ExitOptions {
    // Rules as `security.exit_policy` writes them, first match wins.
    std::vector<std::string> policy{"reject *:25", "accept *:*"};
    bool allow_private = false;  // private and loopback destinations (loopback testnets)
    // Upstream proxies (exit.onion_proxy, exit.i2p_proxy, exit.upstream; docs/exits.md).
    std::optional<exit::ProxyAddress> onion_proxy;
    std::optional<exit::ProxyAddress> i2p_proxy;
    std::optional<exit::ProxyAddress> upstream;
};

struct Options {
    Roles roles;
    // Keys (identity.key, onion.key, created 0600 on first start) and the peer store
    // (peers.json). Empty: fresh keys in memory and nothing written (testnets, embedding).
    std::filesystem::path data_dir;
    LinkOptions links;
    DiscoveryOptions discovery;
    CircuitOptions circuit;
    ExitOptions exit;
    // Tetrys repair on the streams this node sends (unset: none).
    std::optional<fec::TetrysConfig> fec = fec::TetrysConfig{};
    // FEC counters; several nodes of one process may share one (the testnet shows one
    // set). Null: the node keeps its own.
    std::shared_ptr<stream::FecCounters> fec_counters;
};

// What is wrong with `o` ("circuit.hops: ..."), one line per problem; empty when a Node
// can start with it (files and ports are checked by start()).
std::vector<std::string> problems(const Options& o);

}  // namespace zmesh::node
