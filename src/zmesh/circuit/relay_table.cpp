#include "zmesh/circuit/relay_table.hpp"

#include <algorithm>

#include "zmesh/circuit/extend_policy.hpp"

namespace zmesh::circuit {

struct RelayTable::Circuit {
    std::uint64_t serial = 0;
    LinkCircuit prev;
    std::optional<LinkCircuit> next;
    LayerKey forward;
    LayerKey backward;
    link::ReplayWindow window;
    std::uint32_t backward_seq = 0;
    // The forward report a PONG carries: cells accepted, and of them out of order.
    std::uint32_t forward_received = 0;
    std::uint32_t forward_late = 0;
    TimePoint last_activity{};
    // Extending: waiting for a link (request) or for CREATED on the next hop.
    std::optional<std::uint64_t> link_request;
    Bytes pending_handshake;
    HandshakeType pending_type = HandshakeType::ntor_x25519;
    bool awaiting_created = false;
    Reassembler reassembler;
    TimePoint extend_started{};
};

RelayTable::RelayTable(RelayConfig config)
    : cfg_(std::move(config)), onion_keys_(cfg_.onion, cfg_.onion_created, cfg_.onion_policy) {
    cfg_.onion = {};  // the only copy is the key ring's, which erases it when replaced
}
RelayTable::~RelayTable() = default;

RelayTable::Circuit* RelayTable::by_prev(const LinkCircuit& c) {
    auto it = prev_index_.find(c);
    return it == prev_index_.end() ? nullptr : it->second;
}

RelayTable::Circuit* RelayTable::by_next(const LinkCircuit& c) {
    auto it = next_index_.find(c);
    return it == next_index_.end() ? nullptr : it->second;
}

std::uint32_t RelayTable::allocate_id(PeerRef peer) {
    return fresh_circuit_id(peer, [this](const LinkCircuit& lc) {
        return prev_index_.contains(lc) || next_index_.contains(lc) || working_.contains(lc);
    });
}

void RelayTable::on_cell(PeerRef from, const wire::Cell& cell, TimePoint now, RelayOutput& out) {
    LinkCircuit lc{from, wire::cell_circuit_id(cell)};
    auto cmd = wire::cell_command(cell);
    if (lc.id == wire::kLinkCircuitId) {
        ++stats_.drop_malformed;
        return;
    }
    if (cmd == wire::CellCommand::create) {
        on_create(lc, cell, now, out);
        return;
    }
    if (cmd == wire::CellCommand::create_continue) {
        on_create_continue(lc, cell, now, out);
        return;
    }
    Circuit* prev_side = by_prev(lc);
    Circuit* next_side = prev_side ? nullptr : by_next(lc);
    if (prev_side == nullptr && next_side == nullptr) {
        // DESTROY before its CREATE was answered: the answer will find nothing.
        if (auto w = working_.find(lc); cmd == wire::CellCommand::destroy && w != working_.end()) {
            cancel_working(w);
            return;
        }
        ++stats_.drop_unknown_circuit;
        return;
    }
    switch (cmd) {
        case wire::CellCommand::relay:
            if (prev_side)
                on_forward(*prev_side, cell, now, out);
            else
                on_backward(*next_side, cell, now, out);
            break;
        case wire::CellCommand::created:
            if (next_side && next_side->awaiting_created) {
                on_created(*next_side, cell, now, out);
            } else {
                ++stats_.drop_malformed;
            }
            break;
        case wire::CellCommand::destroy: {
            Circuit& c = prev_side ? *prev_side : *next_side;
            // Pass it on to the other side, then forget the circuit.
            auto reason = static_cast<DestroyReason>(cell[wire::kCellHeaderSize]);
            if (prev_side && c.next)
                out.cells.push_back({c.next->peer, make_destroy(*c.next, reason)});
            if (next_side) out.cells.push_back({c.prev.peer, make_destroy(c.prev, reason)});
            remove(c, out);
            break;
        }
        default:
            ++stats_.drop_malformed;
            break;
    }
}

void RelayTable::on_create(const LinkCircuit& lc, const wire::Cell& cell, TimePoint now,
                           RelayOutput& out) {
    if (!cfg_.accept_circuits) {
        ++stats_.refused_not_relay;
        out.cells.push_back({lc.peer, make_destroy(lc, DestroyReason::refused)});
        return;
    }
    if (by_prev(lc) || by_next(lc) || pending_creates_.find(lc.peer, lc.id) ||
        working_.contains(lc)) {
        ++stats_.drop_malformed;  // id already in use on this link
        out.cells.push_back({lc.peer, make_destroy(lc, DestroyReason::protocol)});
        return;
    }
    if (circuits_.size() + working_.size() >= cfg_.max_circuits) {
        ++stats_.refused_table_full;
        out.cells.push_back({lc.peer, make_destroy(lc, DestroyReason::resource)});
        return;
    }
    auto create = decode_create(cell_body(cell));
    if (!create) {
        ++stats_.refused_handshake;
        out.cells.push_back({lc.peer, make_destroy(lc, DestroyReason::handshake)});
        return;
    }
    if (create->handshake.size() < create->total) {
        // The rest follows in CREATE_CONTINUE cells. Never refused for room: the table
        // displaces the oldest of this link, or of the link holding the most.
        std::uint64_t evicted = pending_creates_.evicted();
        pending_creates_.insert(lc.peer, lc.id,
                                {create->type, std::move(create->handshake), create->total, now});
        stats_.pending_creates_evicted += pending_creates_.evicted() - evicted;
        return;
    }
    accept_create(lc, create->type, create->handshake, now, out);
}

void RelayTable::on_create_continue(const LinkCircuit& lc, const wire::Cell& cell, TimePoint now,
                                    RelayOutput& out) {
    PendingCreate* pending = pending_creates_.find(lc.peer, lc.id);
    if (pending == nullptr) {
        ++stats_.drop_unknown_circuit;
        return;
    }
    auto more = decode_create_continue(cell_body(cell));
    PendingCreate& p = *pending;
    if (!more || p.handshake.size() + more->size() > p.total) {
        ++stats_.refused_handshake;
        pending_creates_.erase(lc.peer, lc.id);
        out.cells.push_back({lc.peer, make_destroy(lc, DestroyReason::handshake)});
        return;
    }
    p.handshake.insert(p.handshake.end(), more->begin(), more->end());
    if (p.handshake.size() < p.total) return;
    PendingCreate done = std::move(p);
    pending_creates_.erase(lc.peer, lc.id);
    accept_create(lc, done.type, done.handshake, now, out);
}

void RelayTable::accept_create(const LinkCircuit& lc, HandshakeType type, ByteView handshake,
                               TimePoint now, RelayOutput& out) {
    if (cfg_.require_post_quantum && type == HandshakeType::ntor_x25519) {
        ++stats_.refused_classical;
        out.cells.push_back({lc.peer, make_destroy(lc, DestroyReason::handshake)});
        return;
    }
    // The onionskin names the onion key it was made for (ID | B | X): the current key, or
    // one replaced less than the overlap ago.
    auto named = handshake.size() >= 64 ? crypto::X25519Public::from(handshake.subspan(32, 32))
                                        : std::nullopt;
    const crypto::X25519KeyPair* onion = named ? onion_keys_.find(*named) : nullptr;
    if (onion == nullptr) {
        ++stats_.refused_handshake;
        ++stats_.refused_onion_key;
        out.cells.push_back({lc.peer, make_destroy(lc, DestroyReason::handshake)});
        return;
    }
    // Bounded by the jobs out, not the CREATEs waiting: a CREATE destroyed at once frees
    // its id but not the worker time its job takes.
    if (cfg_.defer_handshakes && jobs_out_ < kMaxHandshakesInProgress) {
        Working w{next_ticket_++, std::make_shared<std::atomic<bool>>(false)};
        working_[lc] = w;
        ++jobs_out_;
        ++stats_.handshakes_deferred;
        out.handshakes.push_back({lc, w.ticket, w.cancelled, cfg_.id, *onion, type,
                                  Bytes(handshake.begin(), handshake.end())});
        return;
    }
    auto reply = ntor_server(cfg_.id, *onion, handshake, type);
    answer_create(lc, reply, now, out);
}

void RelayTable::cancel_working(
    std::unordered_map<LinkCircuit, Working, LinkCircuitHash>::iterator it) {
    it->second.cancelled->store(true, std::memory_order_relaxed);
    working_.erase(it);
}

void RelayTable::finish_create(const LinkCircuit& lc, std::uint64_t ticket,
                               Result<NtorServerResult> reply, TimePoint now, RelayOutput& out) {
    if (jobs_out_ > 0) --jobs_out_;
    auto it = working_.find(lc);
    if (it == working_.end() || it->second.ticket != ticket) {
        ++stats_.handshakes_abandoned;
        return;
    }
    working_.erase(it);
    answer_create(lc, reply, now, out);
}

void RelayTable::answer_create(const LinkCircuit& lc, Result<NtorServerResult>& reply,
                               TimePoint now, RelayOutput& out) {
    if (!reply) {
        ++stats_.refused_handshake;
        out.cells.push_back({lc.peer, make_destroy(lc, DestroyReason::handshake)});
        return;
    }
    auto c = std::unique_ptr<Circuit>(new Circuit{next_serial_++, lc, std::nullopt,
                                                  LayerKey(reply->keys.forward),
                                                  LayerKey(reply->keys.backward)});
    c->last_activity = now;
    prev_index_[lc] = c.get();
    circuits_.emplace(c->serial, std::move(c));
    ++stats_.circuits_created;
    wire::Cell created = make_cell(lc, wire::CellCommand::created);
    (void)encode_created({reply->reply}, cell_body(created));
    out.cells.push_back({lc.peer, created});
}

void RelayTable::on_forward(Circuit& c, const wire::Cell& cell, TimePoint now, RelayOutput& out) {
    Body body;
    auto in = cell_body(cell);
    std::copy(in.begin(), in.end(), body.begin());
    auto seq = peel_forward(c.forward, c.window, body);
    if (!seq) {
        if (seq.error() == Errc::replayed) {
            ++stats_.drop_replayed;
            return;
        }
        // Tampering (or a broken peer): a tagging attack must not get past this hop.
        ++stats_.drop_integrity;
        destroy(c.prev, DestroyReason::integrity, out);
        return;
    }
    c.last_activity = now;
    if (*seq < c.window.highest()) ++c.forward_late;
    ++c.forward_received;
    if (forward_tap_) forward_tap_(c.prev, *seq);
    if (c.next && !recognised(body)) {
        wire::Cell fwd = make_cell(*c.next, wire::CellCommand::relay);
        std::copy(body.begin(), body.end(), cell_body(fwd).begin());
        out.cells.push_back({c.next->peer, fwd});
        ++stats_.cells_forward;
        return;
    }
    if (!recognised(body)) {
        ++stats_.drop_malformed;  // the end of the circuit, yet not for us
        destroy(c.prev, DestroyReason::protocol, out);
        return;
    }
    on_message(c, body, now, out);
}

void RelayTable::on_message(Circuit& c, const Body& body, TimePoint now, RelayOutput& out) {
    auto msg = decode_relay(payload_of(body));
    if (!msg) {
        ++stats_.drop_malformed;
        destroy(c.prev, DestroyReason::protocol, out);
        return;
    }
    if (msg->command == RelayCommand::fragment) {
        auto whole = c.reassembler.add(*msg);
        if (!whole) {
            ++stats_.drop_malformed;
            destroy(c.prev, DestroyReason::protocol, out);
            return;
        }
        if (!*whole) return;  // more fragments to come
        msg = std::move(**whole);
    }
    ++stats_.cells_delivered;
    switch (msg->command) {
        case RelayCommand::drop:
            return;
        case RelayCommand::ping:
            // Liveness probe from the client: echoed, so it learns this hop answers and
            // how far away it is. The data is the client's probe number, nothing else.
            if (msg->data.size() > kMaxPingData) {
                ++stats_.drop_malformed;
                destroy(c.prev, DestroyReason::protocol, out);
                return;
            }
            // The PONG also reports what reached this layer, so the client notices cells
            // dropped or reordered on the way that it did not cause.
            {
                std::size_t at = msg->data.size();
                msg->data.resize(at + kForwardReportSize);
                store_u32_be(msg->data.data() + at, c.forward_received);
                store_u32_be(msg->data.data() + at + 4, c.forward_late);
            }
            (void)originate(c, {RelayCommand::pong, 0, std::move(msg->data)}, out);
            return;
        case RelayCommand::extend: {
            auto ext = decode_extend(msg->data);
            if (!ext || c.next || c.link_request || c.awaiting_created) {
                ++stats_.drop_malformed;
                destroy(c.prev, DestroyReason::protocol, out);
                return;
            }
            ExtendContext ctx{cfg_.id, cfg_.link_key,
                              peer_key_ ? peer_key_(c.prev.peer) : std::nullopt,
                              cfg_.allow_private_addresses};
            if (check_extend(ext->next, ctx) != ExtendRefusal::none) {
                ++stats_.refused_extend;
                destroy(c.prev, DestroyReason::extend_refused, out);
                return;
            }
            std::uint64_t request = next_request_++;
            c.link_request = request;
            c.pending_handshake = std::move(ext->handshake);
            c.pending_type = ext->type;
            c.extend_started = now;
            pending_links_[request] = &c;
            out.links.push_back({request, ext->next});
            return;
        }
        default:
            if (!cfg_.exit || c.next) {
                ++stats_.drop_malformed;
                destroy(c.prev, DestroyReason::protocol, out);
                return;
            }
            out.delivered.push_back({c.prev, std::move(*msg)});
            return;
    }
}

void RelayTable::on_link_ready(std::uint64_t request, PeerRef peer, TimePoint now,
                               RelayOutput& out) {
    auto it = pending_links_.find(request);
    if (it == pending_links_.end()) return;  // the circuit died meanwhile
    Circuit& c = *it->second;
    pending_links_.erase(it);
    c.link_request.reset();
    LinkCircuit next{peer, allocate_id(peer)};
    c.next = next;
    next_index_[next] = &c;
    c.awaiting_created = true;
    c.extend_started = now;
    for (const auto& cell : encode_create_cells(next.id, c.pending_type, c.pending_handshake))
        out.cells.push_back({peer, cell});
    c.pending_handshake.clear();
}

void RelayTable::on_link_failed(std::uint64_t request, RelayOutput& out) {
    auto it = pending_links_.find(request);
    if (it == pending_links_.end()) return;
    Circuit& c = *it->second;
    pending_links_.erase(it);
    c.link_request.reset();
    ++stats_.extend_failed;
    (void)originate(c, {RelayCommand::extended, 0, encode_extended({})}, out);
}

void RelayTable::on_created(Circuit& c, const wire::Cell& cell, TimePoint now, RelayOutput& out) {
    auto created = decode_created(cell_body(cell));
    c.awaiting_created = false;
    c.last_activity = now;
    if (!created) {
        ++stats_.extend_failed;
        destroy(c.prev, DestroyReason::protocol, out);
        return;
    }
    ++stats_.circuits_extended;
    (void)originate(c, {RelayCommand::extended, 0, encode_extended({created->handshake})}, out);
}

void RelayTable::on_backward(Circuit& c, const wire::Cell& cell, TimePoint now, RelayOutput& out) {
    Body body;
    auto in = cell_body(cell);
    std::copy(in.begin(), in.end(), body.begin());
    if (c.backward_seq >= cfg_.max_cells_per_direction) {
        destroy(c.prev, DestroyReason::resource, out);
        return;
    }
    wrap_backward(c.backward, ++c.backward_seq, body);
    wire::Cell back = make_cell(c.prev, wire::CellCommand::relay);
    std::copy(body.begin(), body.end(), cell_body(back).begin());
    out.cells.push_back({c.prev.peer, back});
    c.last_activity = now;
    ++stats_.cells_backward;
}

// A relay message that starts here (EXTENDED, PONG, or the exit's answers) towards the
// client. Every cell uses up a backward counter, so each one is checked against the limit.
bool RelayTable::originate(Circuit& c, const RelayMessage& m, RelayOutput& out) {
    for (const auto& piece : split_relay(m)) {
        if (c.backward_seq >= cfg_.max_cells_per_direction) {
            destroy(c.prev, DestroyReason::resource, out);
            return false;
        }
        ByteArray<kPayloadSize> payload;
        if (!encode_relay(piece, payload)) return true;
        Body body;
        start_backward(payload, body);
        wrap_backward(c.backward, ++c.backward_seq, body);
        wire::Cell back = make_cell(c.prev, wire::CellCommand::relay);
        std::copy(body.begin(), body.end(), cell_body(back).begin());
        out.cells.push_back({c.prev.peer, back});
        ++stats_.cells_originated;
    }
    return true;
}

Status RelayTable::send_backward(const LinkCircuit& circuit, const RelayMessage& m, TimePoint now,
                                 RelayOutput& out) {
    Circuit* c = by_prev(circuit);
    if (c == nullptr) return Errc::unknown_peer;
    if (m.data.size() > kMaxRelayData) return Errc::oversized;
    if (c->backward_seq >= cfg_.max_cells_per_direction) return Errc::exhausted;
    c->last_activity = now;
    if (!originate(*c, m, out)) return Errc::exhausted;
    return {};
}

void RelayTable::destroy(const LinkCircuit& circuit, DestroyReason reason, RelayOutput& out) {
    Circuit* c = by_prev(circuit);
    if (c == nullptr) return;
    out.cells.push_back({c->prev.peer, make_destroy(c->prev, reason)});
    if (c->next) out.cells.push_back({c->next->peer, make_destroy(*c->next, reason)});
    remove(*c, out);
}

void RelayTable::destroy_all(DestroyReason reason, RelayOutput& out) {
    std::vector<LinkCircuit> all;
    for (const auto& [serial, c] : circuits_) all.push_back(c->prev);
    for (const auto& lc : all) destroy(lc, reason, out);
    pending_creates_.clear();
    while (!working_.empty()) cancel_working(working_.begin());
}

void RelayTable::remove(Circuit& c, RelayOutput& out) {
    out.closed.push_back(c.prev);
    prev_index_.erase(c.prev);
    if (c.next) next_index_.erase(*c.next);
    if (c.link_request) pending_links_.erase(*c.link_request);
    ++stats_.circuits_destroyed;
    circuits_.erase(c.serial);
}

void RelayTable::on_link_closed(PeerRef peer, RelayOutput& out) {
    pending_creates_.erase_source(peer);
    for (auto it = working_.begin(); it != working_.end();) {
        auto next = std::next(it);
        if (it->first.peer == peer) cancel_working(it);
        it = next;
    }
    std::vector<Circuit*> hit;
    for (auto& [serial, c] : circuits_)
        if (c->prev.peer == peer || (c->next && c->next->peer == peer)) hit.push_back(c.get());
    for (Circuit* c : hit) {
        if (c->prev.peer != peer)
            out.cells.push_back(
                {c->prev.peer, make_destroy(c->prev, DestroyReason::connect_failed)});
        if (c->next && c->next->peer != peer)
            out.cells.push_back(
                {c->next->peer, make_destroy(*c->next, DestroyReason::connect_failed)});
        remove(*c, out);
    }
}

void RelayTable::on_tick(TimePoint now, RelayOutput& out) {
    if (onion_keys_.on_tick(now)) ++stats_.onion_key_rotations;
    pending_creates_.erase_if(
        [&](const PendingCreate& p) { return now - p.started >= cfg_.extend_timeout; });
    std::vector<std::pair<LinkCircuit, DestroyReason>> expired;
    for (auto& [serial, c] : circuits_) {
        bool extending = c->link_request || c->awaiting_created;
        if (extending && now - c->extend_started >= cfg_.extend_timeout) {
            expired.push_back({c->prev, DestroyReason::timeout});
        } else if (now - c->last_activity >= cfg_.idle_timeout) {
            expired.push_back({c->prev, DestroyReason::timeout});
            ++stats_.idle_closed;
        }
    }
    for (auto& [lc, reason] : expired) destroy(lc, reason, out);
}

// The times on_tick() compares with.
std::optional<TimePoint> RelayTable::next_deadline() const {
    ++deadline_scans_;
    auto next = onion_keys_.next_deadline();
    auto at = [&](TimePoint p) {
        if (!next || p < *next) next = p;
    };
    pending_creates_.for_each([&](const PendingCreate& p) { at(p.started + cfg_.extend_timeout); });
    for (const auto& [serial, c] : circuits_) {
        if (c->link_request || c->awaiting_created) at(c->extend_started + cfg_.extend_timeout);
        at(c->last_activity + cfg_.idle_timeout);
    }
    return next;
}

}  // namespace zmesh::circuit
