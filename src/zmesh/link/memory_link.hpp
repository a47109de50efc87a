#pragma once
// Links without sockets: a simulated network for many nodes in one process (tests, the
// 200-node network test, experiments). Every MemoryLink attached to a MemoryNetwork has
// an address as a UDP link would (127.x.y.z:port) and speaks as a UDP link (its transport
// kind is udp, so descriptors, contacts and EXTENDs need nothing new); a packet sent to an
// address is handed to the link there on its executor after the network's latency,
// measured on zmesh::Clock, so a simulation that skips idle time skips latency too.
// Like a datagram network it may lose packets (a configured fraction, or a receiver's
// full queue), never reorders those of one sender, and never blocks a sender.
//
// MemoryNetwork::run drives an io_context the nodes share: it runs what is ready and,
// when nothing is, skips the clock ahead (Clock::skip) rather than waiting, so a test's
// protocol time costs only the CPU its events need.

#include <deque>
#include <functional>
#include <map>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "zmesh/core/clock.hpp"
#include "zmesh/link/service.hpp"

namespace zmesh::link {

class MemoryLink;

struct MemoryNetworkConfig {
    Duration latency{};        // one way, every packet
    double loss = 0;           // fraction of packets dropped at random
    std::size_t queue = 8192;  // packets waiting at one receiver; more are dropped
};

class MemoryNetwork {
  public:
    explicit MemoryNetwork(MemoryNetworkConfig config = {}) : cfg_(config) {}
    MemoryNetwork(const MemoryNetwork&) = delete;
    MemoryNetwork& operator=(const MemoryNetwork&) = delete;

    const MemoryNetworkConfig& config() const { return cfg_; }
    std::size_t links() const { return links_.size(); }
    std::uint64_t delivered() const { return delivered_; }
    std::uint64_t lost() const { return lost_; }                // the configured loss
    std::uint64_t overflowed() const { return overflowed_; }    // a receiver's queue was full
    std::uint64_t unreachable() const { return unreachable_; }  // no link at the address

    // Runs `io` until `done()` holds or `limit` of Clock time has passed (false then).
    // Ready handlers run at once; when none is ready the clock is skipped ahead, 1 ms at
    // first and doubling while nothing happens, up to `max_skip` (how late a timer may
    // fire at worst; keep it under circuit::kLateWakeup, 25 ms, or CircuitNode takes the
    // lateness for a starved process). Wall time only passes while handlers run.
    bool run(boost::asio::io_context& io, const std::function<bool()>& done, Duration limit,
             Duration max_skip = std::chrono::milliseconds(8));

  private:
    friend class MemoryLink;
    // The address itself, or for port 0 the next free one (127.0.0.1:1, :2, ...).
    std::optional<SocketAddress> attach(MemoryLink* link, const SocketAddress& wanted);
    void detach(const PeerAddress& at, const MemoryLink* link);
    void send(const PeerAddress& from, const PeerAddress& to, const wire::Packet& packet);
    bool lose();

    MemoryNetworkConfig cfg_;
    std::map<PeerAddress, MemoryLink*> links_;
    std::uint32_t next_ = 0;  // last address handed out for port 0
    std::uint64_t rng_ = 0x9e3779b97f4a7c15ULL;
    std::uint64_t delivered_ = 0;
    std::uint64_t lost_ = 0;
    std::uint64_t overflowed_ = 0;
    std::uint64_t unreachable_ = 0;
};

class MemoryLink final : public LinkService {
  public:
    // Throws std::runtime_error when the address is taken (as binding a used port does).
    MemoryLink(asio::any_io_executor ex, EndpointConfig config,
               std::shared_ptr<MemoryNetwork> network, const SocketAddress& bind);
    ~MemoryLink() override;
    void start() override;
    void stop() override;
    Result<SessionId> connect(const SocketAddress& to, const crypto::X25519Public& key,
                              noise::Pattern pattern) override;
    SocketAddress local_address() const override { return address_; }
    TransportKind transport_kind() const override { return TransportKind::udp; }

  private:
    friend class MemoryNetwork;
    struct Arrival {
        TimePoint due;
        PeerAddress from;
        wire::Packet packet;
    };
    void transmit(std::vector<Outgoing>& packets) override;
    // From the network: queue a packet (false: the queue is full).
    bool accept(const PeerAddress& from, const wire::Packet& packet, TimePoint due);
    void schedule();
    void drain();

    std::shared_ptr<MemoryNetwork> network_;
    SocketAddress address_;
    PeerAddress self_;
    std::deque<Arrival> inbox_;
    Timer wake_;
    bool scheduled_ = false;
    std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace zmesh::link
