#include "zmesh/exit/dialer.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <memory>

#include "zmesh/core/clock.hpp"
#include "zmesh/exit/exit_service.hpp"

namespace zmesh::exit {

namespace asio = boost::asio;
using asio::ip::tcp;
using stream::EndReason;

namespace {

// A socket with a deadline: when it passes, the socket is closed, so whatever waits on it
// ends. Shared with the timer's handler, which may run after the dialer returned.
struct Deadline {
    tcp::socket socket;
    zmesh::Timer timer;
    bool expired = false;
    explicit Deadline(const asio::any_io_executor& ex) : socket(ex), timer(ex) {}
};

std::shared_ptr<Deadline> with_deadline(const asio::any_io_executor& ex,
                                        std::chrono::milliseconds timeout) {
    auto d = std::make_shared<Deadline>(ex);
    d->timer.expires_after(timeout);
    d->timer.async_wait([weak = std::weak_ptr<Deadline>(d)](boost::system::error_code ec) {
        auto live = weak.lock();
        if (ec || !live) return;
        live->expired = true;
        boost::system::error_code ignore;
        live->socket.close(ignore);
    });
    return d;
}

EndReason connect_failure(const Deadline& d, boost::system::error_code ec) {
    if (d.expired) return EndReason::timeout;
    if (ec == asio::error::host_unreachable || ec == asio::error::network_unreachable)
        return EndReason::unreachable;
    return EndReason::connect_refused;
}

}  // namespace

asio::awaitable<Dialed> DirectDialer::dial(const Target& t) {
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    auto [rec, results] = co_await resolver.async_resolve(t.host, std::to_string(t.port),
                                                          asio::as_tuple(asio::use_awaitable));
    if (rec || results.empty()) {
        ++stats_.resolve_failed;
        co_return Dialed{std::nullopt, EndReason::resolve_failed};
    }
    std::vector<tcp::endpoint> allowed;
    for (const auto& r : results)
        if (policy_.allows(r.endpoint().address(), r.endpoint().port()))
            allowed.push_back(r.endpoint());
    if (allowed.empty()) {
        ++stats_.refused_policy;
        co_return Dialed{std::nullopt, EndReason::refused};
    }
    EndReason failure = EndReason::connect_refused;
    for (const auto& ep : allowed) {
        auto d = with_deadline(ex, timeout_);
        auto [cec] = co_await d->socket.async_connect(ep, asio::as_tuple(asio::use_awaitable));
        d->timer.cancel();
        if (!cec && d->socket.is_open() && !d->expired) co_return Dialed{std::move(d->socket), {}};
        failure = connect_failure(*d, cec);
    }
    ++stats_.connect_failed;
    co_return Dialed{std::nullopt, failure};
}

asio::awaitable<Dialed> ProxyDialer::dial(const Target& t) {
    auto ex = co_await asio::this_coro::executor;
    boost::system::error_code aec;
    auto literal = asio::ip::make_address(t.host, aec);
    // The proxy resolves names; what the exit knows, it checks (localhost names as the
    // loopback address the proxy's resolver will give them).
    if (aec && loopback_name(t.host)) {
        literal = asio::ip::address_v4::loopback();
        aec = {};
    }
    if (aec ? !policy_.may_allow_port(t.port) : !policy_.allows(literal, t.port)) {
        ++stats_.refused_policy;
        co_return Dialed{std::nullopt, EndReason::refused};
    }
    auto d = with_deadline(ex, timeout_);
    tcp::endpoint proxy_at(asio::ip::make_address(proxy_.host), proxy_.port);
    auto failed = [&](EndReason r) {
        d->timer.cancel();
        ++stats_.upstream_failed;
        return Dialed{std::nullopt, r};
    };
    auto [cec] = co_await d->socket.async_connect(proxy_at, asio::as_tuple(asio::use_awaitable));
    if (cec || !d->socket.is_open() || d->expired) {
        // The proxy itself cannot be reached: the destination is not to blame.
        spdlog::warn("exit: upstream proxy {} unreachable: {}", proxy_.describe(),
                     d->expired ? std::string("timed out") : cec.message());
        co_return failed(d->expired ? EndReason::timeout : EndReason::upstream_failed);
    }
    ProxyHandshake hs(proxy_, t.host, t.port);
    std::array<std::uint8_t, 512> buf{};
    while (hs.state() == ProxyHandshake::State::running) {
        if (auto out = hs.take_output(); !out.empty()) {
            auto [wec, n] = co_await asio::async_write(d->socket, asio::buffer(out),
                                                       asio::as_tuple(asio::use_awaitable));
            if (wec) break;
        }
        if (hs.state() != ProxyHandshake::State::running) break;
        auto want = std::min(hs.wanted(), buf.size());
        auto [rec, n] = co_await d->socket.async_read_some(asio::buffer(buf.data(), want),
                                                           asio::as_tuple(asio::use_awaitable));
        if (rec || n == 0) {
            hs.closed();
            break;
        }
        hs.feed({buf.data(), n});
    }
    if (d->expired) co_return failed(EndReason::timeout);
    if (hs.state() == ProxyHandshake::State::running) hs.closed();  // a write failed
    if (hs.state() != ProxyHandshake::State::connected) {
        // Never the destination in the log at this level: the proxy's answer only.
        spdlog::debug("exit: upstream proxy {}: {}", proxy_.describe(), hs.detail());
        co_return failed(hs.failure());
    }
    d->timer.cancel();
    ++stats_.upstream_connected;
    co_return Dialed{std::move(d->socket), {}};
}

}  // namespace zmesh::exit
