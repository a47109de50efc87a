#pragma once
// The client's entry: a SOCKS5 port and an HTTP CONNECT port. Each connection becomes a
// stream on a circuit; connections with different SOCKS credentials get different
// circuits (stream isolation, as Tor does).

#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <map>
#include <memory>

#include "zmesh/circuit/node.hpp"
#include "zmesh/control/metrics.hpp"
#include "zmesh/stream/driver.hpp"

namespace zmesh::app {

namespace asio = boost::asio;

struct ProxyStats {
    std::uint64_t connections = 0;
    std::uint64_t streams_opened = 0;
    std::uint64_t streams_failed = 0;
    std::uint64_t bad_requests = 0;
    std::uint64_t circuits_built = 0;
    std::uint64_t circuits_failed = 0;
    std::uint64_t preemptive_used = 0;  // new isolation keys served by a ready circuit
    std::chrono::steady_clock::duration last_build_time{};  // CREATE sent to last EXTENDED
};

// What the proxy reports to the control API's event stream.
struct ProxyEvent {
    enum class Kind { circuit_built, circuit_failed, circuit_closed, stream_opened, stream_failed };
    Kind kind;
    circuit::CircuitHandle circuit = 0;
    std::string detail;  // a reason or a build time; never a destination
};
const char* to_string(ProxyEvent::Kind k);

struct ProxyStreamInfo {
    circuit::CircuitHandle circuit = 0;
    stream::StreamInfo stream;
    std::string target;
};

// The entry's counters as metric families.
void collect_proxy(control::Snapshot& s, const ProxyStats& st, const control::Labels& labels);

class ClientProxy {
  public:
    // A path for a new circuit whose first stream goes to `port` (its exit must accept it).
    using PathProvider = std::function<std::vector<circuit::PathHop>(std::uint16_t port)>;
    struct Opened {
        std::shared_ptr<stream::MuxDriver> driver;
        std::uint16_t stream = 0;
    };
    using OpenHandler = std::function<void(std::optional<Opened>, stream::EndReason)>;

    ClientProxy(circuit::CircuitNode& node, PathProvider paths, stream::StreamConfig cfg = {});
    ~ClientProxy();

    asio::ip::tcp::endpoint listen_socks(const asio::ip::tcp::endpoint& at);
    asio::ip::tcp::endpoint listen_http(const asio::ip::tcp::endpoint& at);
    void stop();

    // Opens a stream to "host:port" on the circuit for `isolation`, building it if needed.
    void open(const std::string& isolation, const std::string& target, OpenHandler done);
    const ProxyStats& stats() const { return stats_; }
    std::size_t circuits() const { return circuits_.size(); }
    void on_event(std::function<void(const ProxyEvent&)> h) { event_handler_ = std::move(h); }
    // Circuits built or failed, with their relays and timings (for peer measurements).
    void on_circuit_result(std::function<void(const circuit::ClientEvent&)> h) {
        result_handler_ = std::move(h);
    }
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
    std::vector<ProxyStreamInfo> streams() const;
    // Keep this many circuits built ahead of need (0: none).
    void set_preemptive(std::size_t circuits);

  private:
    struct Circ;
    void on_client_event(const circuit::ClientEvent& ev);
    void drop_circuit(circuit::CircuitHandle h, stream::EndReason reason);
    void open_on(const std::shared_ptr<Circ>& c, const std::string& target, OpenHandler done);
    std::shared_ptr<Circ> build_circuit(std::uint16_t port);
    void refill();
    asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, bool http);
    asio::awaitable<void> serve_socks(asio::ip::tcp::socket socket);
    asio::awaitable<void> serve_http(asio::ip::tcp::socket socket);
    // Opens and waits; nullopt and the reason on failure.
    asio::awaitable<std::pair<std::optional<Opened>, stream::EndReason>> open_async(
        const std::string& isolation, const std::string& target);

    circuit::CircuitNode& node_;
    PathProvider paths_;
    stream::StreamConfig cfg_;
    std::map<std::string, std::shared_ptr<Circ>> circuits_;
    std::map<circuit::CircuitHandle, std::shared_ptr<Circ>> by_handle_;
    std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors_;
    std::vector<std::shared_ptr<Circ>> spares_;
    std::size_t preemptive_ = 0;
    std::uint16_t spare_port_ = 443;
    ProxyStats stats_;
    std::function<void(const ProxyEvent&)> event_handler_;
    std::function<void(const circuit::ClientEvent&)> result_handler_;
    std::function<void(circuit::CircuitHandle, double)> throughput_handler_;
    bool stopped_ = false;
    void emit(ProxyEvent::Kind k, circuit::CircuitHandle h, std::string detail) {
        if (event_handler_) event_handler_({k, h, std::move(detail)});
    }
};

}  // namespace zmesh::app
