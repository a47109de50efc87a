// The relay cell construction: round trips for 1..8 hops in both directions, every
// single-bit change detected by the next hop that can check it, replays refused,
// reordering tolerated, and no value that stays the same from hop to hop.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <set>

#include "zmesh/circuit/relay_crypto.hpp"

namespace zmesh::circuit {
namespace {

struct Path {
    explicit Path(std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            DirectionKeys f{crypto::random_value<crypto::SymmetricKey>(),
                            crypto::random_value<crypto::SymmetricKey>()};
            DirectionKeys b{crypto::random_value<crypto::SymmetricKey>(),
                            crypto::random_value<crypto::SymmetricKey>()};
            fwd.push_back(std::make_unique<LayerKey>(f));
            bwd.push_back(std::make_unique<LayerKey>(b));
            relay_windows.emplace_back();
            client_windows.emplace_back();
        }
        for (auto& k : fwd) fwd_ptrs.push_back(k.get());
        for (auto& k : bwd) bwd_ptrs.push_back(k.get());
    }
    std::vector<std::unique_ptr<LayerKey>> fwd;
    std::vector<std::unique_ptr<LayerKey>> bwd;
    std::vector<const LayerKey*> fwd_ptrs;
    std::vector<const LayerKey*> bwd_ptrs;
    std::vector<link::ReplayWindow> relay_windows;
    std::vector<link::ReplayWindow> client_windows;
};

// The same cell number at each of n hops (every hop sees every cell of these tests).
std::vector<std::uint32_t> numbers(std::size_t n, std::uint32_t number) {
    return std::vector<std::uint32_t>(n, number);
}

Bytes payload_with(std::uint8_t fill) {
    Bytes p(kPayloadSize, fill);
    std::fill_n(p.begin(), 8, 0);  // the recognised marker
    return p;
}

// The body as it arrives at each hop: result[i] is hop i's input.
std::vector<Body> forward_trace(Path& path, std::uint32_t seq, const Bytes& payload) {
    std::vector<Body> trace;
    Body body;
    EXPECT_TRUE(seal_forward(path.fwd_ptrs, numbers(path.fwd.size(), seq), payload, body));
    for (std::size_t i = 0; i < path.fwd.size(); ++i) {
        trace.push_back(body);
        link::ReplayWindow scratch;
        EXPECT_TRUE(peel_forward(*path.fwd[i], scratch, body));
    }
    return trace;
}

TEST(RelayCrypto, forward_round_trip_for_every_length) {
    for (std::size_t n = 1; n <= kMaxHops; ++n) {
        Path path(n);
        auto payload = payload_with(static_cast<std::uint8_t>(n));
        Body body;
        ASSERT_TRUE(seal_forward(path.fwd_ptrs, numbers(n, 7), payload, body));
        for (std::size_t i = 0; i < n; ++i) {
            auto seq = peel_forward(*path.fwd[i], path.relay_windows[i], body);
            ASSERT_TRUE(seq) << "n=" << n << " hop " << i;
            EXPECT_EQ(*seq, 7u);
            EXPECT_EQ(recognised(body), i + 1 == n) << "n=" << n << " hop " << i;
        }
        auto got = payload_of(body);
        EXPECT_EQ(Bytes(got.begin(), got.end()), payload);
    }
    EXPECT_FALSE(seal_forward({}, {}, payload_with(1), *std::make_unique<Body>()));
}

TEST(RelayCrypto, backward_round_trip_from_every_origin) {
    for (std::size_t n = 1; n <= kMaxHops; ++n) {
        Path path(n);
        for (std::size_t origin = 0; origin < n; ++origin) {
            auto payload = payload_with(static_cast<std::uint8_t>(origin + 1));
            Body body;
            start_backward(payload, body);
            for (std::size_t h = origin + 1; h-- > 0;)
                wrap_backward(*path.bwd[h], static_cast<std::uint32_t>(origin), body);
            auto from = open_backward(path.bwd_ptrs, path.client_windows, body);
            ASSERT_TRUE(from) << "n=" << n << " origin " << origin;
            EXPECT_EQ(*from, origin);
            auto got = payload_of(body);
            EXPECT_EQ(Bytes(got.begin(), got.end()), payload);
        }
    }
}

TEST(RelayCrypto, any_flipped_bit_forward_is_caught_by_the_next_hop) {
    Path path(3);
    auto trace = forward_trace(path, 1, payload_with(0x42));
    for (std::size_t hop = 0; hop < 3; ++hop) {
        for (std::size_t bit = 0; bit < kBodySize * 8; ++bit) {
            Body bad = trace[hop];
            bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            link::ReplayWindow w;
            auto r = peel_forward(*path.fwd[hop], w, bad);
            ASSERT_FALSE(r) << "hop " << hop << " bit " << bit;
            EXPECT_EQ(r.error(), make_error_code(Errc::auth_failed));
        }
    }
}

// Towards the client only the client can check (relays share no keys with each other).
// A change is caught there, or it was in one of the last slots, which the hops between
// it and the client drop unread (one each): then the client gets exactly the original.
TEST(RelayCrypto, any_flipped_bit_backward_is_caught_by_the_client) {
    Path path(3);
    auto payload = payload_with(0x17);
    auto deliver = [&](std::size_t at, std::size_t bit) {
        Body body;
        start_backward(payload, body);
        for (std::size_t h = 3; h-- > 0;) {
            wrap_backward(*path.bwd[h], 9, body);
            if (h == at && bit != SIZE_MAX)
                body[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        }
        return body;
    };
    const Body original = deliver(0, SIZE_MAX);
    for (std::size_t at = 0; at < 3; ++at) {
        int erased = 0;
        for (std::size_t bit = 0; bit < kBodySize * 8; ++bit) {
            Body body = deliver(at, bit);
            if (body == original) {
                ++erased;
                std::size_t byte = bit / 8;
                ASSERT_TRUE(byte >= kSlotArea - at * kSlotSize && byte < kSlotArea)
                    << "a flip vanished outside the dropped slot: hop " << at << " bit " << bit;
                continue;
            }
            std::vector<link::ReplayWindow> windows(3);
            auto r = open_backward(path.bwd_ptrs, windows, body);
            ASSERT_FALSE(r) << "after hop " << at << " bit " << bit;
        }
        EXPECT_EQ(erased, static_cast<int>(at * kSlotSize * 8)) << "hop " << at;
    }
}

TEST(RelayCrypto, replays_refused_and_reordering_tolerated) {
    Path path(2);
    auto payload = payload_with(1);
    Body c5;
    Body c3;
    ASSERT_TRUE(seal_forward(path.fwd_ptrs, numbers(2, 5), payload, c5));
    ASSERT_TRUE(seal_forward(path.fwd_ptrs, numbers(2, 3), payload, c3));
    Body copy = c5;
    EXPECT_TRUE(peel_forward(*path.fwd[0], path.relay_windows[0], c5));
    EXPECT_TRUE(peel_forward(*path.fwd[0], path.relay_windows[0], c3));  // older, still fresh
    auto again = peel_forward(*path.fwd[0], path.relay_windows[0], copy);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), make_error_code(Errc::replayed));

    Body back;
    start_backward(payload, back);
    wrap_backward(*path.bwd[1], 4, back);
    wrap_backward(*path.bwd[0], 4, back);
    Body back_copy = back;
    EXPECT_TRUE(open_backward(path.bwd_ptrs, path.client_windows, back));
    EXPECT_EQ(open_backward(path.bwd_ptrs, path.client_windows, back_copy).error(),
              make_error_code(Errc::replayed));
}

TEST(RelayCrypto, no_value_is_the_same_at_two_hops) {
    // Colluding relays compare what they see: no 8-byte run of one hop's input may appear
    // in another's (the counter, the tags and the payload are all re-encrypted per hop).
    for (std::size_t n : {2u, 8u}) {
        Path path(n);
        auto trace = forward_trace(path, 77, payload_with(0));
        for (std::size_t a = 0; a < n; ++a) {
            std::set<std::uint64_t> runs;
            for (std::size_t i = 0; i + 8 <= kBodySize; ++i) runs.insert(load_u64_le(&trace[a][i]));
            for (std::size_t b = a + 1; b < n; ++b)
                for (std::size_t i = 0; i + 8 <= kBodySize; ++i)
                    ASSERT_FALSE(runs.contains(load_u64_le(&trace[b][i])))
                        << "n=" << n << " hops " << a << "," << b << " offset " << i;
        }
        // Every hop sees a body of the same size, whatever its position and the length.
        for (const auto& b : trace) EXPECT_EQ(b.size(), kBodySize);
    }
}

}  // namespace
}  // namespace zmesh::circuit
