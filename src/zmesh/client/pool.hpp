#pragma once
// The client's circuits: one per isolation key (streams of different keys never share a
// circuit, as Tor's stream isolation), spare circuits built ahead of need, builds retried
// around the relay that failed, and the streams of a circuit that died moved to a new
// circuit to the same exit. Front ends (SOCKS5, HTTP CONNECT, the embedding API) ask it
// for streams; where paths come from is the caller's (a PathProvider).

#include <functional>
#include <map>
#include <memory>

#include "zmesh/circuit/node.hpp"
#include "zmesh/client/stream_handle.hpp"
#include "zmesh/core/clock.hpp"
#include "zmesh/stream/driver.hpp"

namespace zmesh::client {

namespace asio = boost::asio;

struct PoolStats {
    std::uint64_t streams_opened = 0;
    std::uint64_t streams_failed = 0;
    std::uint64_t circuits_built = 0;
    std::uint64_t circuits_failed = 0;
    std::uint64_t preemptive_used = 0;         // new isolation keys served by a ready circuit
    std::uint64_t recoveries = 0;              // circuits that died with streams to move
    std::uint64_t streams_resumed = 0;         // moved to a new circuit to the same exit
    std::uint64_t streams_lost = 0;            // could not be moved in time
    std::uint64_t streams_reset = 0;           // open streams that ended abnormally
    std::uint64_t overflow_circuits = 0;       // opened because a key's circuit was full
    zmesh::Clock::duration last_build_time{};  // CREATE sent to last EXTENDED
};

// What the pool reports to the node's event stream.
struct PoolEvent {
    enum class Kind { circuit_built, circuit_failed, circuit_closed, stream_opened, stream_failed };
    Kind kind;
    circuit::CircuitHandle circuit = 0;
    std::string detail;  // a reason or a build time; never a destination
};

struct PoolStreamInfo {
    circuit::CircuitHandle circuit = 0;
    stream::StreamInfo stream;
    std::string target;
};

// What a new circuit must satisfy: its exit accepts `port`; when `exit` is set, the path
// ends there (a replacement circuit for streams that outlived their relays); no relay in
// `avoid` (relays of the circuit that died); `hops` relays when not 0 (else the node's
// configured length); an exit with the abilities `needs` (discovery::ability_needed of
// the destination: .onion and .i2p names go only to exits that reach them).
struct PathRequest {
    std::uint16_t port = 0;
    std::optional<crypto::NodeId> exit;
    std::vector<crypto::NodeId> avoid;
    std::size_t hops = 0;
    std::uint8_t needs = 0;
};

class ClientPool {
  public:
    // A path for a new circuit (empty: none fits).
    using PathProvider = std::function<std::vector<circuit::PathHop>(const PathRequest&)>;
    struct Opened {
        std::shared_ptr<stream::MuxDriver> driver;
        std::uint16_t stream = 0;
    };
    using OpenHandler = std::function<void(std::optional<Opened>, stream::EndReason)>;
    using HandleHandler =
        std::function<void(std::shared_ptr<StreamHandle>, std::optional<stream::EndReason>)>;

    ClientPool(circuit::CircuitNode& node, PathProvider paths, stream::StreamConfig cfg = {});
    ~ClientPool();
    ClientPool(const ClientPool&) = delete;
    ClientPool& operator=(const ClientPool&) = delete;

    // Closes every circuit; nothing is built afterwards.
    void stop();

    // Opens a stream to "host:port" on the circuit for `isolation`, building it if needed;
    // the caller then attaches a socket to it (or reads and writes the mux itself). A new
    // circuit has `hops` relays when not 0 (the key should then name the length too, so
    // one key never asks for two lengths: the SOCKS user name `hops-N` does).
    void open(const std::string& isolation, const std::string& target, OpenHandler done,
              std::size_t hops = 0);
    // The same as a handle the application reads and writes (no socket). Such streams end
    // with their circuit (they are not moved to a new one).
    void open_handle(const std::string& isolation, const std::string& target, HandleHandler done);

    const PoolStats& stats() const { return stats_; }
    std::size_t circuits() const { return circuits_.size(); }
    void on_event(std::function<void(const PoolEvent&)> h) { event_handler_ = std::move(h); }
    // A stream that carried at least 1 MiB ended: bytes per second from its first to its
    // last received byte, on this circuit.
    void on_throughput(std::function<void(circuit::CircuitHandle, double)> h) {
        throughput_handler_ = std::move(h);
    }
    // New streams get new circuits; circuits without streams close now, the others once
    // their relays time them out (as Tor's NEWNYM).
    std::size_t new_identity();
    // Closes one circuit and its streams; false if it is not ours.
    bool close_circuit(circuit::CircuitHandle h);
    std::vector<PoolStreamInfo> streams() const;
    // What the last relay of `path` serves on `target` (a bootstrap node's directory), over
    // a circuit of its own (one hop allowed): the bytes up to the end of the stream, at most
    // `max`; nullopt when the circuit, the stream or the size fails.
    void fetch(std::vector<circuit::PathHop> path, const std::string& target, std::size_t max,
               std::function<void(std::optional<Bytes>)> done);
    // Keep this many circuits built ahead of need (0: none).
    void set_preemptive(std::size_t circuits);
    // How long streams of a circuit that died are kept trying to move to a new circuit to
    // the same exit (0: they end with the circuit).
    void set_resume_grace(zmesh::Clock::duration d) { resume_grace_ = d; }
    asio::any_io_executor executor() { return node_.link().executor(); }

  private:
    struct Circ;
    struct Recovery;
    class Handle;
    void on_client_event(const circuit::ClientEvent& ev);
    void on_mux_event(Circ& circ, const stream::MuxEvent& e);
    void close_when_spent(const Circ& circ);
    // The circuit died under its streams: move the open ones to a new circuit.
    void recover(const std::shared_ptr<Circ>& c, const circuit::ClientEvent& ev);
    void try_recover(const std::shared_ptr<Recovery>& r);
    void resume_on(const std::shared_ptr<Recovery>& r, const std::shared_ptr<Circ>& circ);
    void give_up(Recovery& r);
    void retry_build(const std::shared_ptr<Circ>& c);
    void drop_circuit(circuit::CircuitHandle h, stream::EndReason reason);
    void open_on(const std::shared_ptr<Circ>& c, const std::string& target, OpenHandler done,
                 bool resumable = true);
    // The circuit for `isolation` (a spare or a new build); null when none can be built.
    std::shared_ptr<Circ> circuit_for(const std::string& isolation, const std::string& target,
                                      std::size_t hops = 0);
    void when_built(const std::shared_ptr<Circ>& c, const std::string& target, OpenHandler done,
                    bool resumable);
    std::shared_ptr<Circ> build_circuit(const PathRequest& req);
    std::shared_ptr<Circ> start_circuit(std::vector<circuit::PathHop> path, const PathRequest& req,
                                        bool one_hop);
    void refill();
    void emit(PoolEvent::Kind k, circuit::CircuitHandle h, std::string detail) {
        if (event_handler_) event_handler_({k, h, std::move(detail)});
    }

    circuit::CircuitNode& node_;
    PathProvider paths_;
    stream::StreamConfig cfg_;
    std::map<std::string, std::shared_ptr<Circ>> circuits_;
    std::map<circuit::CircuitHandle, std::shared_ptr<Circ>> by_handle_;
    std::vector<std::shared_ptr<Circ>> spares_;
    std::size_t preemptive_ = 0;
    std::uint16_t spare_port_ = 443;
    zmesh::Clock::duration resume_grace_ = std::chrono::seconds(30);
    std::uint64_t identity_epoch_ = 0;  // NEWNYM count: a recovery never outlives one
    std::vector<std::shared_ptr<Recovery>> recovering_;
    PoolStats stats_;
    std::function<void(const PoolEvent&)> event_handler_;
    std::function<void(circuit::CircuitHandle, double)> throughput_handler_;
    bool stopped_ = false;
    std::shared_ptr<char> alive_ = std::make_shared<char>();  // expires with the pool
    // Last: it ends first, so no event reaches a pool being destroyed (stop() still hears
    // the closes it causes).
    Subscription events_;
};

const char* to_string(PoolEvent::Kind k);

}  // namespace zmesh::client
