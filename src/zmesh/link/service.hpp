#pragma once
// Thin I/O around an Endpoint: runs its timers (one Asio timer armed for the endpoint's
// next deadline, re-armed after every step), hands delivered cells and events to the
// layer above, and sends packets through a transport (UDP or TCP, see the subclasses).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <functional>
#include <memory>

#include "zmesh/core/clock.hpp"
#include "zmesh/link/address.hpp"
#include "zmesh/link/endpoint.hpp"

namespace zmesh::link {

namespace asio = boost::asio;

// The UDP form of a PeerAddress: IPv6 or v4-mapped address, then the port.
PeerAddress to_peer_address(const SocketAddress& a);
// Connection-oriented transports (TCP, WebSocket) name a peer by its connection number.
PeerAddress conn_address(std::uint64_t id);
std::uint64_t conn_id(const PeerAddress& p);
SocketAddress from_peer_address(const PeerAddress& p);

// A co_spawn completion handler that logs why a coroutine ended, if it threw.
std::function<void(std::exception_ptr)> log_exit(const char* what);

class LinkService {
  public:
    using CellHandler = std::function<void(SessionId, const wire::Cell&)>;
    using EventHandler = std::function<void(const LinkEvent&)>;

    LinkService(asio::any_io_executor ex, EndpointConfig config);
    virtual ~LinkService();
    LinkService(const LinkService&) = delete;
    LinkService& operator=(const LinkService&) = delete;

    void on_cell(CellHandler h) { cell_handler_ = std::move(h); }
    void on_event(EventHandler h) { event_handler_ = std::move(h); }

    // Starts receiving and the timer. Call once.
    virtual void start();
    virtual void stop();
    virtual Result<SessionId> connect(const SocketAddress& to, const crypto::X25519Public& key,
                                      noise::Pattern pattern) = 0;
    virtual SocketAddress local_address() const = 0;
    // What this link speaks; its name (to_string) is the metrics' transport label.
    virtual TransportKind transport_kind() const = 0;
    const char* transport_name() const { return to_string(transport_kind()); }
    // What the transport itself counts (refused requests, failed connections, ...).
    virtual std::vector<std::pair<std::string_view, std::uint64_t>> transport_counters() const {
        return {};
    }
    // The network address behind a peer, when there is one (nullopt for a closed TCP
    // connection).
    virtual std::optional<SocketAddress> peer_address(const PeerAddress& p) const {
        return from_peer_address(p);
    }

    Status send_cell(SessionId id, const wire::Cell& cell);
    // Sends many cells with one flush of the transport.
    std::size_t send_cells(SessionId id, std::span<const wire::Cell> cells);
    void close(SessionId id);
    // A session cannot outlive its connection: when a connection drops, its sessions close
    // at once (a relay that died is noticed in milliseconds, not after the keepalive).
    void close_sessions_at(const PeerAddress& p);
    bool established(SessionId id) const { return endpoint_.established(id); }
    const LinkStats& stats() const { return endpoint_.stats(); }
    Endpoint& endpoint() { return endpoint_; }
    const Endpoint& endpoint() const { return endpoint_; }
    asio::any_io_executor executor() const { return ex_; }
    // Packets the transport could not send (full buffers, dead connections).
    std::uint64_t transmit_drops() const { return transmit_drops_; }
    // Input the transport refused before the endpoint saw it (wrong-sized datagrams,
    // broken TCP framing).
    std::uint64_t transport_rejects() const { return transport_rejects_; }
    // Packets whose handling threw (a bug, or memory exhaustion): logged, counted, dropped.
    std::uint64_t internal_errors() const { return internal_errors_; }
    // Link packet bytes handed to and received from the transport.
    std::uint64_t bytes_in() const { return bytes_in_; }
    std::uint64_t bytes_out() const { return bytes_out_; }
    // When the timer next fires (nullopt: it does not wait), and how often it fired.
    std::optional<TimePoint> armed_deadline() const { return armed_; }
    std::uint64_t timer_wakeups() const { return wakeups_; }

  protected:
    // Sends out_.packets (the transport may keep some queued); called after every step.
    virtual void transmit(std::vector<Outgoing>& packets) = 0;
    // Hands cells and events up, sends packets and re-arms the timer.
    void flush();
    // One packet into the endpoint; never throws. False when it threw (counted).
    bool receive(const PeerAddress& from, ByteView packet, TimePoint now);
    // Arms the timer for the endpoint's next deadline if that is earlier than the one it
    // waits for.
    void arm_timer();
    void on_timer();

    asio::any_io_executor ex_;
    Endpoint endpoint_;
    Output out_;
    Output spare_;
    bool flushing_ = false;
    std::uint64_t transmit_drops_ = 0;
    std::uint64_t transport_rejects_ = 0;
    std::uint64_t internal_errors_ = 0;
    std::uint64_t bytes_in_ = 0;
    std::uint64_t bytes_out_ = 0;
    bool stopped_ = false;

  private:
    zmesh::Timer timer_;
    std::optional<TimePoint> armed_;  // when the timer fires, if it waits
    std::uint64_t wakeups_ = 0;
    TimePoint last_tick_{};  // the timer's last wake-up (kMinTimerGap from the next)
    bool started_ = false;
    std::shared_ptr<char> alive_ = std::make_shared<char>();  // expires with this service
    CellHandler cell_handler_;
    EventHandler event_handler_;
};

}  // namespace zmesh::link
