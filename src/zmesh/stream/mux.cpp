#include "zmesh/stream/mux.hpp"

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
    }
    return "unknown";
}

StreamMux::StreamMux(Side side, StreamConfig config, std::size_t circuit_window)
    : side_(side), cfg_(config), circuit_window_(circuit_window) {}

Result<std::uint16_t> StreamMux::open(const std::string& target, MuxOutput& out) {
    if (side_ != Side::client) return Errc::bad_state;
    if (target.empty() || target.size() > kMaxTargetLength) return Errc::bad_length;
    if (entries_.size() >= kMaxStreamsPerCircuit) return Errc::exhausted;
    while (next_id_ == 0 || entries_.contains(next_id_)) ++next_id_;
    std::uint16_t id = next_id_++;
    entries_[id] = Entry{State::opening, std::make_unique<Stream>(cfg_)};
    out.messages.push_back({RelayCommand::begin, id, Bytes(target.begin(), target.end())});
    return id;
}

void StreamMux::accept(std::uint16_t id, MuxOutput& out) {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.state != State::opening) return;
    it->second.state = State::open;
    out.messages.push_back({RelayCommand::connected, id, {}});
}

void StreamMux::refuse(std::uint16_t id, EndReason reason, MuxOutput& out) {
    if (!entries_.contains(id)) return;
    out.messages.push_back({RelayCommand::end, id, Bytes{static_cast<std::uint8_t>(reason)}});
    entries_.erase(id);
}

void StreamMux::end(std::uint16_t id, EndReason reason, MuxOutput& out) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    MuxEvent ev{MuxEvent::Kind::ended, id, {}, reason};
    ev.bytes_received = it->second.stream->bytes_read();
    ev.receive_time = it->second.last_data - it->second.first_data;
    entries_.erase(it);
    out.events.push_back(std::move(ev));
}

void StreamMux::abort(std::uint16_t id, EndReason reason, MuxOutput& out) {
    if (!entries_.contains(id)) return;
    out.messages.push_back({RelayCommand::end, id, Bytes{static_cast<std::uint8_t>(reason)}});
    end(id, reason, out);
}

std::size_t StreamMux::write(std::uint16_t id, ByteView data) {
    auto it = entries_.find(id);
    return it == entries_.end() ? 0 : it->second.stream->write(data);
}

std::size_t StreamMux::read(std::uint16_t id, MutByteView out) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return 0;
    it->second.announced_readable = false;
    return it->second.stream->read(out);
}

std::size_t StreamMux::send_space(std::uint16_t id) const {
    auto it = entries_.find(id);
    return it == entries_.end() ? 0 : it->second.stream->send_space();
}

void StreamMux::shutdown(std::uint16_t id) {
    auto it = entries_.find(id);
    if (it != entries_.end()) it->second.stream->shutdown_write();
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
    if (m.command == RelayCommand::begin) {
        if (side_ != Side::exit || it != entries_.end() || m.stream == 0 || m.data.empty() ||
            m.data.size() > kMaxTargetLength) {
            ++protocol_errors_;
            return;
        }
        if (entries_.size() >= kMaxStreamsPerCircuit) {
            out.messages.push_back({RelayCommand::end, m.stream,
                                    Bytes{static_cast<std::uint8_t>(EndReason::resource)}});
            return;
        }
        entries_[m.stream] = Entry{State::opening, std::make_unique<Stream>(cfg_)};
        out.events.push_back(
            {MuxEvent::Kind::begin, m.stream, std::string(m.data.begin(), m.data.end())});
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
        case RelayCommand::end: {
            auto reason =
                m.data.size() == 1 ? static_cast<EndReason>(m.data[0]) : EndReason::protocol;
            end(m.stream, reason, out);
            return;
        }
        case RelayCommand::data:
        case RelayCommand::ack: {
            std::vector<Outgoing> replies;
            if (m.command == RelayCommand::data) {
                if (e.first_data == TimePoint{}) e.first_data = now;
                e.last_data = now;
            }
            Status st = m.command == RelayCommand::data ? e.stream->on_data(m.data, now, replies)
                                                        : e.stream->on_ack(m.data, now);
            if (!st) {
                ++protocol_errors_;
                abort(m.stream, EndReason::protocol, out);
                return;
            }
            for (auto& r : replies)
                out.messages.push_back({r.command, m.stream, std::move(r.data)});
            if (e.stream->readable() > 0 && !e.announced_readable) {
                e.announced_readable = true;
                out.events.push_back({MuxEvent::Kind::readable, m.stream});
            }
            return;
        }
        default:
            ++protocol_errors_;
            return;
    }
}

void StreamMux::poll(TimePoint now, MuxOutput& out) {
    std::size_t flight = in_flight();
    std::size_t budget = flight >= circuit_window_ ? 0 : circuit_window_ - flight;
    std::vector<std::uint16_t> finished;
    std::vector<std::uint16_t> failed;
    // Round-robin from a rotating start so no stream starves the others.
    auto start = entries_.lower_bound(rr_);
    std::vector<std::uint16_t> order;
    for (auto it = start; it != entries_.end(); ++it) order.push_back(it->first);
    for (auto it = entries_.begin(); it != start; ++it) order.push_back(it->first);
    if (!order.empty()) rr_ = static_cast<std::uint16_t>(order.front() + 1);
    for (std::uint16_t id : order) {
        Entry& e = entries_[id];
        if (e.state != State::open) continue;
        std::vector<Outgoing> msgs;
        std::size_t share =
            std::max<std::size_t>(1, budget / std::max<std::size_t>(1, order.size()));
        e.stream->poll(now, std::min(share, budget), msgs);
        for (auto& m : msgs) {
            if (m.command == RelayCommand::data && budget > 0) --budget;
            out.messages.push_back({m.command, id, std::move(m.data)});
        }
        if (e.stream->failed())
            failed.push_back(id);
        else if (e.stream->peer_finished() && e.stream->all_acknowledged())
            finished.push_back(id);
    }
    for (auto id : failed) abort(id, EndReason::timeout, out);
    for (auto id : finished) end(id, EndReason::done, out);
}

std::optional<TimePoint> StreamMux::next_timer() const {
    std::optional<TimePoint> t;
    for (const auto& [id, e] : entries_)
        if (auto s = e.stream->next_timer(); s && (!t || *s < *t)) t = s;
    return t;
}

}  // namespace zmesh::stream
