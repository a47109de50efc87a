#include "zmesh/transport/udp_socket.hpp"

#include <netinet/in.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>

namespace zmesh::transport {

UdpSocket::UdpSocket(asio::any_io_executor ex, const asio::ip::udp::endpoint& bind)
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
}

std::size_t UdpSocket::receive_batch(std::span<InDatagram> batch) {
    std::size_t n = std::min(batch.size(), kMaxBatch);
    std::array<mmsghdr, kMaxBatch> msgs{};
    std::array<iovec, kMaxBatch> iov{};
    for (std::size_t i = 0; i < n; ++i) {
        iov[i] = {batch[i].data.data(), batch[i].data.size()};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &batch[i].from;
        msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    }
    int got = ::recvmmsg(socket_.native_handle(), msgs.data(), static_cast<unsigned>(n),
                         MSG_DONTWAIT, nullptr);
    if (got <= 0) return 0;
    for (int i = 0; i < got; ++i) {
        batch[i].len = msgs[i].msg_len;
        batch[i].from_len = msgs[i].msg_hdr.msg_namelen;
        batch[i].truncated = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    }
    return static_cast<std::size_t>(got);
}

std::size_t UdpSocket::send_batch(std::span<const OutDatagram> batch) {
    std::size_t sent = 0;
    while (sent < batch.size()) {
        std::size_t n = std::min(batch.size() - sent, kMaxBatch);
        std::array<mmsghdr, kMaxBatch> msgs{};
        std::array<iovec, kMaxBatch> iov{};
        for (std::size_t i = 0; i < n; ++i) {
            const OutDatagram& d = batch[sent + i];
            iov[i] = {const_cast<std::uint8_t*>(d.data.data()), d.data.size()};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = const_cast<sockaddr*>(d.to);
            msgs[i].msg_hdr.msg_namelen = d.to_len;
        }
        int got = ::sendmmsg(socket_.native_handle(), msgs.data(), static_cast<unsigned>(n),
                             MSG_DONTWAIT);
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return sent;
            ++sent;  // an unreachable destination: skip that datagram, keep the rest
            continue;
        }
        sent += static_cast<std::size_t>(got);
        if (static_cast<std::size_t>(got) < n) return sent;
    }
    return sent;
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
