#pragma once
// Runs one StreamMux on a live circuit: sends what it produces, feeds it what arrives,
// keeps its timers, and moves bytes between its streams and TCP sockets (SocketPump).
// Used by the client's SOCKS entry and by the exit alike.

#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <set>
#include <unordered_map>

#include "zmesh/core/clock.hpp"
#include "zmesh/stream/mux.hpp"

namespace zmesh::stream {

namespace asio = boost::asio;

class SocketPump;

// A stream and the socket it carries, between two circuits: the socket stays open and
// unread (its bytes wait in the kernel) until the stream is adopted or dropped.
struct MovedStream {
    DetachedStream state;
    std::shared_ptr<SocketPump> pump;  // null if no socket was attached
    ~MovedStream();
    MovedStream(DetachedStream s, std::shared_ptr<SocketPump> p);
    MovedStream(MovedStream&&) noexcept;
    MovedStream& operator=(MovedStream&&) noexcept;
    // Gives up on the stream: the socket is reset.
    void drop();
};

class MuxDriver : public std::enable_shared_from_this<MuxDriver> {
  public:
    using Sender = std::function<Status(const circuit::RelayMessage&)>;
    using EventHandler = std::function<void(const MuxEvent&)>;

    MuxDriver(asio::any_io_executor ex, StreamMux::Side side, Sender send, StreamConfig cfg = {});
    ~MuxDriver();

    StreamMux& mux() { return mux_; }
    void on_event(EventHandler h) { handler_ = std::move(h); }
    // After every service pass (acknowledgements may have made room to write): for
    // writers that are not sockets.
    void on_serviced(std::function<void()> h) { serviced_ = std::move(h); }
    // A relay message from the circuit.
    void deliver(const circuit::RelayMessage& m);
    // Polls the mux, sends its output, re-arms the timer. Call after any change.
    void service();
    // A service pass soon, after the handler being run returns (coalesced): for changes
    // made from inside an event handler, such as an application reading from a callback.
    void service_soon();
    // Sends and dispatches what a direct call on mux() produced.
    void send_now(MuxOutput& out) { handle(out); }
    // The circuit is gone: every stream ends.
    void close_all(EndReason reason);

    // Joins a connected socket to stream `id` until either side ends.
    void attach(std::uint16_t id, asio::ip::tcp::socket socket);
    // Sends `data` on stream `id`, as fast as the stream takes it, then ends our side;
    // whatever the other end sends is read and dropped.
    void serve(std::uint16_t id, Bytes data);
    std::size_t attached() const { return pumps_.size(); }

    // Takes stream `id` and its socket off this circuit (nothing is said to the other end).
    std::optional<MovedStream> detach(std::uint16_t id);
    // Client: continues a moved stream here (ATTACH sent); the new id, or an error (then
    // the stream is dropped).
    Result<std::uint16_t> reattach(MovedStream s);
    // Exit: answers an `attach` event with the stream it names.
    Status adopt(std::uint16_t id, MovedStream s, ByteView peer_state);

  private:
    friend class SocketPump;
    void handle(MuxOutput& out);
    void arm_timer();
    std::vector<std::shared_ptr<SocketPump>> snapshot() const;

    asio::any_io_executor ex_;
    StreamMux mux_;
    Sender send_;
    EventHandler handler_;
    std::function<void()> serviced_;
    zmesh::Timer timer_;
    std::optional<TimePoint> armed_;  // the deadline the timer waits for, if any
    std::unordered_map<std::uint16_t, std::shared_ptr<SocketPump>> pumps_;
    // Readers waiting for send space (their stream's buffer was full): woken after a pass
    // that made room. Other pumps are woken by their own stream's events only: waking
    // every pump after every pass cost N^2 coroutines for N streams on a circuit.
    std::set<std::uint16_t> space_waiters_;
    struct Source {
        Bytes data;
        std::size_t sent = 0;
    };
    std::unordered_map<std::uint16_t, Source> sources_;
    void feed_sources();
    MuxOutput out_;
    bool servicing_ = false;
    bool again_ = false;  // service() was asked for during a pass
    bool service_posted_ = false;
    bool closed_ = false;
};

}  // namespace zmesh::stream
