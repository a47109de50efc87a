#pragma once
// A TCP echo server on loopback for tests: the destination behind an exit.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <vector>

namespace zmesh::test {

// Echoes every byte back, for as long as the peer sends; closes when the peer does.
inline boost::asio::awaitable<void> echo(boost::asio::ip::tcp::socket s) {
    namespace asio = boost::asio;
    std::vector<std::uint8_t> buf(16384);
    for (;;) {
        auto [ec, n] =
            co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        if (ec) break;
        auto [wec, w] = co_await asio::async_write(s, asio::buffer(buf.data(), n),
                                                   asio::as_tuple(asio::use_awaitable));
        if (wec) break;
    }
    boost::system::error_code ignored;
    s.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

inline boost::asio::awaitable<void> echo_server(boost::asio::ip::tcp::acceptor& a) {
    namespace asio = boost::asio;
    for (;;) {
        auto [ec, s] = co_await a.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        asio::co_spawn(a.get_executor(), echo(std::move(s)), asio::detached);
    }
}

}  // namespace zmesh::test
