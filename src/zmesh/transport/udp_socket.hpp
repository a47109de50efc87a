#pragma once
// A non-blocking UDP socket that moves datagrams in batches (recvmmsg/sendmmsg) and
// waits for readiness through Asio.

#include <sys/socket.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/udp.hpp>
#include <span>

#include "zmesh/core/bytes.hpp"
#include "zmesh/core/result.hpp"

namespace zmesh::transport {

namespace asio = boost::asio;

// Larger than any valid packet so that oversized datagrams are seen and rejected whole.
inline constexpr std::size_t kMaxDatagram = 2048;
inline constexpr std::size_t kMaxBatch = 64;
inline constexpr int kSocketBuffer = 8 * 1024 * 1024;

struct InDatagram {
    sockaddr_storage from{};
    socklen_t from_len = 0;
    std::size_t len = 0;
    bool truncated = false;
    ByteArray<kMaxDatagram> data;
};

struct OutDatagram {
    const sockaddr* to = nullptr;
    socklen_t to_len = 0;
    ByteView data;
};

class UdpSocket {
  public:
    UdpSocket(asio::any_io_executor ex, const asio::ip::udp::endpoint& bind);
    asio::ip::udp::endpoint local_endpoint() const { return socket_.local_endpoint(); }

    // Receives up to batch.size() datagrams without blocking; returns how many arrived.
    std::size_t receive_batch(std::span<InDatagram> batch);
    // Sends without blocking; returns how many datagrams left (fewer when the buffer is full).
    std::size_t send_batch(std::span<const OutDatagram> batch);

    asio::awaitable<boost::system::error_code> wait_readable();
    asio::awaitable<boost::system::error_code> wait_writable();
    void close();

  private:
    asio::ip::udp::socket socket_;
};

}  // namespace zmesh::transport
