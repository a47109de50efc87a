#include "zmesh/link/link_set.hpp"

#include <algorithm>

namespace zmesh::link {

LinkSet::LinkSet(asio::any_io_executor ex) : ex_(std::move(ex)) {}

LinkSet::~LinkSet() = default;

Status LinkSet::add(std::unique_ptr<LinkService> link) {
    if (!link || find(link->transport_kind())) return Errc::bad_state;
    link->endpoint().set_session_id_base(static_cast<SessionId>(links_.size())
                                         << kSessionRangeShift);
    link->on_cell([this](SessionId s, const wire::Cell& c) {
        if (cell_handler_) cell_handler_(s, c);
    });
    link->on_event([this](const LinkEvent& ev) {
        if (event_handler_) event_handler_(ev);
    });
    links_.push_back(std::move(link));
    return {};
}

void LinkSet::start() {
    for (auto& l : links_) l->start();
}

void LinkSet::stop() {
    for (auto& l : links_) l->stop();
}

LinkService* LinkSet::find(TransportKind kind) const {
    for (const auto& l : links_)
        if (l->transport_kind() == kind) return l.get();
    return nullptr;
}

LinkService* LinkSet::link_of(SessionId id) const {
    auto slot = static_cast<std::size_t>(id >> kSessionRangeShift);
    return slot < links_.size() ? links_[slot].get() : nullptr;
}

bool LinkSet::speaks(TransportKind kind) const {
    return find(kind) && std::find(order_.begin(), order_.end(), kind) != order_.end();
}

std::vector<LinkAddress> LinkSet::usable(std::span<const LinkAddress> offered) const {
    std::vector<LinkAddress> out;
    for (auto kind : order_) {
        if (!find(kind)) continue;
        for (const auto& a : offered)
            if (a.kind == kind) out.push_back(a);
    }
    return out;
}

Result<SessionId> LinkSet::connect(const LinkAddress& to, const crypto::X25519Public& key,
                                   noise::Pattern pattern) {
    auto* link = find(to.kind);
    if (!link) return Errc::unsupported;
    return link->connect(to.at, key, pattern);
}

Status LinkSet::send_cell(SessionId id, const wire::Cell& cell) {
    auto* link = link_of(id);
    if (!link) return Errc::unknown_peer;
    return link->send_cell(id, cell);
}

void LinkSet::close(SessionId id) {
    if (auto* link = link_of(id)) link->close(id);
}

bool LinkSet::established(SessionId id) const {
    auto* link = link_of(id);
    return link && link->established(id);
}

void LinkSet::set_require_post_quantum(bool on) {
    for (auto& l : links_) l->endpoint().set_require_post_quantum(on);
}

std::size_t LinkSet::session_count() const {
    std::size_t n = 0;
    for (const auto& l : links_) n += l->endpoint().session_count();
    return n;
}

}  // namespace zmesh::link
