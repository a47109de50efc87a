#include "zmesh/stream/stream.hpp"

#include <algorithm>

namespace zmesh::stream {

using circuit::RelayCommand;

namespace {

constexpr std::uint8_t kFlagFin = 1;
// The sender asks for an acknowledgement of this segment at once (see poll).
constexpr std::uint8_t kFlagAckNow = 2;
constexpr std::uint8_t kDataFlags = kFlagFin | kFlagAckNow;
// A receiver acknowledges after this many segments even when none asked for it.
constexpr int kMaxUnacked = 64;
// The Vegas targets of one stream among many sharing a circuit do not go below these.
constexpr std::uint32_t kMinVegasAlpha = 4;
constexpr std::uint32_t kMinVegasBeta = 12;
constexpr std::size_t kAckHeader = 4 + 2 + 1;

}  // namespace

namespace {

// A receiver reports its loss after this many new segment numbers.
constexpr std::uint32_t kReportInterval = 128;
// Segments a receiver keeps for repair equations (a repair covers at most 255), and how
// many report intervals without a repair symbol before it drops them.
constexpr std::size_t kDecoderKeep = fec::kMaxWindow + 1;
constexpr int kDecoderIdleIntervals = 4;

}  // namespace

Stream::Stream(StreamConfig config)
    : cfg_(std::move(config)), cwnd_(cfg_.initial_cwnd), rto_(cfg_.initial_rto) {
    if (cfg_.fec) {
        encoder_ = std::make_unique<fec::TetrysEncoder>(*cfg_.fec);
        rate_.emplace(*cfg_.fec);
    }
}

std::size_t Stream::send_space() const {
    return unsent_.size() >= cfg_.send_buffer ? 0 : cfg_.send_buffer - unsent_.size();
}

std::size_t Stream::write(ByteView data) {
    if (fin_queued_ || failed_) return 0;
    std::size_t n = std::min(data.size(), send_space());
    unsent_.insert(unsent_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
    bytes_written_ += n;
    return n;
}

void Stream::shutdown_write() {
    fin_queued_ = true;
}

std::size_t Stream::read(MutByteView out) {
    std::size_t n = std::min(out.size(), ready_.size());
    std::copy_n(ready_.begin(), n, out.begin());
    ready_.erase(ready_.begin(), ready_.begin() + static_cast<std::ptrdiff_t>(n));
    // The window reopened: tell the sender, which may be waiting on it.
    if (n > 0) window_update_ = true;
    bytes_read_ += n;
    return n;
}

// Segments from rcv_nxt_ on that we can take: the window less what the application has
// not read yet.
std::uint32_t Stream::receive_capacity() const {
    auto unread = static_cast<std::uint32_t>((ready_.size() + kSegmentSize - 1) / kSegmentSize);
    return unread >= cfg_.receive_window ? 0 : cfg_.receive_window - unread;
}

std::size_t Stream::in_flight() const {
    return (snd_nxt_ - snd_una_) - sacked_count_;
}

Stream::Segment* Stream::segment(std::uint32_t seq) {
    if (seq < snd_una_ || seq >= snd_nxt_) return nullptr;
    return &flight_[seq - snd_una_];
}

void Stream::send_segment(std::uint32_t seq, Segment& s, TimePoint now, std::vector<Outgoing>& out,
                          bool ack_now) {
    Bytes data(kDataHeader + s.bytes.size());
    store_u32_be(data.data(), seq);
    data[4] = static_cast<std::uint8_t>((s.fin ? kFlagFin : 0) | (ack_now ? kFlagAckNow : 0));
    std::copy(s.bytes.begin(), s.bytes.end(), data.begin() + kDataHeader);
    out.push_back({RelayCommand::data, std::move(data)});
    if (s.transmissions > 0) ++stats_.segments_retransmitted;
    ++s.transmissions;
    s.sent = now;
    ++stats_.segments_sent;
}

void Stream::poll(TimePoint now, std::size_t budget, std::vector<Outgoing>& out) {
    if (failed_) return;
    // Retransmission timeout on the oldest unacknowledged segment.
    if (!flight_.empty() && !flight_.front().sacked && now >= flight_.front().sent + rto_) {
        Segment& s = flight_.front();
        if (s.transmissions > cfg_.max_retransmits) {
            failed_ = true;
            return;
        }
        ++stats_.timeouts;
        cwnd_ = std::max(cfg_.min_cwnd, cwnd_ / 2);
        slow_start_ = false;
        rto_ = std::min(rto_ * 2, cfg_.max_rto);
        send_segment(snd_una_, s, now, out);
    }
    // Loss detection (after RACK, RFC 8985): a segment is lost once a segment sent after
    // it, by more than a reordering allowance, has been delivered. This also catches a
    // lost retransmission without waiting for the timer.
    if (sack_dirty_) {
        sack_dirty_ = false;
        // With FEC the receiver may rebuild a lost segment: a repair symbol and the
        // acknowledgement it triggers get half a round trip before the segment is resent.
        Duration reorder = std::max(Duration(milliseconds(1)), encoder_ ? srtt_ / 2 : srtt_ / 4);
        for (std::size_t i = 0; i < flight_.size(); ++i) {
            Segment& s = flight_[i];
            if (s.sacked || s.resend || s.sent + reorder >= latest_delivered_sent_) continue;
            ++stats_.fast_retransmits;
            if (!in_recovery_) {
                // Random loss is not congestion (delay is the signal here): back off by
                // 1/16, once per window. Halving on every loss, as loss-based control
                // does, cut throughput on a 2%-loss path to a fifth in measurements.
                in_recovery_ = true;
                recovery_end_ = snd_nxt_;
                cwnd_ = std::max(cfg_.min_cwnd, cwnd_ - cwnd_ / 16);
                slow_start_ = false;
            }
            send_segment(snd_una_ + static_cast<std::uint32_t>(i), s, now, out);
        }
    }
    // Segments lost with an old path, oldest first, as the congestion window allows
    // (those still waiting do not count as in the network).
    while (!resend_.empty() &&
           (resend_.size() >= in_flight() || in_flight() - resend_.size() < cwnd_)) {
        std::uint32_t seq = resend_.front();
        resend_.pop_front();
        Segment* s = segment(seq);
        if (s == nullptr || !s->resend) continue;
        s->resend = false;
        if (!s->sacked) send_segment(seq, *s, now, out);
    }
    // New data within the congestion window, the peer's window and the circuit's budget.
    while (resend_.empty() && budget > 0 && in_flight() < cwnd_ &&
           snd_nxt_ - snd_una_ < peer_window_ &&
           (!unsent_.empty() || (fin_queued_ && !fin_sent_))) {
        Segment s;
        std::size_t n = std::min(unsent_.size(), encoder_ ? kFecSegmentSize : kSegmentSize);
        s.bytes.assign(unsent_.begin(), unsent_.begin() + static_cast<std::ptrdiff_t>(n));
        unsent_.erase(unsent_.begin(), unsent_.begin() + static_cast<std::ptrdiff_t>(n));
        s.fin = unsent_.empty() && fin_queued_;
        fin_sent_ = fin_sent_ || s.fin;
        flight_.push_back(std::move(s));
        // An acknowledgement is asked for every quarter window (so a clean path costs one
        // ACK cell per cwnd/4 data cells, not one per two), and for the last segment before
        // this end waits: its window is full, or it has nothing more to send.
        bool ack_now = ++since_ack_request_ >= std::max<std::uint32_t>(2, cwnd_ / 4) ||
                       unsent_.empty() || in_flight() + 1 >= cwnd_ || budget == 1 ||
                       snd_nxt_ + 1 - snd_una_ >= peer_window_;
        if (ack_now) since_ack_request_ = 0;
        send_segment(snd_nxt_, flight_.back(), now, out, ack_now);
        if (encoder_) {
            estimate_loss();
            // The source symbol is what DATA carries after its number: flags | bytes,
            // with the FIN flag only (the receiver codes what it got the same way).
            Bytes& data = out.back().data;
            std::uint8_t flags = data[4];
            data[4] &= kFlagFin;
            (void)encoder_->add_source(snd_nxt_, ByteView{data}.subspan(4));
            data[4] = flags;
            for (auto& r : encoder_->take_repairs()) {
                out.push_back({RelayCommand::repair, std::move(r)});
                ++stats_.repairs_sent;
                if (auto* c = counters()) ++c->repairs_sent;
            }
        }
        ++snd_nxt_;
        --budget;
    }
    // Zero window and nothing in flight: probe now and then, in case an update was lost.
    if (window_blocked() && now >= last_probe_ + rto_) {
        last_probe_ = now;  // without budget now: the next try is an rto later
        if (budget > 0) {
            peer_window_ = snd_nxt_ - snd_una_ + 1;  // allow one segment, then wait again
            poll(now, 1, out);
            return;
        }
    }
    if (window_update_ && ack_due_ == std::nullopt && unacked_segments_ == 0) {
        window_update_ = false;
        queue_ack(out);
    } else if (ack_due_ && now >= *ack_due_) {
        queue_ack(out);
    }
}

bool Stream::window_blocked() const {
    return flight_.empty() && snd_nxt_ - snd_una_ >= peer_window_ &&
           (!unsent_.empty() || (fin_queued_ && !fin_sent_));
}

std::optional<TimePoint> Stream::next_deadline() const {
    std::optional<TimePoint> t = ack_due_;
    if (!flight_.empty() && !failed_) {
        TimePoint rto_at = flight_.front().sent + rto_;
        if (!t || rto_at < *t) t = rto_at;
    }
    // A closed window with nothing in flight: only a probe restarts the stream if the
    // receiver's window update was lost, and nothing else would wake it for one.
    if (!failed_ && window_blocked()) {
        TimePoint probe_at = last_probe_ + rto_;
        if (!t || probe_at < *t) t = probe_at;
    }
    return t;
}

Bytes Stream::receive_state() const {
    std::uint32_t window = receive_capacity();
    std::vector<std::pair<std::uint32_t, std::uint32_t>> blocks;
    for (const auto& [seq, seg] : out_of_order_) {
        if (!blocks.empty() && blocks.back().second == seq) {
            blocks.back().second = seq + 1;
        } else {
            if (blocks.size() == kMaxSackBlocks) break;
            blocks.push_back({seq, seq + 1});
        }
    }
    Bytes data(kAckHeader + 8 * blocks.size());
    store_u32_be(data.data(), rcv_nxt_);
    store_u16_be(data.data() + 4,
                 static_cast<std::uint16_t>(std::min<std::uint32_t>(window, 65535)));
    data[6] = static_cast<std::uint8_t>(blocks.size());
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        store_u32_be(data.data() + kAckHeader + 8 * i, blocks[i].first);
        store_u32_be(data.data() + kAckHeader + 8 * i + 4, blocks[i].second);
    }
    return data;
}

void Stream::queue_ack(std::vector<Outgoing>& out) {
    out.push_back({RelayCommand::ack, receive_state()});
    ++stats_.acks_sent;
    window_update_ = false;
    unacked_segments_ = 0;
    ack_due_.reset();
}

Status Stream::resume(ByteView peer_state, TimePoint now) {
    if (auto st = on_ack(peer_state, now); !st) return st;
    resend_.clear();
    for (std::uint32_t seq = snd_una_; seq < snd_nxt_; ++seq) {
        Segment& s = flight_[seq - snd_una_];
        if (s.sacked) continue;
        s.sent = now;  // restarts its timer: it has not been lost on the new path yet
        s.resend = true;
        resend_.push_back(seq);
    }
    base_rtt_ = Duration::max();
    round_min_rtt_ = Duration::max();
    round_end_ = snd_nxt_;
    in_recovery_ = false;
    sack_dirty_ = false;
    return {};
}

Status Stream::on_data(ByteView payload, TimePoint now, std::vector<Outgoing>& out) {
    if (payload.size() < kDataHeader || payload.size() > kDataHeader + kSegmentSize ||
        (payload[4] & ~kDataFlags) != 0) {
        ++stats_.malformed;
        return Errc::malformed;
    }
    std::uint32_t seq = load_u32_be(payload.data());
    return accept(seq, (payload[4] & kFlagFin) != 0, payload.subspan(kDataHeader), false, now, out,
                  (payload[4] & kFlagAckNow) != 0);
}

// The receiver tells a sender that codes how many segments arrived and how many it
// rebuilt (losses the sender cannot see: they are acknowledged like the others).
void Stream::count_arrival(bool rebuilt, std::vector<Outgoing>& out) {
    ++(rebuilt ? rebuilt_ : arrived_);
    if (arrived_ + rebuilt_ < kReportInterval) return;
    if (repairs_seen_) {
        Bytes report(4);
        std::uint32_t lost = rebuilt_ > late_ ? rebuilt_ - late_ : 0;
        late_ = rebuilt_ > late_ ? 0 : late_ - rebuilt_;
        store_u16_be(report.data(), static_cast<std::uint16_t>(lost));
        store_u16_be(report.data() + 2, static_cast<std::uint16_t>(arrived_));
        out.push_back({RelayCommand::fec_report, std::move(report)});
        idle_intervals_ = 0;
    } else if (decoder_ && ++idle_intervals_ >= kDecoderIdleIntervals) {
        decoder_.reset();  // the sender stopped coding: free what the equations kept
    }
    arrived_ = 0;
    rebuilt_ = 0;
    repairs_seen_ = false;
}

// The sender's loss estimate every kReportInterval new segments: what it had to send
// again plus what the receiver rebuilt, per segment sent; it sets the repair rate.
void Stream::estimate_loss() {
    if (!encoder_ || !rate_ || ++fec_sent_ < kReportInterval) return;
    auto resent = stats_.segments_retransmitted - fec_resent_base_;
    double loss = static_cast<double>(resent + reported_rebuilt_) / fec_sent_;
    encoder_->set_repair_rate(rate_->on_loss(std::min(loss, 1.0)));
    fec_sent_ = 0;
    fec_resent_base_ = stats_.segments_retransmitted;
    reported_rebuilt_ = 0;
}

Status Stream::accept(std::uint32_t seq, bool fin, ByteView bytes, bool rebuilt, TimePoint now,
                      std::vector<Outgoing>& out, bool ack_now) {
    ++stats_.segments_received;
    if (seq < rcv_nxt_ || out_of_order_.contains(seq)) {
        ++stats_.duplicates_received;
        // A segment rebuilt before it arrived was only late: not a loss for the report.
        if (auto it = std::find(recent_rebuilt_.begin(), recent_rebuilt_.end(), seq);
            !rebuilt && it != recent_rebuilt_.end()) {
            recent_rebuilt_.erase(it);
            ++late_;
        }
        if (!rebuilt) queue_ack(out);  // the peer may have missed our ack
        return {};
    }
    if (seq - rcv_nxt_ >= receive_capacity()) {
        ++stats_.out_of_window;
        queue_ack(out);
        return {};
    }
    if (decoder_ && !rebuilt) {
        Bytes symbol(1 + bytes.size());
        symbol[0] = fin ? kFlagFin : 0;
        std::copy(bytes.begin(), bytes.end(), symbol.begin() + 1);
        auto more = decoder_->add_source(seq, symbol);
        take_rebuilt(more, now, out, ack_now);
        if (seq < rcv_nxt_ || out_of_order_.contains(seq)) return {};  // (cannot happen)
    }
    if (!rebuilt) count_arrival(false, out);
    if (seq != rcv_nxt_) {
        out_of_order_.emplace(seq, std::make_pair(Bytes(bytes.begin(), bytes.end()), fin));
        queue_ack(out);  // tell the sender about the hole at once
        return {};
    }
    bool filled_hole = !out_of_order_.empty();
    ready_.insert(ready_.end(), bytes.begin(), bytes.end());
    fin_received_ = fin_received_ || fin;
    ++rcv_nxt_;
    for (auto it = out_of_order_.find(rcv_nxt_); it != out_of_order_.end();
         it = out_of_order_.find(rcv_nxt_)) {
        ready_.insert(ready_.end(), it->second.first.begin(), it->second.first.end());
        fin_received_ = fin_received_ || it->second.second;
        out_of_order_.erase(it);
        ++rcv_nxt_;
    }
    // Acknowledged at once when the sender asked (see poll), when a hole was filled (the
    // sender may be about to resend it), at the end; else after ack_delay. While the
    // sender codes repair symbols (a lossy path), every second segment, as TCP does: what
    // the repairs rebuilt must reach the sender before its loss detection resends it
    // (acknowledging only on request, a 5%-loss test path resent 14 times as much).
    int every = decoder_ ? 2 : kMaxUnacked;
    if (ack_now || ++unacked_segments_ >= every || fin_received_ || filled_hole) {
        queue_ack(out);
    } else if (!ack_due_) {
        ack_due_ = now + cfg_.ack_delay;
    }
    return {};
}

void Stream::take_rebuilt(std::vector<fec::Recovered>& rebuilt, TimePoint now,
                          std::vector<Outgoing>& out, bool ack_now) {
    for (auto& r : rebuilt) {
        // flags | bytes, as the sender coded it.
        if (r.payload.empty() || (r.payload[0] & ~kFlagFin) != 0 ||
            r.payload.size() > 1 + kSegmentSize) {
            if (auto* c = counters()) ++c->decode_failures;
            continue;
        }
        if (r.id >= rcv_nxt_ && !out_of_order_.contains(r.id)) {
            count_arrival(true, out);
            recent_rebuilt_.push_back(r.id);
            if (recent_rebuilt_.size() > 256) recent_rebuilt_.pop_front();
            ++stats_.recovered;
            if (auto* c = counters()) ++c->recovered;
        }
        (void)accept(r.id, (r.payload[0] & kFlagFin) != 0, ByteView{r.payload}.subspan(1), true,
                     now, out, ack_now);
    }
}

void Stream::on_repair(ByteView payload, TimePoint now, std::vector<Outgoing>& out) {
    ++stats_.repairs_received;
    if (auto* c = counters()) ++c->repairs_received;
    repairs_seen_ = true;
    if (!decoder_) {
        // From now on every segment is kept for the equations (2 windows' worth).
        decoder_ = std::make_unique<fec::TetrysDecoder>(kDecoderKeep);
    }
    auto rebuilt = decoder_->add_repair(payload);
    if (!rebuilt) {
        ++stats_.malformed;
        if (auto* c = counters()) ++c->decode_failures;
        return;
    }
    take_rebuilt(*rebuilt, now, out);
}

Status Stream::on_fec_report(ByteView payload) {
    if (payload.size() != 4) {
        ++stats_.malformed;
        return Errc::malformed;
    }
    if (auto* c = counters()) ++c->loss_reports;
    reported_rebuilt_ += load_u16_be(payload.data());
    return {};
}

void Stream::rtt_sample(Duration rtt) {
    if (srtt_ == Duration{}) {
        srtt_ = rtt;
        rttvar_ = rtt / 2;
    } else {
        Duration err = srtt_ > rtt ? srtt_ - rtt : rtt - srtt_;
        rttvar_ = (rttvar_ * 3 + err) / 4;
        srtt_ = (srtt_ * 7 + rtt) / 8;
    }
    rto_ = std::clamp(srtt_ + std::max(rttvar_ * 4, Duration(milliseconds(10))), cfg_.min_rto,
                      cfg_.max_rto);
    round_min_rtt_ = std::min(round_min_rtt_, rtt);
}

// Vegas, once per round trip: compare the RTT with the lowest seen to estimate how many
// of our segments sit in queues, and keep that between alpha and beta.
void Stream::on_round_end() {
    if (round_min_rtt_ == Duration::max()) return;
    base_rtt_ = std::min(base_rtt_, round_min_rtt_);
    double rtt = std::chrono::duration<double>(round_min_rtt_).count();
    double base = std::chrono::duration<double>(base_rtt_).count();
    double queued = rtt > 0 ? cwnd_ * (rtt - base) / rtt : 0;
    // This stream's part of the circuit's target, never below the classic 4 and 12.
    std::uint32_t alpha = std::max<std::uint32_t>(kMinVegasAlpha, cfg_.vegas_alpha / queue_share_);
    std::uint32_t beta = std::max<std::uint32_t>(kMinVegasBeta, cfg_.vegas_beta / queue_share_);
    // What the path holds without queueing (the bandwidth-delay product, in segments).
    double bdp = static_cast<double>(cwnd_) - queued;
    auto to = [&](double segments) {
        return std::clamp(static_cast<std::uint32_t>(segments), cfg_.min_cwnd, cfg_.max_cwnd);
    };
    if (slow_start_) {
        // Doubling overshoots by up to a round's growth: leave slow start at the target
        // (as Tor's Vegas does), not at the overshoot.
        if (queued > alpha) {
            slow_start_ = false;
            cwnd_ = to(bdp + alpha);
        } else {
            cwnd_ = std::min(cfg_.max_cwnd, cwnd_ * 2);
        }
    } else if (queued < alpha) {
        cwnd_ = std::min(cfg_.max_cwnd, cwnd_ + 1);
    } else if (queued > 2.0 * beta) {
        cwnd_ = to(bdp + beta);  // far above the target (a path that slowed): at once
    } else if (queued > beta) {
        cwnd_ = std::max(cfg_.min_cwnd, cwnd_ - 1);
    }
    round_min_rtt_ = Duration::max();
}

Status Stream::on_ack(ByteView payload, TimePoint now) {
    if (payload.size() < kAckHeader) {
        ++stats_.malformed;
        return Errc::malformed;
    }
    std::uint32_t cum = load_u32_be(payload.data());
    std::uint32_t window = load_u16_be(payload.data() + 4);
    std::size_t n = payload[6];
    if (n > kMaxSackBlocks || payload.size() != kAckHeader + 8 * n || cum > snd_nxt_) {
        ++stats_.malformed;
        return Errc::malformed;
    }
    ++stats_.acks_received;
    if (cum < snd_una_) return {};  // overtaken by a newer ack on a reordering path
    peer_window_ = window;
    std::optional<Duration> sample;
    bool advanced = cum > snd_una_;
    while (snd_una_ < cum) {
        Segment& s = flight_.front();
        if (s.transmissions == 1) sample = now - s.sent;  // Karn: never from a retransmission
        latest_delivered_sent_ = std::max(latest_delivered_sent_, s.sent);
        if (s.sacked) --sacked_count_;
        flight_.pop_front();
        ++snd_una_;
    }
    for (std::size_t i = 0; i < n; ++i) {
        std::uint32_t start = load_u32_be(payload.data() + kAckHeader + 8 * i);
        std::uint32_t end = load_u32_be(payload.data() + kAckHeader + 8 * i + 4);
        if (start >= end || end > snd_nxt_) {
            ++stats_.malformed;
            return Errc::malformed;
        }
        for (std::uint32_t seq = std::max(start, snd_una_); seq < end; ++seq) {
            Segment* s = segment(seq);
            if (s == nullptr || s->sacked) continue;
            s->sacked = true;
            ++sacked_count_;
            latest_delivered_sent_ = std::max(latest_delivered_sent_, s->sent);
            if (s->transmissions == 1) sample = now - s->sent;
            sack_dirty_ = true;
        }
    }
    if (sample) rtt_sample(*sample);
    if (advanced && encoder_) encoder_->acknowledge(snd_una_);
    if (advanced) {
        if (in_recovery_ && snd_una_ >= recovery_end_) in_recovery_ = false;
        if (snd_una_ >= round_end_) {
            on_round_end();
            round_end_ = snd_nxt_;
        }
    }
    return {};
}

}  // namespace zmesh::stream
