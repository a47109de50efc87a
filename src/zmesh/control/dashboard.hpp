#pragma once
// The live dashboard (docs/dashboard.md): a page served by the daemon (and `zmesh
// testnet --dashboard`) that shows a node's bootstrap progress, circuits with per-hop
// RTT, streams, links by transport, throughput over the last ten minutes and the relays
// it knows, polling JSON built from the node's status structs.
//
//   GET /                     the page (HTML, CSS and JS embedded in the binary)
//   GET /api/state?since=N    status, circuits, streams, links, throughput samples after N
//   GET /api/topology         relays (by subnet, no addresses) and circuit paths
//
// Access: without a token the server must be on loopback, and answers only requests whose
// Host is a loopback name (a web page that rebinds its DNS name to 127.0.0.1 gets 403).
// With a token every request needs it: "Authorization: Bearer TOKEN", or the cookie that
// a visit to /?token=TOKEN sets (HttpOnly, SameSite=Strict). Compared in constant time.
//
// Privacy: no stream destination and no peer address appears (a peer is its transport and
// the first bytes of its public link key; the node's own listen addresses are shown).
//
// Bounds: the HTTP server's (request head, connections, deadline); at most kMaxCircuits,
// kMaxStreams, kMaxPeers and kMaxRelays entries per answer, the totals alongside; the
// throughput history is a ring of kHistory one-second samples.

#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>

#include "zmesh/control/http_server.hpp"
#include "zmesh/node/node.hpp"

namespace zmesh::control {

// A file of the page, embedded at build time (src/zmesh/control/dashboard/).
struct DashboardAsset {
    std::string_view path;  // "/index.html", "/dashboard.js", ...
    std::string_view type;  // Content-Type
    std::string_view body;
};
std::span<const DashboardAsset> dashboard_assets();

class Dashboard {
  public:
    static constexpr std::size_t kHistory = 600;  // one sample a second: ten minutes
    static constexpr std::size_t kMaxCircuits = 100;
    static constexpr std::size_t kMaxStreams = 200;
    static constexpr std::size_t kMaxPeers = 200;
    static constexpr std::size_t kMaxRelays = 500;

    // `token` empty: no token, and `at` must be a loopback address (else throws
    // std::invalid_argument). The node must outlive the dashboard and share its executor.
    Dashboard(node::Node& node, const boost::asio::ip::tcp::endpoint& at, std::string token);
    ~Dashboard();
    Dashboard(const Dashboard&) = delete;
    Dashboard& operator=(const Dashboard&) = delete;

    boost::asio::ip::tcp::endpoint local_endpoint() const { return http_.local_endpoint(); }
    void stop();

    HttpResponse handle(const HttpRequest& r) const;
    std::string state_json(std::uint64_t since) const;
    std::string topology_json() const;

  private:
    struct Sample {
        std::uint64_t seq = 0;
        std::int64_t unix_ms = 0;
        double bytes_in = 0;  // per second, over the last interval
        double bytes_out = 0;
        double cells_relayed = 0;
        std::uint32_t circuits = 0;
        std::uint32_t streams = 0;
        std::uint32_t peers = 0;
    };
    struct Totals {
        std::uint64_t bytes_in = 0, bytes_out = 0, cells_relayed = 0;
    };
    static const boost::asio::ip::tcp::endpoint& checked(const boost::asio::ip::tcp::endpoint& at,
                                                         const std::string& token);
    void schedule();
    void sample();
    bool authorized(const HttpRequest& r) const;
    bool token_matches(std::string_view candidate) const;

    node::Node& node_;
    std::string token_;
    std::deque<Sample> history_;
    std::uint64_t seq_ = 0;
    Totals last_;
    std::chrono::steady_clock::time_point last_at_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    boost::asio::steady_timer timer_;
    HttpServer http_;
};

}  // namespace zmesh::control
