#include "zmesh/app/proxy.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>
#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "zmesh/app/http_connect.hpp"
#include "zmesh/app/socks5.hpp"
#include "zmesh/client/limits.hpp"
#include "zmesh/link/service.hpp"

namespace zmesh::app {

using asio::ip::tcp;
using client::kOpenTimeout;
using stream::EndReason;
using Opened = client::ClientPool::Opened;

namespace {

const auto kAwait = asio::as_tuple(asio::use_awaitable);
// After a failed accept (no descriptors left), the next try waits this long.
constexpr auto kAcceptPause = std::chrono::milliseconds(100);

}  // namespace

void ProxyFrontEnd::collect(node::Snapshot& s, const node::Labels& labels) const {
    s.add("zmesh_proxy_connections_total", "SOCKS5 and HTTP CONNECT entry: connections.",
          node::MetricType::counter, labels, static_cast<double>(stats_.connections));
    s.add("zmesh_proxy_bad_requests_total", "SOCKS5 and HTTP CONNECT entry: bad requests.",
          node::MetricType::counter, labels, static_cast<double>(stats_.bad_requests));
    s.add("zmesh_proxy_accept_errors_total",
          "SOCKS5 and HTTP CONNECT entry: connections that could not be accepted (out of file "
          "descriptors or memory).",
          node::MetricType::counter, labels, static_cast<double>(stats_.accept_errors));
}

ProxyFrontEnd::~ProxyFrontEnd() {
    stop();
}

void ProxyFrontEnd::stop() {
    stopped_ = true;
    for (auto& a : acceptors_) {
        boost::system::error_code ec;
        a->close(ec);
    }
}

asio::awaitable<std::pair<std::optional<Opened>, EndReason>> ProxyFrontEnd::open_async(
    const std::string& isolation, const std::string& target, std::size_t hops) {
    auto ex = co_await asio::this_coro::executor;
    struct Latch {
        std::optional<Opened> opened;
        EndReason reason = EndReason::timeout;
        bool done = false;
    };
    auto latch = std::make_shared<Latch>();
    auto timer = std::make_shared<asio::steady_timer>(ex, kOpenTimeout);
    pool_.open(
        isolation, target,
        [latch, timer](std::optional<Opened> o, EndReason r) {
            if (latch->done) return;
            latch->done = true;
            latch->opened = std::move(o);
            latch->reason = r;
            timer->cancel();
        },
        hops);
    if (!latch->done) co_await timer->async_wait(kAwait);
    latch->done = true;
    co_return std::make_pair(latch->opened, latch->reason);
}

tcp::endpoint ProxyFrontEnd::listen_socks(const tcp::endpoint& at) {
    auto a = std::make_unique<tcp::acceptor>(pool_.executor(), at);
    auto ep = a->local_endpoint();
    asio::co_spawn(pool_.executor(), accept_loop(*a, false), link::log_exit("SOCKS accept"));
    acceptors_.push_back(std::move(a));
    return ep;
}

tcp::endpoint ProxyFrontEnd::listen_http(const tcp::endpoint& at) {
    auto a = std::make_unique<tcp::acceptor>(pool_.executor(), at);
    auto ep = a->local_endpoint();
    asio::co_spawn(pool_.executor(), accept_loop(*a, true), link::log_exit("HTTP accept"));
    acceptors_.push_back(std::move(a));
    return ep;
}

asio::awaitable<void> ProxyFrontEnd::accept_loop(tcp::acceptor& acceptor, bool http) {
    while (!stopped_) {
        auto [ec, socket] = co_await acceptor.async_accept(kAwait);
        if (ec) {
            if (stopped_ || ec == asio::error::operation_aborted) co_return;
            ++stats_.accept_errors;
            // Out of file descriptors (or memory): the connection waits in the listen
            // queue; try again shortly instead of spinning on the same error.
            if (ec == asio::error::no_descriptors || ec == asio::error::no_memory ||
                ec.value() == ENFILE || ec == asio::error::no_buffer_space) {
                auto now = std::chrono::steady_clock::now();
                if (now - last_accept_warning_ > std::chrono::seconds(10)) {
                    last_accept_warning_ = now;
                    spdlog::warn("{} entry: cannot accept ({}); {} so far; new connections wait",
                                 http ? "HTTP CONNECT" : "SOCKS5", ec.message(),
                                 stats_.accept_errors);
                }
                asio::steady_timer pause(acceptor.get_executor(), kAcceptPause);
                co_await pause.async_wait(kAwait);
            }
            continue;
        }
        ++stats_.connections;
        auto ex = socket.get_executor();
        if (http)
            asio::co_spawn(ex, serve_http(std::move(socket)), link::log_exit("HTTP CONNECT"));
        else
            asio::co_spawn(ex, serve_socks(std::move(socket)), link::log_exit("SOCKS5"));
    }
}

asio::awaitable<void> ProxyFrontEnd::serve_socks(tcp::socket socket) {
    using namespace socks5;
    Parser parser;
    std::array<std::uint8_t, 512> buf;
    Request request;
    for (bool asked = false; !asked;) {
        auto step = parser.poll();
        if (step.kind == Step::Kind::need_more) {
            auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), kAwait);
            if (ec) co_return;
            if (!parser.feed(ByteView(buf.data(), n))) {
                ++stats_.bad_requests;
                co_return;
            }
            continue;
        }
        if (!step.bytes.empty())
            co_await asio::async_write(socket, asio::buffer(step.bytes), kAwait);
        if (step.kind == Step::Kind::close) {
            if (step.bad) ++stats_.bad_requests;
            co_return;
        }
        asked = step.kind == Step::Kind::request;
        if (asked) request = std::move(step.request);
    }
    auto [opened, reason] = co_await open_async(request.isolation, request.target, request.hops);
    auto reply = make_reply(opened ? Reply::succeeded : reply_for(reason));
    co_await asio::async_write(socket, asio::buffer(reply), kAwait);
    if (!opened) {
        co_return;
    }
    if (auto early = parser.take_rest(); !early.empty())
        opened->driver->mux().write(opened->stream, early);
    opened->driver->attach(opened->stream, std::move(socket));
    opened->driver->service();
}

asio::awaitable<void> ProxyFrontEnd::serve_http(tcp::socket socket) {
    http_connect::Parser parser;
    std::array<std::uint8_t, 2048> buf;
    http_connect::Step step;
    while (step.kind == http_connect::Step::Kind::need_more) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), kAwait);
        if (ec) {
            ++stats_.bad_requests;
            co_return;
        }
        step = parser.feed(ByteView(buf.data(), n));
    }
    auto respond = [&](std::string_view status) -> asio::awaitable<void> {
        auto r = http_connect::response(status);
        co_await asio::async_write(socket, asio::buffer(r), kAwait);
    };
    if (step.kind == http_connect::Step::Kind::error) {
        ++stats_.bad_requests;
        co_await respond(step.status);
        co_return;
    }
    auto [opened, reason] = co_await open_async("", step.target);
    if (!opened) {
        co_await respond(reason == EndReason::refused   ? "403 Forbidden"
                         : reason == EndReason::timeout ? "504 Gateway Timeout"
                                                        : "502 Bad Gateway");
        co_return;
    }
    co_await respond("200 Connection established");
    // Bytes the client sent after the header already belong to the stream.
    if (auto early = parser.take_rest(); !early.empty())
        opened->driver->mux().write(opened->stream, early);
    opened->driver->attach(opened->stream, std::move(socket));
    opened->driver->service();
}

}  // namespace zmesh::app
