#include "zmesh/app/bench_net.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <random>
#include <sstream>

#include "zmesh/app/bench_report.hpp"
#include "zmesh/app/socks5.hpp"
#include "zmesh/core/bytes.hpp"

namespace zmesh::app::bench {

using namespace asio::experimental::awaitable_operators;

namespace {

const auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kChunk = 64 * 1024;
// What one download may ask for at most (a client typo should not stream for a week).
constexpr std::uint64_t kMaxDownload = std::uint64_t{1} << 40;

asio::awaitable<void> serve_download(tcp::socket& s) {
    std::array<std::uint8_t, 8> len;
    if (auto [ec, n] = co_await asio::async_read(s, asio::buffer(len), kAwait); ec) co_return;
    std::uint64_t left = 0;
    for (auto b : len) left = left << 8 | b;
    if (left > kMaxDownload) co_return;
    // Bytes that do not compress, the same for every chunk (nothing on the path looks).
    static const auto chunk = [] {
        std::vector<std::uint8_t> c(kChunk);
        std::mt19937_64 rng(21);
        for (auto& b : c) b = static_cast<std::uint8_t>(rng());
        return c;
    }();
    while (left > 0) {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
        if (auto [ec, w] = co_await asio::async_write(s, asio::buffer(chunk.data(), n), kAwait); ec)
            co_return;
        left -= n;
    }
    boost::system::error_code ignored;
    s.shutdown(tcp::socket::shutdown_send, ignored);
    // Until the client has it all and closes.
    std::array<std::uint8_t, 64> sink;
    while (true)
        if (auto [ec, n] = co_await s.async_read_some(asio::buffer(sink), kAwait); ec) co_return;
}

asio::awaitable<void> serve_echo(tcp::socket& s) {
    std::array<std::uint8_t, 4096> buf;
    s.set_option(tcp::no_delay(true));
    while (true) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kAwait);
        if (ec) co_return;
        if (auto [wec, w] = co_await asio::async_write(s, asio::buffer(buf.data(), n), kAwait); wec)
            co_return;
    }
}

asio::awaitable<void> serve(tcp::socket s) {
    std::array<std::uint8_t, 1> cmd;
    if (auto [ec, n] = co_await asio::async_read(s, asio::buffer(cmd), kAwait); ec) co_return;
    if (cmd[0] == kDownload)
        co_await serve_download(s);
    else if (cmd[0] == kEcho)
        co_await serve_echo(s);
}

const char* reply_text(std::uint8_t code) {
    switch (static_cast<socks5::Reply>(code)) {
        case socks5::Reply::not_allowed:
            return "the exit's policy refuses it (a private address needs an exit that allows "
                   "them)";
        case socks5::Reply::network_unreachable:
            // Also what the entry answers when no circuit can be built at all.
            return "network unreachable, or no circuit (too few relays known for that many "
                   "hops?)";
        case socks5::Reply::host_unreachable:
            return "host unreachable";
        case socks5::Reply::connection_refused:
            return "connection refused";
        case socks5::Reply::ttl_expired:
            return "timed out";
        default:
            return "no circuit or stream (general failure)";
    }
}

// The SOCKS5 exchange on a connected socket; an error line or nothing.
asio::awaitable<Outcome<void>> handshake(tcp::socket& s, const SocksRequest& r) {
    auto broken = [](const char* what) { return std::string("the SOCKS5 entry ") + what; };
    std::array<std::uint8_t, 2> two;
    std::vector<std::uint8_t> out{socks5::kVersion, 1, socks5::kMethodUserPass};
    if (auto [ec, n] = co_await asio::async_write(s, asio::buffer(out), kAwait); ec)
        co_return broken("closed the connection");
    if (auto [ec, n] = co_await asio::async_read(s, asio::buffer(two), kAwait); ec)
        co_return broken("closed the connection");
    if (two[0] != socks5::kVersion || two[1] != socks5::kMethodUserPass)
        co_return broken("does not speak SOCKS5 with user names");
    out = {1, static_cast<std::uint8_t>(r.user.size())};
    out.insert(out.end(), r.user.begin(), r.user.end());
    out.push_back(static_cast<std::uint8_t>(r.password.size()));
    out.insert(out.end(), r.password.begin(), r.password.end());
    if (auto [ec, n] = co_await asio::async_write(s, asio::buffer(out), kAwait); ec)
        co_return broken("closed the connection");
    if (auto [ec, n] = co_await asio::async_read(s, asio::buffer(two), kAwait); ec || two[1] != 0)
        co_return broken("refused the credentials");

    auto colon = r.target.rfind(':');
    std::string host = r.target.substr(0, colon);
    auto port = target_port(r.target).value_or(0);  // checked by the caller
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    out = {socks5::kVersion, 1, 0};
    boost::system::error_code bad;
    auto ip = asio::ip::make_address(host, bad);
    if (!bad && ip.is_v4()) {
        out.push_back(1);
        auto b = ip.to_v4().to_bytes();
        out.insert(out.end(), b.begin(), b.end());
    } else if (!bad) {
        out.push_back(4);
        auto b = ip.to_v6().to_bytes();
        out.insert(out.end(), b.begin(), b.end());
    } else {
        out.push_back(3);
        out.push_back(static_cast<std::uint8_t>(host.size()));
        out.insert(out.end(), host.begin(), host.end());
    }
    out.push_back(static_cast<std::uint8_t>(port >> 8));
    out.push_back(static_cast<std::uint8_t>(port));
    if (auto [ec, n] = co_await asio::async_write(s, asio::buffer(out), kAwait); ec)
        co_return broken("closed the connection");
    std::array<std::uint8_t, 4> head;
    if (auto [ec, n] = co_await asio::async_read(s, asio::buffer(head), kAwait); ec)
        co_return broken("closed the connection before answering");
    if (head[1] != 0)
        co_return "cannot reach " + r.target + " through the network: " + reply_text(head[1]);
    std::size_t rest = head[3] == 1 ? 4 + 2 : head[3] == 4 ? 16 + 2 : 0;
    if (head[3] == 3) {
        std::array<std::uint8_t, 1> len;
        if (auto [ec, n] = co_await asio::async_read(s, asio::buffer(len), kAwait); ec)
            co_return broken("closed the connection");
        rest = len[0] + 2u;
    }
    std::vector<std::uint8_t> bound(rest);
    if (auto [ec, n] = co_await asio::async_read(s, asio::buffer(bound), kAwait); ec)
        co_return broken("closed the connection");
    co_return Outcome<void>();
}

}  // namespace

Sink::Sink(const tcp::endpoint& at) : acceptor_(io_, at), endpoint_(acceptor_.local_endpoint()) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
}

Sink::~Sink() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
}

void Sink::start() {
    thread_ = std::thread([this] { io_.run(); });
}

void Sink::run() {
    io_.run();
}

asio::awaitable<void> Sink::accept_loop() {
    while (true) {
        auto [ec, s] = co_await acceptor_.async_accept(kAwait);
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) {
            // Out of descriptors, say: wait rather than spin.
            asio::steady_timer pause(io_, std::chrono::milliseconds(100));
            co_await pause.async_wait(kAwait);
            continue;
        }
        asio::co_spawn(io_, serve(std::move(s)), asio::detached);
    }
}

asio::awaitable<Outcome<tcp::socket>> socks_connect(const SocksRequest& r,
                                                    std::chrono::milliseconds timeout) {
    auto ex = co_await asio::this_coro::executor;
    tcp::socket s(ex);
    if (auto [ec] = co_await s.async_connect(r.socks, kAwait); ec) {
        std::ostringstream where;
        where << r.socks;
        co_return "no SOCKS5 entry at " + where.str() + " (" + ec.message() +
            "): is the daemon running, with transport.socks_listen set?";
    }
    s.set_option(tcp::no_delay(true));
    asio::steady_timer timer(ex, timeout);
    auto done = co_await (handshake(s, r) || timer.async_wait(kAwait));
    if (done.index() == 1)
        co_return "no answer from the SOCKS5 entry for " + r.target + " within " +
            std::to_string(timeout.count() / 1000) + " s";
    if (auto& o = std::get<0>(done); !o) co_return o.error();
    co_return std::move(s);
}

std::string fresh_password() {
    std::random_device rd;
    Bytes b(8);
    for (auto& x : b) x = static_cast<std::uint8_t>(rd());
    return "bench-" + to_hex(b);
}

}  // namespace zmesh::app::bench
