#pragma once
// A small HTTP/1.1 server for loopback front ends: one GET request per connection
// (Connection: close), the request head bounded, a deadline on every connection and a
// bound on the connections served at once. HttpServer takes a handler; MetricsServer is
// the metrics endpoint built on it:
//   GET /metrics                  Prometheus text
//   GET /metrics?format=json      JSON
//   GET /metrics?format=influx    InfluxDB line protocol

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zmesh/control/metrics.hpp"

namespace zmesh::control {

struct HttpLimits {
    std::size_t max_request = 8192;  // bytes of the request head
    std::size_t max_connections = 16;
    std::chrono::milliseconds deadline{10000};  // a connection is closed after this
};

struct HttpRequest {
    std::string method;
    std::string target;                                        // as sent: path and query
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased

    // The value of the first header named `name` (lower case); empty when absent.
    std::string_view header(std::string_view name) const;
    std::string_view path() const;   // target without the query
    std::string_view query() const;  // after '?', empty when none
};

struct HttpResponse {
    std::string status = "200 OK";
    std::string type = "text/plain; charset=utf-8";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Parses a request head (through the blank line); nullopt when it is not one.
std::optional<HttpRequest> parse_http_request(std::string_view head);

class HttpServer {
  public:
    using Handler = std::function<HttpResponse(const HttpRequest&)>;
    HttpServer(boost::asio::any_io_executor ex, const boost::asio::ip::tcp::endpoint& at,
               Handler handler, HttpLimits limits = {}, const char* name = "http server");
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    void stop();
    // Connections refused because max_connections were being served.
    std::uint64_t refused() const { return refused_; }

  private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket accepted);

    boost::asio::ip::tcp::acceptor acceptor_;
    Handler handler_;
    HttpLimits limits_;
    const char* name_;  // for the log when a coroutine throws
    std::shared_ptr<std::size_t> active_ = std::make_shared<std::size_t>(0);
    std::uint64_t refused_ = 0;
};

// Prometheus text, JSON and Influx metrics. Bound to loopback it answers only requests
// whose Host is a loopback name (DNS rebinding).
class MetricsServer {
  public:
    using Collect = std::function<Snapshot()>;
    MetricsServer(boost::asio::any_io_executor ex, const boost::asio::ip::tcp::endpoint& at,
                  Collect collect);
    boost::asio::ip::tcp::endpoint local_endpoint() const { return http_.local_endpoint(); }
    void stop() { http_.stop(); }

  private:
    HttpResponse handle(const HttpRequest& r) const;

    Collect collect_;
    bool loopback_only_;  // bound to loopback: only loopback Host names are answered
    HttpServer http_;
};

// "localhost", "127.0.0.1", "[::1]" with or without a port: Host names a web page cannot
// make its own by rebinding DNS.
bool loopback_host(std::string_view host);

}  // namespace zmesh::control
