#pragma once
// The client side of the circuit layer: builds circuits hop by hop (CREATE to the first
// relay, then EXTEND through the circuit to each next one), onion-encrypts relay
// messages and checks and decrypts what comes back. Pure state machine.

#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "zmesh/circuit/limits.hpp"
#include "zmesh/circuit/relay_crypto.hpp"
#include "zmesh/circuit/types.hpp"
#include "zmesh/core/histogram.hpp"

namespace zmesh::circuit {

// A relay as a path names it: where and how to reach it, and its onion key.
struct PathHop {
    NextHop hop;
    crypto::X25519Public onion;
};

using CircuitHandle = std::uint64_t;

struct ClientEvent {
    enum class Kind { built, failed, closed, message };
    Kind kind;
    CircuitHandle circuit = 0;
    DestroyReason reason = DestroyReason::none;
    std::size_t hop = 0;    // message: which hop it came from (0 = first)
    RelayMessage message;   // message
    Duration build_time{};  // built
    // built: each hop's share of the build (CREATE or EXTEND sent to its answer).
    std::vector<Duration> hop_times;
    // built, failed and closed: the relays of the circuit. failed: the hop it failed at;
    // closed: the hop that stopped answering probes, or path.size() when none did.
    std::vector<crypto::NodeId> path;
    std::size_t failed_hop = 0;
    // failed and closed: the client gave the circuit up itself (closed it, or the node
    // stopped): no relay is to blame, and a build given up is no failed build.
    bool abandoned = false;
};

struct ClientOutput {
    std::vector<CellOut> cells;
    std::vector<LinkRequest> links;
    std::vector<ClientEvent> events;
    void clear() {
        cells.clear();
        links.clear();
        events.clear();
    }
};

struct ClientStats {
    std::uint64_t circuits_built = 0;
    std::uint64_t circuits_failed = 0;
    std::uint64_t circuits_closed = 0;
    std::uint64_t cells_sent = 0;
    std::uint64_t cells_received = 0;
    std::uint64_t drop_integrity = 0;
    std::uint64_t drop_replayed = 0;
    std::uint64_t drop_unknown_circuit = 0;
    std::uint64_t drop_malformed = 0;
    // By the circuit's hop count (index = hops).
    std::array<std::uint64_t, kMaxHops + 1> built_by_hops{};
    std::array<std::uint64_t, kMaxHops + 1> failed_by_hops{};
    Histogram build_seconds;            // first CREATE sent to last EXTENDED
    std::uint64_t probes_sent = 0;      // liveness probes (a PING to every hop)
    std::uint64_t probes_repeated = 0;  // of them: sent again because a hop had not answered
    std::uint64_t dead_hops = 0;        // circuits closed because a hop stopped answering
    std::uint64_t expired = 0;          // circuits closed at their maximum lifetime
    // Circuits closed because a hop reported more missing or reordered cells than loss
    // explains (a drop or reorder watermark, docs/protocol.md).
    std::uint64_t watermark_closed = 0;
};

// A circuit as the control API shows it.
struct CircuitInfo {
    CircuitHandle handle = 0;
    bool built = false;
    TimePoint started{};
    std::vector<crypto::NodeId> path;
    // Round-trip time to each hop: from the last liveness probe it answered, else from
    // the build.
    std::vector<Duration> hop_rtt;
};

struct ClientConfig {
    // Hybrid (X25519 + ML-KEM-768) by default: hop keys stay confidential against a
    // future quantum computer.
    HandshakeType handshake = HandshakeType::ntor_x25519_mlkem768;
    std::size_t max_circuits = 1024;
    // A build taking longer than 4 times the median of the last builds (at least
    // min_build_timeout, at most build_timeout; build_timeout until there are 5) has
    // stalled: it fails at the hop it waits for, so a relay that died is found in seconds
    // rather than after the full timeout.
    Duration build_timeout = std::chrono::seconds(30);
    Duration min_build_timeout = std::chrono::seconds(2);
    // Liveness: a built circuit that was sent cells and has carried nothing back for
    // `stall_after` (at least; 3 round trips when that is longer) is probed with a PING to
    // every hop; a hop that has not answered within `probe_timeout` (or 4 round trips) is
    // dead and the circuit is closed. Zero turns probing off.
    Duration stall_after = std::chrono::milliseconds(150);
    Duration probe_timeout = std::chrono::milliseconds(200);
    // Probes a hop must leave unanswered in a row to be dead: a PING or its PONG may be
    // lost (at 2% loss per link, one probe in nine to the third hop is), and a lost probe
    // must not close a working circuit and mark its relays down.
    std::uint32_t probe_attempts = 3;
    // A circuit built this long ago is closed (reason `lifetime`) so that its streams move
    // to a fresh one (the stream layer's resume). Zero: no limit.
    Duration max_lifetime = kMaxCircuitLifetime;
    // Drop and reorder watermarks: every hop's PONG reports how many forward cells
    // reached its layer and how many of them came out of order. A hop whose missing plus
    // reordered cells exceed `watermark_slack` plus `loss_allowance` of the cells sent
    // through it for each link on the way (i + 1 links to hop i) closes the circuit.
    // A built circuit is probed every `report_every` cells to its last hop (0: only when
    // it stalls), so busy circuits report too.
    std::uint32_t watermark_slack = 4;
    double loss_allowance = 0.05;
    std::uint32_t report_every = 2048;
};

class ClientTable {
  public:
    explicit ClientTable(ClientConfig config = {});
    ~ClientTable();

    // Starts building a circuit through `path` (kMinHops..kMaxHops relays; one relay when
    // `one_hop_ok`, for directory fetches).
    Result<CircuitHandle> build(std::vector<PathHop> path, TimePoint now, ClientOutput& out,
                                bool one_hop_ok = false);
    void on_link_ready(std::uint64_t request, PeerRef peer, TimePoint now, ClientOutput& out);
    void on_link_failed(std::uint64_t request, ClientOutput& out);
    void on_link_closed(PeerRef peer, ClientOutput& out);
    void on_cell(PeerRef from, const wire::Cell& cell, TimePoint now, ClientOutput& out);
    // Sends a relay message to the last hop of a built circuit.
    Status send(CircuitHandle h, const RelayMessage& m, TimePoint now, ClientOutput& out);
    void close(CircuitHandle h, ClientOutput& out);
    void on_tick(TimePoint now, ClientOutput& out);
    // When on_tick() next has work (build timeouts, lifetimes, liveness probes); nullopt:
    // none.
    std::optional<TimePoint> next_deadline() const;
    // Sends a PING to every hop of a built circuit (at most one probe at a time).
    Status probe(CircuitHandle h, TimePoint now, ClientOutput& out);

    bool is_built(CircuitHandle h) const;
    // Still in the table: building or built (a build that failed at once is not).
    bool contains(CircuitHandle h) const { return circuits_.contains(h); }
    // Whether a cell on this link circuit belongs to one of our circuits.
    bool owns(const LinkCircuit& lc) const { return index_.contains(lc); }
    std::size_t hop_count(CircuitHandle h) const;
    // The build timeout in force now (see ClientConfig).
    Duration build_timeout() const;
    std::size_t size() const { return circuits_.size(); }
    const ClientStats& stats() const { return stats_; }
    std::vector<CircuitInfo> list() const;
    // Closes every circuit, telling the first hops (shutdown).
    void close_all(DestroyReason reason, ClientOutput& out);

  private:
    struct Circuit;
    Circuit* find(CircuitHandle h);
    void fail(Circuit& c, DestroyReason reason, bool send_destroy, ClientOutput& out,
              std::optional<std::size_t> dead_hop = std::nullopt, bool abandoned = false);
    // False when the hop's report closed the circuit.
    bool on_pong(Circuit& c, std::size_t hop, ByteView data, TimePoint now, ClientOutput& out);
    void check_liveness(Circuit& c, TimePoint now, ClientOutput& out);
    void on_hop_done(Circuit& c, ByteView reply, TimePoint now, ClientOutput& out);
    Status send_to_hop(Circuit& c, std::size_t hop, const RelayMessage& m, ClientOutput& out);

    ClientConfig cfg_;
    std::unordered_map<CircuitHandle, std::unique_ptr<Circuit>> circuits_;
    std::unordered_map<LinkCircuit, Circuit*, LinkCircuitHash> index_;
    std::unordered_map<std::uint64_t, Circuit*> pending_links_;
    std::deque<Duration> recent_builds_;  // the last 20 build times
    CircuitHandle next_handle_ = 1;
    std::uint64_t next_request_ = 1;
    ClientStats stats_;
};

}  // namespace zmesh::circuit
