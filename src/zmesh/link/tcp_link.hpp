#pragma once
// Link service over TCP: the same 1232-byte packets, length-prefixed on each connection.
// A connection that breaks framing or sends a packet the endpoint drops is closed.

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <unordered_map>

#include "zmesh/link/service.hpp"
#include "zmesh/transport/frame.hpp"

namespace zmesh::link {

inline constexpr std::size_t kMaxTcpWriteBuffer = 4 * 1024 * 1024;

class TcpLink final : public LinkService {
  public:
    TcpLink(asio::any_io_executor ex, EndpointConfig config, const SocketAddress& listen);
    ~TcpLink() override;
    void start() override;
    void stop() override;
    Result<SessionId> connect(const SocketAddress& to, const crypto::X25519Public& key,
                              noise::Pattern pattern) override;
    SocketAddress local_address() const override;
    TransportKind transport_kind() const override { return TransportKind::tcp; }
    std::optional<SocketAddress> peer_address(const PeerAddress& p) const override;
    std::size_t connection_count() const { return conns_.size(); }
    std::uint64_t disconnects_for_misbehaviour() const { return misbehaving_; }

  private:
    struct Connection;
    void transmit(std::vector<Outgoing>& packets) override;
    std::shared_ptr<Connection> add_connection(asio::ip::tcp::socket socket);
    void drop_connection(std::uint64_t id);
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> read_loop(std::shared_ptr<Connection> c);
    asio::awaitable<void> write_loop(std::shared_ptr<Connection> c);
    asio::awaitable<void> connect_and_run(std::shared_ptr<Connection> c,
                                          asio::ip::tcp::endpoint to);
    void kick_writer(const std::shared_ptr<Connection>& c);

    asio::ip::tcp::acceptor acceptor_;
    std::unordered_map<std::uint64_t, std::shared_ptr<Connection>> conns_;
    std::uint64_t next_conn_ = 1;
    std::uint64_t misbehaving_ = 0;
};

}  // namespace zmesh::link
