#include "zmesh/link/webrtc_link.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <nlohmann/json.hpp>

#include "zmesh/core/clock.hpp"
#include "zmesh/link/browser_check.hpp"

namespace zmesh::link {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace rtc = transport::webrtc;
namespace ssl = asio::ssl;
using asio::ip::tcp;

namespace {

constexpr std::size_t kMaxPeers = 1024;
constexpr auto kSignalTimeout = std::chrono::seconds(15);
constexpr auto kOpenTimeout = std::chrono::seconds(20);
const auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr const char* kEchoPath = "/zmesh-echo";

using TlsStream = ssl::stream<beast::tcp_stream>;

template <class Ws>
void configure(Ws& ws) {
    auto t = websocket::stream_base::timeout::suggested(beast::role_type::server);
    t.handshake_timeout = kSignalTimeout;
    t.idle_timeout = kSignalTimeout;
    ws.set_option(t);
    ws.read_message_max(kMaxSignalMessage);
}

// One signaling message: {"type": ..., "sdp" or "reason": ...}.
std::string signal(const char* type, const char* field, const std::string& value) {
    return nlohmann::json{{"type", type}, {field, value}}.dump();
}

// The SDP of a {"type": want, "sdp": ...} message, or why not.
std::optional<std::string> read_signal(std::string_view text, const char* want, std::string& why) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        why = "not a JSON object";
        return std::nullopt;
    }
    auto type = j.value("type", std::string{});
    if (type == "error") {
        why = "refused: " + j.value("reason", std::string{"no reason"}).substr(0, 200);
        return std::nullopt;
    }
    if (type != want || !j.contains("sdp") || !j["sdp"].is_string()) {
        why = std::string("expected an ") + want;
        return std::nullopt;
    }
    return j["sdp"].get<std::string>();
}

// Waits for a callback's result on the executor, or gives up after `timeout`.
template <class T>
struct Pending {
    explicit Pending(asio::any_io_executor ex) : timer(ex) {}
    zmesh::Timer timer;
    std::optional<T> value;
    void set(T v) {
        value = std::move(v);
        timer.cancel();
    }
    asio::awaitable<std::optional<T>> wait(std::chrono::seconds timeout) {
        if (!value) {
            timer.expires_after(timeout);
            co_await timer.async_wait(kAwait);
        }
        co_return std::move(value);
    }
};

// The browser check: a WebSocket echo, then a data channel echo, 50 messages each.
std::string rtc_test_page(const std::string& signal_path) {
    return browser_check_page(R"(
const base = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host;
// At most 8 messages in flight: the node's echo, like its links, drops what it cannot
// queue (1 MiB) rather than stall, and a busy machine would drain 50 at once too slowly.
function echo(name, open, send, onmessage) {
  return new Promise((resolve) => {
    const sent = [];
    let got = 0;
    const next = () => {
      if (sent.length === 50) return;
      const m = randomMessage(60000);
      sent.push(m);
      send(m);
    };
    onmessage((data) => {
      const a = new Uint8Array(data), b = sent[got];
      if (!b || a.length !== b.length || a.some((v, i) => v !== b[i])) return resolve('FAIL ' + name + ' message ' + got);
      if (++got === 50) return resolve('');
      next();
    });
    open(() => { for (let i = 0; i < 8; i++) next(); }, (why) => resolve('FAIL ' + name + ' ' + why));
  });
}
async function websocketCheck() {
  const ws = new WebSocket(base + ')" +
                              std::string(kEchoPath) + R"(');
  ws.binaryType = 'arraybuffer';
  const r = await echo('websocket', (go, fail) => { ws.onopen = go; ws.onerror = () => fail('error'); },
                       (m) => ws.send(m), (f) => { ws.onmessage = (e) => f(e.data); });
  ws.close();
  return r;
}
async function rtcCheck() {
  const pc = new RTCPeerConnection();
  const dc = pc.createDataChannel('zmesh-check');
  dc.binaryType = 'arraybuffer';
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => {
    if (pc.iceGatheringState === 'complete') return r();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') r(); };
    setTimeout(r, 2000);
  });
  const r = await echo('datachannel', (go, fail) => {
    dc.onopen = go;
    dc.onerror = () => fail('channel error');
    const ws = new WebSocket(base + ')" +
                              signal_path + R"(?echo');
    ws.onopen = () => ws.send(JSON.stringify({type: 'offer', sdp: pc.localDescription.sdp}));
    ws.onmessage = async (e) => {
      const m = JSON.parse(e.data);
      if (m.type !== 'answer') return fail('signaling: ' + (m.reason || m.type));
      await pc.setRemoteDescription({type: 'answer', sdp: m.sdp});
    };
    setTimeout(() => fail('timeout (ICE ' + pc.iceConnectionState + ')'), 15000);
  }, (m) => dc.send(m), (f) => { dc.onmessage = (e) => f(e.data); });
  pc.close();
  return r;
}
(async () => {
  const w = await websocketCheck();
  if (w) return report(w);
  const r = await rtcCheck();
  report(r || 'PASS 50 binary messages echoed over a WebSocket and over an RTCPeerConnection data channel');
})();
)");
}

}  // namespace

WebRtcLink::WebRtcLink(asio::any_io_executor ex, EndpointConfig config, const SocketAddress& listen,
                       WebRtcOptions options)
    : LinkService(ex, std::move(config)),
      opt_(std::move(options)),
      cert_(rtc::Certificate::generate()),
      fingerprint_(rtc::fingerprint_text(cert_->fingerprint())),
      client_tls_(std::make_shared<ssl::context>(ssl::context::tls_client)),
      acceptor_(ex, tcp::endpoint(listen.ip, listen.port)) {
    // The link's Noise handshake authenticates the peer, and the DTLS fingerprint is
    // checked against the description: TLS here is camouflage, not the trust anchor.
    client_tls_->set_verify_mode(ssl::verify_none);
}

WebRtcLink::~WebRtcLink() {
    WebRtcLink::stop();
}

void WebRtcLink::start() {
    LinkService::start();
    asio::co_spawn(ex_, accept_loop(), log_exit("WebRTC signaling"));
}

void WebRtcLink::stop() {
    if (stopped_) return;
    LinkService::stop();
    boost::system::error_code ec;
    acceptor_.close(ec);
    for (auto& [id, p] : peers_) {
        if (p->deadline) p->deadline->cancel();
        p->pc->close();
    }
    peers_.clear();
}

std::vector<std::pair<std::string_view, std::uint64_t>> WebRtcLink::transport_counters() const {
    std::uint64_t refused_messages = 0, send_drops = 0;
    for (const auto& [id, p] : peers_) {
        refused_messages += p->pc->stats().refused_messages.load();
        send_drops += p->pc->stats().send_drops.load();
    }
    return {{"refused_requests", refused_},
            {"failed_connections", failed_},
            {"refused_messages", refused_messages + closed_refused_},
            {"channel_send_drops", send_drops + closed_send_drops_}};
}

SocketAddress WebRtcLink::local_address() const {
    auto ep = acceptor_.local_endpoint();
    return {ep.address(), ep.port()};
}

std::optional<SocketAddress> WebRtcLink::peer_address(const PeerAddress& p) const {
    auto it = peers_.find(conn_id(p));
    if (it == peers_.end()) return std::nullopt;
    return it->second->remote;
}

std::shared_ptr<WebRtcLink::Peer> WebRtcLink::make_peer(bool offerer, bool echo,
                                                        SocketAddress remote) {
    auto p = std::make_shared<Peer>();
    p->id = next_peer_++;
    p->remote = remote;
    p->echo = echo;
    std::weak_ptr<Peer> w = p;
    rtc::PeerConnection::Callbacks cb;
    cb.on_open = [this, w] {
        auto peer = w.lock();
        if (!peer) return;
        for (; !peer->queued.empty(); peer->queued.pop_front()) {
            if (!peer->pc->send(peer->queued.front())) ++transmit_drops_;
        }
    };
    cb.on_message = [this, w](Bytes m) {
        auto peer = w.lock();
        if (!peer) return;
        if (peer->echo) {
            peer->pc->send(m);
            return;
        }
        receive(conn_address(peer->id), m, Clock::now());
        flush();
    };
    cb.on_closed = [this, w](const std::string& why) {
        if (auto peer = w.lock()) {
            ++failed_;
            drop(peer->id, why);
        }
    };
    p->pc = rtc::PeerConnection::create(ex_, opt_.peer, cert_, offerer, std::move(cb));
    peers_.emplace(p->id, p);
    asio::co_spawn(ex_, open_deadline(p), log_exit("WebRTC open"));
    return p;
}

// A connection that is not open within kOpenTimeout is given up. The timer is cancelled
// when the peer goes (and at stop), and then nothing here touches the link.
asio::awaitable<void> WebRtcLink::open_deadline(std::shared_ptr<Peer> p) {
    p->deadline = std::make_unique<zmesh::Timer>(ex_, kOpenTimeout);
    auto [ec] = co_await p->deadline->async_wait(kAwait);  // p keeps the timer alive
    if (ec) co_return;
    if (!p->pc->is_open() && peers_.contains(p->id)) {
        ++failed_;
        drop(p->id, "not open after 20 s");
    }
}

void WebRtcLink::drop(std::uint64_t id, const std::string& why) {
    auto it = peers_.find(id);
    if (it == peers_.end()) return;
    spdlog::debug("webrtc: connection {} closed: {}", id, why);
    auto p = it->second;
    peers_.erase(it);
    if (p->deadline) p->deadline->cancel();
    p->pc->close();
    closed_refused_ += p->pc->stats().refused_messages.load();
    closed_send_drops_ += p->pc->stats().send_drops.load();
    if (!p->echo) close_sessions_at(conn_address(id));
}

void WebRtcLink::transmit(std::vector<Outgoing>& packets) {
    for (auto& out : packets) {
        auto it = peers_.find(conn_id(out.to));
        if (it == peers_.end()) {
            ++transmit_drops_;
            continue;
        }
        auto& p = *it->second;
        if (!p.pc->is_open()) {
            if (p.queued.size() >= kMaxRtcQueued) {
                ++transmit_drops_;
                continue;
            }
            p.queued.emplace_back(out.packet.begin(), out.packet.end());
            continue;
        }
        if (!p.pc->send(out.packet)) ++transmit_drops_;
    }
}

asio::awaitable<void> WebRtcLink::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(kAwait);
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
            continue;
        }
        asio::co_spawn(ex_, serve(std::move(socket)), log_exit("WebRTC signaling"));
    }
}

// One signaling request: an offer in, an answer out. Or the browser check's page, echo
// and verdict; anything else is an ordinary 404.
asio::awaitable<void> WebRtcLink::serve(tcp::socket socket) {
    boost::system::error_code ec;
    SocketAddress remote;
    if (auto rep = socket.remote_endpoint(ec); !ec)
        remote = SocketAddress{rep.address(), rep.port()};
    if (!opt_.server_tls) {
        beast::tcp_stream stream(std::move(socket));
        stream.expires_after(kSignalTimeout);
        co_await serve_on(std::move(stream), remote);
        co_return;
    }
    TlsStream tls(beast::tcp_stream(std::move(socket)), *opt_.server_tls);
    beast::get_lowest_layer(tls).expires_after(kSignalTimeout);
    std::tie(ec) = co_await tls.async_handshake(ssl::stream_base::server, kAwait);
    if (ec) {
        ++refused_;
        co_return;
    }
    co_await serve_on(std::move(tls), remote);
}

template <class Stream>
asio::awaitable<void> WebRtcLink::serve_on(Stream stream, SocketAddress remote) {
    boost::system::error_code ec;
    beast::flat_buffer buf;
    http::request_parser<http::empty_body> parser;
    parser.header_limit(8192);
    parser.body_limit(0);
    std::tie(ec, std::ignore) = co_await http::async_read(stream, buf, parser, kAwait);
    if (ec) co_return;
    auto req = parser.release();
    bool check = !opt_.test_page.empty();
    std::string_view target = req.target();
    auto plain = [&](http::status status, const char* type,
                     std::string body) -> asio::awaitable<void> {
        auto res = plain_response(req.version(), status, type, std::move(body));
        co_await http::async_write(stream, res, kAwait);
    };
    if (check && target.starts_with(kReportPrefix)) {
        spdlog::info("browser test: {}", decode_report(target.substr(kReportPrefix.size())));
        co_await plain(http::status::no_content, "", "");
        co_return;
    }
    if (check && target == opt_.test_page && !websocket::is_upgrade(req)) {
        co_await plain(http::status::ok, "text/html; charset=utf-8",
                       rtc_test_page(opt_.signal_path));
        co_return;
    }
    bool echo = check && target == opt_.signal_path + "?echo";
    bool ws_echo = check && target == kEchoPath;
    if (!websocket::is_upgrade(req) || (target != opt_.signal_path && !echo && !ws_echo)) {
        ++refused_;
        co_await plain(http::status::not_found, "text/plain", "Not Found\n");
        co_return;
    }
    websocket::stream<Stream> ws(std::move(stream));
    beast::get_lowest_layer(ws).expires_never();
    configure(ws);
    if (ws_echo) ws.read_message_max(64 * 1024);
    std::tie(ec) = co_await ws.async_accept(req, kAwait);
    if (ec) co_return;
    if (ws_echo) {  // the browser check's WebSocket half
        co_await echo_messages(ws);
        co_return;
    }
    buf.consume(buf.size());
    std::tie(ec, std::ignore) = co_await ws.async_read(buf, kAwait);
    if (ec) {
        ++refused_;  // includes offers over kMaxSignalMessage
        co_return;
    }
    ws.text(true);
    std::string why;
    auto offer = read_signal(beast::buffers_to_string(buf.data()), "offer", why);
    if (offer && peers_.size() >= kMaxPeers) {
        offer.reset();
        why = "too many connections";
    }
    std::shared_ptr<Peer> p;
    if (offer) {
        p = make_peer(false, echo, remote);
        if (auto s = p->pc->set_remote(*offer, &why); !s) {
            drop(p->id, why);
            offer.reset();
        }
    }
    if (!offer) {
        ++refused_;
        spdlog::debug("webrtc: offer refused: {}", why);
        co_await ws.async_write(asio::buffer(signal("error", "reason", why)), kAwait);
        beast::get_lowest_layer(ws).close();  // no closing handshake with a refused peer
        co_return;
    }
    auto answer = std::make_shared<Pending<Result<std::string>>>(ex_);
    p->pc->local_description([answer](Result<std::string> r) { answer->set(std::move(r)); });
    auto sdp = co_await answer->wait(kSignalTimeout);
    if (!sdp || !*sdp) {
        drop(p->id, "no answer");
        co_return;
    }
    co_await ws.async_write(asio::buffer(signal("answer", "sdp", **sdp)), kAwait);
    co_await ws.async_close(websocket::close_code::normal, kAwait);
}

Result<SessionId> WebRtcLink::connect(const SocketAddress& to, const crypto::X25519Public& key,
                                      noise::Pattern pattern) {
    if (peers_.size() >= kMaxPeers) return Errc::exhausted;
    auto p = make_peer(true, false, to);
    // The link handshake waits in the peer's queue until the data channel is open.
    auto id = endpoint_.connect(conn_address(p->id), key, pattern, Clock::now(), out_);
    flush();
    if (!id) {
        drop(p->id, "endpoint refused");
        return id;
    }
    asio::co_spawn(ex_, dial(p, to), log_exit("WebRTC dial"));
    return id;
}

// The dialer's signaling: our offer to the peer's signaling address, its answer back.
asio::awaitable<void> WebRtcLink::dial(std::shared_ptr<Peer> p, SocketAddress to) {
    auto offer = std::make_shared<Pending<Result<std::string>>>(ex_);
    p->pc->local_description([offer](Result<std::string> r) { offer->set(std::move(r)); });
    auto sdp = co_await offer->wait(kSignalTimeout);
    std::string why = "no offer";
    std::optional<std::string> answer;
    if (sdp && *sdp && opt_.connect_tls) {
        websocket::stream<TlsStream> ws(ex_, *client_tls_);
        answer = co_await signal_over(ws, to, **sdp, why);
    } else if (sdp && *sdp) {
        websocket::stream<beast::tcp_stream> ws(ex_);
        answer = co_await signal_over(ws, to, **sdp, why);
    }
    if (answer && p->pc->set_remote(*answer, &why)) co_return;
    ++failed_;
    drop(p->id, why);
}

template <class Ws>
asio::awaitable<std::optional<std::string>> WebRtcLink::signal_over(Ws& ws, const SocketAddress& to,
                                                                    const std::string& offer,
                                                                    std::string& why) {
    beast::get_lowest_layer(ws).expires_after(kSignalTimeout);
    auto [ec] =
        co_await beast::get_lowest_layer(ws).async_connect(tcp::endpoint(to.ip, to.port), kAwait);
    if constexpr (!std::is_same_v<Ws, websocket::stream<beast::tcp_stream>>) {
        if (!ec)
            std::tie(ec) =
                co_await ws.next_layer().async_handshake(ssl::stream_base::client, kAwait);
    }
    if (!ec) {
        beast::get_lowest_layer(ws).expires_never();
        configure(ws);
        std::string host = to.ip.to_string() + ":" + std::to_string(to.port);
        std::tie(ec) = co_await ws.async_handshake(host, opt_.signal_path, kAwait);
    }
    beast::flat_buffer buf;
    if (!ec) {
        ws.text(true);
        std::tie(ec, std::ignore) =
            co_await ws.async_write(asio::buffer(signal("offer", "sdp", offer)), kAwait);
    }
    if (!ec) std::tie(ec, std::ignore) = co_await ws.async_read(buf, kAwait);
    if (ec) {
        why = "signaling: " + ec.message();
        co_return std::nullopt;
    }
    co_return read_signal(beast::buffers_to_string(buf.data()), "answer", why);
}

}  // namespace zmesh::link
