#pragma once
// The embedding core under both public APIs (include/zmesh/zmesh.h, zmesh.hpp): a Node (or a
// loopback Testnet) on an io_context run by a thread this object owns. Calls from other
// threads are posted there and waited for; calls on that thread (from callbacks) run
// directly. Every function returns an Error value, never throws, and refuses bad input
// (empty handles, stopped nodes, closed streams, oversized buffers) with a code.
//
// One mutex guards what waiting threads look at (the run state, readiness, each stream's
// wake-up generation) and one condition variable wakes them; everything else belongs to
// the node thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "zmesh/node/node.hpp"
#include "zmesh/node/testnet.hpp"
#include "zmesh/zmesh.h"

namespace zmesh::api {

// The same numbers as zmesh_result in zmesh.h.
enum class Code : int {
    ok = 0,
    invalid = -1,
    stopped = -2,
    timeout = -3,
    closed = -4,
    too_big = -5,
    network = -6,
    would_block = -7,
    internal = -8,
};
const char* code_name(Code c);
zmesh_event_kind event_kind(node::Event::Kind k);

struct Error {
    Code code = Code::ok;
    std::string message;
    explicit operator bool() const { return code != Code::ok; }
};
inline Error ok() {
    return {};
}

inline constexpr std::size_t kMaxWrite = std::size_t{16} << 20;  // ZMESH_MAX_WRITE
inline constexpr std::size_t kMaxHost = 255;                     // a DNS name's limit
inline constexpr int kMaxTestnetRelays = 64;                     // nodes of one in-process network
// How long stop() waits for the graceful end before it ends the loop anyway.
inline constexpr std::chrono::seconds kStopGrace{10};
// How long a testnet's client has to build its first circuit (wait_ready's own timeout
// may be shorter).
inline constexpr std::chrono::seconds kReadyLimit{120};

// Negative: no limit.
using Timeout = std::chrono::milliseconds;

// The status counters both APIs hand out (zmesh_status, zmesh::NodeStatus), by name.
template <class Out>
void copy_counts(const node::Status& s, Out& out) {
    out.uptime_seconds = s.uptime_seconds;
    out.client_circuits = s.client_circuits;
    out.relay_circuits = s.relay_circuits;
    out.streams = s.streams;
    out.peers = s.peers;
    out.relays_known = s.relays_known;
    out.guards = s.guards;
    out.circuits_built = s.circuits_built;
    out.circuits_failed = s.circuits_failed;
    out.streams_opened = s.streams_opened;
    out.streams_failed = s.streams_failed;
    out.cells_relayed = s.cells_relayed;
    out.link_bytes_in = s.link_bytes_in;
    out.link_bytes_out = s.link_bytes_out;
}

enum class StreamEvent { readable = 1, writable = 2, closed = 3 };

class Runtime;

// A stream's state shared by the API handle, the node thread's callbacks and the runtime
// (which closes every stream when it stops).
struct StreamState {
    // Node thread only.
    std::shared_ptr<client::StreamHandle> handle;
    std::function<void(StreamEvent)> callback;
    // Under Runtime::mutex_.
    std::uint64_t generation = 0;  // bumped on every stream event
    bool ended = false;            // on_closed came (or the node stopped)
    bool closed_here = false;      // close() by the application
    std::string reason;
};

class Runtime {
  public:
    struct ClientSettings {
        std::vector<std::string> bootstrap;  // lines as `zmesh node` prints them
        int hops = 3;
    };

    static Error start_client(const ClientSettings& settings, std::shared_ptr<Runtime>* out);
    static Error start_testnet(const node::TestnetOptions& options, std::shared_ptr<Runtime>* out);
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    Error wait_ready(Timeout timeout);
    Error stop();
    bool running() const;
    bool on_node_thread() const { return std::this_thread::get_id() == thread_id_; }

    Error status(node::Status* out);
    Error metrics(std::string* prometheus);
    Error set_event_callback(std::function<void(const node::Event&)> callback);

    Error open_stream(const std::string& host, std::uint16_t port, const std::string& isolation,
                      Timeout timeout, std::shared_ptr<StreamState>* out);
    // `got` 0 with ok: the end of the stream.
    Error read(const std::shared_ptr<StreamState>& s, void* buf, std::size_t size, Timeout timeout,
               std::size_t* got);
    Error write(const std::shared_ptr<StreamState>& s, const void* data, std::size_t size,
                Timeout timeout, std::size_t* written);
    Error finish(const std::shared_ptr<StreamState>& s);
    Error close(const std::shared_ptr<StreamState>& s);
    bool is_open(const std::shared_ptr<StreamState>& s);
    // The application's last reference goes: the stream closes and its callback is cleared.
    void release(const std::shared_ptr<StreamState>& s);
    Error set_stream_callback(const std::shared_ptr<StreamState>& s,
                              std::function<void(StreamEvent)> callback);

  private:
    enum class State { starting, running, stopping, stopped };
    Runtime();
    Error launch(std::function<Error()> build);
    // Runs `f` on the node thread and waits for it; `stopped` once the node stops.
    Error call(const std::function<void()>& f);
    // Waits until `done()` (under mutex_), the node stops, or the deadline.
    template <class Done>
    bool wait_until(std::chrono::steady_clock::time_point deadline, bool forever, Done done);
    node::Node* client();
    void watch(const std::shared_ptr<StreamState>& s);
    void notify_stream(const std::weak_ptr<StreamState>& weak, StreamEvent e,
                       const std::string& reason);
    void shut_down_on_node_thread();  // the end of stop(), on the node thread

    struct Loop;
    std::unique_ptr<Loop> loop_;
    std::thread thread_;
    std::thread::id thread_id_;

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    State state_ = State::starting;
    enum class Ready { waiting, yes, failed } ready_ = Ready::waiting;
    std::string ready_error_;
    bool shut_down_ = false;  // the node thread let go of the node
    // The application's callbacks, dropped by stop() on the application's thread: they may
    // hold the last handle of this runtime, which cannot end on its own thread.
    std::vector<std::function<void()>> dropped_;

    // Node thread only.
    std::unique_ptr<node::Node> node_;
    std::unique_ptr<node::Testnet> testnet_;
    std::function<void(const node::Event&)> event_callback_;
    std::vector<std::weak_ptr<StreamState>> streams_;
};

}  // namespace zmesh::api
