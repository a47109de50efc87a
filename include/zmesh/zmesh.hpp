#pragma once
// The C++ API of an embedded zmesh node (libzmesh.so, pkg-config zmesh). Only standard
// types: the node, its event loop and its crypto stay inside the library (pimpl).
//
// Errors throw zmesh::Error, whose code() is one of zmesh.h's ZMESH_E* values and whose
// what() says why. Empty (default or moved-from) objects, stopped nodes, closed streams
// and oversized writes throw; nothing crashes.
//
// Threading: a Node runs on one thread the library owns; every member function may be
// called from any thread. Callbacks (on_event, Stream::on_event) run on that node thread:
// they may read and write with a zero timeout, must return soon, and must not stop the
// node (blocking calls there throw with code ZMESH_EWOULDBLOCK).
//
// Lifetime: Node and Stream are shared handles (copies refer to the same node or stream).
// The node stops when its last Node handle goes; a Stream keeps only the library's loop,
// and its calls throw ZMESH_ESTOPPED once the node stopped.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "zmesh/zmesh.h"

namespace zmesh {

// Negative: no limit; zero: never wait.
using Timeout = std::chrono::milliseconds;
inline constexpr Timeout kForever{-1};

class ZMESH_EXPORT Error : public std::runtime_error {
  public:
    Error(int code, const std::string& message);
    int code() const noexcept { return code_; }  // a zmesh_result

  private:
    int code_;
};

struct TestnetOptions {
    int relays = 5;  // the first is also the bootstrap node
    int exits = 2;
    int hops = 3;
};

struct ClientOptions {
    std::vector<std::string> bootstrap;  // lines as `zmesh node` prints them
    int hops = 3;
};

struct NodeStatus {
    bool running = false;
    std::string version;
    std::string node_id;
    std::uint64_t uptime_seconds = 0;
    std::uint32_t client_circuits = 0;
    std::uint32_t relay_circuits = 0;
    std::uint32_t streams = 0;
    std::uint32_t peers = 0;
    std::uint32_t relays_known = 0;
    std::uint32_t guards = 0;
    std::uint64_t circuits_built = 0;
    std::uint64_t circuits_failed = 0;
    std::uint64_t streams_opened = 0;
    std::uint64_t streams_failed = 0;
    std::uint64_t cells_relayed = 0;
    std::uint64_t link_bytes_in = 0;
    std::uint64_t link_bytes_out = 0;
};

struct Event {
    zmesh_event_kind kind = ZMESH_EVENT_OTHER;
    std::uint64_t circuit = 0;
    std::string detail;  // reasons and timings; never a destination
};

class ZMESH_EXPORT Stream {
  public:
    Stream();  // empty: every call throws ZMESH_EINVAL
    ~Stream();
    Stream(const Stream&);
    Stream& operator=(const Stream&);
    Stream(Stream&&) noexcept;
    Stream& operator=(Stream&&) noexcept;
    explicit operator bool() const noexcept;

    // Up to `size` bytes into `buf`; 0 at the end of the stream. Throws ZMESH_ETIMEOUT
    // when nothing came in time, ZMESH_ECLOSED when the stream was closed or reset.
    std::size_t read(void* buf, std::size_t size, Timeout timeout = kForever);
    // Everything until the end of the stream (at most `limit` bytes).
    std::string read_all(Timeout timeout = kForever, std::size_t limit = 64u << 20);
    // All of `data` (at most ZMESH_MAX_WRITE bytes), waiting for room up to the timeout.
    void write(std::string_view data, Timeout timeout = kForever);
    void write(const void* data, std::size_t size, Timeout timeout = kForever);
    void finish();  // half-close: no more writes, reading goes on
    void close();   // both directions, now; idempotent
    bool is_open() const;
    // Readable, writable, closed; on the node thread. An empty function clears it.
    void on_event(std::function<void(zmesh_stream_event)> handler);

  private:
    friend class Node;
    struct Impl;
    explicit Stream(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

class ZMESH_EXPORT Node {
  public:
    // A whole network on loopback in this process with a client in it (examples, tests).
    static Node start_testnet(const TestnetOptions& options = {});
    // A client of a real network, found through its bootstrap nodes.
    static Node start_client(const ClientOptions& options);

    Node();  // empty: every call throws ZMESH_EINVAL
    ~Node();
    Node(const Node&);
    Node& operator=(const Node&);
    Node(Node&&) noexcept;
    Node& operator=(Node&&) noexcept;
    explicit operator bool() const noexcept;

    // Until the client built its first circuit; throws ZMESH_ENETWORK when that failed.
    void wait_ready(Timeout timeout = std::chrono::seconds(60));
    Stream open_stream(const std::string& host, std::uint16_t port,
                       Timeout timeout = std::chrono::seconds(60),
                       const std::string& isolation = {});
    NodeStatus status() const;
    std::string metrics() const;  // Prometheus text
    void on_event(std::function<void(const Event&)> handler);
    void stop();  // graceful; idempotent
    bool running() const;

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

ZMESH_EXPORT const char* version() noexcept;

}  // namespace zmesh
