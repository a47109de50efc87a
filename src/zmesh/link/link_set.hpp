#pragma once
// A node's links: one LinkService per transport behind one space of session ids. A peer
// advertises addresses on several transports; the set picks those it speaks, in the
// node's order (by default webrtc, websocket, udp, tcp).

#include <memory>
#include <span>
#include <vector>

#include "zmesh/link/service.hpp"

namespace zmesh::link {

// Each link's sessions get ids in their own range: the top byte names the link.
inline constexpr int kSessionRangeShift = 56;

class LinkSet {
  public:
    explicit LinkSet(asio::any_io_executor ex);
    ~LinkSet();
    LinkSet(const LinkSet&) = delete;
    LinkSet& operator=(const LinkSet&) = delete;

    // One link per transport kind, added before start(); fails on a second of a kind.
    Status add(std::unique_ptr<LinkService> link);
    // The transports to use for outgoing links, best first. Kinds left out are not used to
    // reach peers (this node still answers on them). Defaults to kDefaultTransportOrder.
    void set_order(std::vector<TransportKind> order) { order_ = std::move(order); }
    const std::vector<TransportKind>& order() const { return order_; }

    void on_cell(LinkService::CellHandler h) { cell_handler_ = std::move(h); }
    void on_event(LinkService::EventHandler h) { event_handler_ = std::move(h); }
    void start();
    void stop();

    // True when this node can open links of that kind (it runs one and the order names it).
    bool speaks(TransportKind kind) const;
    // The addresses in `offered` this node can use, best first.
    std::vector<LinkAddress> usable(std::span<const LinkAddress> offered) const;
    Result<SessionId> connect(const LinkAddress& to, const crypto::X25519Public& key,
                              noise::Pattern pattern);
    Status send_cell(SessionId id, const wire::Cell& cell);
    void close(SessionId id);
    bool established(SessionId id) const;
    void set_require_post_quantum(bool on);

    // The link a session belongs to (nullptr for an unknown id).
    LinkService* link_of(SessionId id) const;
    LinkService* find(TransportKind kind) const;
    const std::vector<std::unique_ptr<LinkService>>& links() const { return links_; }
    asio::any_io_executor executor() const { return ex_; }
    std::size_t session_count() const;

  private:
    asio::any_io_executor ex_;
    std::vector<std::unique_ptr<LinkService>> links_;
    std::vector<TransportKind> order_{kDefaultTransportOrder.begin(), kDefaultTransportOrder.end()};
    LinkService::CellHandler cell_handler_;
    LinkService::EventHandler event_handler_;
};

}  // namespace zmesh::link
