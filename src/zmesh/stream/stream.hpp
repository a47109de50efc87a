#pragma once
// One end-to-end byte stream (client <-> exit) over a circuit: ordered, reliable
// delivery with cumulative and selective acknowledgements, retransmission on timeout
// and on SACK holes, receiver flow control and delay-based (Vegas) congestion control.
// Pure: bytes and time in, relay-message payloads out. Relays never see this state.
//
// DATA payload:  seq (4) | flags (1: FIN, ACK-now) | bytes
// ACK payload:   next expected seq (4) | window in segments (2) | n (1) | n x (start, end)

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "zmesh/circuit/messages.hpp"
#include "zmesh/core/clock.hpp"
#include "zmesh/core/result.hpp"
#include "zmesh/fec/adaptive.hpp"
#include "zmesh/fec/tetrys.hpp"

namespace zmesh::stream {

using Clock = zmesh::Clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;
using std::chrono::milliseconds;

inline constexpr std::size_t kDataHeader = 5;
inline constexpr std::size_t kSegmentSize = circuit::kMaxRelayData - kDataHeader;  // 1049
inline constexpr std::size_t kMaxSackBlocks = 16;
// With FEC a segment leaves room for the repair symbol header: a repair symbol codes
// flags (1) | bytes with a length (2) and must fit one relay message.
inline constexpr std::size_t kFecSegmentSize =
    circuit::kMaxRelayData - fec::kRepairHeader - 2 - 1;  // 1041

// FEC counters shared by every stream of a node (one event loop: plain integers).
struct FecCounters {
    std::uint64_t repairs_sent = 0;
    std::uint64_t repairs_received = 0;
    std::uint64_t recovered = 0;        // segments rebuilt without a retransmission
    std::uint64_t decode_failures = 0;  // repair symbols refused or rebuilt symbols that failed
    std::uint64_t loss_reports = 0;
    FecCounters& operator+=(const FecCounters& o) {
        repairs_sent += o.repairs_sent;
        repairs_received += o.repairs_received;
        recovered += o.recovered;
        decode_failures += o.decode_failures;
        loss_reports += o.loss_reports;
        return *this;
    }
};

struct StreamConfig {
    std::size_t send_buffer = 4 << 20;    // bytes the application may queue
    std::uint32_t receive_window = 2048;  // segments buffered at the receiver
    std::uint32_t initial_cwnd = 16;      // segments
    std::uint32_t min_cwnd = 4;
    std::uint32_t max_cwnd = 4096;
    // Vegas: queued segments below which cwnd grows, and above which it shrinks. As Tor's
    // exit circuits (2 and 4 outbufs of 62 cells), in our unit of queueing: a relay takes
    // and sends cells in runs of up to 51 (one GSO send, 64,000 bytes). With 4 and 12, a
    // 3-hop circuit of daemons on loopback reached 39 MiB/s; with these, 61 (docs/streams.md).
    std::uint32_t vegas_alpha = 100;
    std::uint32_t vegas_beta = 200;
    Duration initial_rto = milliseconds(1000);
    Duration min_rto = milliseconds(100);
    Duration max_rto = milliseconds(8000);
    Duration ack_delay = milliseconds(10);
    int max_retransmits = 12;  // then the stream fails
    // Tetrys forward erasure coding of what this end sends (unset: none; segments are
    // then kSegmentSize, else kFecSegmentSize). Receiving repair symbols needs nothing.
    std::optional<fec::TetrysConfig> fec;
    std::shared_ptr<FecCounters> fec_counters;
};

struct StreamStats {
    std::uint64_t segments_sent = 0;
    std::uint64_t segments_retransmitted = 0;
    std::uint64_t fast_retransmits = 0;
    std::uint64_t timeouts = 0;
    std::uint64_t segments_received = 0;
    std::uint64_t duplicates_received = 0;
    std::uint64_t out_of_window = 0;
    std::uint64_t acks_sent = 0;
    std::uint64_t acks_received = 0;
    std::uint64_t malformed = 0;
    std::uint64_t repairs_sent = 0;
    std::uint64_t repairs_received = 0;
    std::uint64_t recovered = 0;  // segments rebuilt from repair symbols
};

// What the stream wants sent: relay commands DATA or ACK with their payloads.
struct Outgoing {
    circuit::RelayCommand command;
    Bytes data;
};

class Stream {
  public:
    explicit Stream(StreamConfig config = {});

    // --- application side ---
    // Queues bytes for sending; returns how many fit in the send buffer.
    std::size_t write(ByteView data);
    // No more bytes will be written: a FIN follows the data.
    void shutdown_write();
    // In-order received bytes, removed from the stream (and the window reopens).
    std::size_t read(MutByteView out);
    std::size_t readable() const { return ready_.size(); }
    bool peer_finished() const { return fin_received_ && ready_.empty(); }
    // All our bytes (and FIN, if shut down) are acknowledged.
    bool all_acknowledged() const { return snd_una_ == snd_nxt_ && unsent_.empty(); }
    // Both directions are over: the peer's FIN read, ours sent and acknowledged.
    bool finished() const { return peer_finished() && fin_sent_ && all_acknowledged(); }
    bool failed() const { return failed_; }
    std::size_t send_space() const;

    // --- protocol side ---
    // `budget`: how many new segments the circuit lets this stream send now.
    void poll(TimePoint now, std::size_t budget, std::vector<Outgoing>& out);
    Status on_data(ByteView payload, TimePoint now, std::vector<Outgoing>& out);
    Status on_ack(ByteView payload, TimePoint now);
    // A Tetrys repair symbol: segments it rebuilds are taken as if they had arrived.
    // Malformed ones are counted and ignored.
    void on_repair(ByteView payload, TimePoint now, std::vector<Outgoing>& out);
    // The peer's loss measurement: sets the repair rate (adaptive FEC).
    Status on_fec_report(ByteView payload);
    double repair_rate() const { return encoder_ ? encoder_->repair_rate() : 0; }
    std::optional<TimePoint> next_deadline() const;

    // --- moving to another circuit (the old one died) ---
    // What this end has received, as an ACK payload: the peer resumes from it.
    Bytes receive_state() const;
    // Continues on a new path from the peer's receive state: segments it lacks were lost
    // with the old path and go out again (paced by the congestion window), the RTT
    // baseline starts over.
    Status resume(ByteView peer_state, TimePoint now);

    std::uint32_t cwnd() const { return cwnd_; }
    // Data waiting to be sent or in flight.
    bool sending() const { return !unsent_.empty() || snd_nxt_ != snd_una_; }
    // Nothing to send, nothing in flight, no timer, not over: poll() does nothing and
    // next_deadline() is empty until the application or the peer does something.
    bool quiet() const {
        return unsent_.empty() && (!fin_queued_ || fin_sent_) && flight_.empty() &&
               resend_.empty() && !window_update_ && !ack_due_ && !sack_dirty_ && !failed_ &&
               !finished();
    }
    // How many streams of the circuit are sending now: each keeps its share of the Vegas
    // queue target (so ten busy streams queue as much as one, not ten times as much).
    void set_queue_share(std::uint32_t streams) {
        queue_share_ = std::max<std::uint32_t>(1, streams);
    }
    // Application bytes written into and read out of this stream so far.
    std::uint64_t bytes_written() const { return bytes_written_; }
    std::uint64_t bytes_read() const { return bytes_read_; }
    std::size_t in_flight() const;
    Duration srtt() const { return srtt_; }
    const StreamStats& stats() const { return stats_; }

  private:
    struct Segment {
        Bytes bytes;
        bool fin = false;
        TimePoint sent{};
        int transmissions = 0;
        bool sacked = false;
        bool resend = false;  // waiting in resend_
    };
    void send_segment(std::uint32_t seq, Segment& s, TimePoint now, std::vector<Outgoing>& out,
                      bool ack_now = true);
    // A segment that arrived or was rebuilt; `rebuilt` ones are not fed back to the decoder.
    // `ack_now`: the sender asked for an acknowledgement of it at once.
    Status accept(std::uint32_t seq, bool fin, ByteView bytes, bool rebuilt, TimePoint now,
                  std::vector<Outgoing>& out, bool ack_now = false);
    // FEC loss accounting: a receiver's report of what arrived and what it rebuilt, and
    // the sender's estimate from that and its own retransmissions.
    void count_arrival(bool rebuilt, std::vector<Outgoing>& out);
    void estimate_loss();
    // `ack_now`: what the segment that completed them asked for.
    void take_rebuilt(std::vector<fec::Recovered>& rebuilt, TimePoint now,
                      std::vector<Outgoing>& out, bool ack_now = false);
    FecCounters* counters() { return cfg_.fec_counters.get(); }
    void queue_ack(std::vector<Outgoing>& out);
    void rtt_sample(Duration rtt);
    void on_round_end();
    Segment* segment(std::uint32_t seq);
    std::uint32_t receive_capacity() const;

    StreamConfig cfg_;
    // sender
    std::deque<std::uint8_t> unsent_;
    bool fin_queued_ = false;
    bool fin_sent_ = false;
    std::deque<Segment> flight_;        // segments snd_una_ .. snd_nxt_
    std::deque<std::uint32_t> resend_;  // lost with an old path, to send again
    std::uint32_t snd_una_ = 0;
    std::uint64_t bytes_written_ = 0;
    std::uint64_t bytes_read_ = 0;
    std::uint32_t snd_nxt_ = 0;
    std::uint32_t peer_window_ = 32;
    std::uint32_t since_ack_request_ = 0;  // new segments since one asked for an ACK
    std::uint32_t queue_share_ = 1;        // see set_queue_share
    std::uint32_t cwnd_;
    bool slow_start_ = true;
    Duration srtt_{};
    Duration rttvar_{};
    Duration rto_;
    Duration base_rtt_ = Duration::max();
    Duration round_min_rtt_ = Duration::max();
    std::uint32_t round_end_ = 0;
    std::uint32_t recovery_end_ = 0;
    bool in_recovery_ = false;

    std::size_t sacked_count_ = 0;
    bool sack_dirty_ = false;
    TimePoint latest_delivered_sent_{};
    bool window_update_ = false;
    TimePoint last_probe_{};
    // Nothing in flight, data to send, and the peer's window closed.
    bool window_blocked() const;
    bool failed_ = false;
    // receiver
    std::uint32_t rcv_nxt_ = 0;
    std::map<std::uint32_t, std::pair<Bytes, bool>> out_of_order_;
    std::deque<std::uint8_t> ready_;
    bool fin_received_ = false;
    int unacked_segments_ = 0;
    std::optional<TimePoint> ack_due_;
    StreamStats stats_;
    // FEC, sending: the encoder over segments in flight and the adaptive rate.
    std::unique_ptr<fec::TetrysEncoder> encoder_;
    std::optional<fec::AdaptiveRate> rate_;
    // FEC, receiving: the decoder (from the first repair symbol on) and loss accounting.
    std::unique_ptr<fec::TetrysDecoder> decoder_;
    std::uint32_t arrived_ = 0;  // receiver, since its last report: segments that arrived
    std::uint32_t rebuilt_ = 0;  // and that were rebuilt
    std::uint32_t late_ = 0;     // rebuilt, then arrived after all: only late, not lost
    std::deque<std::uint32_t> recent_rebuilt_;
    bool repairs_seen_ = false;
    std::uint32_t fec_sent_ = 0;          // sender, since its last estimate: new segments
    std::uint64_t fec_resent_base_ = 0;   // segments_retransmitted at the last estimate
    std::uint32_t reported_rebuilt_ = 0;  // rebuilt by the receiver, reported since
    int idle_intervals_ = 0;
};

}  // namespace zmesh::stream
