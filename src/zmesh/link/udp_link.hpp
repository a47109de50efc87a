#pragma once
// Link service over one UDP socket: every packet one 1232-byte datagram.

#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include "zmesh/core/clock.hpp"
#include "zmesh/link/service.hpp"
#include "zmesh/transport/udp_socket.hpp"

namespace zmesh::link {

inline constexpr std::size_t kMaxUdpBacklog = 8192;

class UdpLink final : public LinkService {
  public:
    UdpLink(asio::any_io_executor ex, EndpointConfig config, const SocketAddress& bind);
    void start() override;
    void stop() override;
    Result<SessionId> connect(const SocketAddress& to, const crypto::X25519Public& key,
                              noise::Pattern pattern) override;
    SocketAddress local_address() const override;
    TransportKind transport_kind() const override { return TransportKind::udp; }
    // Sends and receives per system call, and how much of it the kernel's segmentation
    // offload carried.
    std::vector<std::pair<std::string_view, std::uint64_t>> transport_counters() const override;
    // Testing only: drop this fraction of outgoing datagrams at random.
    void set_loss(double fraction) { loss_ = fraction; }
    std::uint64_t injected_losses() const { return injected_losses_; }
    // Testing only: hold every outgoing datagram this long, and pace them to this many
    // bytes per second (0: no limit).
    void set_shaping(Duration latency, std::uint64_t bytes_per_second);

  private:
    struct AddressHash {
        std::size_t operator()(const PeerAddress& a) const noexcept {
            std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
            for (auto b : a.bytes) h = (h ^ b) * 0x100000001b3ULL;
            return static_cast<std::size_t>(h);
        }
    };
    void transmit(std::vector<Outgoing>& packets) override;
    void drain_backlog();
    asio::awaitable<void> receive_loop();
    asio::awaitable<void> write_loop();
    void release_delayed();

    transport::UdpSocket socket_;
    std::deque<Outgoing> backlog_;
    bool writer_waiting_ = false;
    // Packets made during one turn of the event loop leave together, after it (see
    // transmit): one system call for many cells, and GSO runs to each peer.
    bool drain_posted_ = false;
    std::shared_ptr<char> alive_udp_ = std::make_shared<char>();  // expires with this link
    // drain_backlog's scratch space, kept between calls.
    std::vector<std::size_t> order_;
    std::vector<std::size_t> group_;
    std::unordered_map<PeerAddress, std::size_t, AddressHash> group_of_;
    std::vector<sockaddr_storage> addrs_;
    std::vector<transport::OutDatagram> batch_;
    bool v6_ = false;
    double loss_ = 0;
    std::uint64_t injected_losses_ = 0;
    std::uint64_t rng_state_ = 0x9e3779b97f4a7c15ULL;
    Duration latency_{};
    std::uint64_t bandwidth_ = 0;
    TimePoint next_free_{};                               // pacing: when the next packet may go
    std::deque<std::pair<TimePoint, Outgoing>> delayed_;  // bounded by kMaxUdpBacklog
    zmesh::Timer shaper_;
};

}  // namespace zmesh::link
