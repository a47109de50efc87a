#pragma once
// The relay side of the circuit layer: every circuit passing through this node, as a
// pure state machine. Cells from links go in with the time; cells to send, link
// requests, messages for the local exit and closed circuits come out.
//
// A relay keeps per circuit only its hop keys, its replay window, a backward counter
// and the two link circuits it joins. It keeps no stream state.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "zmesh/circuit/limits.hpp"
#include "zmesh/circuit/ntor.hpp"
#include "zmesh/circuit/onion_keys.hpp"
#include "zmesh/circuit/relay_crypto.hpp"
#include "zmesh/circuit/types.hpp"
#include "zmesh/core/fair_table.hpp"

namespace zmesh::circuit {

struct RelayStats {
    std::uint64_t circuits_created = 0;
    std::uint64_t circuits_destroyed = 0;
    std::uint64_t circuits_extended = 0;
    std::uint64_t extend_failed = 0;
    std::uint64_t cells_forward = 0;
    std::uint64_t cells_backward = 0;
    std::uint64_t cells_delivered = 0;   // relay messages for this node (exit, extend)
    std::uint64_t cells_originated = 0;  // relay messages from this node (exit answers, ...)
    std::uint64_t drop_integrity = 0;    // a forward cell failed its tag: circuit torn down
    std::uint64_t drop_replayed = 0;
    std::uint64_t drop_unknown_circuit = 0;
    std::uint64_t drop_malformed = 0;
    std::uint64_t refused_table_full = 0;
    std::uint64_t pending_creates_evicted = 0;  // unfinished CREATEs displaced by newer ones
    std::uint64_t refused_handshake = 0;
    std::uint64_t refused_classical = 0;  // classical handshake while post-quantum is required
    std::uint64_t idle_closed = 0;
    std::uint64_t refused_not_relay = 0;  // CREATE at a node without the relay role
    // EXTEND to an internal address, to this relay or back to the previous hop.
    std::uint64_t refused_extend = 0;
    // Of refused_handshake: CREATE naming an onion key no longer (or never) held.
    std::uint64_t refused_onion_key = 0;
    std::uint64_t onion_key_rotations = 0;
    // CREATE handshakes given to worker threads, and answers that found their circuit
    // gone (its link closed, or the client destroyed it while waiting).
    std::uint64_t handshakes_deferred = 0;
    std::uint64_t handshakes_abandoned = 0;
};

struct RelayConfig {
    crypto::NodeId id;
    crypto::X25519KeyPair onion;
    bool accept_circuits = true;  // the relay role: CREATE is refused without it
    // Deliver stream messages that end here to the local stream service: the exit, or a
    // bootstrap node's directory.
    bool exit = false;
    bool require_post_quantum = false;  // refuse classical-only hop handshakes
    // When `onion` was made (unset: at the first tick), and how keys rotate after it.
    std::optional<TimePoint> onion_created;
    OnionKeyPolicy onion_policy;
    // This relay's static link key (EXTEND to it is refused; unset: checked by id only).
    std::optional<crypto::X25519Public> link_key;
    // EXTEND to loopback, private and link-local addresses (a test network on one host).
    bool allow_private_addresses = false;
    std::size_t max_circuits = 65536;
    Duration idle_timeout = std::chrono::minutes(10);
    Duration extend_timeout = std::chrono::seconds(15);
    // Cells per circuit and direction before the circuit must be replaced (at most
    // kMaxCellsPerDirection: the counter never wraps).
    std::uint32_t max_cells_per_direction = kMaxCellsPerDirection;
    // Hand CREATE handshakes out as HandshakeJobs (RelayOutput::handshakes) instead of
    // computing them here: the caller runs them on worker threads and answers with
    // finish_create(). The cells of other circuits then do not wait behind them.
    bool defer_handshakes = false;
};

// A CREATE's handshake, to compute on any thread (ntor_server needs nothing else): the
// onion key is a copy, wiped with the job.
struct HandshakeJob {
    LinkCircuit circuit;
    std::uint64_t ticket = 0;  // tells this CREATE from a later one with the same id
    // Set by the table when the circuit goes before the answer (DESTROY, link closed): a
    // worker that has not started skips the work.
    std::shared_ptr<std::atomic<bool>> cancelled;
    crypto::NodeId id;
    crypto::X25519KeyPair onion;
    HandshakeType type = HandshakeType::ntor_x25519;
    Bytes onionskin;
};

struct RelayOutput {
    std::vector<CellOut> cells;
    std::vector<LinkRequest> links;
    struct Delivery {
        LinkCircuit circuit;  // how to answer: send_backward(circuit, ...)
        RelayMessage message;
    };
    std::vector<Delivery> delivered;
    std::vector<LinkCircuit> closed;       // circuits the local exit must forget
    std::vector<HandshakeJob> handshakes;  // defer_handshakes: to compute, then finish_create
    void clear() {
        handshakes.clear();
        cells.clear();
        links.clear();
        delivered.clear();
        closed.clear();
    }
};

class RelayTable {
  public:
    explicit RelayTable(RelayConfig config);
    ~RelayTable();

    void on_cell(PeerRef from, const wire::Cell& cell, TimePoint now, RelayOutput& out);
    void on_link_ready(std::uint64_t request, PeerRef peer, TimePoint now, RelayOutput& out);
    void on_link_failed(std::uint64_t request, RelayOutput& out);
    // A link went down: every circuit using it is destroyed towards its other side.
    void on_link_closed(PeerRef peer, RelayOutput& out);
    // The local exit answers on a circuit that ends here.
    Status send_backward(const LinkCircuit& circuit, const RelayMessage& m, TimePoint now,
                         RelayOutput& out);
    void destroy(const LinkCircuit& circuit, DestroyReason reason, RelayOutput& out);
    // The answer to a HandshakeJob, given exactly once for every job handed out: the
    // circuit is created (CREATED goes out) or refused. Dropped and counted when the
    // job's link or circuit went away meanwhile.
    void finish_create(const LinkCircuit& circuit, std::uint64_t ticket,
                       Result<NtorServerResult> reply, TimePoint now, RelayOutput& out);
    // Jobs handed out and not answered yet (also those whose circuit went away: their
    // worker time is spent all the same). At most kMaxHandshakesInProgress.
    std::size_t handshakes_in_progress() const { return jobs_out_; }
    // Every circuit, both directions (shutdown).
    void destroy_all(DestroyReason reason, RelayOutput& out);
    // Options that may change while running (SIGHUP).
    void set_require_post_quantum(bool on) { cfg_.require_post_quantum = on; }
    void set_idle_timeout(Duration d) { cfg_.idle_timeout = d; }
    void set_defer_handshakes(bool on) { cfg_.defer_handshakes = on; }
    // The soonest any input (a cell, a link event) can put a new deadline: the extend and
    // idle timeouts start at the input; onion keys move only on ticks.
    // How often next_deadline() walked the table (it costs O(circuits)).
    std::uint64_t deadline_scans() const { return deadline_scans_; }
    Duration min_new_deadline() const { return std::min(cfg_.extend_timeout, cfg_.idle_timeout); }
    // The static link key of the neighbour on a link, when it has one (relays do, clients
    // do not): EXTEND back to the previous hop is refused.
    using PeerKeyLookup = std::function<std::optional<crypto::X25519Public>(PeerRef)>;
    void set_peer_key_lookup(PeerKeyLookup f) { peer_key_ = std::move(f); }
    OnionKeys& onion_keys() { return onion_keys_; }
    const OnionKeys& onion_keys() const { return onion_keys_; }
    // Called with each forward cell number this relay's layer accepts: what a relay learns
    // of the counters (diagnostics, and the tests that check it reveals no position).
    using ForwardTap = std::function<void(const LinkCircuit& prev, std::uint32_t number)>;
    void set_forward_tap(ForwardTap tap) { forward_tap_ = std::move(tap); }
    void on_tick(TimePoint now, RelayOutput& out);
    // When on_tick() next has work (extend and idle timeouts, onion key rotation); nullopt:
    // none. Scans every circuit: callers cache it (CircuitNode).
    std::optional<TimePoint> next_deadline() const;

    std::size_t size() const { return circuits_.size(); }
    const RelayStats& stats() const { return stats_; }
    const RelayConfig& config() const { return cfg_; }

  private:
    struct Circuit;
    Circuit* by_prev(const LinkCircuit& c);
    Circuit* by_next(const LinkCircuit& c);
    void on_create(const LinkCircuit& lc, const wire::Cell& cell, TimePoint now, RelayOutput& out);
    void on_create_continue(const LinkCircuit& lc, const wire::Cell& cell, TimePoint now,
                            RelayOutput& out);
    void accept_create(const LinkCircuit& lc, HandshakeType type, ByteView handshake, TimePoint now,
                       RelayOutput& out);
    void answer_create(const LinkCircuit& lc, Result<NtorServerResult>& reply, TimePoint now,
                       RelayOutput& out);
    void on_created(Circuit& c, const wire::Cell& cell, TimePoint now, RelayOutput& out);
    void on_forward(Circuit& c, const wire::Cell& cell, TimePoint now, RelayOutput& out);
    void on_backward(Circuit& c, const wire::Cell& cell, TimePoint now, RelayOutput& out);
    void on_message(Circuit& c, const Body& body, TimePoint now, RelayOutput& out);
    // False when the circuit ran out of backward cells and was destroyed.
    bool originate(Circuit& c, const RelayMessage& m, RelayOutput& out);
    void remove(Circuit& c, RelayOutput& out);
    std::uint32_t allocate_id(PeerRef peer);

    RelayConfig cfg_;
    mutable std::uint64_t deadline_scans_ = 0;
    OnionKeys onion_keys_;
    PeerKeyLookup peer_key_;
    std::unordered_map<std::uint64_t, std::unique_ptr<Circuit>> circuits_;
    std::uint64_t next_serial_ = 1;
    std::unordered_map<LinkCircuit, Circuit*, LinkCircuitHash> prev_index_;
    std::unordered_map<LinkCircuit, Circuit*, LinkCircuitHash> next_index_;
    std::unordered_map<std::uint64_t, Circuit*> pending_links_;
    struct PendingCreate {
        HandshakeType type = HandshakeType::ntor_x25519;
        Bytes handshake;
        std::size_t total = 0;
        TimePoint started{};
    };
    // By link and circuit id: a link's flood displaces only its own (kMaxPendingCreates*).
    FairTable<PeerRef, std::uint32_t, PendingCreate> pending_creates_{kMaxPendingCreatesPerLink,
                                                                      kMaxPendingCreates};
    // CREATEs whose handshake a worker computes (defer_handshakes): their ids are taken.
    struct Working {
        std::uint64_t ticket = 0;
        std::shared_ptr<std::atomic<bool>> cancelled;
    };
    std::unordered_map<LinkCircuit, Working, LinkCircuitHash> working_;
    std::uint64_t next_ticket_ = 1;
    std::size_t jobs_out_ = 0;
    // Forgets a CREATE being computed; its job is told to skip the work.
    void cancel_working(std::unordered_map<LinkCircuit, Working, LinkCircuitHash>::iterator it);
    std::uint64_t next_request_ = 1;
    RelayStats stats_;
    ForwardTap forward_tap_;
};

}  // namespace zmesh::circuit
