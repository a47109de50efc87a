#pragma once
// A non-blocking UDP socket that moves datagrams in batches (recvmmsg/sendmmsg) and
// waits for readiness through Asio. Where the kernel offers them it uses UDP segmentation
// offload both ways: runs of same-sized datagrams to one destination leave as one GSO
// send (UDP_SEGMENT), and runs from one source may arrive joined (UDP_GRO); the batch a
// receive returns hands them out one by one again. Without them (older kernels, other
// systems) every datagram is a message of its own.

#include <sys/socket.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/udp.hpp>
#include <memory>
#include <span>
#include <vector>

#include "zmesh/core/bytes.hpp"
#include "zmesh/core/result.hpp"

namespace zmesh::transport {

namespace asio = boost::asio;

// Larger than any valid packet so that oversized datagrams are seen and rejected whole.
inline constexpr std::size_t kMaxDatagram = 2048;
inline constexpr std::size_t kMaxBatch = 64;
inline constexpr int kSocketBuffer = 8 * 1024 * 1024;
// Receive buffers when the kernel joins datagrams (each holds one joined run, at most
// 64 KiB): 32 of them take 2 MiB of address space (a lone datagram touches one page of
// its buffer), the 64 single-datagram buffers 128 KiB.
inline constexpr std::size_t kGroBuffers = 32;
inline constexpr std::size_t kGroBufferSize = 65536;
// A GSO send carries at most this many bytes of datagrams (under the 65,507-byte UDP
// payload limit of IPv4 and IPv6 without jumbograms) and at most kMaxGsoSegments of them.
inline constexpr std::size_t kMaxGsoBytes = 64000;
inline constexpr std::size_t kMaxGsoSegments = 64;
// Refused segmented sends in a row (none succeeding in between) after which GSO is off.
inline constexpr int kMaxGsoRefusals = 16;

// One received datagram, a view into the socket's buffers valid until the next receive.
struct InDatagram {
    const sockaddr_storage* from = nullptr;
    socklen_t from_len = 0;
    ByteView data;
    bool truncated = false;  // longer than kMaxDatagram (cut short)
};

struct OutDatagram {
    const sockaddr* to = nullptr;
    socklen_t to_len = 0;
    ByteView data;
};

struct UdpOffloadStats {
    std::uint64_t gso_sends = 0;      // messages that carried several datagrams
    std::uint64_t gso_datagrams = 0;  // datagrams in them
    std::uint64_t gro_receives = 0;   // received messages the kernel had joined
    std::uint64_t gro_datagrams = 0;  // datagrams in them
    std::uint64_t send_calls = 0;     // sendmmsg calls
    std::uint64_t receive_calls = 0;  // recvmmsg calls that returned datagrams
    std::uint64_t gso_refusals = 0;   // segmented sends refused (sent one by one)
};

class UdpSocket {
  public:
    // `offload`: use GSO/GRO if the kernel has them (false: one datagram per message).
    UdpSocket(asio::any_io_executor ex, const asio::ip::udp::endpoint& bind, bool offload = true);
    asio::ip::udp::endpoint local_endpoint() const { return socket_.local_endpoint(); }

    // Receives what is waiting, without blocking: up to kMaxBatch messages, which may
    // hold more datagrams than that when the kernel joined them. Empty when none waited.
    std::span<const InDatagram> receive_batch();
    // Sends without blocking; returns how many datagrams (from the front) left: fewer
    // when the buffer is full. A datagram to an unreachable destination counts as sent.
    std::size_t send_batch(std::span<const OutDatagram> batch);

    bool gso() const { return gso_; }
    bool gro() const { return gro_; }
    const UdpOffloadStats& offload_stats() const { return stats_; }

    asio::awaitable<boost::system::error_code> wait_readable();
    asio::awaitable<boost::system::error_code> wait_writable();
    void close();

  private:
    std::size_t send_some(std::span<const OutDatagram> batch, bool segment);

    asio::ip::udp::socket socket_;
    bool gso_ = false;
    int consecutive_refusals_ = 0;  // segmented sends refused since one last succeeded
    bool gro_ = false;
    std::size_t buffer_size_ = kMaxDatagram;
    std::size_t buffers_ = kMaxBatch;
    std::unique_ptr<std::uint8_t[]> arena_;  // buffers_ x buffer_size_
    std::vector<sockaddr_storage> from_;     // one per buffer
    std::vector<InDatagram> received_;       // what the last receive_batch returned
    UdpOffloadStats stats_;
};

}  // namespace zmesh::transport
