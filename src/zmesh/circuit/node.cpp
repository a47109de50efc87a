#include "zmesh/circuit/node.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <system_error>

namespace zmesh::circuit {

namespace asio = boost::asio;

PathHop make_path_hop(const crypto::Identity& identity, const crypto::X25519Public& onion,
                      std::vector<link::LinkAddress> addresses) {
    return make_path_hop(identity.node_id(), identity.link.pub, onion, std::move(addresses));
}

PathHop make_path_hop(const crypto::NodeId& id, const crypto::X25519Public& link_key,
                      const crypto::X25519Public& onion, std::vector<link::LinkAddress> addresses) {
    PathHop p;
    p.hop.id = id;
    p.hop.link_key = link_key;
    p.hop.addresses = std::move(addresses);
    if (p.hop.addresses.size() > kMaxHopAddresses) p.hop.addresses.resize(kMaxHopAddresses);
    p.onion = onion;
    return p;
}

CircuitNode::CircuitNode(link::LinkSet& link, NodeConfig config)
    : link_(link),
      link_attempt_timeout_(config.link_attempt_timeout),
      failed_transport_memory_(config.failed_transport_memory),
      relay_([&] {
          auto r = config.relay;
          r.defer_handshakes = config.handshake_workers > 0;
          return r;
      }()),
      client_(config.client),
      timer_(link.executor()) {
    if (config.handshake_workers > 0) {
        try {
            workers_ = std::make_unique<asio::thread_pool>(config.handshake_workers);
        } catch (const std::system_error& e) {
            // No threads to be had: the handshakes run on this thread, as on one core.
            spdlog::warn("no handshake worker threads ({}); handshakes run on the event loop",
                         e.what());
            relay_.set_defer_handshakes(false);
        }
    }
    for (std::size_t c = 0; c <= kMaxRelayCommand; ++c)
        message_subs_.push_back(std::make_unique<MessageSubscribers>(kMaxSubscribers));
    link_.on_cell([this](link::SessionId s, const wire::Cell& c) { on_cell(s, c); });
    link_.on_event([this](const link::LinkEvent& ev) { on_link_event(ev); });
    relay_.set_peer_key_lookup([this](PeerRef p) -> std::optional<crypto::X25519Public> {
        auto it = session_keys_.find(p);
        if (it == session_keys_.end()) return std::nullopt;
        return it->second;
    });
}

CircuitNode::~CircuitNode() {
    stop();
    // Jobs not started are dropped (their key copies wiped); one under way finishes and
    // posts its answer, which then finds alive_ gone.
    if (workers_) {
        workers_->stop();
        workers_->join();
    }
}

void CircuitNode::start() {
    running_ = true;
    rescan_relay();
    arm_timer();
}

void CircuitNode::stop() {
    running_ = false;
    armed_.reset();
    timer_.cancel();
}

void CircuitNode::shutdown() {
    client_.close_all(DestroyReason::shutdown, client_out_);
    relay_.destroy_all(DestroyReason::shutdown, relay_out_);
    relay_dirty_ = true;
    flush();
}

void CircuitNode::set_idle_timeout(Duration d) {
    relay_.set_idle_timeout(d);
    reschedule();
}

void CircuitNode::reschedule() {
    rescan_relay();
    armed_.reset();  // the deadline may now be later than the one armed: take the new one
    arm_timer();
}

void CircuitNode::set_require_post_quantum(bool on) {
    relay_.set_require_post_quantum(on);
    link_.set_require_post_quantum(on);
}

// The client table is asked every time (a client holds few circuits); the relay table
// only when marked dirty; link attempts that may be given up for the next transport.
std::optional<TimePoint> CircuitNode::next_deadline() {
    if (relay_dirty_) {
        // Input (cells, link events) starts relay deadlines min_new_deadline() away at the
        // soonest, so the table is not rescanned for it: a rescan walks every circuit, and
        // anyone who can send cells would make each cost that. The cached deadline may
        // then be early, never late; the timer's own wake-up rescans.
        auto floor = Clock::now() + relay_.min_new_deadline();
        if (!relay_deadline_ || floor < *relay_deadline_) relay_deadline_ = floor;
        relay_dirty_ = false;
    }
    auto next = relay_deadline_;
    auto at = [&](std::optional<TimePoint> p) {
        if (p && (!next || *p < *next)) next = p;
    };
    at(client_.next_deadline());
    for (const auto& [session, w] : waiting_)
        if (!w.left.empty()) at(w.started + link_attempt_timeout_);
    return next;
}

void CircuitNode::rescan_relay() {
    relay_deadline_ = relay_.next_deadline();
    relay_dirty_ = false;
}

void CircuitNode::arm_timer() {
    if (!running_) return;
    auto next = next_deadline();
    if (!next) return;
    auto at = std::max(*next, last_tick_ + kMinTimerGap);
    if (late_grace_) at = std::max(at, grace_until_);  // nothing is judged before it ends
    if (armed_ && *armed_ <= at) return;
    wait_until(at);
}

void CircuitNode::wait_until(TimePoint at) {
    armed_ = at;
    armed_when_ = Clock::now();
    timer_.expires_at(at);  // cancels the wait for a later time, if any
    // Cancelled: re-armed (a newer wait is pending) or stopped. A wait that completed just
    // before this object went away finds its liveness token expired.
    timer_.async_wait([this, alive = std::weak_ptr<char>(alive_)](boost::system::error_code ec) {
        if (ec || alive.expired()) return;
        on_timer();
    });
}

void CircuitNode::on_timer() {
    auto due = armed_;
    armed_.reset();
    if (!running_) return;
    auto now = Clock::now();
    // Late: after its deadline, and after the moment it was armed (a deadline already
    // past when armed is due at once, not late).
    auto late = due ? now - std::max(*due, armed_when_) : Duration::zero();
    if (!late_grace_ && late > kLateWakeup) {
        // Starved: read what arrived meanwhile before judging anyone (limits.hpp).
        late_grace_ = true;
        ++late_wakeups_;
        grace_until_ = now + std::min<Duration>(late, kMaxLateGrace);
        wait_until(grace_until_);
        return;
    }
    late_grace_ = false;
    ++wakeups_;
    last_tick_ = now;
    const auto& keys = relay_.onion_keys();
    auto before = std::pair(keys.rotations(), keys.size());
    relay_.on_tick(now, relay_out_);
    rescan_relay();
    client_.on_tick(now, client_out_);
    give_up_slow_links(now);
    if (std::pair(keys.rotations(), keys.size()) != before) keys_subs_.publish();
    flush();
}

Result<Subscription> CircuitNode::subscribe_client(ClientHandler h) {
    return client_subs_.add(std::move(h));
}

// One subscription per command, ended together: either all of them or none.
Result<Subscription> CircuitNode::subscribe_messages(RelayCommandSet commands, MessageHandler h) {
    if (commands.empty()) return Errc::bad_state;
    auto parts = std::make_shared<std::vector<Subscription>>();
    for (std::size_t c = 0; c < message_subs_.size(); ++c) {
        if (!commands.contains(static_cast<RelayCommand>(c))) continue;
        auto part = message_subs_[c]->add(h);
        if (!part) return part.error();  // `parts` unsubscribes what was done
        parts->push_back(std::move(*part));
    }
    return Subscription([parts] { parts->clear(); });
}

Result<Subscription> CircuitNode::subscribe_closed(ClosedHandler h) {
    return closed_subs_.add(std::move(h));
}

Result<Subscription> CircuitNode::subscribe_onion_keys(KeysHandler h) {
    return keys_subs_.add(std::move(h));
}

Result<CircuitHandle> CircuitNode::build(std::vector<PathHop> path, bool one_hop_ok) {
    auto h = client_.build(std::move(path), Clock::now(), client_out_, one_hop_ok);
    flush();
    // The flush may have failed it already (no way to reach the first hop): its `failed`
    // event went out before the caller held the handle, so the caller hears it here.
    if (h && !client_.contains(*h)) return Errc::unknown_peer;
    return h;
}

Status CircuitNode::send(CircuitHandle h, const RelayMessage& m) {
    auto st = client_.send(h, m, Clock::now(), client_out_);
    flush();
    return st;
}

void CircuitNode::close(CircuitHandle h) {
    client_.close(h, client_out_);
    flush();
}

Status CircuitNode::exit_reply(const LinkCircuit& c, const RelayMessage& m) {
    auto st = relay_.send_backward(c, m, Clock::now(), relay_out_);
    flush();
    return st;
}

void CircuitNode::on_cell(link::SessionId s, const wire::Cell& cell) {
    // A CREATE (or its continuation) may start an extend timeout without sending anything.
    if (wire::cell_command(cell) != wire::CellCommand::relay) relay_dirty_ = true;
    auto now = Clock::now();
    LinkCircuit lc{s, wire::cell_circuit_id(cell)};
    if (client_.owns(lc)) {
        client_.on_cell(s, cell, now, client_out_);
    } else {
        auto refused = relay_.stats().refused_classical;
        relay_.on_cell(s, cell, now, relay_out_);
        if (relay_.stats().refused_classical != refused)
            spdlog::warn(
                "refused a classical-only circuit handshake: this relay requires "
                "post-quantum (hybrid) handshakes ({} refused so far)",
                relay_.stats().refused_classical);
    }
    flush();
}

void CircuitNode::on_link_event(const link::LinkEvent& ev) {
    using K = link::LinkEvent::Kind;
    relay_dirty_ = true;
    if (ev.kind == K::established) {
        if (ev.remote_static) session_keys_[ev.session] = *ev.remote_static;
        auto [begin, end] = waiting_.equal_range(ev.session);
        std::vector<Waiting> ready;
        for (auto it = begin; it != end; ++it) {
            ready.push_back(it->second);
            failed_transports_.erase({it->second.key, *it->second.current});
        }
        waiting_.erase(ev.session);
        auto now = Clock::now();
        for (const auto& w : ready) {
            if (w.from_client)
                client_.on_link_ready(w.request, ev.session, now, client_out_);
            else
                relay_.on_link_ready(w.request, ev.session, now, relay_out_);
        }
    } else if (ev.kind == K::closed) {
        session_keys_.erase(ev.session);
        auto [begin, end] = waiting_.equal_range(ev.session);
        std::vector<Waiting> failed;
        for (auto it = begin; it != end; ++it) failed.push_back(std::move(it->second));
        waiting_.erase(ev.session);
        // A link that never opened: the hop's next transport, if any is left.
        for (auto& w : failed) {
            remember_failure(w, Clock::now());
            if (!connect_next(w)) link_failed(w);
        }
        relay_.on_link_closed(ev.session, relay_out_);
        client_.on_link_closed(ev.session, client_out_);
    }
    flush();
}

// Reuses an established link to that relay (between relays, sessions are authenticated
// by IK, so the key identifies the peer); otherwise opens one over the first of the hop's
// addresses this node speaks, in its transport order. A client always opens a fresh
// anonymous (NK) link for its first hop, so relays cannot link its circuits by key.
void CircuitNode::request_link(bool from_client, const LinkRequest& req) {
    if (!from_client) {
        for (const auto& [session, key] : session_keys_) {
            if (key == req.hop.link_key && link_.established(session)) {
                relay_.on_link_ready(req.request, session, Clock::now(), relay_out_);
                return;
            }
        }
    }
    Waiting w{from_client, req.request, req.hop.link_key, addresses_to_try(req.hop, Clock::now())};
    if (w.left.empty())
        spdlog::debug("no transport in common with a {}: it offers {} addresses, none usable",
                      from_client ? "first hop" : "next hop", req.hop.addresses.size());
    if (!connect_next(w)) link_failed(w);
}

std::vector<link::LinkAddress> CircuitNode::addresses_to_try(const NextHop& hop,
                                                             TimePoint now) const {
    auto out = link_.usable(hop.addresses);
    std::stable_partition(out.begin(), out.end(), [&](const link::LinkAddress& a) {
        auto it = failed_transports_.find({hop.link_key, a.kind});
        return it == failed_transports_.end() || it->second <= now;
    });
    return out;
}

void CircuitNode::remember_failure(const Waiting& w, TimePoint now) {
    if (failed_transports_.size() >= kMaxFailedTransports)
        std::erase_if(failed_transports_, [&](const auto& e) { return e.second <= now; });
    if (failed_transports_.size() >= kMaxFailedTransports) return;
    failed_transports_[{w.key, *w.current}] = now + failed_transport_memory_;
}

bool CircuitNode::connect_next(Waiting& w) {
    auto pattern = w.from_client ? link::noise::Pattern::NK : link::noise::Pattern::IK;
    while (!w.left.empty()) {
        auto to = w.left.front();
        w.left.erase(w.left.begin());
        if (w.current)
            spdlog::info("a link over {} did not open; trying {}", link::to_string(*w.current),
                         link::to_string(to.kind));
        w.current = to.kind;
        auto session = link_.connect(to, w.key, pattern);
        if (!session) continue;
        w.started = Clock::now();
        waiting_.emplace(*session, std::move(w));
        return true;
    }
    return false;
}

// Closing the session reports it closed, which moves its requests to the next address.
void CircuitNode::give_up_slow_links(TimePoint now) {
    std::vector<link::SessionId> slow;
    for (const auto& [session, w] : waiting_)
        if (!w.left.empty() && now - w.started >= link_attempt_timeout_) slow.push_back(session);
    for (auto session : slow) link_.close(session);
    // A session the link no longer knew reported nothing: its requests wait one more
    // attempt timeout rather than making the timer fire again at once.
    for (auto session : slow) {
        auto [begin, end] = waiting_.equal_range(session);
        for (auto it = begin; it != end; ++it) it->second.started = now;
    }
}

void CircuitNode::link_failed(const Waiting& w) {
    if (w.from_client)
        client_.on_link_failed(w.request, client_out_);
    else
        relay_.on_link_failed(w.request, relay_out_);
}

void CircuitNode::flush() {
    if (flushing_) return;  // handlers below may call back in; the loop picks it up
    flushing_ = true;
    for (int round = 0; round < 64; ++round) {
        bool any = !relay_out_.cells.empty() || !relay_out_.links.empty() ||
                   !relay_out_.delivered.empty() || !relay_out_.closed.empty() ||
                   !client_out_.cells.empty() || !client_out_.links.empty() ||
                   !client_out_.events.empty() || !relay_out_.handshakes.empty();
        if (!any) break;
        std::swap(relay_out_, relay_work_);
        std::swap(client_out_, client_work_);
        RelayOutput& r = relay_work_;
        ClientOutput& c = client_work_;
        // Relay cells out only moved activity times later; anything else may have started
        // a timer (a CREATE answered, an EXTEND under way, a circuit gone).
        if (!r.links.empty() || !r.closed.empty() ||
            std::any_of(r.cells.begin(), r.cells.end(), [](const CellOut& o) {
                return wire::cell_command(o.cell) != wire::CellCommand::relay;
            }))
            relay_dirty_ = true;
        for (const auto& out : r.cells) (void)link_.send_cell(out.to, out.cell);
        for (const auto& out : c.cells) (void)link_.send_cell(out.to, out.cell);
        for (auto& job : r.handshakes) run_handshake(std::move(job));
        for (const auto& req : r.links) request_link(false, req);
        for (const auto& req : c.links) request_link(true, req);
        publish(r, c);
        r.clear();
        c.clear();
    }
    flushing_ = false;
    arm_timer();
}

void CircuitNode::run_handshake(HandshakeJob job) {
    asio::post(*workers_, [this, job = std::move(job), ex = link_.executor(),
                           alive = std::weak_ptr<char>(alive_)]() mutable {
        Result<NtorServerResult> reply = Errc::exhausted;
        try {
            // A circuit gone before its turn costs no handshake (the answer still goes
            // back: the table counts every job out until answered).
            if (!job.cancelled || !job.cancelled->load(std::memory_order_relaxed))
                reply = ntor_server(job.id, job.onion, job.onionskin, job.type);
        } catch (...) {
            // Out of memory: the CREATE is refused like a bad handshake.
        }
        asio::post(ex, [this, alive, lc = job.circuit, ticket = job.ticket,
                        reply = std::move(reply)]() mutable {
            if (alive.expired()) return;  // the node went away meanwhile
            relay_.finish_create(lc, ticket, std::move(reply), Clock::now(), relay_out_);
            flush();
        });
    });
}

void CircuitNode::publish(const RelayOutput& r, const ClientOutput& c) {
    for (const auto& d : r.delivered) {
        auto cmd = static_cast<std::size_t>(d.message.command);
        if (cmd >= message_subs_.size() || message_subs_[cmd]->empty()) {
            ++unhandled_messages_;
            continue;
        }
        message_subs_[cmd]->publish(d.circuit, d.message);
    }
    for (const auto& lc : r.closed) closed_subs_.publish(lc);
    for (const auto& ev : c.events) client_subs_.publish(ev);
}

}  // namespace zmesh::circuit
