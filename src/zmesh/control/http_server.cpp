#include "zmesh/control/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>

#include "zmesh/link/service.hpp"

namespace zmesh::control {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
const auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxRequest = 8192;
}  // namespace

MetricsServer::MetricsServer(asio::any_io_executor ex, const tcp::endpoint& at, Collect collect)
    : acceptor_(ex, at), collect_(std::move(collect)) {
    asio::co_spawn(ex, accept_loop(), link::log_exit("metrics server"));
}

void MetricsServer::stop() {
    boost::system::error_code ec;
    acceptor_.close(ec);
}

asio::awaitable<void> MetricsServer::accept_loop() {
    while (acceptor_.is_open()) {
        auto [ec, socket] = co_await acceptor_.async_accept(kAwait);
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
            continue;
        }
        asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)),
                       link::log_exit("metrics request"));
    }
}

asio::awaitable<void> MetricsServer::serve(tcp::socket socket) {
    asio::streambuf buf(kMaxRequest);
    auto [ec, n] = co_await asio::async_read_until(socket, buf, "\r\n\r\n", kAwait);
    std::string status = "200 OK";
    std::string type = "text/plain; version=0.0.4; charset=utf-8";
    std::string body;
    if (ec) {
        status = "400 Bad Request";
    } else {
        std::string head(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n);
        std::string line = head.substr(0, head.find("\r\n"));
        auto sp1 = line.find(' ');
        auto sp2 = line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
        std::string method = line.substr(0, sp1);
        std::string target = sp1 == std::string::npos ? "" : line.substr(sp1 + 1, sp2 - sp1 - 1);
        if (method != "GET") {
            status = "405 Method Not Allowed";
        } else if (target == "/metrics") {
            body = to_prometheus(collect_());
        } else if (target == "/metrics?format=json") {
            type = "application/json";
            body = to_json(collect_());
        } else if (target == "/metrics?format=influx") {
            auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
            body = to_influx(collect_(), static_cast<long long>(ns));
        } else {
            status = "404 Not Found";
        }
    }
    if (body.empty() && status != "200 OK") body = status + "\n";
    std::string resp = "HTTP/1.1 " + status + "\r\nContent-Type: " + type +
                       "\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\nConnection: close\r\n\r\n" + body;
    co_await asio::async_write(socket, asio::buffer(resp), kAwait);
}

}  // namespace zmesh::control
