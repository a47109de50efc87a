#include "zmesh/control/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>

#include "zmesh/link/service.hpp"

namespace zmesh::control {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
const auto kAwait = asio::as_tuple(asio::use_awaitable);

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}
}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (k == name) return v;
    return {};
}

std::string_view HttpRequest::path() const {
    return std::string_view(target).substr(0, target.find('?'));
}

std::string_view HttpRequest::query() const {
    auto q = target.find('?');
    return q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1);
}

std::optional<HttpRequest> parse_http_request(std::string_view head) {
    auto eol = head.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    std::string_view line = head.substr(0, eol);
    auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) return std::nullopt;
    auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.substr(sp2 + 1).rfind("HTTP/1.", 0) != 0)
        return std::nullopt;
    HttpRequest r;
    r.method = std::string(line.substr(0, sp1));
    r.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
    if (r.target.empty() || r.target.front() != '/') return std::nullopt;
    head.remove_prefix(eol + 2);
    while (!head.empty()) {
        eol = head.find("\r\n");
        std::string_view h = head.substr(0, eol);
        head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
        if (h.empty()) break;
        auto colon = h.find(':');
        if (colon == std::string_view::npos || colon == 0) return std::nullopt;
        std::string name(h.substr(0, colon));
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers.emplace_back(std::move(name), std::string(trim(h.substr(colon + 1))));
    }
    return r;
}

HttpServer::HttpServer(asio::any_io_executor ex, const tcp::endpoint& at, Handler handler,
                       HttpLimits limits, const char* name)
    : acceptor_(ex, at), handler_(std::move(handler)), limits_(limits), name_(name) {
    asio::co_spawn(ex, accept_loop(), link::log_exit(name_));
}

void HttpServer::stop() {
    boost::system::error_code ec;
    acceptor_.close(ec);
}

asio::awaitable<void> HttpServer::accept_loop() {
    while (acceptor_.is_open()) {
        auto [ec, socket] = co_await acceptor_.async_accept(kAwait);
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
            continue;
        }
        if (*active_ >= limits_.max_connections) {
            ++refused_;  // closed unanswered: the socket goes out of scope
            continue;
        }
        ++*active_;
        asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)), link::log_exit(name_));
    }
}

asio::awaitable<void> HttpServer::serve(tcp::socket accepted) {
    // Counted down even when the frame is destroyed unrun (the io_context ends first).
    struct Active {
        std::shared_ptr<std::size_t> n;
        ~Active() { --*n; }
    } active{active_};
    auto socket = std::make_shared<tcp::socket>(std::move(accepted));
    // A client that sends slowly or reads slowly is cut off at the deadline.
    asio::steady_timer deadline(socket->get_executor(), limits_.deadline);
    deadline.async_wait([weak = std::weak_ptr<tcp::socket>(socket)](boost::system::error_code ec) {
        auto s = weak.lock();
        if (ec || !s) return;  // cancelled, or the request finished first
        boost::system::error_code ignored;
        s->close(ignored);
    });
    asio::streambuf buf(limits_.max_request);
    auto [ec, n] = co_await asio::async_read_until(*socket, buf, "\r\n\r\n", kAwait);
    HttpResponse resp;
    std::optional<HttpRequest> req;
    if (!ec)
        req = parse_http_request(std::string_view(static_cast<const char*>(buf.data().data()),
                                                  std::min(n, buf.data().size())));
    if (!req) {
        resp.status = "400 Bad Request";
    } else {
        try {
            resp = handler_(*req);
        } catch (const std::exception&) {
            resp = {};
            resp.status = "500 Internal Server Error";
        }
    }
    if (resp.body.empty() && resp.status != "200 OK") resp.body = resp.status + "\n";
    std::string out = "HTTP/1.1 " + resp.status + "\r\nContent-Type: " + resp.type +
                      "\r\nContent-Length: " + std::to_string(resp.body.size()) + "\r\n";
    for (const auto& [k, v] : resp.headers) out += k + ": " + v + "\r\n";
    out += "Connection: close\r\n\r\n";
    out += resp.body;
    co_await asio::async_write(*socket, asio::buffer(out), kAwait);
    deadline.cancel();
}

// "localhost", "127.0.0.1", "[::1]" with or without a port: names a web page cannot make
// its own by rebinding DNS.
bool loopback_host(std::string_view host) {
    if (host.empty()) return false;
    if (host.front() == '[') {
        auto close = host.find(']');
        if (close == std::string_view::npos) return false;
        host = host.substr(1, close - 1);
    } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
        host = host.substr(0, colon);
    }
    if (host == "localhost") return true;
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(std::string(host), ec);
    return !ec && ip.is_loopback();
}

MetricsServer::MetricsServer(asio::any_io_executor ex, const tcp::endpoint& at, Collect collect)
    : collect_(std::move(collect)),
      loopback_only_(at.address().is_loopback()),
      http_(
          ex, at, [this](const HttpRequest& r) { return handle(r); }, {}, "metrics server") {}

HttpResponse MetricsServer::handle(const HttpRequest& r) const {
    HttpResponse resp;
    resp.type = "text/plain; version=0.0.4; charset=utf-8";
    if (loopback_only_ && !loopback_host(r.header("host"))) {
        // A page the user visits, its name rebound to 127.0.0.1, would read the counters.
        resp.status = "403 Forbidden";
    } else if (r.method != "GET") {
        resp.status = "405 Method Not Allowed";
    } else if (r.target == "/metrics") {
        resp.body = to_prometheus(collect_());
    } else if (r.target == "/metrics?format=json") {
        resp.type = "application/json";
        resp.body = to_json(collect_());
    } else if (r.target == "/metrics?format=influx") {
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
        resp.body = to_influx(collect_(), static_cast<long long>(ns));
    } else {
        resp.status = "404 Not Found";
    }
    return resp;
}

}  // namespace zmesh::control
