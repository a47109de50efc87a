#pragma once
// The gRPC control API (proto/zmesh/control/v1/control.proto) on a Unix socket (mode 0600)
// or a loopback TCP address with a bearer token. gRPC runs its own threads; every call is
// carried over to the node's executor, where the backend answers, so the backend needs
// no locks.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "zmesh/control/v1/control.pb.h"

namespace grpc {
class Server;
}

namespace zmesh::control {

namespace v1 = ::zmesh::control::v1;

// What the daemon answers with; called on the node's executor only.
class ControlBackend {
  public:
    virtual ~ControlBackend() = default;
    virtual v1::NodeStatus status() = 0;
    virtual v1::ListCircuitsResponse circuits() = 0;
    virtual v1::ListStreamsResponse streams() = 0;
    virtual v1::ListPeersResponse peers() = 0;
    virtual v1::ListRelaysResponse relays() = 0;
    virtual v1::NewIdentityResponse new_identity() = 0;
    virtual v1::CloseCircuitResponse close_circuit(std::uint64_t id) = 0;
    virtual v1::GetMetricsResponse metrics(v1::GetMetricsRequest::Format format) = 0;
};

struct ControlServerConfig {
    std::string unix_path;    // serve here (mode 0600); empty: no Unix socket
    std::string tcp_address;  // loopback HOST:PORT; empty: none
    std::string token;        // required on TCP
    std::size_t max_subscribers = 16;
    std::size_t event_queue = 1024;  // per subscriber; the oldest are dropped beyond it
};

class ControlServer {
  public:
    // Throws std::runtime_error saying what went wrong (in use, not loopback, no token).
    ControlServer(boost::asio::any_io_executor ex, ControlBackend& backend,
                  ControlServerConfig config);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // To every Events subscriber. Any thread.
    void publish(v1::Event event);
    // Ends streams and calls in flight, then stops. Safe to call on the node's executor.
    void shutdown();
    // The TCP port actually bound (when tcp_address asked for port 0), else 0.
    int tcp_port() const { return tcp_port_; }

    struct Subscriber {
        std::mutex mutex;
        std::condition_variable cv;
        std::deque<v1::Event> queue;
        std::uint64_t dropped = 0;
    };

  private:
    class Service;
    std::unique_ptr<Service> service_;
    std::unique_ptr<grpc::Server> server_;
    ControlServerConfig cfg_;
    int tcp_port_ = 0;
    bool shut_down_ = false;
};

// A fresh random token, hex; written by the daemon to its token file.
std::string new_control_token();
// The first line of a token file (monitoring.control_token_file, dashboard_token_file);
// a missing file is created 0600 with a fresh token, like a key, never replaced. nullopt
// and why, for a person, when it is readable by other users or cannot be written. An empty
// path (no token file configured) is an empty token.
std::optional<std::string> load_or_create_token(const std::filesystem::path& path,
                                                std::string* why);

}  // namespace zmesh::control
