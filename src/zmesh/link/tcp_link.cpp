#include "zmesh/link/tcp_link.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace zmesh::link {

using asio::ip::tcp;

namespace {

constexpr std::size_t kMaxConnections = 4096;
constexpr std::size_t kReadChunk = 64 * 1024;

}  // namespace

struct TcpLink::Connection {
    explicit Connection(tcp::socket s) : socket(std::move(s)) {}
    std::uint64_t id = 0;
    tcp::socket socket;
    transport::FrameDecoder decoder;
    std::vector<std::uint8_t> pending;
    std::vector<std::uint8_t> writing;
    bool connected = false;
    bool writer_running = false;
    bool closed = false;
};

TcpLink::TcpLink(asio::any_io_executor ex, EndpointConfig config, const SocketAddress& listen)
    : LinkService(ex, std::move(config)), acceptor_(ex) {
    tcp::endpoint ep(listen.ip, listen.port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
}

TcpLink::~TcpLink() = default;

void TcpLink::start() {
    LinkService::start();
    asio::co_spawn(ex_, accept_loop(), log_exit("TCP accept"));
}

void TcpLink::stop() {
    LinkService::stop();
    boost::system::error_code ec;
    acceptor_.close(ec);
    for (auto& [id, c] : conns_) {
        c->closed = true;
        c->socket.close(ec);
    }
    conns_.clear();
}

SocketAddress TcpLink::local_address() const {
    auto ep = acceptor_.local_endpoint();
    return {ep.address(), ep.port()};
}

std::optional<SocketAddress> TcpLink::peer_address(const PeerAddress& p) const {
    auto it = conns_.find(conn_id(p));
    if (it == conns_.end()) return std::nullopt;
    boost::system::error_code ec;
    auto ep = it->second->socket.remote_endpoint(ec);
    if (ec) return std::nullopt;
    return SocketAddress{ep.address(), ep.port()};
}

std::shared_ptr<TcpLink::Connection> TcpLink::add_connection(tcp::socket socket) {
    auto c = std::make_shared<Connection>(std::move(socket));
    c->id = next_conn_++;
    conns_.emplace(c->id, c);
    return c;
}

void TcpLink::drop_connection(std::uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    boost::system::error_code ec;
    it->second->closed = true;
    it->second->socket.close(ec);
    conns_.erase(it);
    close_sessions_at(conn_address(id));
}

asio::awaitable<void> TcpLink::accept_loop() {
    while (!stopped_) {
        auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec) {
            if (stopped_ || ec == asio::error::operation_aborted) co_return;
            continue;
        }
        if (conns_.size() >= kMaxConnections) continue;  // socket closes as it goes out of scope
        socket.set_option(tcp::no_delay(true), ec);
        auto c = add_connection(std::move(socket));
        c->connected = true;
        asio::co_spawn(ex_, read_loop(c), log_exit("TCP read"));
    }
}

Result<SessionId> TcpLink::connect(const SocketAddress& to, const crypto::X25519Public& key,
                                   noise::Pattern pattern) {
    if (conns_.size() >= kMaxConnections) return Errc::exhausted;
    auto c = add_connection(tcp::socket(ex_));
    // The handshake is queued on the connection and written once TCP connects.
    auto id = endpoint_.connect(conn_address(c->id), key, pattern, Clock::now(), out_);
    flush();
    if (!id) {
        drop_connection(c->id);
        return id;
    }
    asio::co_spawn(ex_, connect_and_run(c, tcp::endpoint(to.ip, to.port)), log_exit("TCP connect"));
    return id;
}

asio::awaitable<void> TcpLink::connect_and_run(std::shared_ptr<Connection> c, tcp::endpoint to) {
    auto [ec] = co_await c->socket.async_connect(to, asio::as_tuple(asio::use_awaitable));
    if (ec || c->closed) {
        drop_connection(c->id);
        co_return;
    }
    c->socket.set_option(tcp::no_delay(true), ec);
    c->connected = true;
    kick_writer(c);
    co_await read_loop(c);
}

asio::awaitable<void> TcpLink::read_loop(std::shared_ptr<Connection> c) {
    std::vector<std::uint8_t> buf(kReadChunk);
    PeerAddress addr = conn_address(c->id);
    while (!c->closed) {
        auto [ec, n] = co_await c->socket.async_read_some(asio::buffer(buf),
                                                          asio::as_tuple(asio::use_awaitable));
        if (ec || c->closed) break;
        (void)c->decoder.feed({buf.data(), n});
        auto now = Clock::now();
        bool misbehaved = false;
        for (ByteView frame = c->decoder.next(); !frame.empty(); frame = c->decoder.next()) {
            std::uint64_t before = endpoint_.stats().dropped();
            bool handled = receive(addr, frame, now);
            // A reliable stream never loses or reorders: any drop means a broken peer.
            if (!handled || endpoint_.stats().dropped() != before) {
                misbehaved = true;
                break;
            }
        }
        flush();
        if (misbehaved || c->decoder.failed()) {
            if (c->decoder.failed()) ++transport_rejects_;
            ++misbehaving_;
            break;
        }
    }
    drop_connection(c->id);
}

void TcpLink::transmit(std::vector<Outgoing>& packets) {
    for (auto& p : packets) {
        auto it = conns_.find(conn_id(p.to));
        if (it == conns_.end() || it->second->pending.size() >= kMaxTcpWriteBuffer) {
            ++transmit_drops_;
            continue;
        }
        (void)transport::append_frame(it->second->pending, p.packet);
        kick_writer(it->second);
    }
}

void TcpLink::kick_writer(const std::shared_ptr<Connection>& c) {
    if (c->writer_running || !c->connected || c->closed || c->pending.empty()) return;
    c->writer_running = true;
    asio::co_spawn(ex_, write_loop(c), log_exit("TCP write"));
}

asio::awaitable<void> TcpLink::write_loop(std::shared_ptr<Connection> c) {
    while (!c->closed && !c->pending.empty()) {
        c->writing.clear();
        std::swap(c->writing, c->pending);
        auto [ec, n] = co_await asio::async_write(c->socket, asio::buffer(c->writing),
                                                  asio::as_tuple(asio::use_awaitable));
        if (ec) {
            drop_connection(c->id);
            break;
        }
    }
    c->writer_running = false;
}

}  // namespace zmesh::link
