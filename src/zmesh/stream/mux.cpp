#include "zmesh/stream/mux.hpp"

#include <algorithm>

namespace zmesh::stream {

using circuit::RelayCommand;
using circuit::RelayMessage;

const char* to_string(EndReason r) {
    switch (r) {
        case EndReason::done:
            return "done";
        case EndReason::refused:
            return "refused by exit policy";
        case EndReason::connect_refused:
            return "connection refused";
        case EndReason::unreachable:
            return "destination unreachable";
        case EndReason::resolve_failed:
            return "name did not resolve";
        case EndReason::timeout:
            return "timed out";
        case EndReason::protocol:
            return "protocol error";
        case EndReason::aborted:
            return "aborted";
        case EndReason::resource:
            return "too many streams";
        case EndReason::expired:
            return "stream no longer kept by the exit";
        case EndReason::host_unreachable:
            return "host unreachable";
        case EndReason::upstream_failed:
            return "the exit's upstream proxy failed";
        case EndReason::no_exit:
            return "no exit reaches this kind of name";
    }
    return "unknown";
}

StreamMux::StreamMux(Side side, StreamConfig config, std::size_t circuit_window)
    : side_(side), cfg_(config), circuit_window_(circuit_window) {}

Result<std::uint16_t> StreamMux::next_id() {
    if (entries_.size() >= kMaxStreamsPerCircuit) return Errc::exhausted;
    while (next_id_ == 0 || entries_.contains(next_id_)) ++next_id_;
    return next_id_++;
}

Result<std::uint16_t> StreamMux::open(const std::string& target, MuxOutput& out,
                                      std::optional<ResumeToken> token) {
    if (side_ != Side::client) return Errc::bad_state;
    if (target.empty() || target.size() > kMaxTargetLength ||
        target.find('\0') != std::string::npos)
        return Errc::bad_length;
    auto id = next_id();
    if (!id) return id.error();
    Bytes begin(target.begin(), target.end());
    if (token) {
        begin.push_back(0);
        begin.insert(begin.end(), token->begin(), token->end());
    }
    entries_[*id] = Entry{State::opening, std::make_unique<Stream>(cfg_), token};
    active_.insert(*id);
    out.messages.push_back({RelayCommand::begin, *id, std::move(begin)});
    return *id;
}

std::optional<DetachedStream> StreamMux::detach(std::uint16_t id) {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.state != State::open || it->second.stream->failed())
        return std::nullopt;
    DetachedStream d{std::move(it->second.stream), it->second.token, it->second.first_data,
                     it->second.last_data};
    entries_.erase(it);
    active_.erase(id);
    return d;
}

Result<std::uint16_t> StreamMux::reattach(DetachedStream s, MuxOutput& out) {
    if (side_ != Side::client || !s.token || !s.stream) return Errc::bad_state;
    auto id = next_id();
    if (!id) return id.error();
    Bytes attach(s.token->begin(), s.token->end());
    auto state = s.stream->receive_state();
    attach.insert(attach.end(), state.begin(), state.end());
    entries_[*id] =
        Entry{State::attaching, std::move(s.stream), s.token, false, s.first_data, s.last_data};
    active_.insert(*id);
    out.messages.push_back({RelayCommand::attach, *id, std::move(attach)});
    return *id;
}

Status StreamMux::adopt(std::uint16_t id, DetachedStream s, ByteView peer_state, TimePoint now,
                        MuxOutput& out) {
    if (side_ != Side::exit || !s.stream || id == 0 || entries_.contains(id))
        return Errc::bad_state;
    if (auto st = s.stream->resume(peer_state, now); !st) return st;
    auto state = s.stream->receive_state();
    entries_[id] =
        Entry{State::open, std::move(s.stream), s.token, false, s.first_data, s.last_data};
    active_.insert(id);
    out.messages.push_back({RelayCommand::attached, id, std::move(state)});
    return {};
}

void StreamMux::decline_attach(std::uint16_t id, MuxOutput& out) {
    out.messages.push_back(
        {RelayCommand::end, id, Bytes{static_cast<std::uint8_t>(EndReason::expired)}});
}

std::optional<ResumeToken> StreamMux::token(std::uint16_t id) const {
    auto it = entries_.find(id);
    return it == entries_.end() ? std::nullopt : it->second.token;
}

std::vector<std::uint16_t> StreamMux::ids() const {
    std::vector<std::uint16_t> out;
    out.reserve(entries_.size());
    for (const auto& [id, e] : entries_) out.push_back(id);
    return out;
}

void StreamMux::accept(std::uint16_t id, MuxOutput& out) {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.state != State::opening) return;
    it->second.state = State::open;
    active_.insert(id);
    out.messages.push_back({RelayCommand::connected, id, {}});
}

void StreamMux::refuse(std::uint16_t id, EndReason reason, MuxOutput& out) {
    if (!entries_.contains(id)) return;
    out.messages.push_back({RelayCommand::end, id, Bytes{static_cast<std::uint8_t>(reason)}});
    entries_.erase(id);
    active_.erase(id);
}

void StreamMux::end(std::uint16_t id, EndReason reason, MuxOutput& out) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    MuxEvent ev{MuxEvent::Kind::ended, id, {}, reason};
    ev.bytes_received = it->second.stream->bytes_read();
    ev.receive_time = it->second.last_data - it->second.first_data;
    entries_.erase(it);
    active_.erase(id);
    out.events.push_back(std::move(ev));
}

void StreamMux::abort(std::uint16_t id, EndReason reason, MuxOutput& out) {
    if (!entries_.contains(id)) return;
    out.messages.push_back({RelayCommand::end, id, Bytes{static_cast<std::uint8_t>(reason)}});
    end(id, reason, out);
}

std::size_t StreamMux::write(std::uint16_t id, ByteView data) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return 0;
    active_.insert(id);
    return it->second.stream->write(data);
}

std::size_t StreamMux::read(std::uint16_t id, MutByteView out) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return 0;
    active_.insert(id);  // the window may reopen
    it->second.announced_readable = false;
    return it->second.stream->read(out);
}

std::size_t StreamMux::send_space(std::uint16_t id) const {
    auto it = entries_.find(id);
    return it == entries_.end() ? 0 : it->second.stream->send_space();
}

void StreamMux::shutdown(std::uint16_t id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    active_.insert(id);
    it->second.stream->shutdown_write();
}

std::vector<StreamInfo> StreamMux::list() const {
    std::vector<StreamInfo> out;
    out.reserve(entries_.size());
    for (const auto& [id, e] : entries_)
        out.push_back(
            {id, e.state == State::open, e.stream->bytes_written(), e.stream->bytes_read()});
    return out;
}

std::size_t StreamMux::in_flight() const {
    std::size_t n = 0;
    for (const auto& [id, e] : entries_) n += e.stream->in_flight();
    return n;
}

void StreamMux::on_message(const RelayMessage& m, TimePoint now, MuxOutput& out) {
    auto it = entries_.find(m.stream);
    if (it != entries_.end()) active_.insert(m.stream);
    if (m.command == RelayCommand::begin) {
        on_begin(m, out);
        return;
    }
    if (m.command == RelayCommand::attach) {
        on_attach(m, out);
        return;
    }
    if (it == entries_.end()) {
        // Late data for a stream we finished: our final ack was lost. Saying END(done)
        // lets the other end finish too (we only forget a stream after its FIN).
        if (m.command == RelayCommand::data && m.stream != 0)
            out.messages.push_back(
                {RelayCommand::end, m.stream, Bytes{static_cast<std::uint8_t>(EndReason::done)}});
        return;
    }
    Entry& e = it->second;
    switch (m.command) {
        case RelayCommand::connected:
            if (side_ != Side::client || e.state != State::opening) {
                ++protocol_errors_;
                return;
            }
            e.state = State::open;
            out.events.push_back({MuxEvent::Kind::connected, m.stream});
            return;
        case RelayCommand::attached: {
            if (side_ != Side::client || e.state != State::attaching) {
                ++protocol_errors_;
                return;
            }
            if (!e.stream->resume(m.data, now)) {
                ++protocol_errors_;
                abort(m.stream, EndReason::protocol, out);
                return;
            }
            e.state = State::open;
            out.events.push_back({MuxEvent::Kind::resumed, m.stream});
            return;
        }
        case RelayCommand::end: {
            auto reason =
                m.data.size() == 1 ? static_cast<EndReason>(m.data[0]) : EndReason::protocol;
            end(m.stream, reason, out);
            return;
        }
        case RelayCommand::data:
        case RelayCommand::ack:
        case RelayCommand::repair:
        case RelayCommand::fec_report: {
            std::vector<Outgoing> replies;
            if (m.command == RelayCommand::data) {
                if (e.first_data == TimePoint{}) e.first_data = now;
                e.last_data = now;
            }
            Status st;
            if (m.command == RelayCommand::data)
                st = e.stream->on_data(m.data, now, replies);
            else if (m.command == RelayCommand::ack)
                st = e.stream->on_ack(m.data, now);
            else if (m.command == RelayCommand::repair)
                e.stream->on_repair(m.data, now, replies);
            else
                st = e.stream->on_fec_report(m.data);
            if (!st) {
                ++protocol_errors_;
                abort(m.stream, EndReason::protocol, out);
                return;
            }
            for (auto& r : replies)
                out.messages.push_back({r.command, m.stream, std::move(r.data)});
            // Bytes to read, or the peer's FIN with nothing left before it (the reader
            // passes it on): the pump is woken once for each.
            bool fin = e.stream->peer_finished() && !e.announced_finished;
            if ((e.stream->readable() > 0 && !e.announced_readable) || fin) {
                e.announced_readable = true;
                e.announced_finished = e.announced_finished || fin;
                out.events.push_back({MuxEvent::Kind::readable, m.stream});
            }
            return;
        }
        default:
            ++protocol_errors_;
            return;
    }
}

// Exit: a new stream past the per-circuit limit is ended at once.
bool StreamMux::refuse_if_full(std::uint16_t id, MuxOutput& out) {
    if (entries_.size() < kMaxStreamsPerCircuit) return false;
    out.messages.push_back(
        {RelayCommand::end, id, Bytes{static_cast<std::uint8_t>(EndReason::resource)}});
    return true;
}

void StreamMux::on_begin(const RelayMessage& m, MuxOutput& out) {
    // target | 0 | token, or just the target.
    auto nul = std::find(m.data.begin(), m.data.end(), std::uint8_t{0});
    auto target_len = static_cast<std::size_t>(nul - m.data.begin());
    bool has_token = nul != m.data.end();
    if (side_ != Side::exit || entries_.contains(m.stream) || m.stream == 0 || target_len == 0 ||
        target_len > kMaxTargetLength ||
        (has_token && m.data.size() != target_len + 1 + sizeof(ResumeToken))) {
        ++protocol_errors_;
        return;
    }
    if (refuse_if_full(m.stream, out)) return;
    std::optional<ResumeToken> token;
    if (has_token) {
        token.emplace();
        std::copy(nul + 1, m.data.end(), token->begin());
    }
    entries_[m.stream] = Entry{State::opening, std::make_unique<Stream>(cfg_), token};
    MuxEvent ev{MuxEvent::Kind::begin, m.stream, std::string(m.data.begin(), nul)};
    ev.token = token;
    out.events.push_back(std::move(ev));
}

void StreamMux::on_attach(const RelayMessage& m, MuxOutput& out) {
    // token (16) | the client's receive state (an ACK payload, checked by adopt()).
    constexpr std::size_t kMaxState = 7 + 8 * kMaxSackBlocks;
    if (side_ != Side::exit || entries_.contains(m.stream) || m.stream == 0 ||
        m.data.size() <= sizeof(ResumeToken) || m.data.size() > sizeof(ResumeToken) + kMaxState) {
        ++protocol_errors_;
        return;
    }
    if (refuse_if_full(m.stream, out)) return;
    MuxEvent ev{MuxEvent::Kind::attach, m.stream};
    ev.token.emplace();
    std::copy_n(m.data.begin(), sizeof(ResumeToken), ev.token->begin());
    ev.peer_state.assign(m.data.begin() + sizeof(ResumeToken), m.data.end());
    out.events.push_back(std::move(ev));
}

void StreamMux::poll(TimePoint now, MuxOutput& out) {
    // One walk for the circuit's segments in flight and how many streams are sending.
    // (Quiet streams have nothing in flight and send nothing: the active ones suffice.)
    std::size_t flight = 0;
    std::uint32_t sending = 0;
    for (auto id : active_) {
        const Entry& e = entries_.at(id);
        flight += e.stream->in_flight();
        sending += e.state == State::open && e.stream->sending();
    }
    std::size_t budget = flight >= circuit_window_ ? 0 : circuit_window_ - flight;
    std::vector<std::uint16_t> finished;
    std::vector<std::uint16_t> failed;
    // Round-robin from a rotating start so no stream starves the others.
    auto start = active_.lower_bound(rr_);
    std::vector<std::uint16_t> order;
    order.reserve(active_.size());
    for (auto it = start; it != active_.end(); ++it) order.push_back(*it);
    for (auto it = active_.begin(); it != start; ++it) order.push_back(*it);
    if (!order.empty()) rr_ = static_cast<std::uint16_t>(order.front() + 1);
    for (std::uint16_t id : order) {
        Entry& e = entries_.at(id);
        // Opening and attaching streams wait for the other end's answer, which brings
        // them back; open ones with nothing to do wait for the application or the peer.
        if (e.state != State::open) {
            active_.erase(id);
            continue;
        }
        std::vector<Outgoing> msgs;
        std::size_t share =
            std::max<std::size_t>(1, budget / std::max<std::size_t>(1, order.size()));
        e.stream->set_queue_share(sending);
        e.stream->poll(now, std::min(share, budget), msgs);
        for (auto& m : msgs) {
            if (m.command == RelayCommand::data && budget > 0) --budget;
            out.messages.push_back({m.command, id, std::move(m.data)});
        }
        if (e.stream->failed())
            failed.push_back(id);
        else if (e.stream->finished())
            finished.push_back(id);
        else if (e.stream->quiet())
            active_.erase(id);
    }
    for (auto id : failed) abort(id, EndReason::timeout, out);
    for (auto id : finished) end(id, EndReason::done, out);
}

std::optional<TimePoint> StreamMux::next_deadline() const {
    std::optional<TimePoint> t;
    for (auto id : active_) {  // a quiet stream has no timer
        const Entry& e = entries_.at(id);
        if (e.state == State::attaching) continue;  // its timers wait for ATTACHED
        if (auto s = e.stream->next_deadline(); s && (!t || *s < *t)) t = s;
    }
    return t;
}

}  // namespace zmesh::stream
