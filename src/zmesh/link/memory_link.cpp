#include "zmesh/link/memory_link.hpp"

#include <boost/asio/post.hpp>
#include <stdexcept>

namespace zmesh::link {

// ---- network --------------------------------------------------------------------------

std::optional<SocketAddress> MemoryNetwork::attach(MemoryLink* link, const SocketAddress& wanted) {
    SocketAddress at = wanted;
    if (at.port == 0) {
        // 127.0.0.1:1 .. :65535, then 127.0.1.x, ...: never 0 and never a taken one.
        for (std::uint32_t tries = 0;; ++tries) {
            if (tries > links_.size()) return std::nullopt;
            ++next_;
            std::uint32_t host = next_ / 65535, port = next_ % 65535 + 1;
            at = {asio::ip::address_v4((127u << 24) | ((host + 1) & 0xffffffu)),
                  static_cast<std::uint16_t>(port)};
            if (!links_.count(to_peer_address(at))) break;
        }
    }
    if (!links_.emplace(to_peer_address(at), link).second) return std::nullopt;
    return at;
}

void MemoryNetwork::detach(const PeerAddress& at, const MemoryLink* link) {
    auto it = links_.find(at);
    if (it != links_.end() && it->second == link) links_.erase(it);
}

bool MemoryNetwork::lose() {
    if (cfg_.loss <= 0) return false;
    rng_ = rng_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(rng_ >> 11) / 9007199254740992.0 < cfg_.loss;
}

void MemoryNetwork::send(const PeerAddress& from, const PeerAddress& to,
                         const wire::Packet& packet) {
    auto it = links_.find(to);
    if (it == links_.end()) {
        ++unreachable_;
        return;
    }
    if (lose()) {
        ++lost_;
        return;
    }
    if (!it->second->accept(from, packet, Clock::now() + cfg_.latency)) {
        ++overflowed_;
        return;
    }
    ++delivered_;
}

bool MemoryNetwork::run(boost::asio::io_context& io, const std::function<bool()>& done,
                        Duration limit, Duration max_skip) {
    auto end = Clock::now() + limit;
    // After a skip the reactor must look at its timers again: it waits on a timerfd set
    // for the earliest timer in real time. A timer due before every other one (the poke)
    // resets it; the kernel delivers that expiry a moment later, so wait for it.
    Timer poke(io);
    auto pokes = std::make_shared<std::size_t>(0);  // outlives a wait still queued
    Duration skip = std::chrono::milliseconds(1);
    while (!done()) {
        if (Clock::now() >= end) return false;
        if (io.stopped()) io.restart();
        *pokes = 0;
        if (io.poll() > *pokes) {
            skip = std::chrono::milliseconds(1);
            continue;
        }
        Clock::skip(skip);
        skip = std::min(2 * skip, max_skip);
        *pokes = 0;
        poke.expires_at(Clock::time_point{});
        poke.async_wait([pokes](boost::system::error_code) { ++*pokes; });
        if (io.run_one_for(std::chrono::milliseconds(10)) > *pokes)
            skip = std::chrono::milliseconds(1);
    }
    return true;
}

// ---- link -----------------------------------------------------------------------------

MemoryLink::MemoryLink(asio::any_io_executor ex, EndpointConfig config,
                       std::shared_ptr<MemoryNetwork> network, const SocketAddress& bind)
    : LinkService(ex, std::move(config)), network_(std::move(network)), wake_(ex) {
    auto at = network_->attach(this, bind);
    if (!at) throw std::runtime_error("memory link: address in use");
    address_ = *at;
    self_ = to_peer_address(address_);
}

MemoryLink::~MemoryLink() {
    network_->detach(self_, this);
}

void MemoryLink::start() {
    LinkService::start();
}

void MemoryLink::stop() {
    LinkService::stop();
    wake_.cancel();
    inbox_.clear();
    network_->detach(self_, this);
}

Result<SessionId> MemoryLink::connect(const SocketAddress& to, const crypto::X25519Public& key,
                                      noise::Pattern pattern) {
    auto id = endpoint_.connect(to_peer_address(to), key, pattern, Clock::now(), out_);
    flush();
    return id;
}

void MemoryLink::transmit(std::vector<Outgoing>& packets) {
    if (stopped_) return;
    for (const auto& p : packets) network_->send(self_, p.to, p.packet);
}

bool MemoryLink::accept(const PeerAddress& from, const wire::Packet& packet, TimePoint due) {
    if (stopped_ || inbox_.size() >= network_->config().queue) return false;
    inbox_.push_back({due, from, packet});
    schedule();
    return true;
}

// One hand-over per batch: at once (posted, never inside the sender's call) when the
// first packet is due, else when it will be.
void MemoryLink::schedule() {
    if (scheduled_ || inbox_.empty()) return;
    scheduled_ = true;
    auto run = [this, alive = std::weak_ptr<char>(alive_)](boost::system::error_code ec = {}) {
        if (ec || alive.expired()) return;
        scheduled_ = false;
        drain();
    };
    if (inbox_.front().due <= Clock::now()) {
        asio::post(ex_, [run] { run(); });
    } else {
        wake_.expires_at(inbox_.front().due);
        wake_.async_wait(run);
    }
}

void MemoryLink::drain() {
    if (stopped_) return;
    auto now = Clock::now();
    std::size_t n = 0;
    while (!inbox_.empty() && inbox_.front().due <= now && n < 256) {
        Arrival a = std::move(inbox_.front());
        inbox_.pop_front();
        receive(a.from, a.packet, now);
        ++n;
    }
    flush();
    schedule();
}

}  // namespace zmesh::link
