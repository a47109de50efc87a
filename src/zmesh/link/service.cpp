#include "zmesh/link/service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace zmesh::link {

PeerAddress to_peer_address(const SocketAddress& a) {
    PeerAddress p;
    auto ip = ip_bytes(a.ip);
    std::copy(ip.begin(), ip.end(), p.bytes.begin());
    store_u16_be(p.bytes.data() + 16, a.port);
    return p;
}

SocketAddress from_peer_address(const PeerAddress& p) {
    return {ip_from_bytes(p.bytes.data()), load_u16_be(p.bytes.data() + 16)};
}

std::function<void(std::exception_ptr)> log_exit(const char* what) {
    return [what](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            spdlog::error("{} stopped: {}", what, ex.what());
        }
    };
}

LinkService::LinkService(asio::any_io_executor ex, EndpointConfig config)
    : ex_(ex), endpoint_(std::move(config)), timer_(ex) {}

LinkService::~LinkService() = default;

void LinkService::start() {
    started_ = true;
    arm_timer();
}

void LinkService::stop() {
    stopped_ = true;
    armed_.reset();
    timer_.cancel();
}

void LinkService::arm_timer() {
    if (!started_ || stopped_) return;
    auto next = endpoint_.next_deadline();
    if (!next) return;
    auto at = std::max(*next, last_tick_ + kMinTimerGap);
    if (armed_ && *armed_ <= at) return;
    armed_ = at;
    timer_.expires_at(at);  // cancels the wait for a later time, if any
    // Cancelled: re-armed (a newer wait is pending) or stopped. A wait that completed just
    // before this object went away finds its liveness token expired.
    timer_.async_wait([this, alive = std::weak_ptr<char>(alive_)](boost::system::error_code ec) {
        if (ec || alive.expired()) return;
        on_timer();
    });
}

void LinkService::on_timer() {
    armed_.reset();
    if (stopped_) return;
    ++wakeups_;
    last_tick_ = Clock::now();
    endpoint_.on_tick(last_tick_, out_);
    flush();
}

void LinkService::flush() {
    // Handlers may send (an echo, say), which lands in out_ again: the outer call drains it.
    if (flushing_) return;
    flushing_ = true;
    while (!out_.packets.empty() || !out_.events.empty() || !out_.cells.empty()) {
        std::swap(out_, spare_);
        if (!spare_.packets.empty()) {
            for (const auto& p : spare_.packets) bytes_out_ += p.packet.size();
            transmit(spare_.packets);
        }
        for (const auto& ev : spare_.events)
            if (event_handler_) event_handler_(ev);
        for (const auto& c : spare_.cells)
            if (cell_handler_) cell_handler_(c.session, c.cell);
        spare_.clear();
    }
    flushing_ = false;
    arm_timer();
}

bool LinkService::receive(const PeerAddress& from, ByteView packet, TimePoint now) {
    bytes_in_ += packet.size();
    try {
        auto refused = endpoint_.stats().drop_classical_refused;
        endpoint_.on_packet(from, packet, now, out_);
        if (endpoint_.stats().drop_classical_refused != refused)
            spdlog::warn(
                "refused a classical-only link handshake: this node requires "
                "post-quantum (hybrid) handshakes ({} refused so far)",
                endpoint_.stats().drop_classical_refused);
        return true;
    } catch (const std::exception& e) {
        ++internal_errors_;
        spdlog::error("link: dropped a packet whose handling failed: {}", e.what());
        return false;
    }
}

Status LinkService::send_cell(SessionId id, const wire::Cell& cell) {
    auto st = endpoint_.send_cell(id, cell, Clock::now(), out_);
    flush();
    return st;
}

std::size_t LinkService::send_cells(SessionId id, std::span<const wire::Cell> cells) {
    auto now = Clock::now();
    std::size_t sent = 0;
    for (const auto& c : cells) {
        if (!endpoint_.send_cell(id, c, now, out_)) break;
        ++sent;
    }
    flush();
    return sent;
}

PeerAddress conn_address(std::uint64_t id) {
    PeerAddress p;
    p.bytes[0] = 0xff;  // never a valid IPv6 unicast prefix in our use: marks a connection
    store_u64_be(p.bytes.data() + 1, id);
    return p;
}

std::uint64_t conn_id(const PeerAddress& p) {
    std::uint64_t v = 0;
    for (int i = 1; i <= 8; ++i) v = (v << 8) | p.bytes[i];
    return v;
}

void LinkService::close_sessions_at(const PeerAddress& p) {
    for (const auto& s : endpoint_.sessions())
        if (s.address == p) close(s.id);
}

void LinkService::close(SessionId id) {
    endpoint_.close(id, out_);
    flush();
}

}  // namespace zmesh::link
