#include "zmesh/link/ws_link.hpp"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>

#include "zmesh/link/browser_check.hpp"
#include "zmesh/transport/frame.hpp"
#include "zmesh/transport/webrtc/peer.hpp"

namespace zmesh::link {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using asio::ip::tcp;

namespace {

constexpr std::size_t kMaxConnections = 4096;
constexpr auto kHandshakeTimeout = std::chrono::seconds(15);
const auto kAwait = asio::as_tuple(asio::use_awaitable);

using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<ssl::stream<beast::tcp_stream>>;

// Binary messages of at most one link packet; no idle timeout (the link keeps alive).
template <class Ws>
void configure(Ws& ws, beast::role_type role) {
    websocket::stream_base::timeout t = websocket::stream_base::timeout::suggested(role);
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    t.handshake_timeout = kHandshakeTimeout;
    ws.set_option(t);
    ws.binary(true);
    ws.read_message_max(kMaxWsMessage);
    // Whole messages in one frame, written in large pieces (the defaults fragment into 4 KiB
    // writes).
    ws.auto_fragment(false);
    ws.write_buffer_bytes(kMaxWsMessage);
}

// The browser check: sends 50 binary messages of random bytes and sizes to the echo path
// and compares what comes back.
std::string test_page_html(const std::string& echo_path) {
    return browser_check_page(R"(
const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + ')" +
                              echo_path + R"(';
const ws = new WebSocket(url);
ws.binaryType = 'arraybuffer';
const sent = [];
let got = 0;
function done(text) {
  report(text);
  ws.close();
}
ws.onopen = () => {
  for (let i = 0; i < 50; i++) {
    const m = randomMessage(60000);
    sent.push(m);
    ws.send(m);
  }
};
ws.onmessage = (e) => {
  const a = new Uint8Array(e.data), b = sent[got];
  if (!b || a.length !== b.length || a.some((v, i) => v !== b[i])) return done('FAIL message ' + got);
  if (++got === sent.length) done('PASS ' + got + ' binary messages echoed over ' + url);
};
ws.onerror = () => done('FAIL websocket error');
ws.onclose = (e) => { if (got < 50) done('FAIL closed ' + e.code); };
)");
}

}  // namespace

std::shared_ptr<ssl::context> self_signed_tls(const std::string& name) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    auto cert = transport::webrtc::Certificate::generate(name, 365);
    if (SSL_CTX_use_certificate(ctx->native_handle(), static_cast<X509*>(cert->x509())) != 1 ||
        SSL_CTX_use_PrivateKey(ctx->native_handle(), static_cast<EVP_PKEY*>(cert->key())) != 1)
        throw std::runtime_error("cannot use a self-signed TLS certificate");
    return ctx;
}

std::shared_ptr<ssl::context> tls_from_files(const std::string& cert, const std::string& key) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->use_certificate_chain_file(cert);
    ctx->use_private_key_file(key, ssl::context::pem);
    return ctx;
}

struct WsLink::Connection {
    std::uint64_t id = 0;
    std::unique_ptr<PlainWs> plain;
    std::unique_ptr<TlsWs> tls;
    std::vector<std::uint8_t> pending;    // length-prefixed packets
    std::vector<std::uint8_t> in_flight;  // the message being written
    bool open = false;
    bool writing = false;
    bool closed = false;
    std::optional<SocketAddress> remote;

    template <class F>
    auto with(F&& f) {
        return plain ? f(*plain) : f(*tls);
    }
    // The layer below the WebSocket, where HTTP is spoken.
    template <class F>
    auto with_http(F&& f) {
        return plain ? f(plain->next_layer()) : f(tls->next_layer());
    }
    void close() {
        closed = true;
        boost::system::error_code ec;
        if (plain) beast::get_lowest_layer(*plain).socket().close(ec);
        if (tls) beast::get_lowest_layer(*tls).socket().close(ec);
    }
};

WsLink::WsLink(asio::any_io_executor ex, EndpointConfig config, const SocketAddress& listen,
               WsOptions options)
    : LinkService(ex, std::move(config)),
      opt_(std::move(options)),
      client_tls_(std::make_shared<ssl::context>(ssl::context::tls_client)),
      acceptor_(ex) {
    // The peer is authenticated by the link handshake, not by its certificate.
    client_tls_->set_verify_mode(ssl::verify_none);
    tcp::endpoint ep(listen.ip, listen.port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
}

WsLink::~WsLink() = default;

void WsLink::start() {
    LinkService::start();
    asio::co_spawn(ex_, accept_loop(), log_exit("WebSocket accept"));
}

void WsLink::stop() {
    LinkService::stop();
    boost::system::error_code ec;
    acceptor_.close(ec);
    for (auto& [id, c] : conns_) c->close();
    conns_.clear();
}

SocketAddress WsLink::local_address() const {
    auto ep = acceptor_.local_endpoint();
    return {ep.address(), ep.port()};
}

std::optional<SocketAddress> WsLink::peer_address(const PeerAddress& p) const {
    auto it = conns_.find(conn_id(p));
    return it == conns_.end() ? std::nullopt : it->second->remote;
}

void WsLink::drop(std::uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    it->second->close();
    conns_.erase(it);
    close_sessions_at(conn_address(id));
}

asio::awaitable<void> WsLink::accept_loop() {
    while (!stopped_) {
        auto [ec, socket] = co_await acceptor_.async_accept(kAwait);
        if (ec) {
            if (stopped_ || ec == asio::error::operation_aborted) co_return;
            continue;
        }
        if (conns_.size() >= kMaxConnections) continue;
        socket.set_option(tcp::no_delay(true), ec);
        auto c = std::make_shared<Connection>();
        c->id = next_conn_++;
        if (auto rep = socket.remote_endpoint(ec); !ec)
            c->remote = SocketAddress{rep.address(), rep.port()};
        if (opt_.server_tls)
            c->tls =
                std::make_unique<TlsWs>(beast::tcp_stream(std::move(socket)), *opt_.server_tls);
        else
            c->plain = std::make_unique<PlainWs>(beast::tcp_stream(std::move(socket)));
        conns_.emplace(c->id, c);
        asio::co_spawn(ex_, serve(c), log_exit("WebSocket serve"));
    }
}

// A plain HTTP answer, then the connection closes.
asio::awaitable<void> WsLink::respond(std::shared_ptr<Connection> c, unsigned version,
                                      http::status status, const char* type, std::string body) {
    auto res = plain_response(version, status, type, std::move(body));
    co_await c->with_http([&](auto& s) { return http::async_write(s, res, kAwait); });
    drop(c->id);
}

// The server side: TLS if configured, then the HTTP upgrade on our path only.
asio::awaitable<void> WsLink::serve(std::shared_ptr<Connection> c) {
    beast::flat_buffer buf;
    http::request_parser<http::empty_body> parser;
    parser.header_limit(8192);
    parser.body_limit(0);
    boost::system::error_code ec;
    c->with([](auto& ws) { beast::get_lowest_layer(ws).expires_after(kHandshakeTimeout); });
    if (c->tls)
        std::tie(ec) =
            co_await c->tls->next_layer().async_handshake(ssl::stream_base::server, kAwait);
    if (!ec) {
        std::size_t n = 0;
        std::tie(ec, n) = co_await c->with_http(
            [&](auto& s) { return http::async_read(s, buf, parser, kAwait); });
    }
    if (ec || c->closed) {
        drop(c->id);
        co_return;
    }
    auto req = parser.release();
    bool echo = !opt_.echo_path.empty() && req.target() == opt_.echo_path;
    if (!opt_.test_page.empty() && req.target().starts_with(kReportPrefix)) {
        spdlog::info("browser test: {}", decode_report(req.target().substr(kReportPrefix.size())));
        co_await respond(c, req.version(), http::status::no_content, "", "");
        co_return;
    }
    if (!opt_.test_page.empty() && req.target() == opt_.test_page && !websocket::is_upgrade(req)) {
        co_await respond(c, req.version(), http::status::ok, "text/html; charset=utf-8",
                         test_page_html(opt_.echo_path));
        co_return;
    }
    if (!websocket::is_upgrade(req) || (req.target() != opt_.path && !echo)) {
        ++refused_;  // not ours: an ordinary web server's answer
        co_await respond(c, req.version(), http::status::not_found, "text/plain", "Not Found\n");
        co_return;
    }
    auto [aec] = co_await c->with([&](auto& ws) {
        beast::get_lowest_layer(ws).expires_never();
        configure(ws, beast::role_type::server);
        return ws.async_accept(req, kAwait);
    });
    if (aec || c->closed) {
        drop(c->id);
        co_return;
    }
    if (echo)
        co_await echo_loop(c);
    else
        co_await run(c);
}

// The WebSocket is open: queued packets go out, arriving ones in.
asio::awaitable<void> WsLink::run(std::shared_ptr<Connection> c) {
    c->open = true;
    kick(c);
    co_await read_loop(c);
}

// Browser check only: every message back as it came, text or binary.
asio::awaitable<void> WsLink::echo_loop(std::shared_ptr<Connection> c) {
    co_await c->with([](auto& ws) { return echo_messages(ws); });
    drop(c->id);
}

Result<SessionId> WsLink::connect(const SocketAddress& to, const crypto::X25519Public& key,
                                  noise::Pattern pattern) {
    if (conns_.size() >= kMaxConnections) return Errc::exhausted;
    auto c = std::make_shared<Connection>();
    c->id = next_conn_++;
    c->remote = to;
    tcp::socket socket(ex_);
    if (opt_.connect_tls)
        c->tls = std::make_unique<TlsWs>(beast::tcp_stream(std::move(socket)), *client_tls_);
    else
        c->plain = std::make_unique<PlainWs>(beast::tcp_stream(std::move(socket)));
    conns_.emplace(c->id, c);
    // The link handshake waits in the connection's queue until the WebSocket is open.
    auto id = endpoint_.connect(conn_address(c->id), key, pattern, Clock::now(), out_);
    flush();
    if (!id) {
        drop(c->id);
        return id;
    }
    asio::co_spawn(ex_, dial(c, to), log_exit("WebSocket connect"));
    return id;
}

asio::awaitable<void> WsLink::dial(std::shared_ptr<Connection> c, SocketAddress to) {
    std::string host = opt_.host;
    if (host.empty()) {
        host = to.ip.is_v6() ? "[" + to.ip.to_string() + "]" : to.ip.to_string();
        host += ":" + std::to_string(to.port);
    }
    tcp::endpoint ep(to.ip, to.port);
    boost::system::error_code ec;
    if (c->tls) {
        auto& tcp_layer = beast::get_lowest_layer(*c->tls);
        tcp_layer.expires_after(kHandshakeTimeout);
        std::tie(ec) = co_await tcp_layer.async_connect(ep, kAwait);
        if (!ec) {
            std::string sni = host.substr(0, host.rfind(':'));
            if (sni.starts_with("[")) sni = sni.substr(1, sni.size() - 2);
            SSL_set_tlsext_host_name(c->tls->next_layer().native_handle(), sni.c_str());
            std::tie(ec) =
                co_await c->tls->next_layer().async_handshake(ssl::stream_base::client, kAwait);
        }
    } else {
        auto& tcp_layer = beast::get_lowest_layer(*c->plain);
        tcp_layer.expires_after(kHandshakeTimeout);
        std::tie(ec) = co_await tcp_layer.async_connect(ep, kAwait);
    }
    if (!ec && !c->closed) {
        std::tie(ec) = co_await c->with([&](auto& ws) {
            beast::get_lowest_layer(ws).expires_never();
            beast::get_lowest_layer(ws).socket().set_option(tcp::no_delay(true));
            configure(ws, beast::role_type::client);
            return ws.async_handshake(host, opt_.path, kAwait);
        });
    }
    if (ec || c->closed) {
        drop(c->id);
        co_return;
    }
    co_await run(c);
}

asio::awaitable<void> WsLink::read_loop(std::shared_ptr<Connection> c) {
    beast::flat_buffer buf;
    PeerAddress addr = conn_address(c->id);
    while (!c->closed) {
        auto [ec, n] = co_await c->with([&](auto& ws) { return ws.async_read(buf, kAwait); });
        if (ec || c->closed) {
            if (ec == websocket::error::message_too_big) ++refused_;
            break;
        }
        bool binary = c->with([](auto& ws) { return ws.got_binary(); });
        auto data = buf.cdata();
        transport::FrameDecoder frames;
        bool ok =
            binary && frames.feed({static_cast<const std::uint8_t*>(data.data()), data.size()});
        buf.consume(buf.size());
        auto now = Clock::now();
        std::uint64_t before = endpoint_.stats().dropped();
        for (ByteView f = ok ? frames.next() : ByteView{}; ok && !f.empty(); f = frames.next())
            ok = receive(addr, f, now);
        flush();
        // Whole frames only; and like TCP, a reliable channel never loses or reorders, so
        // any drop is misbehaviour.
        if (!ok || frames.failed() || frames.buffered() != 0 ||
            endpoint_.stats().dropped() != before) {
            ++transport_rejects_;
            break;
        }
    }
    drop(c->id);
}

void WsLink::transmit(std::vector<Outgoing>& packets) {
    for (auto& p : packets) {
        auto it = conns_.find(conn_id(p.to));
        if (it == conns_.end() || it->second->pending.size() >= kMaxWsWriteBuffer) {
            ++transmit_drops_;
            continue;
        }
        auto& c = it->second;
        (void)transport::append_frame(c->pending, p.packet);
        kick(c);
    }
}

void WsLink::kick(const std::shared_ptr<Connection>& c) {
    if (c->writing || !c->open || c->closed || c->pending.empty()) return;
    c->writing = true;
    asio::co_spawn(ex_, write_loop(c), log_exit("WebSocket write"));
}

asio::awaitable<void> WsLink::write_loop(std::shared_ptr<Connection> c) {
    while (!c->closed && !c->pending.empty()) {
        // Everything queued, sent as messages of up to 64 KiB of whole frames (taking the
        // whole queue at once: cutting pieces off its front would move the rest each time).
        c->in_flight.clear();
        std::swap(c->in_flight, c->pending);
        std::size_t off = 0;
        boost::system::error_code ec;
        while (!ec && !c->closed && off < c->in_flight.size()) {
            std::size_t take = 0;
            while (off + take < c->in_flight.size()) {
                std::size_t frame =
                    transport::kFrameHeader + load_u16_be(c->in_flight.data() + off + take);
                if (take > 0 && take + frame > kMaxWsMessage) break;
                take += frame;
            }
            std::size_t n = 0;
            std::tie(ec, n) = co_await c->with([&](auto& ws) {
                return ws.async_write(asio::buffer(c->in_flight.data() + off, take), kAwait);
            });
            off += take;
        }
        if (ec) {
            drop(c->id);
            break;
        }
    }
    c->writing = false;
}

}  // namespace zmesh::link
