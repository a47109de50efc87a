// Two stream ends over a simulated circuit with delay, jitter, loss, duplication and
// reordering, in virtual time: every byte must arrive exactly once and in order.
#include <gtest/gtest.h>

#include <queue>
#include <random>

#include "zmesh/stream/stream.hpp"

namespace zmesh::stream {
namespace {

using circuit::RelayCommand;
using std::chrono::microseconds;

struct Channel {
    double loss = 0;
    double duplicate = 0;
    Duration delay = milliseconds(5);
    Duration jitter = milliseconds(0);
    // A bottleneck: each message occupies the channel this long (0: none), so messages
    // sent faster than that wait in a queue.
    Duration per_message{};
};

class Sim {
  public:
    Sim(Channel ch, StreamConfig cfg = {}, unsigned seed = 1)
        : ch_(ch), rng_(seed), ends_{Stream(cfg), Stream(cfg)} {}

    Stream& end(int i) { return ends_[i]; }

    // Runs until `done` or the virtual deadline; returns false on the deadline.
    bool run(const std::function<bool()>& done, Duration limit = std::chrono::seconds(600)) {
        TimePoint deadline = now_ + limit;
        while (!done()) {
            if (now_ > deadline) return false;
            for (int i = 0; i < 2; ++i) {
                std::vector<Outgoing> out;
                ends_[i].poll(now_, 64, out);
                send(i, out);
            }
            if (on_step) on_step();
            // Advance to the next event or timer.
            TimePoint next = now_ + milliseconds(50);
            if (!queue_.empty()) next = std::min(next, queue_.top().at);
            for (auto& e : ends_)
                if (auto t = e.next_deadline()) next = std::min(next, std::max(*t, now_));
            now_ = std::max(next, now_ + microseconds(10));
            while (!queue_.empty() && queue_.top().at <= now_) {
                Event ev = queue_.top();
                queue_.pop();
                std::vector<Outgoing> out;
                Stream& s = ends_[ev.to];
                switch (ev.msg.command) {
                    case RelayCommand::data:
                        EXPECT_TRUE(s.on_data(ev.msg.data, now_, out));
                        break;
                    case RelayCommand::repair:
                        s.on_repair(ev.msg.data, now_, out);
                        break;
                    case RelayCommand::fec_report:
                        EXPECT_TRUE(s.on_fec_report(ev.msg.data));
                        break;
                    default:
                        EXPECT_TRUE(s.on_ack(ev.msg.data, now_));
                }
                send(ev.to, out);
            }
        }
        return true;
    }

    std::function<void()> on_step;
    std::uint64_t dropped = 0;
    TimePoint now_{std::chrono::seconds(10)};

  private:
    struct Event {
        TimePoint at;
        std::uint64_t order;
        int to;
        Outgoing msg;
        bool operator>(const Event& o) const { return at != o.at ? at > o.at : order > o.order; }
    };

    void send(int from, std::vector<Outgoing>& out) {
        std::uniform_real_distribution<double> u(0, 1);
        for (auto& m : out) {
            if (u(rng_) < ch_.loss) {
                ++dropped;
                continue;
            }
            int copies = u(rng_) < ch_.duplicate ? 2 : 1;
            for (int c = 0; c < copies; ++c) {
                auto j = ch_.jitter.count() > 0
                             ? Duration(static_cast<Duration::rep>(u(rng_) * ch_.jitter.count()))
                             : Duration{};
                TimePoint leaves = now_;
                if (ch_.per_message > Duration{}) {
                    free_[from] = std::max(free_[from], now_) + ch_.per_message;
                    leaves = free_[from];
                }
                queue_.push({leaves + ch_.delay + j, order_++, 1 - from, m});
            }
        }
    }

    Channel ch_;
    std::mt19937_64 rng_;
    Stream ends_[2];
    std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
    TimePoint free_[2]{};  // when each direction's bottleneck is free again
    std::uint64_t order_ = 0;
};

Bytes pattern(std::size_t n, std::uint8_t seed) {
    Bytes b(n);
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& v : b) {
        x = x * 1664525u + 1013904223u;
        v = static_cast<std::uint8_t>(x >> 24);
    }
    return b;
}

// Sends `data` from end 0 to end 1 (and `back` from 1 to 0) and checks both arrive.
void transfer(Sim& sim, const Bytes& data, const Bytes& back) {
    std::size_t sent[2] = {0, 0};
    Bytes got[2];
    const Bytes* src[2] = {&data, &back};
    sim.on_step = [&] {
        for (int i = 0; i < 2; ++i) {
            Stream& s = sim.end(i);
            if (sent[i] < src[i]->size()) sent[i] += s.write(ByteView{*src[i]}.subspan(sent[i]));
            if (sent[i] == src[i]->size()) s.shutdown_write();
            Bytes buf(s.readable());
            s.read(buf);
            got[i].insert(got[i].end(), buf.begin(), buf.end());
        }
    };
    bool ok = sim.run([&] {
        return sim.end(0).peer_finished() && sim.end(1).peer_finished() &&
               sim.end(0).all_acknowledged() && sim.end(1).all_acknowledged();
    });
    ASSERT_TRUE(ok) << "did not finish: got " << got[1].size() << "/" << data.size() << " and "
                    << got[0].size() << "/" << back.size();
    EXPECT_TRUE(got[1] == data);
    EXPECT_TRUE(got[0] == back);
    EXPECT_FALSE(sim.end(0).failed());
}

TEST(Stream, clean_channel_delivers_both_ways) {
    Sim sim({});
    transfer(sim, pattern(3 << 20, 1), pattern(100000, 2));
    EXPECT_EQ(sim.end(0).stats().segments_retransmitted, 0u);
}

TEST(Stream, two_percent_loss_with_jitter_and_duplicates) {
    Sim sim({0.02, 0.02, milliseconds(5), milliseconds(4)}, {}, 7);
    transfer(sim, pattern(4 << 20, 3), pattern(1 << 20, 4));
    EXPECT_GT(sim.dropped, 50u);
    EXPECT_GT(sim.end(0).stats().fast_retransmits, 0u);
    EXPECT_GT(sim.end(1).stats().duplicates_received, 0u);
}

TEST(Stream, heavy_loss_still_completes) {
    Sim sim({0.15, 0.0, milliseconds(2), milliseconds(2)}, {}, 11);
    transfer(sim, pattern(300000, 5), pattern(1000, 6));
    EXPECT_GT(sim.end(0).stats().timeouts + sim.end(0).stats().fast_retransmits, 10u);
}

TEST(Stream, empty_stream_just_finishes) {
    Sim sim({});
    transfer(sim, {}, {});
}

TEST(Stream, receiver_that_stops_reading_closes_the_window) {
    StreamConfig cfg;
    cfg.receive_window = 64;
    cfg.send_buffer = 256 << 10;
    Sim sim({}, cfg);
    Bytes data = pattern(2 << 20, 9);
    std::size_t sent = 0;
    std::size_t max_flight = 0;
    sim.on_step = [&] {
        sent += sim.end(0).write(ByteView{data}.subspan(sent));
        max_flight = std::max(max_flight, sim.end(0).in_flight());
    };
    // The receiver reads nothing: the sender must stall with at most a window in flight.
    sim.run([] { return false; }, std::chrono::seconds(2));
    EXPECT_LE(sim.end(1).readable(), 64 * kSegmentSize);
    EXPECT_LE(max_flight, 64u);
    EXPECT_LT(sent, data.size());
    EXPECT_FALSE(sim.end(0).failed());
    // Then it reads, and everything arrives.
    Bytes got;
    sim.on_step = [&] {
        sent += sim.end(0).write(ByteView{data}.subspan(sent));
        if (sent == data.size()) sim.end(0).shutdown_write();
        Bytes buf(sim.end(1).readable());
        sim.end(1).read(buf);
        got.insert(got.end(), buf.begin(), buf.end());
    };
    ASSERT_TRUE(sim.run([&] { return sim.end(1).peer_finished(); }));
    EXPECT_TRUE(got == data);
}

// A sender stopped by a closed window with nothing in flight depends on the receiver's
// window update; if that one ACK is lost, only a probe restarts the stream, so the sender
// must keep a timer for it (an event loop wakes streams only at their timers).
TEST(Stream, sender_blocked_by_a_closed_window_keeps_a_probe_timer) {
    StreamConfig cfg;
    cfg.receive_window = 16;
    cfg.send_buffer = 256 << 10;
    Sim sim({}, cfg);
    Bytes data = pattern(1 << 20, 3);
    std::size_t sent = 0;
    sim.on_step = [&] { sent += sim.end(0).write(ByteView{data}.subspan(sent)); };
    // Until the receiver (which reads nothing) acknowledged a full window.
    ASSERT_TRUE(sim.run(
        [&] { return sim.end(1).readable() >= 16 * kSegmentSize && sim.end(0).in_flight() == 0; }));
    ASSERT_LT(sent, data.size());
    auto t = sim.end(0).next_deadline();
    ASSERT_TRUE(t.has_value()) << "a blocked sender with nothing in flight has no timer";
    // With no circuit budget at that time it cannot probe: its timer moves on instead of
    // staying in the past (which would spin the event loop).
    std::vector<Outgoing> none;
    sim.end(0).poll(*t, 0, none);
    EXPECT_TRUE(none.empty());
    auto later = sim.end(0).next_deadline();
    ASSERT_TRUE(later.has_value());
    EXPECT_GT(*later, *t);
    // With budget, a poll at that time sends one probe segment beyond the closed window.
    std::vector<Outgoing> out;
    sim.end(0).poll(*later, 64, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].command, RelayCommand::data);
}

TEST(Stream, delay_based_window_grows_on_an_idle_path) {
    Sim sim({0, 0, milliseconds(20), {}});
    Bytes data = pattern(8 << 20, 1);
    std::size_t sent = 0;
    sim.on_step = [&] {
        sent += sim.end(0).write(ByteView{data}.subspan(sent));
        Bytes buf(sim.end(1).readable());
        sim.end(1).read(buf);
    };
    sim.run([] { return false; }, std::chrono::seconds(3));
    EXPECT_GT(sim.end(0).cwnd(), 64u);  // grew from 16 without queues building up
}

// Each ACK cell crosses every relay of the circuit: on a clean path the sender asks for
// one per quarter window, not one per two segments.
TEST(Stream, a_clean_path_costs_few_acknowledgements) {
    Sim sim({});
    transfer(sim, pattern(8 << 20, 1), {});
    auto segments = sim.end(0).stats().segments_sent;
    auto acks = sim.end(1).stats().acks_sent;
    EXPECT_GT(segments, 7900u);
    EXPECT_LT(acks * 8, segments) << acks << " ACKs for " << segments << " segments";
    EXPECT_EQ(sim.end(0).stats().segments_retransmitted, 0u);
}

// A request that fits one segment is acknowledged when it arrives, not after the delayed
// ACK timer: the sender has nothing more to send and asks for it.
TEST(Stream, a_lone_segment_is_acknowledged_without_delay) {
    Sim sim({0, 0, milliseconds(5), {}});
    TimePoint start = sim.now_;
    Bytes request = pattern(600, 3);
    ASSERT_EQ(sim.end(0).write(request), request.size());
    ASSERT_TRUE(sim.run([&] { return sim.end(0).all_acknowledged(); }));
    EXPECT_LT(sim.now_ - start, milliseconds(12));  // one round trip is 10 ms
    EXPECT_EQ(sim.end(1).readable(), request.size());
}

// At a bottleneck a stream keeps its Vegas target queued (100-200 segments); one of ten
// streams sending on a circuit keeps a tenth of it, so ten queue as much as one.
TEST(Stream, a_stream_sharing_its_circuit_keeps_a_shorter_queue) {
    auto queue_delay = [](std::uint32_t share) {
        // 5 ms each way, 10,000 segments per second at the bottleneck.
        Sim sim({0, 0, milliseconds(5), {}, microseconds(100)});
        sim.end(0).set_queue_share(share);
        Bytes data = pattern(16 << 20, 4);
        std::size_t sent = 0;
        sim.on_step = [&] {
            sent += sim.end(0).write(ByteView{data}.subspan(sent));
            Bytes buf(sim.end(1).readable());
            sim.end(1).read(buf);
        };
        sim.run([] { return false; }, std::chrono::seconds(4));
        return sim.end(0).srtt() - milliseconds(10);
    };
    auto alone = queue_delay(1);
    auto shared = queue_delay(10);
    // Alone: 100-200 segments queued, 10-20 ms; a tenth of that shared (1-2 ms, with
    // the floor of 4-12 segments).
    EXPECT_GT(alone, milliseconds(8));
    EXPECT_LT(shared, milliseconds(3));
}

TEST(Stream, malformed_messages_are_refused) {
    Stream s;
    std::vector<Outgoing> out;
    auto now = Clock::now();
    EXPECT_FALSE(s.on_data(Bytes(3), now, out));
    Bytes bad_flags(10, 0);
    bad_flags[4] = 0x80;
    EXPECT_FALSE(s.on_data(bad_flags, now, out));
    EXPECT_FALSE(s.on_data(Bytes(kDataHeader + kSegmentSize + 1), now, out));
    EXPECT_FALSE(s.on_ack(Bytes(2), now));
    Bytes ack_beyond(7, 0);
    store_u32_be(ack_beyond.data(), 5);  // acknowledges data never sent
    EXPECT_FALSE(s.on_ack(ack_beyond, now));
    Bytes too_many(7, 0);
    too_many[6] = 200;
    EXPECT_FALSE(s.on_ack(too_many, now));
    EXPECT_EQ(s.stats().malformed, 6u);
}

}  // namespace
}  // namespace zmesh::stream

namespace zmesh::stream {
namespace {

TEST(StreamFec, five_percent_loss_is_mostly_rebuilt_without_retransmission) {
    StreamConfig cfg;
    cfg.fec = fec::TetrysConfig{};
    cfg.fec_counters = std::make_shared<FecCounters>();
    Sim sim({0.05, 0.0, milliseconds(5), milliseconds(2)}, cfg, 21);
    transfer(sim, pattern(4 << 20, 7), pattern(200000, 8));
    const auto& tx = sim.end(0).stats();
    const auto& rx = sim.end(1).stats();
    EXPECT_GT(tx.repairs_sent, 0u);
    EXPECT_GT(rx.recovered, 0u);
    // Most losses were rebuilt at the receiver rather than sent again.
    EXPECT_GT(rx.recovered, tx.segments_retransmitted)
        << rx.recovered << " rebuilt, " << tx.segments_retransmitted << " resent";
    EXPECT_GT(cfg.fec_counters->loss_reports, 0u);
    // The rate followed the measured loss: about 2 x 5% + 2%.
    EXPECT_GT(sim.end(0).repair_rate(), 0.06);
    EXPECT_LT(sim.end(0).repair_rate(), 0.25);
}

TEST(StreamFec, a_clean_path_turns_repair_off_and_malformed_repairs_are_ignored) {
    StreamConfig cfg;
    cfg.fec = fec::TetrysConfig{};
    cfg.fec->min_repair_rate = 0;
    Sim sim({}, cfg, 22);
    transfer(sim, pattern(2 << 20, 9), pattern(1000, 10));
    EXPECT_DOUBLE_EQ(sim.end(0).repair_rate(), 0);
    // Repairs went out only until the first report said nothing was lost.
    EXPECT_LT(sim.end(0).stats().repairs_sent, 2 * 128 / 10 + 2);
    Stream s;
    std::vector<Outgoing> out;
    s.on_repair(Bytes{1, 2, 3}, Clock::now(), out);
    EXPECT_EQ(s.stats().malformed, 1u);
    EXPECT_FALSE(s.on_fec_report(Bytes{1}));
}

}  // namespace
}  // namespace zmesh::stream
