#include "zmesh/client/pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <charconv>
#include <stdexcept>
#include <utility>

#include "zmesh/client/limits.hpp"
#include "zmesh/core/clock.hpp"
#include "zmesh/crypto/secure.hpp"
#include "zmesh/discovery/descriptor.hpp"

namespace zmesh::client {

using stream::EndReason;

namespace {

// The exit ability a target needs (a .onion or .i2p host), from "host:port".
std::uint8_t needs_of(std::string_view target) {
    auto colon = target.rfind(':');
    return discovery::ability_needed(target.substr(0, colon == std::string_view::npos ? 0 : colon));
}

}  // namespace

struct ClientPool::Circ {
    std::string isolation;
    std::uint16_t port = 0;  // the exit was chosen for this port
    std::vector<crypto::NodeId> path;
    std::optional<crypto::NodeId> failed_relay;  // where its build failed
    circuit::CircuitHandle handle = 0;
    std::shared_ptr<stream::MuxDriver> driver;
    bool built = false;
    PathRequest request;  // what its path was chosen for
    int builds = 1;       // this is the n-th try for the requests waiting on it
    // A request waits for this build: spares are refilled once its stream opened, or the
    // build was given up on, so their handshakes do not compete with what a user waits for.
    bool refill_after = false;
    // Called once it is built (with it) or given up on (with null).
    std::vector<std::function<void(const std::shared_ptr<Circ>&)>> waiting;
    std::map<std::uint16_t, OpenHandler> opening;
    std::map<std::uint16_t, std::string> targets;  // for the control API only
    // Streams read here rather than by a socket (fetch(), stream handles): their events,
    // and who waits for room to write.
    std::map<std::uint16_t, std::function<void(const stream::MuxEvent&)>> readers;
    std::map<std::uint16_t, std::function<void()>> writers;
    // A newer circuit took over its isolation key when its streams filled it: it closes
    // once the last of them ends.
    bool displaced = false;

    // No stream on it, opening, or waiting for its build.
    bool idle() const { return driver->mux().size() == 0 && opening.empty() && waiting.empty(); }
    // Its streams (open, opening, or waiting for the build) reach the per-circuit limit.
    bool full() const {
        return driver->mux().size() + waiting.size() >= stream::kMaxStreamsPerCircuit;
    }
};

struct ClientPool::Recovery {
    std::string isolation;
    std::uint16_t port = 0;
    std::uint64_t epoch = 0;
    PathRequest request;
    std::vector<stream::MovedStream> streams;
    std::vector<std::string> targets;
    // Streams still opening (BEGIN sent, no answer yet): asked for again on the new circuit.
    std::vector<std::pair<std::string, OpenHandler>> reopen;
    zmesh::Clock::time_point died{};
    zmesh::Clock::time_point deadline{};
    std::unique_ptr<zmesh::Timer> retry;
};

const char* to_string(PoolEvent::Kind k) {
    switch (k) {
        case PoolEvent::Kind::circuit_built:
            return "circuit_built";
        case PoolEvent::Kind::circuit_failed:
            return "circuit_failed";
        case PoolEvent::Kind::circuit_closed:
            return "circuit_closed";
        case PoolEvent::Kind::stream_opened:
            return "stream_opened";
        case PoolEvent::Kind::stream_failed:
            return "stream_failed";
    }
    return "unknown";
}

ClientPool::ClientPool(circuit::CircuitNode& node, PathProvider paths, stream::StreamConfig cfg)
    : node_(node), paths_(std::move(paths)), cfg_(cfg) {
    auto sub =
        node_.subscribe_client([this](const circuit::ClientEvent& ev) { on_client_event(ev); });
    if (!sub) throw std::runtime_error("client pool: the circuit layer takes no more subscribers");
    events_ = std::move(*sub);
}

ClientPool::~ClientPool() {
    stop();
}

void ClientPool::stop() {
    stopped_ = true;
    auto recovering = recovering_;
    for (auto& r : recovering) give_up(*r);
    // Closing reports back synchronously and erases from by_handle_: copy the keys first.
    std::vector<circuit::CircuitHandle> handles;
    for (const auto& [h, c] : by_handle_) handles.push_back(h);
    for (auto h : handles) node_.close(h);
}

void ClientPool::on_client_event(const circuit::ClientEvent& ev) {
    auto it = by_handle_.find(ev.circuit);
    if (it == by_handle_.end()) return;
    auto c = it->second;
    switch (ev.kind) {
        case circuit::ClientEvent::Kind::built: {
            ++stats_.circuits_built;
            stats_.last_build_time = ev.build_time;
            c->built = true;
            auto ms = std::chrono::duration<double, std::milli>(ev.build_time).count();
            spdlog::debug("circuit {} built in {} ms", ev.circuit, ms);
            emit(PoolEvent::Kind::circuit_built, ev.circuit, fmt::format("{:.2f} ms", ms));
            auto waiting = std::move(c->waiting);
            for (auto& w : waiting) w(c);
            break;
        }
        case circuit::ClientEvent::Kind::message:
            if (ev.hop + 1 == node_.client().hop_count(ev.circuit)) c->driver->deliver(ev.message);
            break;
        case circuit::ClientEvent::Kind::failed:
        case circuit::ClientEvent::Kind::closed:
            // (a build this pool abandoned, a spare for a port nobody asks for, is no failure)
            if (ev.kind == circuit::ClientEvent::Kind::failed && !ev.abandoned)
                ++stats_.circuits_failed;
            if (ev.failed_hop < ev.path.size()) c->failed_relay = ev.path[ev.failed_hop];
            if (ev.kind == circuit::ClientEvent::Kind::failed) retry_build(c);
            spdlog::info("circuit {} {}: {}", ev.circuit,
                         ev.kind == circuit::ClientEvent::Kind::failed ? "failed" : "closed",
                         circuit::to_string(ev.reason));
            emit(ev.kind == circuit::ClientEvent::Kind::failed ? PoolEvent::Kind::circuit_failed
                                                               : PoolEvent::Kind::circuit_closed,
                 ev.circuit, circuit::to_string(ev.reason));
            // Closed by us (finished) or failed before it carried anything: its streams
            // end. Died under its streams: they move.
            if (ev.kind == circuit::ClientEvent::Kind::closed &&
                ev.reason != circuit::DestroyReason::finished && !stopped_ &&
                resume_grace_ > zmesh::Clock::duration::zero())
                recover(c, ev);
            else
                drop_circuit(ev.circuit, EndReason::aborted);
            break;
    }
}

std::size_t ClientPool::new_identity() {
    ++identity_epoch_;
    std::size_t retired = circuits_.size();
    circuits_.clear();
    std::vector<circuit::CircuitHandle> idle;
    for (const auto& [h, c] : by_handle_)
        if (c->idle()) idle.push_back(h);
    for (auto h : idle) node_.close(h);
    return retired;
}

bool ClientPool::close_circuit(circuit::CircuitHandle h) {
    if (!by_handle_.contains(h)) return false;
    node_.close(h);  // reports `closed` back synchronously, which drops the circuit
    return true;
}

std::vector<PoolStreamInfo> ClientPool::streams() const {
    std::vector<PoolStreamInfo> out;
    for (const auto& [h, c] : by_handle_)
        for (const auto& s : c->driver->mux().list()) {
            auto t = c->targets.find(s.id);
            out.push_back({h, s, t == c->targets.end() ? std::string() : t->second});
        }
    return out;
}

void ClientPool::drop_circuit(circuit::CircuitHandle h, EndReason reason) {
    auto it = by_handle_.find(h);
    if (it == by_handle_.end()) return;
    auto c = it->second;
    by_handle_.erase(it);
    if (auto ci = circuits_.find(c->isolation); ci != circuits_.end() && ci->second == c)
        circuits_.erase(ci);
    if ((std::erase(spares_, c) > 0 || c->refill_after) && !stopped_) {
        // A spare that failed or expired is replaced (and spares held back for this
        // circuit's build are made), after this event is handled.
        asio::post(node_.link().executor(), [this] { refill(); });
    }
    auto waiting = std::move(c->waiting);
    for (auto& w : waiting) w(nullptr);
    auto opening = std::move(c->opening);
    for (auto& [id, done] : opening) done(std::nullopt, reason);
    // Streams without a socket hear of the end here (close_all tells the sockets).
    auto readers = std::move(c->readers);
    c->readers.clear();
    c->writers.clear();
    c->driver->close_all(reason);
    for (auto& [id, r] : readers) r({stream::MuxEvent::Kind::ended, id, {}, reason});
}

std::shared_ptr<ClientPool::Circ> ClientPool::build_circuit(const PathRequest& req) {
    return start_circuit(paths_(req), req, false);
}

std::shared_ptr<ClientPool::Circ> ClientPool::start_circuit(std::vector<circuit::PathHop> path,
                                                            const PathRequest& req, bool one_hop) {
    std::uint16_t port = req.port;
    auto h = node_.build(path, one_hop);
    if (!h) {
        ++stats_.circuits_failed;
        return nullptr;
    }
    auto c = std::make_shared<Circ>();
    c->handle = *h;
    c->port = port;
    c->request = req;
    for (const auto& hop : path) c->path.push_back(hop.hop.id);
    circuit::CircuitHandle handle = *h;
    c->driver = std::make_shared<stream::MuxDriver>(
        node_.link().executor(), stream::StreamMux::Side::client,
        [this, handle](const circuit::RelayMessage& m) { return node_.send(handle, m); }, cfg_);
    std::weak_ptr<Circ> weak = c;
    c->driver->on_event([this, weak](const stream::MuxEvent& e) {
        if (auto circ = weak.lock()) on_mux_event(*circ, e);
    });
    // Room to write may have opened: tell the stream handles that wait for it.
    c->driver->on_serviced([weak] {
        auto circ = weak.lock();
        if (!circ || circ->writers.empty()) return;
        auto writers = circ->writers;  // a writer may unregister itself
        for (auto& [id, w] : writers) w();
    });
    by_handle_[handle] = c;
    return c;
}

void ClientPool::on_mux_event(Circ& circ, const stream::MuxEvent& e) {
    if (e.kind == stream::MuxEvent::Kind::ended && throughput_handler_ &&
        e.bytes_received >= kMinMeasuredBytes && e.receive_time >= std::chrono::milliseconds(5))
        throughput_handler_(circ.handle, static_cast<double>(e.bytes_received) /
                                             std::chrono::duration<double>(e.receive_time).count());
    if (e.kind == stream::MuxEvent::Kind::resumed) {
        ++stats_.streams_resumed;
        return;
    }
    if (e.kind == stream::MuxEvent::Kind::ended && e.reason != EndReason::done &&
        !circ.opening.contains(e.stream)) {
        // An open stream ended other than cleanly: the application saw a reset.
        ++(e.reason == EndReason::expired ? stats_.streams_lost : stats_.streams_reset);
        spdlog::debug("stream {} of circuit {} reset: {}", e.stream, circ.handle,
                      stream::to_string(e.reason));
    }
    if (e.kind == stream::MuxEvent::Kind::ended && circ.displaced) close_when_spent(circ);
    if (auto rd = circ.readers.find(e.stream); rd != circ.readers.end()) {
        auto reader = rd->second;  // it may remove itself
        reader(e);
    }
    auto op = circ.opening.find(e.stream);
    if (op == circ.opening.end()) return;
    auto handler = std::move(op->second);
    circ.opening.erase(op);
    if (e.kind == stream::MuxEvent::Kind::connected) {
        handler(Opened{circ.driver, e.stream}, EndReason::done);
    } else {
        handler(std::nullopt, e.reason);
    }
}

// A displaced circuit closes once it carries nothing: looked at after the handler that
// ended a stream (the mux has let it go by then).
void ClientPool::close_when_spent(const Circ& circ) {
    if (stopped_) return;
    asio::post(node_.link().executor(),
               [this, alive = std::weak_ptr<char>(alive_), handle = circ.handle] {
                   if (alive.expired()) return;
                   auto it = by_handle_.find(handle);
                   if (it == by_handle_.end()) return;
                   if (it->second->displaced && it->second->idle()) node_.close(handle);
               });
}

void ClientPool::set_preemptive(std::size_t circuits) {
    preemptive_ = circuits;
    refill();
}

// Keeps `preemptive_` circuits built ahead of need, for the port new circuits were last
// asked for, so a new isolation key gets a ready circuit instead of waiting for a build.
void ClientPool::refill() {
    if (stopped_) return;
    while (spares_.size() > preemptive_) {
        auto c = spares_.back();
        spares_.pop_back();
        node_.close(c->handle);
    }
    while (spares_.size() < preemptive_) {
        auto c = build_circuit({spare_port_, {}, {}});
        if (!c) return;  // counted; tried again on the next request
        spares_.push_back(c);
    }
}

std::shared_ptr<ClientPool::Circ> ClientPool::circuit_for(const std::string& isolation,
                                                          const std::string& target,
                                                          std::size_t hops) {
    // Streams to .onion or .i2p names need an exit that reaches them: they get circuits of
    // their own, keyed apart from the isolation key's other circuit.
    auto needs = needs_of(target);
    std::string key = static_cast<char>(needs) + isolation;
    std::shared_ptr<Circ> full_one;
    if (auto it = circuits_.find(key); it != circuits_.end()) {
        if (!it->second->full()) return it->second;
        full_one = it->second;
    }
    std::uint16_t port = 0;
    if (auto colon = target.rfind(':'); colon != std::string::npos)
        std::from_chars(target.data() + colon + 1, target.data() + target.size(), port);
    // A spare built for this port, the built ones first; spares have the configured length.
    auto fits = [&](const auto& s) {
        return s->port == port && s->request.hops == hops && s->request.needs == needs;
    };
    auto spare = std::find_if(spares_.begin(), spares_.end(),
                              [&](const auto& s) { return fits(s) && s->built; });
    if (spare == spares_.end()) spare = std::find_if(spares_.begin(), spares_.end(), fits);
    std::shared_ptr<Circ> c;
    if (spare != spares_.end()) {
        c = *spare;
        spares_.erase(spare);
        ++stats_.preemptive_used;
    } else {
        c = build_circuit({port, {}, {}, hops, needs});
        if (!c) return nullptr;
        c->refill_after = true;
    }
    c->isolation = key;
    circuits_[key] = c;
    if (full_one) {
        // Full: this circuit for the same key (so under the same isolation) takes the
        // next streams; the full one keeps its streams and closes after them.
        full_one->displaced = true;
        ++stats_.overflow_circuits;
    }
    if (preemptive_ > 0 && port != spare_port_) {
        // Predict the port asked for last; spares for another port go.
        spare_port_ = port;
        auto old = std::move(spares_);
        spares_.clear();
        for (auto& s : old) node_.close(s->handle);
    }
    if (!c->refill_after) refill();
    return c;
}

void ClientPool::open(const std::string& isolation, const std::string& target, OpenHandler done,
                      std::size_t hops) {
    auto c = stopped_ ? nullptr : circuit_for(isolation, target, hops);
    if (!c) {
        ++stats_.streams_failed;
        // No path: for a .onion or .i2p name, no known exit reaches it.
        done(std::nullopt, needs_of(target) != 0 ? EndReason::no_exit : EndReason::unreachable);
        return;
    }
    done = [this, handle = c->handle, done = std::move(done)](std::optional<Opened> o,
                                                              EndReason r) {
        ++(o ? stats_.streams_opened : stats_.streams_failed);
        emit(o ? PoolEvent::Kind::stream_opened : PoolEvent::Kind::stream_failed, handle,
             o ? std::string() : std::string(stream::to_string(r)));
        done(std::move(o), r);
    };
    when_built(c, target, std::move(done), true);
}

void ClientPool::when_built(const std::shared_ptr<Circ>& c, const std::string& target,
                            OpenHandler done, bool resumable) {
    if (c->built) {
        open_on(c, target, std::move(done), resumable);
        return;
    }
    c->waiting.push_back([this, target, resumable,
                          done = std::move(done)](const std::shared_ptr<Circ>& circ) mutable {
        if (!circ) {
            done(std::nullopt, EndReason::unreachable);
            return;
        }
        // Spares held back for this build are made once its first stream opened (or
        // failed to): on one core their handshakes would delay that stream's first byte.
        auto then_refill = [this, weak = std::weak_ptr<Circ>(circ), done = std::move(done)](
                               std::optional<Opened> o, EndReason r) mutable {
            done(std::move(o), r);
            auto held = weak.lock();
            if (held && std::exchange(held->refill_after, false) && !stopped_)
                asio::post(node_.link().executor(), [this] { refill(); });
        };
        open_on(circ, target, std::move(then_refill), resumable);
    });
}

// A build failed with requests waiting for it: another path, without the relay where it
// failed (a relay that died is often still listed), takes them over, a few times.
void ClientPool::retry_build(const std::shared_ptr<Circ>& c) {
    if (c->waiting.empty() || c->builds >= kMaxBuilds || stopped_) return;
    auto req = c->request;
    if (c->failed_relay) {
        if (req.exit && *c->failed_relay == *req.exit) return;  // the one exit they need
        req.avoid.push_back(*c->failed_relay);
    }
    auto next = build_circuit(req);
    if (!next) return;
    next->builds = c->builds + 1;
    next->isolation = c->isolation;
    next->refill_after = std::exchange(c->refill_after, false);
    next->waiting = std::move(c->waiting);
    if (auto it = circuits_.find(c->isolation); it != circuits_.end() && it->second == c)
        it->second = next;
}

void ClientPool::open_on(const std::shared_ptr<Circ>& c, const std::string& target,
                         OpenHandler done, bool resumable) {
    stream::MuxOutput out;
    std::optional<stream::ResumeToken> token;
    if (resumable && resume_grace_ > zmesh::Clock::duration::zero()) {
        token.emplace();
        crypto::random_bytes(*token);
    }
    auto id = c->driver->mux().open(target, out, token);
    if (!id) {
        done(std::nullopt, EndReason::resource);
        return;
    }
    c->opening[*id] = std::move(done);
    std::erase_if(c->targets, [&](const auto& kv) { return !c->driver->mux().contains(kv.first); });
    c->targets[*id] = target;
    c->driver->send_now(out);
}

// The circuit died under open streams. They wait (sockets open, bytes unsent) while a
// new circuit to the same exit is built around the relays that failed, then move over
// with ATTACH and resume from what each end last received.
void ClientPool::recover(const std::shared_ptr<Circ>& c, const circuit::ClientEvent& ev) {
    auto r = std::make_shared<Recovery>();
    r->isolation = c->isolation;
    r->port = c->port;
    r->request.hops = c->request.hops;    // the replacement keeps the length asked for
    r->request.needs = c->request.needs;  // and an exit with the same abilities
    r->epoch = identity_epoch_;
    r->died = zmesh::Clock::now();
    r->deadline = r->died + resume_grace_;
    bool exit_dead = !c->path.empty() && ev.failed_hop + 1 == c->path.size();
    if (c->path.size() >= 2 && !exit_dead) {
        r->request.port = c->port;
        r->request.exit = c->path.back();
        // Which relay died is known when a probe found it; after a DESTROY it could be any
        // between the guard and the exit.
        if (ev.failed_hop < c->path.size())
            r->request.avoid.push_back(c->path[ev.failed_hop]);
        else
            r->request.avoid.assign(c->path.begin() + 1, c->path.end() - 1);
        for (auto& [id, handler] : c->opening)
            r->reopen.emplace_back(c->targets[id], std::move(handler));
        c->opening.clear();
        for (auto id : c->driver->mux().ids()) {
            if (!c->driver->mux().token(id)) continue;
            auto target = c->targets.contains(id) ? c->targets[id] : std::string();
            if (auto moved = c->driver->detach(id)) {
                r->streams.push_back(std::move(*moved));
                r->targets.push_back(std::move(target));
            }
        }
    }
    drop_circuit(c->handle, EndReason::aborted);  // whatever could not move ends
    if (r->streams.empty() && r->reopen.empty()) return;
    ++stats_.recoveries;
    recovering_.push_back(r);
    spdlog::info("circuit {} died under {} streams; moving them to a new circuit to its exit",
                 c->handle, r->streams.size() + r->reopen.size());
    asio::post(node_.link().executor(), [this, r] { try_recover(r); });
}

void ClientPool::give_up(Recovery& r) {
    stats_.streams_lost += r.streams.size();
    if (!r.streams.empty())
        spdlog::info("{} streams lost: no new circuit to their exit", r.streams.size());
    for (auto& s : r.streams) s.drop();
    r.streams.clear();
    auto reopen = std::move(r.reopen);
    r.reopen.clear();
    for (auto& [target, done] : reopen) done(std::nullopt, EndReason::unreachable);
    if (r.retry) r.retry->cancel();
    std::erase_if(recovering_, [&](const auto& p) { return p.get() == &r; });
}

void ClientPool::try_recover(const std::shared_ptr<Recovery>& r) {
    if (stopped_ || zmesh::Clock::now() >= r->deadline) {
        give_up(*r);
        return;
    }
    auto c = build_circuit(r->request);
    if (!c) {
        // No path to the exit now: wait a little (a refreshed directory may bring one).
        if (!r->retry) r->retry = std::make_unique<zmesh::Timer>(node_.link().executor());
        r->retry->expires_after(kRecoveryRetry);
        r->retry->async_wait([this, r](boost::system::error_code ec) {
            if (!ec) try_recover(r);
        });
        return;
    }
    c->isolation = r->isolation;
    if (r->epoch == identity_epoch_ && !circuits_.contains(r->isolation))
        circuits_[r->isolation] = c;  // new streams of this isolation key go there too
    else
        c->displaced = true;  // not its key's circuit: it closes after what it carries
    c->waiting.push_back([this, r](const std::shared_ptr<Circ>& circ) {
        if (!circ) {
            give_up(*r);  // every retry failed, or the exit itself does not answer
            return;
        }
        for (std::size_t i = 0; i < r->streams.size(); ++i) {
            auto id = circ->driver->reattach(std::move(r->streams[i]));
            if (!id) {
                ++stats_.streams_lost;
                continue;
            }
            circ->targets[*id] = r->targets[i];
        }
        r->streams.clear();
        auto reopen = std::move(r->reopen);
        r->reopen.clear();
        for (auto& [target, done] : reopen) open_on(circ, target, std::move(done));
        std::erase(recovering_, r);
        circ->driver->service();
        if (circ->displaced) close_when_spent(*circ);  // every move may have failed
        auto ms = std::chrono::duration<double, std::milli>(zmesh::Clock::now() - r->died).count();
        spdlog::info("streams moved to circuit {} {:.0f} ms after the old one was found dead",
                     circ->handle, ms);
    });
}

void ClientPool::fetch(std::vector<circuit::PathHop> path, const std::string& target,
                       std::size_t max, std::function<void(std::optional<Bytes>)> done) {
    bool one_hop = path.size() == 1;
    auto c = start_circuit(std::move(path), PathRequest{}, one_hop);
    if (!c) {
        done(std::nullopt);
        return;
    }
    struct Fetch {
        Bytes got;
        std::function<void(std::optional<Bytes>)> done;
        bool finished = false;
        zmesh::Timer timer;
        explicit Fetch(asio::any_io_executor ex) : timer(ex) {}
    };
    auto f = std::make_shared<Fetch>(node_.link().executor());
    f->done = std::move(done);
    circuit::CircuitHandle handle = c->handle;
    // Ends the fetch and its circuit, after the event being handled (the circuit's own
    // handlers may be on the stack).
    auto finish = [this, f, handle](std::optional<Bytes> result) {
        if (f->finished) return;
        f->finished = true;
        f->timer.cancel();
        asio::post(node_.link().executor(), [this, f, handle, result = std::move(result)] {
            if (by_handle_.contains(handle)) node_.close(handle);
            f->done(result);
        });
    };
    f->timer.expires_after(kOpenTimeout);
    f->timer.async_wait([finish](boost::system::error_code ec) {
        if (!ec) finish(std::nullopt);
    });
    c->waiting.push_back([this, f, finish, target, max](const std::shared_ptr<Circ>& circ) {
        if (!circ) {
            finish(std::nullopt);
            return;
        }
        std::weak_ptr<Circ> weak = circ;
        open_on(circ, target, [f, finish, weak, max](std::optional<Opened> o, EndReason) {
            auto cc = weak.lock();
            if (!o || !cc) {
                finish(std::nullopt);
                return;
            }
            auto id = o->stream;
            auto driver = o->driver;
            cc->readers[id] = [f, finish, driver, id, max](const stream::MuxEvent& e) {
                std::vector<std::uint8_t> buf(64 * 1024);
                for (std::size_t n; (n = driver->mux().read(id, buf)) > 0;) {
                    if (f->got.size() + n > max) {
                        finish(std::nullopt);
                        return;
                    }
                    f->got.insert(f->got.end(), buf.begin(), buf.begin() + n);
                }
                if (driver->mux().peer_finished(id))
                    finish(std::move(f->got));
                else if (e.kind == stream::MuxEvent::Kind::ended)
                    finish(std::nullopt);
                else
                    driver->service();  // the read reopened the window
            };
        });
    });
}

// A stream read and written by the application: the mux's own buffers give the
// back-pressure, the circuit's events wake the application.
class ClientPool::Handle final : public StreamHandle {
  public:
    Handle(const std::shared_ptr<Circ>& c, std::uint16_t id)
        : circ_(c), driver_(c->driver), handle_(c->handle), id_(id) {}
    ~Handle() override {
        readable_ = nullptr;
        writable_ = nullptr;
        closed_ = nullptr;
        close();
    }

    std::uint64_t circuit() const override { return handle_; }
    std::uint16_t id() const override { return id_; }
    std::size_t read(MutByteView out) override {
        if (!driver_) return 0;
        auto n = driver_->mux().read(id_, out);
        if (n > 0) driver_->service_soon();  // the read reopened the receive window
        return n;
    }
    std::size_t write(ByteView data) override {
        if (!is_open() || finished_) return 0;
        auto n = driver_->mux().write(id_, data);
        if (n > 0) driver_->service_soon();
        want_write_ = n < data.size();
        return n;
    }
    std::size_t writable() const override {
        return is_open() && !finished_ ? driver_->mux().send_space(id_) : 0;
    }
    bool at_eof() const override {
        return ended_ ? reason_ == EndReason::done : driver_->mux().peer_finished(id_);
    }
    bool is_open() const override { return !ended_ && driver_->mux().contains(id_); }
    void finish() override {
        if (!is_open() || finished_) return;
        finished_ = true;
        driver_->mux().shutdown(id_);
        driver_->service_soon();
    }
    void close() override {
        if (ended_) return;
        if (driver_->mux().contains(id_)) {
            stream::MuxOutput out;
            driver_->mux().abort(id_, EndReason::aborted, out);
            driver_->send_now(out);  // reports `ended`, which ends this handle
        }
        end(EndReason::aborted);
    }
    void on_readable(std::function<void()> h) override { readable_ = std::move(h); }
    void on_writable(std::function<void()> h) override { writable_ = std::move(h); }
    void on_closed(std::function<void(const std::string&)> h) override { closed_ = std::move(h); }

    // Wiring to the circuit: its events and its service passes.
    static void attach(const std::shared_ptr<Handle>& h, Circ& c) {
        std::weak_ptr<Handle> weak = h;
        c.readers[h->id_] = [weak](const stream::MuxEvent& e) {
            if (auto self = weak.lock()) self->on_event(e);
        };
        c.writers[h->id_] = [weak] {
            if (auto self = weak.lock()) self->poke();
        };
    }

  private:
    // After every service pass of the circuit. Readable is level-triggered: bytes can
    // become readable without a `readable` event (repaired by FEC in a poll, a FIN that
    // carries no data), so waiting bytes or an unseen end wake the reader here too.
    void poke() {
        if (ended_) return;
        auto& mux = driver_->mux();
        bool eof = mux.peer_finished(id_);
        if (readable_ && (mux.readable(id_) > 0 || (eof && !eof_told_))) {
            eof_told_ = eof;
            auto keep = readable_;  // the handler may replace itself
            keep();
            if (ended_) return;
        }
        if (!want_write_ || writable() == 0) return;
        want_write_ = false;
        if (writable_) writable_();
    }
    void on_event(const stream::MuxEvent& e) {
        if (e.kind == stream::MuxEvent::Kind::readable) {
            if (readable_) readable_();
        } else if (e.kind == stream::MuxEvent::Kind::ended) {
            end(e.reason);
        }
    }
    void end(EndReason reason) {
        if (ended_) return;
        ended_ = true;
        reason_ = reason;
        if (auto c = circ_.lock()) {
            c->readers.erase(id_);
            c->writers.erase(id_);
        }
        // A clean end is also the last readable moment: the application sees EOF.
        if (reason == EndReason::done && readable_) readable_();
        auto closed = std::move(closed_);
        if (closed) closed(std::string(stream::to_string(reason)));
    }

    std::weak_ptr<Circ> circ_;
    std::shared_ptr<stream::MuxDriver> driver_;
    circuit::CircuitHandle handle_;
    std::uint16_t id_;
    bool ended_ = false;
    bool finished_ = false;
    bool want_write_ = false;
    bool eof_told_ = false;  // the reader was woken for the end of the stream
    EndReason reason_ = EndReason::done;
    std::function<void()> readable_;
    std::function<void()> writable_;
    std::function<void(const std::string&)> closed_;
};

void ClientPool::open_handle(const std::string& isolation, const std::string& target,
                             HandleHandler done) {
    auto c = stopped_ ? nullptr : circuit_for(isolation, target);
    if (!c) {
        ++stats_.streams_failed;
        done(nullptr, needs_of(target) != 0 ? EndReason::no_exit : EndReason::unreachable);
        return;
    }
    auto handle = c->handle;
    when_built(
        c, target,
        [this, handle, done = std::move(done)](std::optional<Opened> o, EndReason r) {
            ++(o ? stats_.streams_opened : stats_.streams_failed);
            emit(o ? PoolEvent::Kind::stream_opened : PoolEvent::Kind::stream_failed, handle,
                 o ? std::string() : std::string(stream::to_string(r)));
            auto it = by_handle_.find(handle);
            if (!o || it == by_handle_.end()) {
                done(nullptr, o ? EndReason::aborted : r);
                return;
            }
            auto h = std::make_shared<Handle>(it->second, o->stream);
            Handle::attach(h, *it->second);
            done(h, std::nullopt);
        },
        false);
}

}  // namespace zmesh::client
