#include "zmesh/app/proxy.hpp"

#include <spdlog/spdlog.h>

#include <charconv>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "zmesh/app/socks5.hpp"
#include "zmesh/control/collect.hpp"
#include "zmesh/crypto/secure.hpp"

namespace zmesh::app {

using asio::ip::tcp;
using stream::EndReason;

namespace {

constexpr auto kOpenTimeout = std::chrono::seconds(60);
constexpr std::size_t kMaxHttpHeader = 8192;
// A stream that carried at least this much measures its circuit's throughput.
constexpr std::uint64_t kMinMeasuredBytes = 1 << 20;
// Builds for one request before it fails (each avoiding the relays that failed before).
constexpr int kMaxBuilds = 3;
// Moved streams wait for a path to their exit (none fits now): tried again this often.
constexpr auto kRecoveryRetry = std::chrono::milliseconds(200);

const auto kAwait = asio::as_tuple(asio::use_awaitable);

}  // namespace

struct ClientProxy::Circ {
    std::string isolation;
    std::uint16_t port = 0;  // the exit was chosen for this port
    std::vector<crypto::NodeId> path;
    std::optional<crypto::NodeId> failed_relay;  // where its build failed
    circuit::CircuitHandle handle = 0;
    std::shared_ptr<stream::MuxDriver> driver;
    bool built = false;
    PathRequest request;  // what its path was chosen for
    int builds = 1;       // this is the n-th try for the requests waiting on it
    // Called once it is built (with it) or given up on (with null).
    std::vector<std::function<void(const std::shared_ptr<Circ>&)>> waiting;
    std::map<std::uint16_t, OpenHandler> opening;
    std::map<std::uint16_t, std::string> targets;  // for the control API only
    // Streams read here rather than by a socket (fetch()).
    std::map<std::uint16_t, std::function<void(const stream::MuxEvent&)>> readers;
};

struct ClientProxy::Recovery {
    std::string isolation;
    std::uint16_t port = 0;
    std::uint64_t epoch = 0;
    PathRequest request;
    std::vector<stream::MovedStream> streams;
    std::vector<std::string> targets;
    // Streams still opening (BEGIN sent, no answer yet): asked for again on the new circuit.
    std::vector<std::pair<std::string, OpenHandler>> reopen;
    std::chrono::steady_clock::time_point died{};
    std::chrono::steady_clock::time_point deadline{};
    std::unique_ptr<asio::steady_timer> retry;
};

void collect_proxy(control::Snapshot& s, const ProxyStats& st, const control::Labels& labels) {
    control::add_counters(s, "zmesh_proxy_", "SOCKS5 and HTTP CONNECT entry",
                          {{"connections", st.connections},
                           {"streams_opened", st.streams_opened},
                           {"streams_failed", st.streams_failed},
                           {"bad_requests", st.bad_requests},
                           {"preemptive_used", st.preemptive_used},
                           {"recoveries", st.recoveries},
                           {"streams_resumed", st.streams_resumed},
                           {"streams_lost", st.streams_lost}},
                          labels);
}

const char* to_string(ProxyEvent::Kind k) {
    switch (k) {
        case ProxyEvent::Kind::circuit_built:
            return "circuit_built";
        case ProxyEvent::Kind::circuit_failed:
            return "circuit_failed";
        case ProxyEvent::Kind::circuit_closed:
            return "circuit_closed";
        case ProxyEvent::Kind::stream_opened:
            return "stream_opened";
        case ProxyEvent::Kind::stream_failed:
            return "stream_failed";
    }
    return "unknown";
}

ClientProxy::ClientProxy(circuit::CircuitNode& node, PathProvider paths, stream::StreamConfig cfg)
    : node_(node), paths_(std::move(paths)), cfg_(cfg) {
    node_.on_client_event([this](const circuit::ClientEvent& ev) { on_client_event(ev); });
}

ClientProxy::~ClientProxy() {
    stop();
}

void ClientProxy::stop() {
    stopped_ = true;
    for (auto& a : acceptors_) {
        boost::system::error_code ec;
        a->close(ec);
    }
    auto recovering = recovering_;
    for (auto& r : recovering) give_up(*r);
    // Closing reports back synchronously and erases from by_handle_: copy the keys first.
    std::vector<circuit::CircuitHandle> handles;
    for (const auto& [h, c] : by_handle_) handles.push_back(h);
    for (auto h : handles) node_.close(h);
}

void ClientProxy::on_client_event(const circuit::ClientEvent& ev) {
    if (result_handler_ && ev.kind != circuit::ClientEvent::Kind::message) result_handler_(ev);
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
            emit(ProxyEvent::Kind::circuit_built, ev.circuit, fmt::format("{:.2f} ms", ms));
            auto waiting = std::move(c->waiting);
            for (auto& w : waiting) w(c);
            break;
        }
        case circuit::ClientEvent::Kind::message:
            if (ev.hop + 1 == node_.client().hop_count(ev.circuit)) c->driver->deliver(ev.message);
            break;
        case circuit::ClientEvent::Kind::failed:
        case circuit::ClientEvent::Kind::closed:
            if (ev.kind == circuit::ClientEvent::Kind::failed) ++stats_.circuits_failed;
            if (ev.failed_hop < ev.path.size()) c->failed_relay = ev.path[ev.failed_hop];
            if (ev.kind == circuit::ClientEvent::Kind::failed) retry_build(c);
            spdlog::info("circuit {} {}: {}", ev.circuit,
                         ev.kind == circuit::ClientEvent::Kind::failed ? "failed" : "closed",
                         circuit::to_string(ev.reason));
            emit(ev.kind == circuit::ClientEvent::Kind::failed ? ProxyEvent::Kind::circuit_failed
                                                               : ProxyEvent::Kind::circuit_closed,
                 ev.circuit, circuit::to_string(ev.reason));
            // Closed by us (finished) or failed before it carried anything: its streams
            // end. Died under its streams: they move.
            if (ev.kind == circuit::ClientEvent::Kind::closed &&
                ev.reason != circuit::DestroyReason::finished && !stopped_ &&
                resume_grace_ > std::chrono::steady_clock::duration::zero())
                recover(c, ev);
            else
                drop_circuit(ev.circuit, EndReason::aborted);
            break;
    }
}

std::size_t ClientProxy::new_identity() {
    ++identity_epoch_;
    std::size_t retired = circuits_.size();
    circuits_.clear();
    std::vector<circuit::CircuitHandle> idle;
    for (const auto& [h, c] : by_handle_)
        if (c->driver->mux().size() == 0 && c->opening.empty() && c->waiting.empty())
            idle.push_back(h);
    for (auto h : idle) node_.close(h);
    return retired;
}

bool ClientProxy::close_circuit(circuit::CircuitHandle h) {
    if (!by_handle_.contains(h)) return false;
    node_.close(h);  // reports `closed` back synchronously, which drops the circuit
    return true;
}

std::vector<ProxyStreamInfo> ClientProxy::streams() const {
    std::vector<ProxyStreamInfo> out;
    for (const auto& [h, c] : by_handle_)
        for (const auto& s : c->driver->mux().list()) {
            auto t = c->targets.find(s.id);
            out.push_back({h, s, t == c->targets.end() ? std::string() : t->second});
        }
    return out;
}

void ClientProxy::drop_circuit(circuit::CircuitHandle h, EndReason reason) {
    auto it = by_handle_.find(h);
    if (it == by_handle_.end()) return;
    auto c = it->second;
    by_handle_.erase(it);
    if (auto ci = circuits_.find(c->isolation); ci != circuits_.end() && ci->second == c)
        circuits_.erase(ci);
    if (std::erase(spares_, c) > 0 && !stopped_) {
        // A spare that failed or expired is replaced, after this event is handled.
        asio::post(node_.link().executor(), [this] { refill(); });
    }
    auto waiting = std::move(c->waiting);
    for (auto& w : waiting) w(nullptr);
    auto opening = std::move(c->opening);
    for (auto& [id, done] : opening) done(std::nullopt, reason);
    c->driver->close_all(reason);
}

std::shared_ptr<ClientProxy::Circ> ClientProxy::build_circuit(const PathRequest& req) {
    return start_circuit(paths_(req), req, false);
}

std::shared_ptr<ClientProxy::Circ> ClientProxy::start_circuit(std::vector<circuit::PathHop> path,
                                                              const PathRequest& req,
                                                              bool one_hop) {
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
        auto circ = weak.lock();
        if (!circ) return;
        if (e.kind == stream::MuxEvent::Kind::ended && throughput_handler_ &&
            e.bytes_received >= kMinMeasuredBytes && e.receive_time >= std::chrono::milliseconds(5))
            throughput_handler_(circ->handle,
                                static_cast<double>(e.bytes_received) /
                                    std::chrono::duration<double>(e.receive_time).count());
        if (e.kind == stream::MuxEvent::Kind::resumed) {
            ++stats_.streams_resumed;
            return;
        }
        if (e.kind == stream::MuxEvent::Kind::ended && e.reason == EndReason::expired)
            ++stats_.streams_lost;
        if (auto rd = circ->readers.find(e.stream); rd != circ->readers.end()) rd->second(e);
        auto op = circ->opening.find(e.stream);
        if (op == circ->opening.end()) return;
        auto handler = std::move(op->second);
        circ->opening.erase(op);
        if (e.kind == stream::MuxEvent::Kind::connected) {
            handler(Opened{circ->driver, e.stream}, EndReason::done);
        } else {
            handler(std::nullopt, e.reason);
        }
    });
    by_handle_[handle] = c;
    return c;
}

void ClientProxy::set_preemptive(std::size_t circuits) {
    preemptive_ = circuits;
    refill();
}

// Keeps `preemptive_` circuits built ahead of need, for the port new circuits were last
// asked for, so a new isolation key gets a ready circuit instead of waiting for a build.
void ClientProxy::refill() {
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

void ClientProxy::open(const std::string& isolation, const std::string& target, OpenHandler done) {
    auto it = circuits_.find(isolation);
    std::shared_ptr<Circ> c;
    if (it != circuits_.end()) {
        c = it->second;
    } else {
        std::uint16_t port = 0;
        if (auto colon = target.rfind(':'); colon != std::string::npos)
            std::from_chars(target.data() + colon + 1, target.data() + target.size(), port);
        // A spare built for this port, the built ones first.
        auto spare = std::find_if(spares_.begin(), spares_.end(),
                                  [&](const auto& s) { return s->port == port && s->built; });
        if (spare == spares_.end())
            spare = std::find_if(spares_.begin(), spares_.end(),
                                 [&](const auto& s) { return s->port == port; });
        if (spare != spares_.end()) {
            c = *spare;
            spares_.erase(spare);
            ++stats_.preemptive_used;
        } else {
            c = build_circuit({port, {}, {}});
            if (!c) {
                done(std::nullopt, EndReason::unreachable);
                return;
            }
        }
        c->isolation = isolation;
        circuits_[isolation] = c;
        if (preemptive_ > 0 && port != spare_port_) {
            // Predict the port asked for last; spares for another port go.
            spare_port_ = port;
            auto old = std::move(spares_);
            spares_.clear();
            for (auto& s : old) node_.close(s->handle);
        }
        refill();
    }
    done = [this, handle = c->handle, done = std::move(done)](std::optional<Opened> o,
                                                              EndReason r) {
        emit(o ? ProxyEvent::Kind::stream_opened : ProxyEvent::Kind::stream_failed, handle,
             o ? std::string() : std::string(stream::to_string(r)));
        done(std::move(o), r);
    };
    if (c->built) {
        open_on(c, target, std::move(done));
        return;
    }
    std::weak_ptr<Circ> weak = c;
    c->waiting.push_back(
        [this, target, done = std::move(done)](const std::shared_ptr<Circ>& circ) mutable {
            if (!circ) {
                done(std::nullopt, EndReason::unreachable);
                return;
            }
            open_on(circ, target, std::move(done));
        });
}

// A build failed with requests waiting for it: another path, without the relay where it
// failed (a relay that died is often still listed), takes them over, a few times.
void ClientProxy::retry_build(const std::shared_ptr<Circ>& c) {
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
    next->waiting = std::move(c->waiting);
    if (auto it = circuits_.find(c->isolation); it != circuits_.end() && it->second == c)
        it->second = next;
}

void ClientProxy::open_on(const std::shared_ptr<Circ>& c, const std::string& target,
                          OpenHandler done) {
    stream::MuxOutput out;
    std::optional<stream::ResumeToken> token;
    if (resume_grace_ > std::chrono::steady_clock::duration::zero()) {
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
void ClientProxy::recover(const std::shared_ptr<Circ>& c, const circuit::ClientEvent& ev) {
    auto r = std::make_shared<Recovery>();
    r->isolation = c->isolation;
    r->port = c->port;
    r->epoch = identity_epoch_;
    r->died = std::chrono::steady_clock::now();
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

void ClientProxy::give_up(Recovery& r) {
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

void ClientProxy::try_recover(const std::shared_ptr<Recovery>& r) {
    if (stopped_ || std::chrono::steady_clock::now() >= r->deadline) {
        give_up(*r);
        return;
    }
    auto c = build_circuit(r->request);
    if (!c) {
        // No path to the exit now: wait a little (a refreshed directory may bring one).
        if (!r->retry) r->retry = std::make_unique<asio::steady_timer>(node_.link().executor());
        r->retry->expires_after(kRecoveryRetry);
        r->retry->async_wait([this, r](boost::system::error_code ec) {
            if (!ec) try_recover(r);
        });
        return;
    }
    c->isolation = r->isolation;
    if (r->epoch == identity_epoch_ && !circuits_.contains(r->isolation))
        circuits_[r->isolation] = c;  // new streams of this isolation key go there too
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
        auto ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - r->died)
                .count();
        spdlog::info("streams moved to circuit {} {:.0f} ms after the old one was found dead",
                     circ->handle, ms);
    });
}

void ClientProxy::fetch(std::vector<circuit::PathHop> path, const std::string& target,
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
        asio::steady_timer timer;
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

asio::awaitable<std::pair<std::optional<ClientProxy::Opened>, EndReason>> ClientProxy::open_async(
    const std::string& isolation, const std::string& target) {
    auto ex = co_await asio::this_coro::executor;
    struct Latch {
        std::optional<Opened> opened;
        EndReason reason = EndReason::timeout;
        bool done = false;
    };
    auto latch = std::make_shared<Latch>();
    auto timer = std::make_shared<asio::steady_timer>(ex, kOpenTimeout);
    open(isolation, target, [latch, timer](std::optional<Opened> o, EndReason r) {
        if (latch->done) return;
        latch->done = true;
        latch->opened = std::move(o);
        latch->reason = r;
        timer->cancel();
    });
    if (!latch->done) co_await timer->async_wait(kAwait);
    latch->done = true;
    co_return std::make_pair(latch->opened, latch->reason);
}

tcp::endpoint ClientProxy::listen_socks(const tcp::endpoint& at) {
    auto a = std::make_unique<tcp::acceptor>(node_.link().executor(), at);
    auto ep = a->local_endpoint();
    asio::co_spawn(node_.link().executor(), accept_loop(*a, false), link::log_exit("SOCKS accept"));
    acceptors_.push_back(std::move(a));
    return ep;
}

tcp::endpoint ClientProxy::listen_http(const tcp::endpoint& at) {
    auto a = std::make_unique<tcp::acceptor>(node_.link().executor(), at);
    auto ep = a->local_endpoint();
    asio::co_spawn(node_.link().executor(), accept_loop(*a, true), link::log_exit("HTTP accept"));
    acceptors_.push_back(std::move(a));
    return ep;
}

asio::awaitable<void> ClientProxy::accept_loop(tcp::acceptor& acceptor, bool http) {
    while (!stopped_) {
        auto [ec, socket] = co_await acceptor.async_accept(kAwait);
        if (ec) {
            if (stopped_ || ec == asio::error::operation_aborted) co_return;
            continue;
        }
        ++stats_.connections;
        auto ex = socket.get_executor();
        if (http)
            asio::co_spawn(ex, serve_http(std::move(socket)), link::log_exit("HTTP CONNECT"));
        else
            asio::co_spawn(ex, serve_socks(std::move(socket)), link::log_exit("SOCKS5"));
    }
}

asio::awaitable<void> ClientProxy::serve_socks(tcp::socket socket) {
    using namespace socks5;
    auto reply = [&](Reply r) -> asio::awaitable<void> {
        auto bytes = make_reply(r);
        co_await asio::async_write(socket, asio::buffer(bytes), kAwait);
    };
    std::uint8_t head[2];
    if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(head), kAwait); ec) co_return;
    if (head[0] != kVersion || head[1] == 0) {
        ++stats_.bad_requests;
        co_return;  // not SOCKS5: close without an answer, as RFC 1928 has none for this
    }
    std::vector<std::uint8_t> methods(head[1]);
    if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(methods), kAwait); ec)
        co_return;
    std::uint8_t method = select_method(methods);
    std::uint8_t choice[2] = {kVersion, method};
    co_await asio::async_write(socket, asio::buffer(choice), kAwait);
    if (method == kMethodRefused) {
        ++stats_.bad_requests;
        co_return;
    }
    std::string isolation;
    if (method == kMethodUserPass) {
        // RFC 1929: VER(1) ULEN UNAME PLEN PASSWD. Any credentials are accepted; they only
        // choose the circuit.
        std::uint8_t vl[2];
        if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(vl), kAwait); ec)
            co_return;
        std::string user(vl[1], '\0');
        if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(user), kAwait); ec)
            co_return;
        std::uint8_t plen = 0;
        if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(&plen, 1), kAwait); ec)
            co_return;
        std::string pass(plen, '\0');
        if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(pass), kAwait); ec)
            co_return;
        bool ok = vl[0] == 1;
        std::uint8_t status[2] = {1, static_cast<std::uint8_t>(ok ? 0 : 1)};
        co_await asio::async_write(socket, asio::buffer(status), kAwait);
        if (!ok) {
            ++stats_.bad_requests;
            co_return;
        }
        isolation = user + '\0' + pass;
        if (isolation.size() > kMaxIsolationKey) isolation.resize(kMaxIsolationKey);
    }
    std::uint8_t req[4];
    if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(req), kAwait); ec) co_return;
    auto check = check_request_header(req);
    if (!check.header) {
        ++stats_.bad_requests;
        co_await reply(check.error);
        co_return;
    }
    std::vector<std::uint8_t> addr;
    if (check.header->address_type == 3) {
        std::uint8_t len = 0;
        if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(&len, 1), kAwait); ec)
            co_return;
        addr.resize(len);
    } else {
        addr.resize(address_length(check.header->address_type, 0));
    }
    std::uint8_t port_bytes[2];
    if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(addr), kAwait); ec) co_return;
    if (auto [ec, n] = co_await asio::async_read(socket, asio::buffer(port_bytes), kAwait); ec)
        co_return;
    auto target = target_from(check.header->address_type, addr, load_u16_be(port_bytes));
    if (!target) {
        ++stats_.bad_requests;
        co_await reply(Reply::general_failure);
        co_return;
    }
    auto [opened, reason] = co_await open_async(isolation, *target);
    if (!opened) {
        ++stats_.streams_failed;
        co_await reply(reply_for(reason));
        co_return;
    }
    ++stats_.streams_opened;
    co_await reply(Reply::succeeded);
    opened->driver->attach(opened->stream, std::move(socket));
    opened->driver->service();
}

asio::awaitable<void> ClientProxy::serve_http(tcp::socket socket) {
    asio::streambuf buf(kMaxHttpHeader);
    auto [ec, n] = co_await asio::async_read_until(socket, buf, "\r\n\r\n", kAwait);
    auto respond = [&](std::string_view status) -> asio::awaitable<void> {
        std::string r = "HTTP/1.1 " + std::string(status) + "\r\n\r\n";
        co_await asio::async_write(socket, asio::buffer(r), kAwait);
    };
    if (ec) {
        ++stats_.bad_requests;
        if (ec == asio::error::not_found) co_await respond("431 Request Header Fields Too Large");
        co_return;
    }
    std::string header(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n);
    buf.consume(n);
    std::string_view line(header.data(), header.find("\r\n"));
    auto sp1 = line.find(' ');
    auto sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1 ||
        !line.substr(sp2 + 1).starts_with("HTTP/1.")) {
        ++stats_.bad_requests;
        co_await respond("400 Bad Request");
        co_return;
    }
    if (line.substr(0, sp1) != "CONNECT") {
        ++stats_.bad_requests;
        co_await respond("405 Method Not Allowed");
        co_return;
    }
    std::string target(line.substr(sp1 + 1, sp2 - sp1 - 1));
    auto [opened, reason] = co_await open_async("", target);
    if (!opened) {
        ++stats_.streams_failed;
        co_await respond(reason == EndReason::refused   ? "403 Forbidden"
                         : reason == EndReason::timeout ? "504 Gateway Timeout"
                                                        : "502 Bad Gateway");
        co_return;
    }
    ++stats_.streams_opened;
    co_await respond("200 Connection established");
    // Bytes the client sent after the header already belong to the stream.
    if (buf.size() > 0) {
        std::vector<std::uint8_t> early(buf.size());
        asio::buffer_copy(asio::buffer(early), buf.data());
        opened->driver->mux().write(opened->stream, early);
    }
    opened->driver->attach(opened->stream, std::move(socket));
    opened->driver->service();
}

}  // namespace zmesh::app
