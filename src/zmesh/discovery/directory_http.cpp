#include "zmesh/discovery/directory_http.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <sstream>

#include "zmesh/core/clock.hpp"
#include "zmesh/link/service.hpp"

namespace zmesh::discovery {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

const auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxHeader = 8192;
constexpr std::size_t kMaxConnections = 64;
constexpr auto kTimeout = std::chrono::seconds(10);

// Closes the socket when the timer fires first: every read and write then fails.
struct Deadline {
    Deadline(tcp::socket& s, asio::any_io_executor ex) : timer(ex, kTimeout) {
        timer.async_wait([&s](boost::system::error_code ec) {
            if (!ec) {
                boost::system::error_code ignored;
                s.close(ignored);
            }
        });
    }
    ~Deadline() { timer.cancel(); }
    zmesh::Timer timer;
};

std::optional<std::size_t> content_length(const std::string& head) {
    std::string lower = head;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto at = lower.find("\r\ncontent-length:");
    if (at == std::string::npos) return std::size_t{0};
    at += 17;
    while (at < lower.size() && lower[at] == ' ') ++at;
    std::size_t n = 0;
    auto r = std::from_chars(lower.data() + at, lower.data() + lower.size(), n);
    if (r.ec != std::errc{}) return std::nullopt;
    return n;
}

std::string address_text(const Address& a) {
    auto ip = to_socket_address(a).ip;  // v4-mapped shown as IPv4
    std::string host = ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string();
    return std::string(to_string(a.transport)) + ":" + host + ":" + std::to_string(a.port);
}

}  // namespace

link::SocketAddress to_socket_address(const Address& a) {
    return {link::ip_from_bytes(a.ip.data()), a.port};
}

Address to_address(TransportKind transport, const link::SocketAddress& at) {
    return {transport, link::ip_bytes(at.ip), at.port};
}

std::string describe(const Directory& dir) {
    std::ostringstream out;
    for (const auto& [id, e] : dir.entries()) {
        const auto& d = e.descriptor;
        out << crypto::node_id_string(id);
        std::string flags;
        for (const auto& name : d.flag_names()) flags += (flags.empty() ? "" : ",") + name;
        out << " " << flags;
        for (const auto& a : d.addresses) out << " " << address_text(a);
        out << " expires=" << d.expires << "\n";
    }
    return out.str();
}

DirectoryServer::DirectoryServer(asio::any_io_executor ex, const tcp::endpoint& at, Directory& dir,
                                 const crypto::Identity& signer, Now now)
    : acceptor_(ex, at), dir_(dir), signer_(signer), now_(std::move(now)) {
    asio::co_spawn(ex, accept_loop(), link::log_exit("directory server"));
}

void DirectoryServer::stop() {
    boost::system::error_code ec;
    acceptor_.close(ec);
}

asio::awaitable<void> DirectoryServer::accept_loop() {
    while (acceptor_.is_open()) {
        auto [ec, socket] = co_await acceptor_.async_accept(kAwait);
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
            continue;
        }
        if (connections_ >= kMaxConnections) continue;  // dropped: the socket closes here
        ++connections_;
        asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)),
                       [this](std::exception_ptr) { --connections_; });
    }
}

asio::awaitable<void> DirectoryServer::serve(tcp::socket socket) {
    Deadline deadline(socket, acceptor_.get_executor());
    ++requests_;
    asio::streambuf buf(kMaxHeader + kMaxDescriptorSize);
    auto [ec, n] = co_await asio::async_read_until(socket, buf, "\r\n\r\n", kAwait);
    std::string status = "200 OK";
    std::string type = "application/octet-stream";
    Bytes body;
    auto fail = [&](const char* s) {
        status = s;
        ++bad_requests_;
    };
    if (ec || n > kMaxHeader) {
        fail("400 Bad Request");
    } else {
        std::string head(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n);
        buf.consume(n);
        std::string line = head.substr(0, head.find("\r\n"));
        auto sp1 = line.find(' ');
        auto sp2 = line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
        std::string method = line.substr(0, sp1);
        std::string target = sp1 == std::string::npos ? "" : line.substr(sp1 + 1, sp2 - sp1 - 1);
        auto now = now_();
        if (method == "GET" && target == "/zmesh/v1/bundle") {
            dir_.purge(now);
            body = dir_.make_bundle(signer_, now);
        } else if (method == "GET" && target == "/zmesh/v1/descriptors.txt") {
            dir_.purge(now);
            type = "text/plain; charset=utf-8";
            std::string text = describe(dir_);
            body.assign(text.begin(), text.end());
        } else if (method == "POST" && target == "/zmesh/v1/descriptor") {
            auto len = content_length(head);
            if (!len || *len == 0 || *len > kMaxDescriptorSize) {
                fail("413 Content Too Large");
            } else {
                Bytes descriptor(*len);
                std::size_t have = std::min(buf.size(), *len);
                asio::buffer_copy(asio::buffer(descriptor), buf.data(), have);
                buf.consume(have);
                bool ok = true;
                if (have < *len) {
                    auto [rec, got] = co_await asio::async_read(
                        socket, asio::buffer(descriptor.data() + have, *len - have), kAwait);
                    ok = !rec;
                }
                auto outcome = ok ? dir_.insert(descriptor, now) : Directory::Outcome::rejected;
                type = "text/plain; charset=utf-8";
                std::string text = outcome == Directory::Outcome::accepted   ? "accepted\n"
                                   : outcome == Directory::Outcome::replaced ? "replaced\n"
                                   : outcome == Directory::Outcome::stale    ? "stale\n"
                                                                             : "rejected\n";
                if (outcome == Directory::Outcome::rejected) fail("400 Bad Request");
                body.assign(text.begin(), text.end());
            }
        } else if (method != "GET" && method != "POST") {
            fail("405 Method Not Allowed");
        } else {
            fail("404 Not Found");
        }
    }
    std::string head = "HTTP/1.1 " + status + "\r\nContent-Type: " + type +
                       "\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\nConnection: close\r\n\r\n";
    std::array<asio::const_buffer, 2> out = {asio::buffer(head), asio::buffer(body)};
    co_await asio::async_write(socket, out, kAwait);
}

asio::awaitable<std::optional<HttpResponse>> http_request(tcp::endpoint to, std::string method,
                                                          std::string path, Bytes body,
                                                          std::size_t max_body) {
    auto ex = co_await asio::this_coro::executor;
    tcp::socket socket(ex);
    Deadline deadline(socket, ex);
    if (auto [ec] = co_await socket.async_connect(to, kAwait); ec) co_return std::nullopt;
    std::string head = method + " " + path + " HTTP/1.1\r\nHost: zmesh\r\nConnection: close\r\n";
    if (method == "POST")
        head += "Content-Type: application/octet-stream\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n";
    head += "\r\n";
    std::array<asio::const_buffer, 2> out = {asio::buffer(head), asio::buffer(body)};
    if (auto [ec, n] = co_await asio::async_write(socket, out, kAwait); ec) co_return std::nullopt;
    asio::streambuf buf(kMaxHeader + max_body);
    auto [ec, n] = co_await asio::async_read_until(socket, buf, "\r\n\r\n", kAwait);
    if (ec || n > kMaxHeader) co_return std::nullopt;
    std::string response_head(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n);
    buf.consume(n);
    HttpResponse r;
    if (response_head.size() < 12 || !response_head.starts_with("HTTP/1.")) co_return std::nullopt;
    std::from_chars(response_head.data() + 9, response_head.data() + 12, r.status);
    auto len = content_length(response_head);
    if (!len || *len > max_body) co_return std::nullopt;
    r.body.resize(*len);
    std::size_t have = std::min(buf.size(), *len);
    asio::buffer_copy(asio::buffer(r.body), buf.data(), have);
    if (have < *len) {
        auto [rec, got] = co_await asio::async_read(
            socket, asio::buffer(r.body.data() + have, *len - have), kAwait);
        if (rec) co_return std::nullopt;
    }
    co_return r;
}

}  // namespace zmesh::discovery
