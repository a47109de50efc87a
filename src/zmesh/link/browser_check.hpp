#pragma once
// The browser interoperability check shared by the WebSocket and WebRTC links: a page a
// headless browser loads from the node, which runs a transport's echo test and reports
// its verdict to "/zmesh-result?TEXT", where the node logs it as "browser test: TEXT".

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <string_view>

namespace zmesh::link {

inline constexpr std::string_view kReportPrefix = "/zmesh-result?";

// A complete HTML page around `script`, which may call randomMessage(maxSize) (a
// Uint8Array of random bytes and size) and report(text) (once; later calls are ignored).
std::string browser_check_page(std::string_view script);
// The verdict from the query string: printable ASCII, at most 200 characters.
std::string decode_report(std::string_view query);

// A plain HTTP answer after which the connection closes (the 404 a web server would give,
// the check's page, the verdict's acknowledgement), for both links' listeners.
boost::beast::http::response<boost::beast::http::string_body> plain_response(
    unsigned version, boost::beast::http::status status, const char* type, std::string body);

// The check's WebSocket echo: every message back as it came, text or binary, until the
// peer or the connection goes.
template <class Ws>
boost::asio::awaitable<void> echo_messages(Ws& ws) {
    const auto await = boost::asio::as_tuple(boost::asio::use_awaitable);
    boost::beast::flat_buffer buf;
    for (;;) {
        auto [ec, n] = co_await ws.async_read(buf, await);
        if (ec) co_return;
        ws.binary(ws.got_binary());
        auto [wec, wn] = co_await ws.async_write(buf.data(), await);
        buf.consume(buf.size());
        if (wec) co_return;
    }
}

}  // namespace zmesh::link
