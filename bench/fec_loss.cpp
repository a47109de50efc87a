// Loss figures for Tetrys (issue 7), deterministic (seeded):
//  1. the fraction of lost source symbols rebuilt without retransmission, at 1%, 5% and
//     10% random loss and under Gilbert-Elliott burst loss, and the repair overhead;
//     retransmission alone rebuilds none of them (each costs a round trip instead);
//  2. a stream through a 20 ms, 40 Mbit/s path with 5% loss each way, with and without
//     FEC: bulk goodput, and the delivery latency of a paced 1 KiB-per-2-ms flow (p50, p99).
// Usage: zmesh_fec_loss
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <queue>
#include <random>
#include <set>

#include "zmesh/fec/tetrys.hpp"
#include "zmesh/stream/stream.hpp"

using namespace zmesh;

namespace {

struct Codec {
    double rebuilt = 0;  // fraction of lost source symbols
    double overhead = 0;
    std::size_t lost = 0;
};

// Source symbols through a lossy channel with repair at `rate`; acknowledgements of what
// arrived without a gap come back `lag` symbols late (a round trip).
Codec run_codec(double rate, const std::function<bool()>& lose, std::uint32_t n = 200000,
                std::uint32_t lag = 32) {
    fec::TetrysConfig cfg;
    cfg.repair_rate = rate;
    cfg.max_repair_rate = 1;
    fec::TetrysEncoder enc(cfg);
    fec::TetrysDecoder dec(256);
    std::set<std::uint32_t> have;
    std::uint32_t contiguous = 0;
    std::size_t lost = 0, rebuilt = 0, repairs = 0;
    Bytes p(1024, 7);
    for (std::uint32_t id = 0; id < n; ++id) {
        (void)enc.add_source(id, p);
        if (lose()) {
            ++lost;
        } else {
            have.insert(id);
            for (auto& r : dec.add_source(id, p)) have.insert(r.id), ++rebuilt;
        }
        for (auto& r : enc.take_repairs()) {
            ++repairs;
            if (lose()) continue;
            if (auto got = dec.add_repair(r))
                for (auto& x : *got) have.insert(x.id), ++rebuilt;
        }
        while (have.contains(contiguous)) have.erase(contiguous++);
        if (id >= lag) enc.acknowledge(std::min(contiguous, id - lag));
        // A symbol still missing when it leaves the window is left to retransmission:
        // count it received so the acknowledgements go on.
        if (id >= 64 && contiguous < id - 64) have.insert(contiguous);
    }
    return {lost ? static_cast<double>(rebuilt) / lost : 1, static_cast<double>(repairs) / n, lost};
}

// --- a stream through a bandwidth-limited, lossy path ---------------------------------

using std::chrono::microseconds;
using std::chrono::milliseconds;
using stream::Clock;
using stream::Duration;
using stream::TimePoint;

struct PathSim {
    double loss = 0.05;
    Duration delay = milliseconds(20);
    double bytes_per_second = 5e6;  // 40 Mbit/s
    std::mt19937_64 rng{42};
    struct Ev {
        TimePoint at;
        std::uint64_t order;
        int to;
        stream::Outgoing m;
        bool operator>(const Ev& o) const { return at != o.at ? at > o.at : order > o.order; }
    };
    std::priority_queue<Ev, std::vector<Ev>, std::greater<>> q;
    TimePoint link_free[2]{};  // each direction serializes its messages
    std::uint64_t order = 0;

    void send(int from, TimePoint now, std::vector<stream::Outgoing>& out) {
        std::uniform_real_distribution<double> u(0, 1);
        for (auto& m : out) {
            auto tx = Duration(static_cast<Duration::rep>((m.data.size() + 40) / bytes_per_second *
                                                          1e9 * Duration::period::den / 1e9));
            TimePoint start = std::max(now, link_free[from]);
            link_free[from] = start + tx;
            if (u(rng) < loss) continue;
            q.push({link_free[from] + delay, order++, 1 - from, std::move(m)});
        }
        out.clear();
    }
};

void dispatch(stream::Stream& s, const stream::Outgoing& m, TimePoint now,
              std::vector<stream::Outgoing>& out) {
    switch (m.command) {
        case circuit::RelayCommand::data:
            (void)s.on_data(m.data, now, out);
            break;
        case circuit::RelayCommand::repair:
            s.on_repair(m.data, now, out);
            break;
        case circuit::RelayCommand::fec_report:
            (void)s.on_fec_report(m.data);
            break;
        default:
            (void)s.on_ack(m.data, now);
    }
}

struct StreamResult {
    double goodput_mbps = 0;
    double p50_ms = 0;
    double p99_ms = 0;
    std::uint64_t resent = 0;
    std::uint64_t rebuilt = 0;
    std::uint64_t repairs = 0;
};

// bulk: send `bytes` as fast as possible; paced: one 1 KiB chunk every 2 ms for 20 s.
StreamResult run_stream(bool fec, bool paced, std::size_t bytes = 16 << 20) {
    stream::StreamConfig cfg;
    if (fec) cfg.fec = fec::TetrysConfig{};
    stream::Stream a(cfg), b(cfg);
    PathSim path;
    TimePoint now{std::chrono::seconds(1)};
    TimePoint start = now;
    std::size_t written = 0, got = 0;
    std::vector<double> latency_ms;
    std::map<std::size_t, TimePoint> written_at;  // chunk end offset -> write time
    const std::size_t chunk = 1024;
    TimePoint next_write = now;
    std::size_t total = paced ? 10000 * chunk : bytes;
    Bytes block(64 * 1024, 1);
    while (got < total && now - start < std::chrono::seconds(600)) {
        // Application: writes and reads.
        if (paced) {
            while (now >= next_write && written < total) {
                if (a.write(ByteView{block}.first(chunk)) != chunk) break;
                written += chunk;
                written_at[written] = now;
                next_write += milliseconds(2);
            }
        } else if (written < total) {
            written += a.write(ByteView{block}.first(std::min(block.size(), total - written)));
        }
        Bytes buf(b.readable());
        got += b.read(buf);
        while (!written_at.empty() && written_at.begin()->first <= got) {
            latency_ms.push_back(
                std::chrono::duration<double, std::milli>(now - written_at.begin()->second)
                    .count());
            written_at.erase(written_at.begin());
        }
        std::vector<stream::Outgoing> out;
        a.poll(now, 4096, out);
        path.send(0, now, out);
        b.poll(now, 4096, out);
        path.send(1, now, out);
        TimePoint next = now + milliseconds(1);
        if (!path.q.empty()) next = std::min(next, path.q.top().at);
        for (auto* s : {&a, &b})
            if (auto t = s->next_deadline()) next = std::min(next, std::max(*t, now));
        if (paced) next = std::min(next, std::max(next_write, now));
        now = std::max(next, now + microseconds(1));
        while (!path.q.empty() && path.q.top().at <= now) {
            auto ev = path.q.top();
            path.q.pop();
            auto& s = ev.to == 0 ? a : b;
            dispatch(s, ev.m, now, out);
            path.send(ev.to, now, out);
        }
    }
    StreamResult r;
    r.goodput_mbps = got * 8 / std::chrono::duration<double>(now - start).count() / 1e6;
    std::sort(latency_ms.begin(), latency_ms.end());
    if (!latency_ms.empty()) {
        r.p50_ms = latency_ms[latency_ms.size() / 2];
        r.p99_ms = latency_ms[latency_ms.size() * 99 / 100];
    }
    r.resent = a.stats().segments_retransmitted;
    r.rebuilt = b.stats().recovered;
    r.repairs = a.stats().repairs_sent;
    return r;
}

}  // namespace

int main() {
    std::printf(
        "1. Lost source symbols rebuilt without retransmission (200,000 symbols of 1 KiB,\n"
        "   window 64, acknowledgements 32 symbols late; retransmission alone: 0%%)\n\n");
    std::printf(
        "| loss | repair rate | lost | rebuilt | overhead |\n| --- | --- | --- | --- | --- |\n");
    for (double loss : {0.01, 0.05, 0.10}) {
        for (double rate : {2 * loss + 0.02, 2 * loss + 0.05}) {
            std::mt19937 rng(static_cast<unsigned>(loss * 1e4 + rate * 1e3));
            std::bernoulli_distribution drop(loss);
            auto c = run_codec(rate, [&] { return drop(rng); });
            std::printf("| %.0f%% random | %.2f | %zu | %.2f%% | %.1f%% |\n", loss * 100, rate,
                        c.lost, c.rebuilt * 100, c.overhead * 100);
        }
    }
    for (double rate : {0.15, 0.25}) {
        // Gilbert-Elliott: good state 0.5% loss, bad 50%; 1% chance to enter, 20% to leave.
        std::mt19937 rng(7);
        std::uniform_real_distribution<double> u(0, 1);
        bool bad = false;
        auto ge = [&] {
            bad = bad ? u(rng) > 0.2 : u(rng) < 0.01;
            return u(rng) < (bad ? 0.5 : 0.005);
        };
        auto c = run_codec(rate, ge);
        std::printf("| Gilbert-Elliott (%.1f%% average) | %.2f | %zu | %.2f%% | %.1f%% |\n",
                    100.0 * c.lost / (200000 * (1 + rate)), rate, c.lost, c.rebuilt * 100,
                    c.overhead * 100);
    }
    std::printf("\n2. One stream, 20 ms each way, 40 Mbit/s, 5%% loss each way\n\n");
    std::printf(
        "| FEC | bulk goodput | paced p50 | paced p99 | resent | rebuilt | repairs |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n");
    for (bool fec : {false, true}) {
        auto bulk = run_stream(fec, false);
        auto paced = run_stream(fec, true);
        std::printf("| %s | %.1f Mbit/s | %.1f ms | %.1f ms | %lu | %lu | %lu |\n",
                    fec ? "Tetrys, adaptive" : "off (retransmission)", bulk.goodput_mbps,
                    paced.p50_ms, paced.p99_ms, static_cast<unsigned long>(bulk.resent),
                    static_cast<unsigned long>(bulk.rebuilt),
                    static_cast<unsigned long>(bulk.repairs));
    }
    return 0;
}
