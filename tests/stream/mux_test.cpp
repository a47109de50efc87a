// A client and an exit multiplexer over a simulated lossy circuit: many concurrent
// streams, each byte-exact both ways; refusals and protocol errors.
#include <gtest/gtest.h>

#include <deque>
#include <random>

#include "zmesh/stream/mux.hpp"

namespace zmesh::stream {
namespace {

using circuit::RelayCommand;
using circuit::RelayMessage;

struct Pipe {
    StreamMux client{StreamMux::Side::client};
    StreamMux exit{StreamMux::Side::exit};
    std::deque<std::pair<int, RelayMessage>> wire;  // 0: to client, 1: to exit
    std::vector<MuxEvent> client_events;
    std::vector<MuxEvent> exit_events;
    std::mt19937 rng{3};
    double loss = 0;
    TimePoint now{std::chrono::seconds(5)};
    std::function<void(const MuxEvent&)> on_exit_event;

    void take(int from, MuxOutput& out) {
        for (auto& m : out.messages) {
            if (std::uniform_real_distribution<double>(0, 1)(rng) < loss &&
                (m.command == RelayCommand::data || m.command == RelayCommand::ack))
                continue;  // lose data and acks only: the circuit layer never loses BEGIN/END
            wire.push_back({1 - from, std::move(m)});
        }
        for (auto& e : out.events) {
            if (from == 0) {
                client_events.push_back(e);
            } else {
                exit_events.push_back(e);
                if (on_exit_event) on_exit_event(e);
            }
        }
        out.clear();
    }

    void step() {
        now += std::chrono::milliseconds(1);
        MuxOutput out;
        client.poll(now, out);
        take(0, out);
        exit.poll(now, out);
        take(1, out);
        std::size_t n = wire.size();
        for (std::size_t i = 0; i < n; ++i) {
            auto [to, m] = std::move(wire.front());
            wire.pop_front();
            (to == 0 ? client : exit).on_message(m, now, out);
            take(to, out);
        }
    }
};

Bytes bytes_for(std::uint16_t stream, std::size_t n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = static_cast<std::uint8_t>(stream * 131 + i * 7 + i / 251);
    return b;
}

TEST(StreamMux, many_concurrent_streams_over_a_lossy_circuit) {
    Pipe p;
    p.loss = 0.02;
    p.on_exit_event = [&](const MuxEvent& e) {
        if (e.kind == MuxEvent::Kind::begin) {
            MuxOutput out;
            p.exit.accept(e.stream, out);
            p.take(1, out);
        }
    };
    constexpr int kStreams = 40;
    std::map<std::uint16_t, Bytes> up;    // client -> exit
    std::map<std::uint16_t, Bytes> down;  // exit -> client
    std::map<std::uint16_t, std::size_t> up_sent, down_sent;
    std::map<std::uint16_t, Bytes> got_up, got_down;
    std::set<std::uint16_t> exit_open;
    for (int i = 0; i < kStreams; ++i) {
        MuxOutput out;
        auto id = p.client.open("example.test:" + std::to_string(1000 + i), out);
        ASSERT_TRUE(id);
        up[*id] = bytes_for(*id, 20000 + 1000 * i);
        down[*id] = bytes_for(static_cast<std::uint16_t>(*id + 500), 50000 + 3000 * i);
        p.take(0, out);
    }
    int ended = 0;
    for (int round = 0; round < 200000 && ended < kStreams; ++round) {
        p.step();
        for (auto& [id, data] : up) {
            if (!p.client.contains(id)) continue;
            up_sent[id] += p.client.write(id, ByteView{data}.subspan(up_sent[id]));
            if (up_sent[id] == data.size()) p.client.shutdown(id);
            Bytes buf(1 << 16);
            buf.resize(p.client.read(id, buf));
            got_down[id].insert(got_down[id].end(), buf.begin(), buf.end());
        }
        for (auto& e : p.exit_events)
            if (e.kind == MuxEvent::Kind::begin) exit_open.insert(e.stream);
        p.exit_events.clear();
        for (auto id : exit_open) {
            if (!p.exit.contains(id)) continue;
            down_sent[id] += p.exit.write(id, ByteView{down[id]}.subspan(down_sent[id]));
            if (down_sent[id] == down[id].size()) p.exit.shutdown(id);
            Bytes buf(1 << 16);
            buf.resize(p.exit.read(id, buf));
            got_up[id].insert(got_up[id].end(), buf.begin(), buf.end());
        }
        ended = static_cast<int>(
            std::count_if(p.client_events.begin(), p.client_events.end(),
                          [](const MuxEvent& e) { return e.kind == MuxEvent::Kind::ended; }));
    }
    ASSERT_EQ(ended, kStreams);
    for (const auto& e : p.client_events) {
        if (e.kind == MuxEvent::Kind::ended) {
            EXPECT_EQ(e.reason, EndReason::done) << e.stream;
        }
    }
    for (auto& [id, data] : up) {
        EXPECT_TRUE(got_up[id] == data) << "stream " << id << " upstream";
        EXPECT_TRUE(got_down[id] == down[id]) << "stream " << id << " downstream";
    }
    EXPECT_EQ(p.client.size(), 0u);
}

TEST(StreamMux, refused_stream_ends_with_the_reason) {
    Pipe p;
    p.on_exit_event = [&](const MuxEvent& e) {
        if (e.kind == MuxEvent::Kind::begin) {
            EXPECT_EQ(e.target, "10.0.0.1:25");
            MuxOutput out;
            p.exit.refuse(e.stream, EndReason::refused, out);
            p.take(1, out);
        }
    };
    MuxOutput out;
    auto id = p.client.open("10.0.0.1:25", out);
    p.take(0, out);
    for (int i = 0; i < 5; ++i) p.step();
    ASSERT_FALSE(p.client_events.empty());
    EXPECT_EQ(p.client_events.back().kind, MuxEvent::Kind::ended);
    EXPECT_EQ(p.client_events.back().reason, EndReason::refused);
    EXPECT_FALSE(p.client.contains(*id));
    EXPECT_EQ(p.exit.size(), 0u);
}

TEST(StreamMux, protocol_errors_are_counted_not_fatal) {
    StreamMux exit(StreamMux::Side::exit);
    MuxOutput out;
    auto now = Clock::now();
    exit.on_message({RelayCommand::begin, 0, Bytes{'x'}}, now, out);       // stream 0
    exit.on_message({RelayCommand::begin, 5, {}}, now, out);               // no target
    exit.on_message({RelayCommand::connected, 9, {}}, now, out);           // unknown: ignored
    exit.on_message({RelayCommand::begin, 7, Bytes(300, 'a')}, now, out);  // too long
    EXPECT_EQ(exit.protocol_errors(), 3u);
    EXPECT_EQ(exit.size(), 0u);
    StreamMux client(StreamMux::Side::client);
    EXPECT_FALSE(client.open("", out));
    EXPECT_FALSE(client.open(std::string(256, 'h'), out));
}

}  // namespace
}  // namespace zmesh::stream
