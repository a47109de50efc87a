#include "zmesh/link/udp_link.hpp"

#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <numeric>

namespace zmesh::link {
namespace {

// Packets handed to one send_batch call at most.
constexpr std::size_t kDrainBatch = 512;

asio::ip::udp::endpoint to_endpoint(const SocketAddress& a) {
    return {a.ip, a.port};
}

PeerAddress from_sockaddr(const sockaddr_storage& ss) {
    SocketAddress a;
    if (ss.ss_family == AF_INET) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(ss);
        a.ip = asio::ip::address_v4(ntohl(in.sin_addr.s_addr));
        a.port = ntohs(in.sin_port);
    } else {
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
        asio::ip::address_v6::bytes_type b;
        std::copy_n(in6.sin6_addr.s6_addr, 16, b.begin());
        a.ip = asio::ip::address_v6(b);
        a.port = ntohs(in6.sin6_port);
    }
    return to_peer_address(a);
}

// Port 0 is no one's: a datagram claiming it is forged, and an answer to it would fail.
bool from_port_zero(const sockaddr_storage& ss) {
    if (ss.ss_family == AF_INET) return reinterpret_cast<const sockaddr_in&>(ss).sin_port == 0;
    return reinterpret_cast<const sockaddr_in6&>(ss).sin6_port == 0;
}

}  // namespace

UdpLink::UdpLink(asio::any_io_executor ex, EndpointConfig config, const SocketAddress& bind)
    : LinkService(ex, std::move(config)),
      socket_(ex, to_endpoint(bind)),
      v6_(bind.ip.is_v6()),
      shaper_(ex) {}

void UdpLink::start() {
    LinkService::start();
    asio::co_spawn(ex_, receive_loop(), log_exit("UDP receive"));
}

void UdpLink::stop() {
    LinkService::stop();
    shaper_.cancel();
    socket_.close();
}

SocketAddress UdpLink::local_address() const {
    auto ep = socket_.local_endpoint();
    return {ep.address(), ep.port()};
}

Result<SessionId> UdpLink::connect(const SocketAddress& to, const crypto::X25519Public& key,
                                   noise::Pattern pattern) {
    auto id = endpoint_.connect(to_peer_address(to), key, pattern, Clock::now(), out_);
    flush();
    return id;
}

std::vector<std::pair<std::string_view, std::uint64_t>> UdpLink::transport_counters() const {
    const auto& st = socket_.offload_stats();
    return {{"udp_send_calls", st.send_calls},     {"udp_receive_calls", st.receive_calls},
            {"udp_gso_sends", st.gso_sends},       {"udp_gso_datagrams", st.gso_datagrams},
            {"udp_gro_receives", st.gro_receives}, {"udp_gro_datagrams", st.gro_datagrams},
            {"udp_gso_refusals", st.gso_refusals}};
}

// Hands each batch up as it is read; what it produced leaves once the loop lets the
// other handlers run (the posted drain), which it does after every batch, so that a
// socket that never runs dry delays neither our answers nor the streams' timers.
asio::awaitable<void> UdpLink::receive_loop() {
    while (!stopped_) {
        auto batch = socket_.receive_batch();
        if (batch.empty()) {
            auto ec = co_await socket_.wait_readable();
            if (ec) co_return;
            continue;
        }
        auto now = Clock::now();
        PeerAddress from{};
        const sockaddr_storage* last = nullptr;
        for (const auto& d : batch) {
            if (d.truncated || d.data.size() != wire::kPacketSize) {
                ++transport_rejects_;
                continue;
            }
            if (d.from != last) {  // the datagrams of one joined run share their source
                from = from_sockaddr(*d.from);
                last = d.from;
            }
            if (from_port_zero(*d.from)) {
                ++transport_rejects_;
                continue;
            }
            receive(from, d.data, now);
        }
        flush();
        co_await asio::post(ex_, asio::use_awaitable);
    }
}

void UdpLink::transmit(std::vector<Outgoing>& packets) {
    for (auto& p : packets) {
        if (loss_ > 0) {
            rng_state_ = rng_state_ * 6364136223846793005ULL + 1442695040888963407ULL;
            if (static_cast<double>(rng_state_ >> 11) / 9007199254740992.0 < loss_) {
                ++injected_losses_;
                continue;
            }
        }
        if (latency_ > Duration::zero() || bandwidth_ > 0) {
            if (delayed_.size() >= kMaxUdpBacklog) {
                ++transmit_drops_;
                continue;
            }
            auto now = Clock::now();
            auto at = now + latency_;
            if (bandwidth_ > 0) {
                next_free_ = std::max(next_free_, now);
                at = std::max(at, next_free_ + latency_);
                next_free_ += std::chrono::duration_cast<Duration>(std::chrono::duration<double>(
                    static_cast<double>(p.packet.size()) / static_cast<double>(bandwidth_)));
            }
            delayed_.emplace_back(at, std::move(p));
            continue;
        }
        if (backlog_.size() >= kMaxUdpBacklog) {
            ++transmit_drops_;
            continue;
        }
        backlog_.push_back(std::move(p));
    }
    if (!delayed_.empty()) release_delayed();
    // Cells sent one by one within a handler (a stream's segments, a relay's batch) leave
    // together once it returns.
    if (backlog_.empty() || drain_posted_ || stopped_) return;
    drain_posted_ = true;
    asio::post(ex_, [this, alive = std::weak_ptr<char>(alive_udp_)] {
        if (alive.expired()) return;
        drain_posted_ = false;
        if (!stopped_) drain_backlog();
    });
}

void UdpLink::set_shaping(Duration latency, std::uint64_t bytes_per_second) {
    latency_ = latency;
    bandwidth_ = bytes_per_second;
    if (latency_ == Duration::zero() && bandwidth_ == 0) release_delayed();
}

// Moves due datagrams (all of them when shaping is off) to the send backlog and sleeps
// until the next one is due.
void UdpLink::release_delayed() {
    auto now = Clock::now();
    bool all = latency_ == Duration::zero() && bandwidth_ == 0;
    while (!delayed_.empty() && (all || delayed_.front().first <= now)) {
        if (backlog_.size() < kMaxUdpBacklog)
            backlog_.push_back(std::move(delayed_.front().second));
        else
            ++transmit_drops_;
        delayed_.pop_front();
    }
    drain_backlog();
    if (delayed_.empty() || stopped_) return;
    shaper_.expires_at(delayed_.front().first);
    shaper_.async_wait([this](boost::system::error_code ec) {
        if (!ec) release_delayed();
    });
}

// Sends the backlog, each destination's packets together and in their order (so that
// they leave as GSO runs), until it is empty or the socket buffer is full.
void UdpLink::drain_backlog() {
    while (!backlog_.empty()) {
        std::size_t n = std::min(backlog_.size(), kDrainBatch);
        // Destinations in the order they first appear (not by address: a peer must not
        // get ahead of the others by the address it has when the buffer is full).
        group_of_.clear();
        group_.resize(n);
        for (std::size_t i = 0; i < n; ++i)
            group_[i] = group_of_.try_emplace(backlog_[i].to, group_of_.size()).first->second;
        order_.resize(n);
        std::iota(order_.begin(), order_.end(), std::size_t{0});
        std::stable_sort(order_.begin(), order_.end(),
                         [&](std::size_t a, std::size_t b) { return group_[a] < group_[b]; });
        addrs_.resize(n);
        batch_.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            const Outgoing& p = backlog_[order_[i]];
            if (i > 0 && p.to == backlog_[order_[i - 1]].to) {
                batch_[i] = {batch_[i - 1].to, batch_[i - 1].to_len, p.packet};
                continue;
            }
            auto ep = to_endpoint(from_peer_address(p.to));
            if (v6_ && ep.address().is_v4())
                ep = {asio::ip::make_address_v6(asio::ip::v4_mapped, ep.address().to_v4()),
                      ep.port()};
            std::memcpy(&addrs_[i], ep.data(), ep.size());
            batch_[i] = {reinterpret_cast<const sockaddr*>(&addrs_[i]),
                         static_cast<socklen_t>(ep.size()), p.packet};
        }
        std::size_t sent = socket_.send_batch({batch_.data(), n});
        if (sent < n) {
            // The buffer is full: keep what did not leave, in the order it was queued.
            std::sort(order_.begin() + static_cast<std::ptrdiff_t>(sent), order_.end());
            std::vector<Outgoing> rest;
            rest.reserve(n - sent);
            for (std::size_t i = sent; i < n; ++i) rest.push_back(std::move(backlog_[order_[i]]));
            backlog_.erase(backlog_.begin(), backlog_.begin() + static_cast<std::ptrdiff_t>(n));
            backlog_.insert(backlog_.begin(), std::make_move_iterator(rest.begin()),
                            std::make_move_iterator(rest.end()));
            break;
        }
        backlog_.erase(backlog_.begin(), backlog_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    if (!backlog_.empty() && !writer_waiting_ && !stopped_) {
        writer_waiting_ = true;
        asio::co_spawn(ex_, write_loop(), log_exit("UDP write"));
    }
}

asio::awaitable<void> UdpLink::write_loop() {
    auto ec = co_await socket_.wait_writable();
    writer_waiting_ = false;
    if (!ec && !stopped_) drain_backlog();
}

}  // namespace zmesh::link
