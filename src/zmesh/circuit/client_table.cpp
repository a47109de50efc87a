#include "zmesh/circuit/client_table.hpp"

#include <algorithm>

namespace zmesh::circuit {

struct ClientTable::Circuit {
    CircuitHandle handle = 0;
    std::vector<PathHop> path;
    std::optional<LinkCircuit> link;
    std::optional<std::uint64_t> link_request;
    std::vector<std::unique_ptr<LayerKey>> forward;
    std::vector<std::unique_ptr<LayerKey>> backward;
    std::vector<const LayerKey*> forward_ptrs;
    std::vector<const LayerKey*> backward_ptrs;
    std::vector<link::ReplayWindow> windows;
    std::optional<NtorClient> pending;  // the handshake with hop forward.size()
    // Per hop: fragments of a message from that hop (a hop cannot add to another's), and
    // how many forward cells have passed through that hop's layer (its cell numbers).
    std::vector<Reassembler> reassemblers;
    std::vector<std::uint32_t> forward_numbers;
    std::uint32_t next_report = 0;  // forward_numbers.back() at which to probe again
    TimePoint started{};
    TimePoint last_hop_done{};
    std::vector<Duration> hop_times;
    bool built = false;
    // liveness
    std::optional<TimePoint> awaiting_since;  // first cell sent since we last heard back
    std::optional<TimePoint> probe_sent;
    std::uint32_t probe_attempt = 0;  // of the probe under way, from 1
    std::uint64_t probe_id = 0;
    std::vector<bool> answered;
    std::vector<Duration> hop_rtt;
    std::vector<std::uint32_t> probe_numbers;  // each hop's PING: its number at that hop
};

ClientTable::ClientTable(ClientConfig config) : cfg_(config) {}
ClientTable::~ClientTable() = default;

ClientTable::Circuit* ClientTable::find(CircuitHandle h) {
    auto it = circuits_.find(h);
    return it == circuits_.end() ? nullptr : it->second.get();
}

bool ClientTable::is_built(CircuitHandle h) const {
    auto it = circuits_.find(h);
    return it != circuits_.end() && it->second->built;
}

std::size_t ClientTable::hop_count(CircuitHandle h) const {
    auto it = circuits_.find(h);
    return it == circuits_.end() ? 0 : it->second->forward.size();
}

Result<CircuitHandle> ClientTable::build(std::vector<PathHop> path, TimePoint now,
                                         ClientOutput& out, bool one_hop_ok) {
    if (path.size() < (one_hop_ok ? 1 : kMinHops) || path.size() > kMaxHops)
        return Errc::bad_length;
    for (const auto& hop : path)
        if (hop.hop.addresses.empty() || hop.hop.addresses.size() > kMaxHopAddresses)
            return Errc::malformed;
    if (circuits_.size() >= cfg_.max_circuits) return Errc::exhausted;
    auto c = std::make_unique<Circuit>();
    c->handle = next_handle_++;
    c->path = std::move(path);
    c->started = now;
    c->link_request = next_request_++;
    pending_links_[*c->link_request] = c.get();
    out.links.push_back({*c->link_request, c->path[0].hop});
    CircuitHandle h = c->handle;
    circuits_.emplace(h, std::move(c));
    return h;
}

void ClientTable::on_link_ready(std::uint64_t request, PeerRef peer, TimePoint, ClientOutput& out) {
    auto it = pending_links_.find(request);
    if (it == pending_links_.end()) return;
    Circuit& c = *it->second;
    pending_links_.erase(it);
    c.link_request.reset();
    std::uint32_t id =
        fresh_circuit_id(peer, [this](const LinkCircuit& lc) { return index_.contains(lc); });
    c.link = LinkCircuit{peer, id};
    index_[*c.link] = &c;
    const PathHop& first = c.path[0];
    c.pending.emplace(RelayKeys{first.hop.id, first.onion}, cfg_.handshake);
    for (const auto& cell : encode_create_cells(id, cfg_.handshake, c.pending->onionskin()))
        out.cells.push_back({peer, cell});
}

void ClientTable::on_link_failed(std::uint64_t request, ClientOutput& out) {
    auto it = pending_links_.find(request);
    if (it == pending_links_.end()) return;
    fail(*it->second, DestroyReason::connect_failed, false, out);
}

void ClientTable::on_link_closed(PeerRef peer, ClientOutput& out) {
    std::vector<Circuit*> hit;
    for (auto& [h, c] : circuits_)
        if (c->link && c->link->peer == peer) hit.push_back(c.get());
    for (Circuit* c : hit) fail(*c, DestroyReason::connect_failed, false, out);
}

void ClientTable::fail(Circuit& c, DestroyReason reason, bool send_destroy, ClientOutput& out,
                       std::optional<std::size_t> dead_hop, bool abandoned) {
    if (send_destroy && c.link) out.cells.push_back({c.link->peer, make_destroy(*c.link, reason)});
    if (c.link) index_.erase(*c.link);
    if (c.link_request) pending_links_.erase(*c.link_request);
    ClientEvent ev{c.built ? ClientEvent::Kind::closed : ClientEvent::Kind::failed, c.handle,
                   reason};
    for (const auto& hop : c.path) ev.path.push_back(hop.hop.id);
    ev.failed_hop = dead_hop.value_or(c.forward.size());
    ev.abandoned = abandoned;
    bool failed = !c.built && !abandoned;  // a build given up is no failed build
    ++(failed ? stats_.circuits_failed : stats_.circuits_closed);
    if (failed && c.path.size() <= kMaxHops) ++stats_.failed_by_hops[c.path.size()];
    out.events.push_back(std::move(ev));
    circuits_.erase(c.handle);
}

std::vector<CircuitInfo> ClientTable::list() const {
    std::vector<CircuitInfo> out;
    out.reserve(circuits_.size());
    for (const auto& [h, c] : circuits_) {
        CircuitInfo info{h, c->built, c->started, {}, c->hop_rtt};
        for (const auto& hop : c->path) info.path.push_back(hop.hop.id);
        out.push_back(std::move(info));
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.handle < b.handle; });
    return out;
}

void ClientTable::close_all(DestroyReason reason, ClientOutput& out) {
    std::vector<CircuitHandle> all;
    for (const auto& [h, c] : circuits_) all.push_back(h);
    for (auto h : all)
        if (Circuit* c = find(h)) fail(*c, reason, true, out, std::nullopt, true);
}

void ClientTable::close(CircuitHandle h, ClientOutput& out) {
    if (Circuit* c = find(h)) fail(*c, DestroyReason::finished, true, out, std::nullopt, true);
}

void ClientTable::on_hop_done(Circuit& c, ByteView reply, TimePoint now, ClientOutput& out) {
    auto keys = c.pending->finish(reply);
    c.pending.reset();
    if (!keys) {
        fail(c, DestroyReason::handshake, true, out);
        return;
    }
    c.forward.push_back(std::make_unique<LayerKey>(keys->forward));
    c.backward.push_back(std::make_unique<LayerKey>(keys->backward));
    c.forward_ptrs.push_back(c.forward.back().get());
    c.backward_ptrs.push_back(c.backward.back().get());
    c.windows.emplace_back();
    c.reassemblers.emplace_back();
    c.forward_numbers.push_back(0);
    c.hop_times.push_back(now - (c.hop_times.empty() ? c.started : c.last_hop_done));
    c.last_hop_done = now;
    std::size_t done = c.forward.size();
    if (done == c.path.size()) {
        c.built = true;
        c.hop_rtt = c.hop_times;  // a first estimate (it includes the handshakes)
        c.answered.assign(c.path.size(), false);
        c.next_report = cfg_.report_every;
        ++stats_.circuits_built;
        ++stats_.built_by_hops[c.path.size()];
        ClientEvent ev{ClientEvent::Kind::built, c.handle};
        ev.build_time = now - c.started;
        ev.hop_times = c.hop_times;
        for (const auto& hop : c.path) ev.path.push_back(hop.hop.id);
        stats_.build_seconds.observe(std::chrono::duration<double>(ev.build_time).count());
        recent_builds_.push_back(ev.build_time);
        if (recent_builds_.size() > 20) recent_builds_.pop_front();
        out.events.push_back(std::move(ev));
        return;
    }
    // Telescoping: ask the newest hop to extend to the next relay of the path.
    const PathHop& next = c.path[done];
    c.pending.emplace(RelayKeys{next.hop.id, next.onion}, cfg_.handshake);
    Extend ext{next.hop, cfg_.handshake, c.pending->onionskin()};
    if (!send_to_hop(c, done - 1, {RelayCommand::extend, 0, encode_extend(ext)}, out))
        fail(c, DestroyReason::protocol, true, out);
}

Status ClientTable::send_to_hop(Circuit& c, std::size_t hop, const RelayMessage& m,
                                ClientOutput& out) {
    auto hops = std::span<const LayerKey* const>(c.forward_ptrs).first(hop + 1);
    auto numbers = std::span<std::uint32_t>(c.forward_numbers).first(hop + 1);
    for (const auto& piece : split_relay(m)) {
        // A cell advances the counter of each hop it passes through, and no other.
        for (std::uint32_t n : numbers)
            if (n >= kMaxCellsPerDirection) return Errc::exhausted;
        ByteArray<kPayloadSize> payload;
        if (auto st = encode_relay(piece, payload); !st) return st;
        wire::Cell cell = make_cell(*c.link, wire::CellCommand::relay);
        Body body;
        for (std::uint32_t& n : numbers) ++n;
        if (auto st = seal_forward(hops, numbers, payload, body); !st) return st;
        std::copy(body.begin(), body.end(), cell_body(cell).begin());
        out.cells.push_back({c.link->peer, cell});
        ++stats_.cells_sent;
    }
    return {};
}

Status ClientTable::send(CircuitHandle h, const RelayMessage& m, TimePoint now, ClientOutput& out) {
    Circuit* c = find(h);
    if (c == nullptr) return Errc::unknown_peer;
    if (!c->built) return Errc::bad_state;
    if (!c->awaiting_since) c->awaiting_since = now;
    if (auto st = send_to_hop(*c, c->forward.size() - 1, m, out); !st) return st;
    if (cfg_.report_every != 0 && c->forward_numbers.back() >= c->next_report) {
        c->next_report = c->forward_numbers.back() + cfg_.report_every;
        if (c->next_report < cfg_.report_every) c->next_report = kMaxCellsPerDirection;
        (void)probe(h, now, out);  // at most one probe at a time: may be a no-op
    }
    return {};
}

void ClientTable::on_cell(PeerRef from, const wire::Cell& cell, TimePoint now, ClientOutput& out) {
    auto it = index_.find({from, wire::cell_circuit_id(cell)});
    if (it == index_.end()) {
        ++stats_.drop_unknown_circuit;
        return;
    }
    Circuit& c = *it->second;
    switch (wire::cell_command(cell)) {
        case wire::CellCommand::created: {
            auto created = decode_created(cell_body(cell));
            if (!created || !c.forward.empty() || !c.pending) {
                ++stats_.drop_malformed;
                fail(c, DestroyReason::protocol, true, out);
                return;
            }
            on_hop_done(c, created->handshake, now, out);
            return;
        }
        case wire::CellCommand::destroy:
            fail(c, static_cast<DestroyReason>(cell[wire::kCellHeaderSize]), false, out);
            return;
        case wire::CellCommand::relay:
            break;
        default:
            ++stats_.drop_malformed;
            return;
    }
    Body body;
    auto in = cell_body(cell);
    std::copy(in.begin(), in.end(), body.begin());
    auto hop = open_backward(c.backward_ptrs, c.windows, body);
    if (!hop) {
        if (hop.error() == Errc::replayed) {
            ++stats_.drop_replayed;
            return;
        }
        ++stats_.drop_integrity;
        fail(c, DestroyReason::integrity, true, out);
        return;
    }
    auto msg = decode_relay(payload_of(body));
    if (!msg) {
        ++stats_.drop_malformed;
        fail(c, DestroyReason::protocol, true, out);
        return;
    }
    ++stats_.cells_received;
    c.awaiting_since.reset();  // the circuit carries
    if (msg->command == RelayCommand::fragment) {
        auto whole = c.reassemblers[*hop].add(*msg);
        if (!whole) {
            ++stats_.drop_malformed;
            fail(c, DestroyReason::protocol, true, out);
            return;
        }
        if (!*whole) return;
        msg = std::move(**whole);
    }
    if (!c.built && msg->command == RelayCommand::extended) {
        auto ext = decode_extended(msg->data);
        bool from_newest = *hop + 1 == c.forward.size();
        if (!ext || !from_newest || !c.pending || ext->handshake.empty()) {
            fail(c, DestroyReason::connect_failed, true, out);
            return;
        }
        on_hop_done(c, ext->handshake, now, out);
        return;
    }
    if (msg->command == RelayCommand::pong && !on_pong(c, *hop, msg->data, now, out)) return;
    // Any cell from a hop proves it and every hop before it alive: a busy circuit answers
    // a probe with its traffic, even when the PONGs queue behind it.
    if (c.probe_sent && *hop < c.answered.size()) {
        std::fill(c.answered.begin(), c.answered.begin() + static_cast<std::ptrdiff_t>(*hop) + 1,
                  true);
        if (std::all_of(c.answered.begin(), c.answered.end(), [](bool b) { return b; }))
            c.probe_sent.reset();
    }
    if (msg->command == RelayCommand::drop || msg->command == RelayCommand::pong) return;
    ClientEvent ev{ClientEvent::Kind::message, c.handle};
    ev.hop = *hop;
    ev.message = std::move(*msg);
    out.events.push_back(std::move(ev));
}

void ClientTable::on_tick(TimePoint now, ClientOutput& out) {
    std::vector<Circuit*> late;
    std::vector<Circuit*> built;
    std::vector<Circuit*> old;
    bool limited = cfg_.max_lifetime > Duration::zero();
    for (auto& [h, c] : circuits_) {
        if (!c->built && now - c->started >= build_timeout()) late.push_back(c.get());
        if (c->built && limited && now - c->last_hop_done >= cfg_.max_lifetime)
            old.push_back(c.get());
        else if (c->built)
            built.push_back(c.get());
    }
    for (Circuit* c : late) fail(*c, DestroyReason::timeout, true, out);
    stats_.expired += old.size();
    for (Circuit* c : old) fail(*c, DestroyReason::lifetime, true, out);
    for (Circuit* c : built) check_liveness(*c, now, out);
}

namespace {

Duration longest(const std::vector<Duration>& v) {
    return v.empty() ? Duration{} : *std::max_element(v.begin(), v.end());
}

}  // namespace

Duration ClientTable::build_timeout() const {
    if (recent_builds_.size() < 5) return cfg_.build_timeout;
    std::vector<Duration> v(recent_builds_.begin(), recent_builds_.end());
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return std::clamp(4 * v[v.size() / 2], cfg_.min_build_timeout,
                      std::max(cfg_.min_build_timeout, cfg_.build_timeout));
}

void ClientTable::check_liveness(Circuit& c, TimePoint now, ClientOutput& out) {
    if (cfg_.stall_after == Duration{} || cfg_.probe_timeout == Duration{}) return;
    Duration rtt = longest(c.hop_rtt);
    if (c.probe_sent) {
        if (now - *c.probe_sent < std::max(cfg_.probe_timeout, 4 * rtt)) return;
        auto silent = std::find(c.answered.begin(), c.answered.end(), false);
        c.probe_sent.reset();
        if (silent == c.answered.end()) return;
        if (c.probe_attempt < cfg_.probe_attempts) {
            // Ask again. Each attempt stands alone: the hop blamed in the end is the first
            // silent one of the last attempt (a hop that answered before may have died
            // since, and the hops after it then fall silent too).
            auto attempt = c.probe_attempt;
            if (probe(c.handle, now, out)) {
                c.probe_attempt = attempt + 1;
                ++stats_.probes_repeated;
                return;
            }
        }
        ++stats_.dead_hops;
        fail(c, DestroyReason::timeout, true, out,
             static_cast<std::size_t>(silent - c.answered.begin()));
        return;
    }
    if (c.awaiting_since && now - *c.awaiting_since >= std::max(cfg_.stall_after, 3 * rtt)) {
        // A probe that cannot go (counters used up) is tried again a stall later, not at
        // once: its deadline must move.
        if (!probe(c.handle, now, out)) c.awaiting_since = now;
    }
}

// The times on_tick() and check_liveness() compare with.
std::optional<TimePoint> ClientTable::next_deadline() const {
    std::optional<TimePoint> next;
    auto at = [&](TimePoint p) {
        if (!next || p < *next) next = p;
    };
    std::optional<Duration> build_limit;
    bool probing = cfg_.stall_after != Duration{} && cfg_.probe_timeout != Duration{};
    bool limited = cfg_.max_lifetime > Duration::zero();
    for (const auto& [h, c] : circuits_) {
        if (!c->built) {
            if (!build_limit) build_limit = build_timeout();
            at(c->started + *build_limit);
            continue;
        }
        if (limited) at(c->last_hop_done + cfg_.max_lifetime);
        if (!probing) continue;
        Duration rtt = longest(c->hop_rtt);
        if (c->probe_sent)
            at(*c->probe_sent + std::max(cfg_.probe_timeout, 4 * rtt));
        else if (c->awaiting_since)
            at(*c->awaiting_since + std::max(cfg_.stall_after, 3 * rtt));
    }
    return next;
}

Status ClientTable::probe(CircuitHandle h, TimePoint now, ClientOutput& out) {
    Circuit* c = find(h);
    if (c == nullptr) return Errc::unknown_peer;
    if (!c->built) return Errc::bad_state;
    if (c->probe_sent) return {};
    ++c->probe_id;
    Bytes id(8);
    store_u64_be(id.data(), c->probe_id);
    c->probe_numbers.assign(c->forward.size(), 0);
    for (std::size_t hop = 0; hop < c->forward.size(); ++hop) {
        if (auto st = send_to_hop(*c, hop, {RelayCommand::ping, 0, id}, out); !st) return st;
        c->probe_numbers[hop] = c->forward_numbers[hop];
    }
    c->probe_sent = now;
    c->probe_attempt = 1;
    c->answered.assign(c->path.size(), false);
    ++stats_.probes_sent;
    return {};
}

bool ClientTable::on_pong(Circuit& c, std::size_t hop, ByteView data, TimePoint now,
                          ClientOutput& out) {
    if (!c.probe_sent || data.size() != kPingIdSize + kForwardReportSize ||
        load_u64_be(data.data()) != c.probe_id || hop >= c.answered.size() ||
        hop >= c.probe_numbers.size())
        return true;  // a late answer to an earlier probe, or not ours
    // The hop's report: forward cells that reached its layer, and how many of them came
    // after a later one. Cells the client sent through the hop up to this PING and that
    // never arrived, or came reordered, were dropped or swapped on the way: by a lossy
    // link, or by a relay writing a watermark for a colluding later hop.
    std::uint32_t received = load_u32_be(data.data() + kPingIdSize);
    std::uint32_t late = load_u32_be(data.data() + kPingIdSize + 4);
    std::uint32_t sent = c.probe_numbers[hop];
    double missing = sent > received ? static_cast<double>(sent - received) : 0.0;
    double allowed = cfg_.watermark_slack +
                     cfg_.loss_allowance * static_cast<double>(sent) * static_cast<double>(hop + 1);
    if (missing + late > allowed) {
        ++stats_.watermark_closed;
        fail(c, DestroyReason::integrity, true, out);
        return false;
    }
    c.answered[hop] = true;
    if (hop < c.hop_rtt.size()) c.hop_rtt[hop] = now - *c.probe_sent;
    if (std::all_of(c.answered.begin(), c.answered.end(), [](bool b) { return b; }))
        c.probe_sent.reset();
    return true;
}

}  // namespace zmesh::circuit
