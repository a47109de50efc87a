#pragma once
// The client's entry for applications that speak a proxy protocol: a SOCKS5 port and an
// HTTP CONNECT port. Each connection becomes a stream of the node's circuit pool, its
// socket attached to the stream; SOCKS credentials choose the isolation key (connections
// with different credentials get different circuits, as Tor does).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "zmesh/client/pool.hpp"
#include "zmesh/node/metrics.hpp"

namespace zmesh::app {

namespace asio = boost::asio;

struct ProxyStats {
    std::uint64_t connections = 0;
    std::uint64_t bad_requests = 0;
    std::uint64_t accept_errors = 0;
};

class ProxyFrontEnd {
  public:
    explicit ProxyFrontEnd(client::ClientPool& pool) : pool_(pool) {}
    ~ProxyFrontEnd();
    ProxyFrontEnd(const ProxyFrontEnd&) = delete;
    ProxyFrontEnd& operator=(const ProxyFrontEnd&) = delete;

    asio::ip::tcp::endpoint listen_socks(const asio::ip::tcp::endpoint& at);
    asio::ip::tcp::endpoint listen_http(const asio::ip::tcp::endpoint& at);
    // Closes the listeners (streams already open go on until the pool stops).
    void stop();
    const ProxyStats& stats() const { return stats_; }
    // Its counters as metric families (zmesh_proxy_connections_total, ...).
    void collect(node::Snapshot& s, const node::Labels& labels) const;

  private:
    asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, bool http);
    asio::awaitable<void> serve_socks(asio::ip::tcp::socket socket);
    asio::awaitable<void> serve_http(asio::ip::tcp::socket socket);
    // Opens and waits; nullopt and the reason on failure.
    asio::awaitable<std::pair<std::optional<client::ClientPool::Opened>, stream::EndReason>>
    open_async(const std::string& isolation, const std::string& target, std::size_t hops = 0);

    client::ClientPool& pool_;
    std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors_;
    ProxyStats stats_;
    bool stopped_ = false;
    std::chrono::steady_clock::time_point last_accept_warning_{};
};

}  // namespace zmesh::app
