#include "zmesh/app/proxy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "zmesh/app/socks5.hpp"
#include "zmesh/client/limits.hpp"
#include "zmesh/link/service.hpp"

namespace zmesh::app {

using asio::ip::tcp;
using client::kOpenTimeout;
using stream::EndReason;
using Opened = client::ClientPool::Opened;

namespace {

constexpr std::size_t kMaxHttpHeader = 8192;
constexpr std::size_t kMaxIsolationKey = 512;

const auto kAwait = asio::as_tuple(asio::use_awaitable);

}  // namespace

void ProxyFrontEnd::collect(node::Snapshot& s, const node::Labels& labels) const {
    s.add("zmesh_proxy_connections_total", "SOCKS5 and HTTP CONNECT entry: connections.",
          node::MetricType::counter, labels, static_cast<double>(stats_.connections));
    s.add("zmesh_proxy_bad_requests_total", "SOCKS5 and HTTP CONNECT entry: bad requests.",
          node::MetricType::counter, labels, static_cast<double>(stats_.bad_requests));
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
    const std::string& isolation, const std::string& target) {
    auto ex = co_await asio::this_coro::executor;
    struct Latch {
        std::optional<Opened> opened;
        EndReason reason = EndReason::timeout;
        bool done = false;
    };
    auto latch = std::make_shared<Latch>();
    auto timer = std::make_shared<asio::steady_timer>(ex, kOpenTimeout);
    pool_.open(isolation, target, [latch, timer](std::optional<Opened> o, EndReason r) {
        if (latch->done) return;
        latch->done = true;
        latch->opened = std::move(o);
        latch->reason = r;
        timer->cancel();
    });
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
    auto reply = [&](Reply r) -> asio::awaitable<void> {
        auto bytes = make_reply(r);
        co_await asio::async_write(socket, asio::buffer(bytes), kAwait);
    };
    std::uint8_t head[2];
    if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(head), kAwait); ec) co_return;
    if (head[0] != kVersion || head[1] == 0) {
        ++stats_.bad_requests;
        co_return;  // not SOCKS5: close without an answer, as RFC 1928 has none for this
    }
    std::vector<std::uint8_t> methods(head[1]);
    if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(methods), kAwait); ec)
        co_return;
    std::uint8_t method = select_method(methods);
    std::uint8_t choice[2] = {kVersion, method};
    co_await asio::async_write(socket, asio::buffer(choice), kAwait);
    if (method == kMethodRefused) {
        ++stats_.bad_requests;
        co_return;
    }
    std::string isolation;
    if (method == kMethodUserPass) {
        // RFC 1929: VER(1) ULEN UNAME PLEN PASSWD. Any credentials are accepted; they only
        // choose the circuit.
        std::uint8_t vl[2];
        if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(vl), kAwait); ec)
            co_return;
        std::string user(vl[1], '\0');
        if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(user), kAwait); ec)
            co_return;
        std::uint8_t plen = 0;
        if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(&plen, 1), kAwait); ec)
            co_return;
        std::string pass(plen, '\0');
        if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(pass), kAwait); ec)
            co_return;
        bool ok = vl[0] == 1;
        std::uint8_t status[2] = {1, static_cast<std::uint8_t>(ok ? 0 : 1)};
        co_await asio::async_write(socket, asio::buffer(status), kAwait);
        if (!ok) {
            ++stats_.bad_requests;
            co_return;
        }
        isolation = user + '\0' + pass;
        if (isolation.size() > kMaxIsolationKey) isolation.resize(kMaxIsolationKey);
    }
    std::uint8_t req[4];
    if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(req), kAwait); ec) co_return;
    auto check = check_request_header(req);
    if (!check.header) {
        ++stats_.bad_requests;
        co_await reply(check.error);
        co_return;
    }
    std::vector<std::uint8_t> addr;
    if (check.header->address_type == 3) {
        std::uint8_t len = 0;
        if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(&len, 1), kAwait); ec)
            co_return;
        addr.resize(len);
    } else {
        addr.resize(address_length(check.header->address_type, 0));
    }
    std::uint8_t port_bytes[2];
    if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(addr), kAwait); ec) co_return;
    if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(port_bytes), kAwait); ec)
        co_return;
    auto target = target_from(check.header->address_type, addr, load_u16_be(port_bytes));
    if (!target) {
        ++stats_.bad_requests;
        co_await reply(Reply::general_failure);
        co_return;
    }
    auto [opened, reason] = co_await open_async(isolation, *target);
    if (!opened) {
        co_await reply(reply_for(reason));
        co_return;
    }
    co_await reply(Reply::succeeded);
    opened->driver->attach(opened->stream, std::move(socket));
    opened->driver->service();
}

asio::awaitable<void> ProxyFrontEnd::serve_http(tcp::socket socket) {
    asio::streambuf buf(kMaxHttpHeader);
    auto [ec, n] = co_await asio::async_read_until(socket, buf, "\r\n\r\n", kAwait);
    auto respond = [&](std::string_view status) -> asio::awaitable<void> {
        std::string r = "HTTP/1.1 " + std::string(status) + "\r\n\r\n";
        co_await asio::async_write(socket, asio::buffer(r), kAwait);
    };
    if (ec) {
        ++stats_.bad_requests;
        if (ec == asio::error::not_found) co_await respond("431 Request Header Fields Too Large");
        co_return;
    }
    std::string header(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n);
    buf.consume(n);
    std::string_view line(header.data(), header.find("\r\n"));
    auto sp1 = line.find(' ');
    auto sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1 ||
        !line.substr(sp2 + 1).starts_with("HTTP/1.")) {
        ++stats_.bad_requests;
        co_await respond("400 Bad Request");
        co_return;
    }
    if (line.substr(0, sp1) != "CONNECT") {
        ++stats_.bad_requests;
        co_await respond("405 Method Not Allowed");
        co_return;
    }
    std::string target(line.substr(sp1 + 1, sp2 - sp1 - 1));
    auto [opened, reason] = co_await open_async("", target);
    if (!opened) {
        co_await respond(reason == EndReason::refused   ? "403 Forbidden"
                         : reason == EndReason::timeout ? "504 Gateway Timeout"
                                                        : "502 Bad Gateway");
        co_return;
    }
    co_await respond("200 Connection established");
    // Bytes the client sent after the header already belong to the stream.
    if (buf.size() > 0) {
        std::vector<std::uint8_t> early(buf.size());
        asio::buffer_copy(asio::buffer(early), buf.data());
        opened->driver->mux().write(opened->stream, early);
    }
    opened->driver->attach(opened->stream, std::move(socket));
    opened->driver->service();
}

}  // namespace zmesh::app
