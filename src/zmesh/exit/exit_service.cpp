#include "zmesh/exit/exit_service.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

#include "zmesh/core/clock.hpp"
#include "zmesh/crypto/hash.hpp"
#include "zmesh/crypto/secure.hpp"
#include "zmesh/discovery/descriptor.hpp"

namespace zmesh::exit {

namespace asio = boost::asio;
using asio::ip::tcp;
using stream::EndReason;

namespace {

ByteArray<32> token_key(const stream::ResumeToken& t) {
    return crypto::sha256(t);
}

}  // namespace

ExitService::ExitService(circuit::CircuitNode& node, ExitConfig config)
    : node_(node), cfg_(std::move(config)), sweep_timer_(node.link().executor()) {
    direct_ = std::make_unique<DirectDialer>(cfg_.policy, cfg_.connect_timeout, stats_);
    auto proxy = [&](const std::optional<ProxyAddress>& p) -> std::unique_ptr<Dialer> {
        if (!p) return nullptr;
        return std::make_unique<ProxyDialer>(*p, cfg_.policy, cfg_.upstream_timeout, stats_);
    };
    onion_ = proxy(cfg_.onion_proxy);
    i2p_ = proxy(cfg_.i2p_proxy);
    upstream_ = proxy(cfg_.upstream);
    auto messages = node_.subscribe_messages(
        stream::kStreamCommands,
        [this](const circuit::LinkCircuit& lc, const circuit::RelayMessage& m) {
            driver_for(lc)->deliver(m);
        });
    auto closed =
        node_.subscribe_closed([this](const circuit::LinkCircuit& lc) { on_circuit_closed(lc); });
    if (!messages || !closed)
        throw std::runtime_error("exit: the circuit layer takes no more subscribers");
    messages_ = std::move(*messages);
    closed_ = std::move(*closed);
}

ExitService::~ExitService() {
    sweep_timer_.cancel();
    for (auto& [k, r] : resumable_)
        if (r.parked) r.parked->drop();
}

std::shared_ptr<stream::MuxDriver> ExitService::driver_for(const circuit::LinkCircuit& lc) {
    auto key = std::make_pair(lc.peer, lc.id);
    auto it = drivers_.find(key);
    if (it != drivers_.end()) return it->second;
    auto driver = std::make_shared<stream::MuxDriver>(
        node_.link().executor(), stream::StreamMux::Side::exit,
        [this, lc](const circuit::RelayMessage& m) { return node_.exit_reply(lc, m); },
        cfg_.stream);
    driver->on_event([this, lc, key](const stream::MuxEvent& e) {
        switch (e.kind) {
            case stream::MuxEvent::Kind::begin:
                if (e.token && cfg_.resume_grace.count() > 0) {
                    auto k = token_key(*e.token);
                    // A token already in use is not indexed twice: that stream just cannot
                    // move.
                    if (!resumable_.contains(k)) resumable_[k] = {*e.token, key, e.stream, {}, {}};
                }
                on_begin(lc, e.stream, e.target);
                break;
            case stream::MuxEvent::Kind::attach:
                on_attach(lc, e);
                break;
            case stream::MuxEvent::Kind::ended:
                if (e.reason != EndReason::done) ++stats_.streams_reset;
                forget(key, e.stream);
                break;
            default:
                break;
        }
    });
    drivers_[key] = driver;
    return driver;
}

void ExitService::forget(const DriverKey& circuit, std::uint16_t id) {
    std::erase_if(resumable_, [&](const auto& kv) {
        return !kv.second.parked && kv.second.circuit == circuit && kv.second.stream == id;
    });
}

// The circuit died (or was closed): streams the client may resume wait, with their
// sockets, for a grace period; the others end.
void ExitService::on_circuit_closed(const circuit::LinkCircuit& lc) {
    DriverKey key{lc.peer, lc.id};
    auto it = drivers_.find(key);
    if (it == drivers_.end()) return;
    auto driver = it->second;
    drivers_.erase(it);
    auto expires = stream::Clock::now() + cfg_.resume_grace;
    for (auto& [k, r] : resumable_) {
        if (r.parked || r.circuit != key) continue;
        auto moved = driver->detach(r.stream);
        if (!moved) continue;  // not open yet: it ends with the circuit
        if (parked_count_ >= cfg_.max_parked) {
            moved->drop();
            ++stats_.resume_expired;
            continue;
        }
        r.parked.emplace(std::move(*moved));
        r.expires = expires;
        ++parked_count_;
        ++stats_.streams_parked;
    }
    std::erase_if(resumable_,
                  [&](const auto& kv) { return !kv.second.parked && kv.second.circuit == key; });
    driver->close_all(EndReason::aborted);
    arm_sweep();
}

// ATTACH: the client moves a stream here. It may be parked (its circuit died here first)
// or still on a circuit this node believes alive (the client noticed first).
void ExitService::on_attach(const circuit::LinkCircuit& lc, const stream::MuxEvent& e) {
    auto driver = driver_for(lc);
    auto decline = [&] {
        ++stats_.resume_unknown;
        stream::MuxOutput out;
        driver->mux().decline_attach(e.stream, out);
        driver->send_now(out);
    };
    auto it = e.token ? resumable_.find(token_key(*e.token)) : resumable_.end();
    if (it == resumable_.end() || !crypto::ct_equal(it->second.token, *e.token)) {
        decline();
        return;
    }
    Resumable& r = it->second;
    std::optional<stream::MovedStream> moved;
    if (r.parked) {
        moved = std::move(r.parked);
        r.parked.reset();
        --parked_count_;
    } else if (auto d = drivers_.find(r.circuit); d != drivers_.end()) {
        moved = d->second->detach(r.stream);
    }
    if (!moved) {
        resumable_.erase(it);
        decline();
        return;
    }
    if (!driver->adopt(e.stream, std::move(*moved), e.peer_state)) {
        resumable_.erase(it);
        decline();
        return;
    }
    r.circuit = {lc.peer, lc.id};
    r.stream = e.stream;
    ++stats_.streams_resumed;
}

// Armed for the earliest expiry of a parked stream: streams park for the same grace, so a
// stream parked later never expires sooner and the armed timer stays the earliest.
void ExitService::arm_sweep() {
    if (sweep_armed_ || parked_count_ == 0) return;
    std::optional<stream::TimePoint> next;
    for (const auto& [k, r] : resumable_)
        if (r.parked && (!next || r.expires < *next)) next = r.expires;
    if (!next) return;
    sweep_armed_ = true;
    sweep_timer_.expires_at(*next);
    sweep_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec) return;  // cancelled: the service is going away
        sweep_armed_ = false;
        sweep();
        arm_sweep();
    });
}

void ExitService::sweep() {
    auto now = stream::Clock::now();
    for (auto it = resumable_.begin(); it != resumable_.end();) {
        auto& r = it->second;
        if (!r.parked || r.expires > now) {
            ++it;
            continue;
        }
        r.parked->drop();
        --parked_count_;
        ++stats_.resume_expired;
        it = resumable_.erase(it);
    }
}

Dialer* ExitService::dialer_for(std::string_view host, EndReason& refusal) {
    // A .onion or .i2p name is never looked up in the DNS: it goes to the proxy that
    // reaches it, or nowhere (a client routes such names to exits that advertise the
    // ability; one that does not, or a stale descriptor, ends here).
    Dialer* special = nullptr;
    switch (discovery::ability_needed(host)) {
        case discovery::kFlagOnion:
            special = onion_.get();
            break;
        case discovery::kFlagI2p:
            special = i2p_.get();
            break;
        default:
            return upstream_ ? upstream_.get() : direct_.get();
    }
    if (!special) {
        ++stats_.refused_ability;
        refusal = EndReason::refused;
    }
    return special;
}

void ExitService::on_begin(const circuit::LinkCircuit& lc, std::uint16_t id,
                           const std::string& target) {
    auto driver = driver_for(lc);
    if (target == kDirectoryTarget || !cfg_.connect) {
        stream::MuxOutput out;
        if (target != kDirectoryTarget || !cfg_.directory) {
            ++stats_.refused_policy;
            driver->mux().refuse(id, EndReason::refused, out);
            driver->send_now(out);
            return;
        }
        ++stats_.directory_served;
        driver->mux().accept(id, out);
        driver->send_now(out);
        driver->serve(id, cfg_.directory());
        return;
    }
    auto weak = std::weak_ptr<stream::MuxDriver>(driver);
    auto finish = [weak, id](EndReason reason) {
        if (auto d = weak.lock()) {
            stream::MuxOutput out;
            d->mux().refuse(id, reason, out);
            d->send_now(out);
        }
    };
    auto t = parse_target(target);
    if (!t) {
        finish(EndReason::protocol);
        return;
    }
    EndReason refusal = EndReason::refused;
    Dialer* dialer = dialer_for(t->host, refusal);
    if (!dialer) {
        finish(refusal);
        return;
    }
    asio::co_spawn(
        node_.link().executor(),
        [this, weak, id, t, dialer, finish]() -> asio::awaitable<void> {
            auto dialed = co_await dialer->dial(*t);
            if (!dialed.socket) {
                finish(dialed.failure);
                co_return;
            }
            auto d = weak.lock();
            if (!d || !d->mux().contains(id)) co_return;  // circuit or stream gone
            ++stats_.streams_opened;
            boost::system::error_code ignore;
            dialed.socket->set_option(tcp::no_delay(true), ignore);
            stream::MuxOutput out;
            d->mux().accept(id, out);
            d->send_now(out);
            d->attach(id, std::move(*dialed.socket));
            d->service();
        },
        link::log_exit("exit stream setup"));
}

}  // namespace zmesh::exit
