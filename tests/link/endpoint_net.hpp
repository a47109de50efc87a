#pragma once
// Two link endpoints joined by a virtual network that tests can make lose, duplicate,
// reorder or corrupt packets; time is virtual. Packets addressed to anyone but the two
// nodes (an attacker's address) are kept in `elsewhere` for the test to look at.

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <vector>

#include "zmesh/link/endpoint.hpp"

namespace zmesh::link::test {

using noise::Pattern;

inline wire::Cell numbered_cell(std::uint32_t n) {
    wire::Cell c{};
    wire::set_cell_header(c, 7, wire::CellCommand::data);
    store_u32_be(c.data() + wire::kCellHeaderSize, n);
    for (std::size_t i = wire::kCellHeaderSize + 4; i < c.size(); ++i)
        c[i] = static_cast<std::uint8_t>(n * 31 + i);
    return c;
}

inline std::uint32_t number_of(const wire::Cell& c) {
    return load_u32_be(c.data() + wire::kCellHeaderSize);
}

// 127.0.0.n (v4-mapped) port n; `high` picks 127.high.x.n for tests that need many.
inline PeerAddress address(std::uint8_t n, std::uint16_t high = 0) {
    PeerAddress p;
    p.bytes[10] = p.bytes[11] = 0xff;
    p.bytes[12] = 127;
    store_u16_be(p.bytes.data() + 13, high);
    p.bytes[15] = n;
    p.bytes[17] = n;
    return p;
}

struct Node {
    explicit Node(std::uint8_t n, LinkLimits limits, bool hybrid = true, bool require_pq = false)
        : addr(address(n)),
          ep({crypto::X25519KeyPair::generate(), {}, limits, hybrid, require_pq}) {}
    PeerAddress addr;
    Endpoint ep;
    std::vector<Delivered> cells;
    std::vector<LinkEvent> events;
    int count(LinkEvent::Kind k) const {
        return static_cast<int>(std::count_if(events.begin(), events.end(),
                                              [k](const LinkEvent& e) { return e.kind == k; }));
    }
};

struct InFlight {
    int to;  // 0 or 1; -1: neither node
    PeerAddress from;
    Packet packet;
};

class Net {
  public:
    explicit Net(LinkLimits limits = {}, bool hybrid = true, bool b_requires_pq = false)
        : a(1, limits, hybrid), b(2, limits, hybrid, b_requires_pq) {}

    Node& node(int i) { return i == 0 ? a : b; }
    int index_of(const PeerAddress& p) const {
        if (p == a.addr) return 0;
        return p == b.addr ? 1 : -1;
    }

    void collect(int from, Output& out) {
        Node& n = node(from);
        for (auto& p : out.packets) {
            int to = index_of(p.to);
            if (to < 0)
                elsewhere.push_back({p.to, p.packet});
            else
                wire_.push_back({to, n.addr, p.packet});
        }
        for (auto& c : out.cells) n.cells.push_back(c);
        for (auto& e : out.events) n.events.push_back(e);
        out.clear();
    }

    // Delivers everything in flight (and what it triggers) unless `hold` keeps it.
    void run() {
        while (!wire_.empty() && !hold) {
            InFlight f = wire_.front();
            wire_.pop_front();
            if (filter && !filter(f)) continue;
            deliver(f);
        }
    }

    void deliver(const InFlight& f) {
        Output out;
        node(f.to).ep.on_packet(f.from, f.packet, now, out);
        collect(f.to, out);
    }

    SessionId connect(Pattern p) {
        Output out;
        auto id = a.ep.connect(b.addr, b.ep.static_public(), p, now, out);
        EXPECT_TRUE(id);
        collect(0, out);
        run();
        return *id;
    }

    SessionId peer_session() const {
        for (const auto& e : b.events)
            if (e.kind == LinkEvent::Kind::established) return e.session;
        return 0;
    }

    void send(int from, SessionId s, const wire::Cell& c) {
        Output out;
        EXPECT_TRUE(node(from).ep.send_cell(s, c, now, out));
        collect(from, out);
        run();
    }

    // What a tick can change, seen from outside.
    static std::vector<std::uint64_t> fingerprint(const Endpoint& ep) {
        const auto& st = ep.stats();
        std::vector<std::uint64_t> v{
            ep.session_count(),       st.packets_out,   st.keepalives_out,  st.handshakes_started,
            st.handshake_retransmits, st.sessions_dead, st.sessions_failed, st.rekeys};
        for (const auto& s : ep.sessions()) v.push_back(s.established ? s.id : 0);
        return v;
    }

    // Ticks every `step`, as a periodic sweep would, and checks the deadline each endpoint
    // reports: a tick before it has nothing to do (so a driver that sleeps until the
    // deadline misses nothing).
    void advance(Duration d, Duration step = milliseconds(100)) {
        for (Duration t{}; t < d; t += step) {
            now += step;
            for (int i : {0, 1}) {
                auto due = node(i).ep.next_deadline();
                auto before = fingerprint(node(i).ep);
                Output out;
                node(i).ep.on_tick(now, out);
                if (!due || now < *due) {
                    EXPECT_TRUE(out.packets.empty() && out.events.empty() && out.cells.empty())
                        << "node " << i << ": a tick before the deadline had work";
                    EXPECT_EQ(fingerprint(node(i).ep), before)
                        << "node " << i << ": a tick before the deadline changed it";
                }
                collect(i, out);
            }
            run();
        }
    }

    // Jumps from deadline to deadline, as the Asio driver does (one timer for the
    // earliest), until `stop` holds or `end`; returns how many times it woke.
    int run_deadlines(
        TimePoint end, const std::function<bool()>& stop = [] { return false; }) {
        int wakeups = 0;
        while (!stop()) {
            std::optional<TimePoint> next;
            for (int i : {0, 1})
                if (auto d = node(i).ep.next_deadline(); d && (!next || *d < *next)) next = d;
            if (!next || *next > end) {
                now = end;
                break;
            }
            now = std::max(now, *next);
            ++wakeups;
            for (int i : {0, 1}) {
                Output out;
                node(i).ep.on_tick(now, out);
                collect(i, out);
            }
            run();
        }
        return wakeups;
    }

    std::deque<InFlight>& wire() { return wire_; }

    Node a;
    Node b;
    TimePoint now{seconds(1000)};
    bool hold = false;
    std::function<bool(const InFlight&)> filter;
    std::vector<Outgoing> elsewhere;

  private:
    std::deque<InFlight> wire_;
};

}  // namespace zmesh::link::test
