#pragma once
// A whole zmesh network in one process on loopback: N relay Nodes (the first also the
// bootstrap node, the last `exits` also exits) and one client Node, wired by the real
// bootstrap: relays publish signed descriptors to the bootstrap node, the client fetches
// them and picks paths with guards like any client. Used by `zmesh testnet`, the tests
// and the embedding API's examples.

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "zmesh/node/node.hpp"

namespace zmesh::node {

inline constexpr int kMaxTestnetThreads = 64;

struct TestnetOptions {
    int relays = 5;
    int exits = 2;
    int hops = 3;
    link::TransportKind transport = link::TransportKind::udp;
    bool tls = false;  // ws: wss://
    double loss = 0;   // UDP: dropped fraction on every link
    bool hybrid = true;
    bool require_post_quantum = false;
    bool fec = true;
    std::vector<std::string> exit_policy;  // empty: accept all; private ranges allowed
    bool browser_test = false;             // ws/webrtc: relays serve /zmesh-test.html
    std::size_t preemptive = 2;            // the client's spare circuits
    // Threads the nodes are spread over. 1: every node on the executor given to Testnet.
    // N > 1: the client stays there and the relays are dealt over it and N - 1 threads
    // the Testnet owns; nodes of different threads talk only through their sockets.
    int threads = 1;
};

// What is wrong with `o`, one line each; empty when it can start.
std::vector<std::string> problems(const TestnetOptions& o);

class Testnet {
  public:
    Testnet(boost::asio::any_io_executor ex, TestnetOptions options);
    ~Testnet();
    Testnet(const Testnet&) = delete;
    Testnet& operator=(const Testnet&) = delete;

    // Starts the bootstrap node, the relays, then the client. False and why on failure.
    bool start(std::string* error = nullptr);
    // `done(true)` once the client built its first circuit through the network,
    // `done(false)` when that failed (or `timeout` passed).
    void when_ready(std::function<void(bool ok)> done,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // Stops every node gracefully, then calls `done`.
    void stop(std::function<void()> done = {});

    Node& client();
    std::size_t relay_count() const;
    // 0 .. relay_count()-1; relay 0 is the bootstrap node. With threads > 1 a relay may
    // live on another thread: reach it through with_relay().
    Node& relay(std::size_t i);
    // Runs `fn` on relay i's thread and returns when it has run (at once when that is
    // the caller's). Call it from the Testnet's executor.
    void with_relay(std::size_t i, const std::function<void(Node&)>& fn);
    bool is_exit(std::size_t i) const;
    // Every node's metrics, labelled node="relay-N" or node="client"; FEC once, unlabelled.
    Snapshot metrics() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace zmesh::node
