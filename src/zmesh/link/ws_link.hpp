#pragma once
// Link service over WebSocket (RFC 6455), plain (ws://) or inside TLS (wss://): link
// packets travel in binary messages, length-prefixed as on TCP links, as many per message
// as are waiting (at most 64 KiB): one message per packet cost half the throughput. To an observer
// it is an HTTPS WebSocket like any other, and a node can sit behind an ordinary web server that
// forwards one path to it. The TLS layer is camouflage and a second envelope; the link's own Noise
// handshake authenticates the peer, so certificates are not checked when connecting.
//
// The listener answers the upgrade only on the configured path (anything else gets a
// plain 404), refuses messages over 64 KiB or with broken framing, and closes connections
// whose packets the endpoint drops, as the TCP link does.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/status.hpp>
#include <memory>
#include <unordered_map>

#include "zmesh/link/service.hpp"

namespace zmesh::link {

inline constexpr std::size_t kMaxWsMessage = 64 * 1024;
inline constexpr std::size_t kMaxWsWriteBuffer = 4 * 1024 * 1024;

struct WsOptions {
    std::string path = "/zmesh";
    std::string host;  // Host header when connecting (empty: the peer's address)
    // Listen with TLS (wss://) using this certificate and key; null: plain ws://.
    std::shared_ptr<boost::asio::ssl::context> server_tls;
    bool connect_tls = false;  // connect with wss://
    // Browser interoperability check (off when empty): a page at `test_page` that opens a
    // WebSocket to `echo_path` on the same listener, where every message is echoed back.
    std::string test_page;
    std::string echo_path;
};

// A TLS context with a fresh self-signed certificate (ECDSA P-256) for `name`: for tests
// and for nodes without a certificate of their own.
std::shared_ptr<boost::asio::ssl::context> self_signed_tls(const std::string& name);
// A TLS context from PEM certificate (chain) and key files.
std::shared_ptr<boost::asio::ssl::context> tls_from_files(const std::string& cert,
                                                          const std::string& key);

class WsLink final : public LinkService {
  public:
    WsLink(asio::any_io_executor ex, EndpointConfig config, const SocketAddress& listen,
           WsOptions options);
    ~WsLink() override;
    void start() override;
    void stop() override;
    Result<SessionId> connect(const SocketAddress& to, const crypto::X25519Public& key,
                              noise::Pattern pattern) override;
    SocketAddress local_address() const override;
    TransportKind transport_kind() const override {
        return opt_.connect_tls || opt_.server_tls ? TransportKind::wss : TransportKind::ws;
    }
    std::vector<std::pair<std::string_view, std::uint64_t>> transport_counters() const override {
        return {{"refused_requests", refused_}};
    }
    std::optional<SocketAddress> peer_address(const PeerAddress& p) const override;
    std::size_t connection_count() const { return conns_.size(); }
    // Upgrade requests refused (wrong path, not a WebSocket), oversized messages.
    std::uint64_t refused_requests() const { return refused_; }

  private:
    struct Connection;
    void transmit(std::vector<Outgoing>& packets) override;
    void drop(std::uint64_t id);
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(std::shared_ptr<Connection> c);
    asio::awaitable<void> dial(std::shared_ptr<Connection> c, SocketAddress to);
    asio::awaitable<void> read_loop(std::shared_ptr<Connection> c);
    asio::awaitable<void> echo_loop(std::shared_ptr<Connection> c);
    asio::awaitable<void> run(std::shared_ptr<Connection> c);
    asio::awaitable<void> respond(std::shared_ptr<Connection> c, unsigned version,
                                  boost::beast::http::status status, const char* type,
                                  std::string body);
    asio::awaitable<void> write_loop(std::shared_ptr<Connection> c);
    void kick(const std::shared_ptr<Connection>& c);

    WsOptions opt_;
    std::shared_ptr<boost::asio::ssl::context> client_tls_;
    asio::ip::tcp::acceptor acceptor_;
    std::unordered_map<std::uint64_t, std::shared_ptr<Connection>> conns_;
    std::uint64_t next_conn_ = 1;
    std::uint64_t refused_ = 0;
};

}  // namespace zmesh::link
