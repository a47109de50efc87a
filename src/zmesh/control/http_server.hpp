#pragma once
// Serves a metrics snapshot over HTTP on a (loopback) address:
//   GET /metrics                  Prometheus text
//   GET /metrics?format=json      JSON
//   GET /metrics?format=influx    InfluxDB line protocol

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>

#include "zmesh/control/metrics.hpp"

namespace zmesh::control {

class MetricsServer {
  public:
    using Collect = std::function<Snapshot()>;
    MetricsServer(boost::asio::any_io_executor ex, const boost::asio::ip::tcp::endpoint& at,
                  Collect collect);
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    void stop();

  private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

    boost::asio::ip::tcp::acceptor acceptor_;
    Collect collect_;
};

}  // namespace zmesh::control
