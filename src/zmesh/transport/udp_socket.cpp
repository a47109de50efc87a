#include "zmesh/transport/udp_socket.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>

namespace zmesh::transport {
namespace {

// Datagrams one sendmmsg call takes at most (its iovec array lives on the stack).
constexpr std::size_t kMaxIov = 1024;

bool same_destination(const OutDatagram& a, const OutDatagram& b) {
    return a.to_len == b.to_len && std::memcmp(a.to, b.to, a.to_len) == 0;
}

}  // namespace

UdpSocket::UdpSocket(asio::any_io_executor ex, const asio::ip::udp::endpoint& bind, bool offload)
    : socket_(ex, bind.protocol()) {
    socket_.set_option(asio::socket_base::reuse_address(true));
    socket_.bind(bind);
    socket_.non_blocking(true);
    int fd = socket_.native_handle();
    int size = kSocketBuffer;
    // FORCE variants need CAP_NET_ADMIN; without it the kernel's maximum applies.
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
        ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    if (offload) {
        int on = 1;
        gro_ = ::setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
        // Sending with UDP_SEGMENT is tried, and given up at the first refusal.
        gso_ = true;
    }
    if (gro_) {
        buffer_size_ = kGroBufferSize;
        buffers_ = kGroBuffers;
    }
    arena_ = std::make_unique_for_overwrite<std::uint8_t[]>(buffers_ * buffer_size_);
    from_.resize(buffers_);
    received_.reserve(buffers_ * (gro_ ? kMaxGsoSegments : 1));
}

std::span<const InDatagram> UdpSocket::receive_batch() {
    received_.clear();
    std::array<mmsghdr, kMaxBatch> msgs{};
    std::array<iovec, kMaxBatch> iov{};
    constexpr std::size_t kControl = CMSG_SPACE(sizeof(int));
    alignas(cmsghdr) std::array<std::array<std::uint8_t, kControl>, kMaxBatch> control;
    std::size_t n = std::min(buffers_, kMaxBatch);
    for (std::size_t i = 0; i < n; ++i) {
        iov[i] = {arena_.get() + i * buffer_size_, buffer_size_};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &from_[i];
        msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        if (gro_) {
            msgs[i].msg_hdr.msg_control = control[i].data();
            msgs[i].msg_hdr.msg_controllen = kControl;
        }
    }
    int got = ::recvmmsg(socket_.native_handle(), msgs.data(), static_cast<unsigned>(n),
                         MSG_DONTWAIT, nullptr);
    if (got <= 0) return {};
    ++stats_.receive_calls;
    for (std::size_t i = 0; i < static_cast<std::size_t>(got); ++i) {
        const msghdr& h = msgs[i].msg_hdr;
        std::size_t len = std::min<std::size_t>(msgs[i].msg_len, buffer_size_);
        const std::uint8_t* base = arena_.get() + i * buffer_size_;
        int segment = 0;
        if (gro_) {
            for (auto* c = CMSG_FIRSTHDR(&h); c != nullptr;
                 c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c))
                if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO)
                    std::memcpy(&segment, CMSG_DATA(c), sizeof segment);
        }
        bool truncated = (h.msg_flags & MSG_TRUNC) != 0;
        if (segment > 0 && static_cast<std::size_t>(segment) < len && !truncated) {
            auto seg = static_cast<std::size_t>(segment);
            std::size_t count = 0;
            for (std::size_t off = 0; off < len; off += seg, ++count) {
                // The kernel joins at most 64; anything beyond is refused whole.
                if (count == kMaxGsoSegments) {
                    received_.push_back({&from_[i], h.msg_namelen, {base + off, len - off}, true});
                    break;
                }
                received_.push_back({&from_[i],
                                     h.msg_namelen,
                                     {base + off, std::min({seg, len - off, kMaxDatagram})},
                                     seg > kMaxDatagram});
            }
            ++stats_.gro_receives;
            stats_.gro_datagrams += count;
            continue;
        }
        // One datagram. With the large GRO buffers, a long one is cut here as the small
        // buffers would have cut it, so both refuse the same input the same way.
        if (len > kMaxDatagram) {
            len = kMaxDatagram;
            truncated = true;
        }
        received_.push_back({&from_[i], h.msg_namelen, {base, len}, truncated});
    }
    return received_;
}

std::size_t UdpSocket::send_batch(std::span<const OutDatagram> batch) {
    std::size_t sent = 0;
    while (sent < batch.size()) {
        std::size_t n = send_some(batch.subspan(sent), gso_);
        if (n == 0) break;  // the socket buffer is full
        sent += n;
    }
    return sent;
}

// One sendmmsg call: runs of same-sized datagrams to one destination become one message
// with UDP_SEGMENT when `segment`. Returns how many datagrams it took (0: would block).
std::size_t UdpSocket::send_some(std::span<const OutDatagram> batch, bool segment) {
    std::array<mmsghdr, kMaxBatch> msgs{};
    std::array<std::size_t, kMaxBatch> count{};
    std::array<iovec, kMaxIov> iov{};
    constexpr std::size_t kControl = CMSG_SPACE(sizeof(std::uint16_t));
    alignas(cmsghdr) std::array<std::array<std::uint8_t, kControl>, kMaxBatch> control{};
    std::size_t m = 0;
    std::size_t d = 0;
    while (m < kMaxBatch && d < batch.size() && d < kMaxIov) {
        const OutDatagram& first = batch[d];
        std::size_t k = 1;
        if (segment && !first.data.empty()) {
            std::size_t bytes = first.data.size();
            while (d + k < batch.size() && d + k < kMaxIov && k < kMaxGsoSegments) {
                const OutDatagram& next = batch[d + k];
                if (next.data.size() != first.data.size() || !same_destination(first, next) ||
                    bytes + next.data.size() > kMaxGsoBytes)
                    break;
                bytes += next.data.size();
                ++k;
            }
        }
        for (std::size_t j = 0; j < k; ++j)
            iov[d + j] = {const_cast<std::uint8_t*>(batch[d + j].data.data()),
                          batch[d + j].data.size()};
        msghdr& h = msgs[m].msg_hdr;
        h.msg_iov = &iov[d];
        h.msg_iovlen = k;
        h.msg_name = const_cast<sockaddr*>(first.to);
        h.msg_namelen = first.to_len;
        if (k > 1) {
            h.msg_control = control[m].data();
            h.msg_controllen = kControl;
            cmsghdr* c = CMSG_FIRSTHDR(&h);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
            auto size = static_cast<std::uint16_t>(first.data.size());
            std::memcpy(CMSG_DATA(c), &size, sizeof size);
        }
        count[m] = k;
        d += k;
        ++m;
    }
    ++stats_.send_calls;
    int got =
        ::sendmmsg(socket_.native_handle(), msgs.data(), static_cast<unsigned>(m), MSG_DONTWAIT);
    if (got < 0) {
        int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) return 0;
        if (count[0] > 1 &&
            (err == EIO || err == EINVAL || err == EOPNOTSUPP || err == ENOPROTOOPT)) {
            // Refused as a segmented send: by the kernel or the route (no checksum offload,
            // IPsec), or for the destination alone (port 0, a smaller path MTU). The run
            // goes again one datagram at a time; only refusals with no segmented send
            // succeeding in between turn GSO off.
            ++stats_.gso_refusals;
            if (++consecutive_refusals_ >= kMaxGsoRefusals) gso_ = false;
            std::size_t done = 0;
            while (done < count[0]) {
                std::size_t n = send_some(batch.subspan(done, count[0] - done), false);
                if (n == 0) break;
                done += n;
            }
            return done;
        }
        return count[0];  // an unreachable destination: skip its datagrams, keep the rest
    }
    std::size_t done = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(got); ++i) {
        done += count[i];
        if (count[i] > 1) {
            ++stats_.gso_sends;
            stats_.gso_datagrams += count[i];
            consecutive_refusals_ = 0;
        }
    }
    return done;
}

asio::awaitable<boost::system::error_code> UdpSocket::wait_readable() {
    auto [ec] = co_await socket_.async_wait(asio::socket_base::wait_read,
                                            asio::as_tuple(asio::use_awaitable));
    co_return ec;
}

asio::awaitable<boost::system::error_code> UdpSocket::wait_writable() {
    auto [ec] = co_await socket_.async_wait(asio::socket_base::wait_write,
                                            asio::as_tuple(asio::use_awaitable));
    co_return ec;
}

void UdpSocket::close() {
    boost::system::error_code ec;
    socket_.close(ec);
}

}  // namespace zmesh::transport
