#pragma once
// One zmesh node: links, the circuit layer, the client's circuit pool, the exit, the
// directory, the DHT, descriptor publishing and fetching, path selection with guards and
// the peer store, assembled from typed Options. The daemon, the testnet, the tests and
// the public API all build nodes through this type and nothing else.
//
// Threading: a Node lives on the executor it is given. Every member function must be
// called there, and every callback (events, open_stream, stream handles) runs there.
// Nothing is shared with other threads, so nothing needs a lock.
//
// Results are plain structs: front ends (gRPC, the C API, the CLI) translate them.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zmesh/client/stream_handle.hpp"
#include "zmesh/node/bootstrap_progress.hpp"
#include "zmesh/node/metrics.hpp"
#include "zmesh/node/options.hpp"

namespace zmesh::client {
class ClientPool;
}

namespace zmesh::node {

inline constexpr const char* kVersion = "0.1.0";

struct Listener {
    std::string kind;     // link-udp, link-tcp, link-ws, link-webrtc, dht, directory
    std::string address;  // HOST:PORT as bound
};

struct Status {
    std::string version;
    std::string node_id;             // hex of the identity key hash
    std::vector<std::string> roles;  // Roles::names()
    std::uint64_t uptime_seconds = 0;
    bool hybrid = true;  // post-quantum hybrid handshakes offered
    bool require_post_quantum = false;
    std::vector<Listener> listeners;
    std::uint32_t client_circuits = 0;  // open now
    std::uint32_t relay_circuits = 0;   // open now
    std::uint32_t streams = 0;          // client streams open now
    std::uint32_t peers = 0;            // link sessions now
    std::uint64_t circuits_built = 0;
    std::uint64_t circuits_failed = 0;
    std::uint64_t streams_opened = 0;
    std::uint64_t streams_failed = 0;
    std::uint64_t cells_relayed = 0;  // forward and backward, as a relay
    std::uint64_t link_bytes_in = 0;
    std::uint64_t link_bytes_out = 0;
    std::string contact;  // relay roles: the contact line; else empty
    std::uint32_t relays_known = 0;
    std::uint32_t guards = 0;           // client role
    std::string bootstrap;              // bootstrap role: the line for others' core.bootstrap
    BootstrapState bootstrap_progress;  // how far from ready, and waiting for what
};

struct CircuitInfo {
    std::uint64_t id = 0;
    bool built = false;             // else still building
    std::vector<std::string> path;  // node ids (hex), first hop first
    std::vector<double> hop_rtt_ms;
    double age_seconds = 0;
    std::uint32_t streams = 0;
};

struct StreamInfo {
    std::uint64_t circuit = 0;
    std::uint32_t id = 0;
    bool open = false;   // else still opening
    std::string target;  // host:port as asked for
    std::uint64_t bytes_out = 0;
    std::uint64_t bytes_in = 0;
};

struct PeerInfo {
    std::uint64_t session = 0;
    // TRANSPORT://HOST:PORT for relays; "client" for anonymous peers (never an address).
    std::string address;
    std::string node_key;  // the peer's static link key (hex); empty for clients
    bool outbound = false;
    bool established = false;
    bool post_quantum = false;
    double age_seconds = 0;
    double idle_seconds = 0;
};

// A relay this node knows (configured in circuit.relays or from a verified descriptor) and
// what it measured of it. Relays' addresses are public (descriptors, contact lines).
struct RelayInfo {
    std::string id;                      // node id (hex)
    std::vector<std::string> addresses;  // TRANSPORT://HOST:PORT, as published
    std::vector<std::string> family;     // node ids its operator runs with it
    std::vector<std::string> flags;      // as published: relay, exit, guard, bootstrap
    bool exit = false;
    bool guard = false;                        // one of this node's guards
    bool configured = false;                   // named in circuit.relays
    bool down = false;                         // marked down or set aside now
    double advertised_bandwidth = 0;           // bytes per second, from its descriptor
    std::optional<double> measured_bandwidth;  // bytes per second, moving average
    std::optional<double> latency_ms;          // per-hop build time, moving average
    std::optional<double> reliability;         // 0 to 1; none before any circuit tried it
};

struct Event {
    enum class Kind {
        circuit_built,
        circuit_failed,
        circuit_closed,
        stream_opened,
        stream_failed,
        new_identity,
        reload,
        shutdown,
    };
    std::int64_t unix_ms = 0;
    Kind kind = Kind::circuit_built;
    std::uint64_t circuit = 0;
    std::string detail;  // reasons and timings; never a destination
};
const char* to_string(Event::Kind k);

// A line of bootstrap progress ("bootstrap: 30% a bootstrap node answered; waiting for
// ..."): each step once, and warnings while one takes long (docs/daemon.md).
struct BootstrapReport {
    std::string line;
    bool stuck = false;  // a warning that the node still waits for the same step
};

using StreamHandle = client::StreamHandle;
// `stream` on success; else null and why ("unreachable", "refused", "timeout",
// "resource", "not a client", "stopped", ...).
using OpenCallback = std::function<void(std::shared_ptr<StreamHandle> stream, std::string error)>;

class Node {
  public:
    Node(boost::asio::any_io_executor ex, Options options);
    ~Node();
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    // Creates or reads the keys, opens the links and the discovery ports, starts the
    // roles. False and `error` (what failed, for a person) when it cannot.
    bool start(std::string* error = nullptr);
    // Graceful end: closes every client circuit and destroys every relayed one (DESTROY
    // cells to both sides), saves the peer store, gives the links a short grace to send,
    // then stops them and calls `done`. Idempotent.
    void stop(std::function<void()> done = {});
    bool running() const;

    // Applies what may change while running (circuit.relays, hops, preemptive circuits,
    // idle timeout, exit policy, post-quantum requirement, transport order, path weights,
    // development shaping); the rest of `fresh` is ignored. Names the fields it applied.
    std::vector<std::string> reconfigure(const Options& fresh);
    const Options& options() const;

    Status status() const;
    std::vector<CircuitInfo> circuits() const;
    std::vector<StreamInfo> streams() const;
    std::vector<PeerInfo> peers() const;
    // The relays paths are drawn from, configured ones first (never this node).
    std::vector<RelayInfo> relays() const;
    // New streams get new circuits; idle circuits close now, busy ones when their streams
    // end. Returns how many circuits were retired.
    std::size_t new_identity();
    // Closes one client circuit and its streams; false if there is no such circuit.
    bool close_circuit(std::uint64_t id);

    // The metrics of every part of the node. `labels` go on every sample; `with_fec`
    // false leaves out the FEC counters (a testnet whose nodes share them adds them once).
    Snapshot metrics() const;
    void collect_metrics(Snapshot& into, const Labels& labels, bool with_fec = true) const;
    // A front end's own counters, added to every snapshot from now on.
    void add_metrics_source(std::function<void(Snapshot&, const Labels&)> source);

    // Events to every subscriber, in order; a subscriber may unsubscribe from its callback.
    // `shutdown` is the last event a node sends.
    // Returns the subscription, or 0 when kMaxSubscribers (64) are subscribed already.
    std::uint64_t subscribe(std::function<void(const Event&)> handler);
    void unsubscribe(std::uint64_t subscription);
    // Publishes an event of a front end (a refused reload) to the subscribers.
    void emit(Event::Kind kind, std::uint64_t circuit, std::string detail);
    // Where bootstrap progress lines go; set before start() to get them all. Without one
    // the node logs them at debug level (a testnet's or a simulation's many nodes would
    // fill an info log).
    void on_bootstrap(std::function<void(const BootstrapReport&)> handler);

    // Client role: a stream to host:port through a circuit of the `isolation` group
    // (streams of different groups never share a circuit). `done` runs once.
    void open_stream(const std::string& host, std::uint16_t port, const std::string& isolation,
                     OpenCallback done);

    // For front ends of this process (SOCKS5, HTTP CONNECT): the client's circuit pool;
    // null without the client role or before start().
    client::ClientPool* client_pool();
    // Relay roles: how clients name this node; bootstrap role: how nodes find it.
    std::optional<Contact> contact() const;
    std::optional<BootstrapNode> bootstrap_node() const;
    boost::asio::any_io_executor executor() const;

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace zmesh::node
