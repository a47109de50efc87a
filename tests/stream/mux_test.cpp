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

// A half-close: the client finishes first (its FIN acknowledged, the exit caught up on
// everything), and the exit has nothing queued at that moment because its server is still
// answering. The stream must stay open until the exit's side finishes too; ending it
// then would lose the answer.
TEST(StreamMux, stream_stays_open_until_both_sides_finish) {
    Pipe p;
    p.on_exit_event = [&](const MuxEvent& e) {
        if (e.kind == MuxEvent::Kind::begin) {
            MuxOutput out;
            p.exit.accept(e.stream, out);
            p.take(1, out);
        }
    };
    MuxOutput out;
    auto id = p.client.open("example.test:7", out);
    ASSERT_TRUE(id);
    p.take(0, out);
    Bytes request = bytes_for(*id, 3000);
    for (int i = 0; i < 50; ++i) p.step();
    ASSERT_EQ(p.client.write(*id, request), request.size());
    p.client.shutdown(*id);
    Bytes got_up;
    for (int i = 0; i < 500; ++i) {
        p.step();
        Bytes buf(1 << 16);
        buf.resize(p.exit.read(*id, buf));
        got_up.insert(got_up.end(), buf.begin(), buf.end());
    }
    ASSERT_TRUE(got_up == request);
    ASSERT_TRUE(p.exit.peer_finished(*id));
    // Long after: both ends still hold the stream (the exit has not finished).
    EXPECT_TRUE(p.exit.contains(*id));
    EXPECT_TRUE(p.client.contains(*id));
    // The answer comes, then the exit finishes: all of it arrives and the stream ends.
    Bytes answer = bytes_for(static_cast<std::uint16_t>(*id + 9), 40000);
    std::size_t sent = 0;
    Bytes got_down;
    for (int i = 0; i < 20000 && (p.client.contains(*id) || p.exit.contains(*id)); ++i) {
        if (p.exit.contains(*id)) {
            sent += p.exit.write(*id, ByteView{answer}.subspan(sent));
            if (sent == answer.size()) p.exit.shutdown(*id);
        }
        p.step();
        Bytes buf(1 << 16);
        buf.resize(p.client.read(*id, buf));
        got_down.insert(got_down.end(), buf.begin(), buf.end());
    }
    EXPECT_TRUE(got_down == answer);
    EXPECT_FALSE(p.client.contains(*id));
    EXPECT_FALSE(p.exit.contains(*id));
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

TEST(StreamMux, begin_carries_a_resume_token_and_bad_ones_are_counted) {
    StreamMux client(StreamMux::Side::client);
    StreamMux exit(StreamMux::Side::exit);
    ResumeToken token;
    for (std::size_t i = 0; i < token.size(); ++i) token[i] = static_cast<std::uint8_t>(i + 1);
    MuxOutput out;
    ASSERT_TRUE(client.open("example.test:80", out, token));
    ASSERT_EQ(out.messages.size(), 1u);
    auto now = Clock::now();
    MuxOutput got;
    exit.on_message(out.messages[0], now, got);
    ASSERT_EQ(got.events.size(), 1u);
    EXPECT_EQ(got.events[0].target, "example.test:80");
    ASSERT_TRUE(got.events[0].token);
    EXPECT_EQ(*got.events[0].token, token);
    // A NUL not followed by exactly 16 bytes, and a target with a NUL, are refused.
    Bytes short_token{'a', ':', '1', 0, 1, 2, 3};
    exit.on_message({RelayCommand::begin, 40, short_token}, now, got);
    Bytes no_target(17, 0);
    exit.on_message({RelayCommand::begin, 41, no_target}, now, got);
    // ATTACH without a receive state, on the client side, or on stream 0.
    exit.on_message({RelayCommand::attach, 42, Bytes(16, 1)}, now, got);
    exit.on_message({RelayCommand::attach, 0, Bytes(23, 1)}, now, got);
    client.on_message({RelayCommand::attach, 43, Bytes(23, 1)}, now, got);
    EXPECT_EQ(exit.protocol_errors(), 4u);
    EXPECT_EQ(client.protocol_errors(), 1u);  // ATTACH is for exits only
    EXPECT_FALSE(client.open(std::string("a\0b:1", 5), out));
}

// A stream moves from a circuit that died mid-transfer (everything in flight on it lost)
// to a new circuit and finishes byte-exact both ways.
TEST(StreamMux, stream_moves_to_a_new_circuit_and_resumes_byte_exact) {
    auto accept_all = [](Pipe& p) {
        p.on_exit_event = [&p](const MuxEvent& e) {
            if (e.kind == MuxEvent::Kind::begin) {
                MuxOutput out;
                p.exit.accept(e.stream, out);
                p.take(1, out);
            }
        };
    };
    Pipe old_path;
    old_path.loss = 0.01;
    accept_all(old_path);
    ResumeToken token{};
    token[0] = 7;
    MuxOutput out;
    auto cid = old_path.client.open("example.test:443", out, token);
    ASSERT_TRUE(cid);
    old_path.take(0, out);
    const Bytes up = bytes_for(1, 300000);
    const Bytes down = bytes_for(2, 900000);
    std::size_t up_sent = 0, down_sent = 0;
    Bytes got_up, got_down;
    std::uint16_t client_id = *cid, exit_id = *cid;
    StreamMux* client = &old_path.client;
    StreamMux* exit = &old_path.exit;
    auto pump = [&] {
        up_sent += client->write(client_id, ByteView{up}.subspan(up_sent));
        if (up_sent == up.size()) client->shutdown(client_id);
        Bytes buf(1 << 16);
        buf.resize(client->read(client_id, buf));
        got_down.insert(got_down.end(), buf.begin(), buf.end());
        down_sent += exit->write(exit_id, ByteView{down}.subspan(down_sent));
        if (down_sent == down.size()) exit->shutdown(exit_id);
        buf.resize(1 << 16);
        buf.resize(exit->read(exit_id, buf));
        got_up.insert(got_up.end(), buf.begin(), buf.end());
    };
    for (int i = 0; i < 50000 && got_down.size() < down.size() / 3; ++i) {
        old_path.step();
        pump();
    }
    ASSERT_GE(got_down.size(), down.size() / 3);
    ASSERT_LT(got_down.size(), down.size());
    // The circuit dies: whatever it carried is gone. Both ends take the stream off.
    old_path.wire.clear();
    auto at_client = old_path.client.detach(client_id);
    auto at_exit = old_path.exit.detach(exit_id);
    ASSERT_TRUE(at_client && at_exit);
    EXPECT_EQ(old_path.client.size(), 0u);
    EXPECT_EQ(old_path.exit.size(), 0u);

    Pipe new_path;
    new_path.now = old_path.now;
    new_path.loss = 0.01;
    bool adopted = false;
    new_path.on_exit_event = [&](const MuxEvent& e) {
        if (e.kind != MuxEvent::Kind::attach) return;
        ASSERT_TRUE(e.token);
        ASSERT_EQ(*e.token, token);
        MuxOutput o;
        ASSERT_TRUE(
            new_path.exit.adopt(e.stream, std::move(*at_exit), e.peer_state, new_path.now, o));
        exit_id = e.stream;
        adopted = true;
        new_path.take(1, o);
    };
    auto nid = new_path.client.reattach(std::move(*at_client), out);
    ASSERT_TRUE(nid);
    new_path.take(0, out);
    client_id = *nid;
    client = &new_path.client;
    exit = &new_path.exit;
    bool ended = false;
    for (int i = 0; i < 200000 && !ended; ++i) {
        new_path.step();
        if (adopted) pump();
        for (const auto& e : new_path.client_events)
            if (e.kind == MuxEvent::Kind::ended) {
                EXPECT_EQ(e.reason, EndReason::done);
                ended = true;
            }
    }
    ASSERT_TRUE(ended);
    EXPECT_TRUE(std::any_of(new_path.client_events.begin(), new_path.client_events.end(),
                            [](const MuxEvent& e) { return e.kind == MuxEvent::Kind::resumed; }));
    EXPECT_TRUE(got_up == up);
    EXPECT_TRUE(got_down == down);
}

TEST(StreamMux, attach_for_an_unknown_stream_ends_it) {
    Pipe p;
    p.on_exit_event = [&p](const MuxEvent& e) {
        if (e.kind != MuxEvent::Kind::attach) return;
        MuxOutput o;
        p.exit.decline_attach(e.stream, o);
        p.take(1, o);
    };
    DetachedStream lost{std::make_unique<Stream>(), ResumeToken{}, {}, {}};
    MuxOutput out;
    auto id = p.client.reattach(std::move(lost), out);
    ASSERT_TRUE(id);
    p.take(0, out);
    for (int i = 0; i < 5; ++i) p.step();
    ASSERT_FALSE(p.client_events.empty());
    EXPECT_EQ(p.client_events.back().kind, MuxEvent::Kind::ended);
    EXPECT_EQ(p.client_events.back().reason, EndReason::expired);
    EXPECT_FALSE(p.client.contains(*id));
}

}  // namespace
}  // namespace zmesh::stream
