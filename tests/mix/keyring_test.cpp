#include <gtest/gtest.h>

#include <algorithm>
#include <string_view>

#include "mix/test_rng.hpp"
#include "zmesh/mix/keyring.hpp"

namespace zmesh::mix {
namespace {

using namespace std::chrono_literals;
using std::chrono::sys_seconds;
using test::StreamRng;

ReplayTag tag_of(StreamRng& rng) {
    ReplayTag t;
    rng(MutByteView{t.data(), t.size()});
    return t;
}

KeyringConfig small_config() {
    KeyringConfig c;
    c.epoch = 100s;
    c.overlap = 10s;
    c.skew = 5s;
    c.lead = 250s;
    c.max_rate = 20;
    c.burst_seconds = 10;
    return c;
}

KeyringConfig rate_config(std::uint32_t max_rate, std::uint32_t burst_seconds) {
    auto c = small_config();
    c.max_rate = max_rate;
    c.burst_seconds = burst_seconds;
    return c;
}

// A one-hop packet to the mix whose public key is `key`.
Packet packet_to(const crypto::X25519Public& key, StreamRng& rng) {
    std::vector<Hop> path{Hop{crypto::NodeId{}, key, 5ms}};
    auto c = create_packet(path, Address{}, as_bytes("hello"), rng.fill());
    EXPECT_TRUE(c);
    return c->packet;
}

// A keyring of small_config() started at 1000 s (epoch 10), with its own random stream.
struct Started {
    explicit Started(std::string_view seed) : rng(seed), ring(small_config(), rng.fill()) {
        ring.update(now);
    }
    std::vector<Hop> one_hop(std::chrono::milliseconds delay) const {
        return {Hop{crypto::NodeId{}, ring.current()->key, delay}};
    }
    StreamRng rng;
    MixKeyring ring;
    const sys_seconds now{1000s};
};

crypto::X25519Public key_of(const MixKeyring& ring, std::uint64_t epoch) {
    for (const auto& k : ring.public_keys())
        if (k.epoch == epoch) return k.key;
    ADD_FAILURE() << "no key for epoch " << epoch;
    return {};
}

TEST(ReplayCache, memory_is_fixed_and_it_refuses_past_capacity) {
    StreamRng rng("cache bound");
    ReplayCache cache({1000, 0.01}, rng.fill());
    const std::size_t memory = cache.memory_bytes();
    EXPECT_LE(memory, 1300u);  // about 9.6 bits per tag at 1 %
    EXPECT_NEAR(cache.expected_false_positive_rate(), 0.01, 0.002);
    std::vector<ReplayTag> inserted;
    std::size_t false_positives = 0;
    while (cache.size() < cache.capacity()) {
        auto t = tag_of(rng);
        auto o = cache.check_and_insert(t);
        if (o == ReplayCache::Outcome::fresh)
            inserted.push_back(t);
        else
            ++false_positives;
        ASSERT_NE(o, ReplayCache::Outcome::full);
    }
    EXPECT_LT(false_positives, 30u);
    EXPECT_EQ(cache.check_and_insert(tag_of(rng)), ReplayCache::Outcome::full);
    EXPECT_EQ(cache.size(), cache.capacity());
    EXPECT_EQ(cache.memory_bytes(), memory);
    for (const auto& t : inserted)
        ASSERT_EQ(cache.check_and_insert(t), ReplayCache::Outcome::replayed);

    // The false-positive rate at capacity, measured on tags never inserted.
    std::size_t hits = 0;
    const std::size_t trials = 100000;
    for (std::size_t i = 0; i < trials; ++i) hits += cache.contains(tag_of(rng)) ? 1 : 0;
    EXPECT_LT(static_cast<double>(hits) / trials, 0.015);
    EXPECT_GT(static_cast<double>(hits) / trials, 0.005);
}

TEST(ReplayCache, budget_refuses_new_tags_but_still_answers_replays) {
    StreamRng rng("cache budget");
    ReplayCache cache({100, 1e-6}, rng.fill());
    const auto a = tag_of(rng);
    EXPECT_EQ(cache.check_and_insert(a, 1), ReplayCache::Outcome::fresh);
    EXPECT_EQ(cache.check_and_insert(tag_of(rng), 1), ReplayCache::Outcome::over_budget);
    EXPECT_EQ(cache.check_and_insert(a, 1), ReplayCache::Outcome::replayed);
    EXPECT_EQ(cache.size(), 1u);
}

TEST(MixKeyring, default_design_is_stated) {
    const KeyringConfig c;
    EXPECT_TRUE(validate(c));
    EXPECT_EQ(c.epoch, 15min);
    // 4000 packets/s × (10 s burst + 2 min skew + 15 min epoch + 5 min overlap).
    EXPECT_EQ(replay_capacity(c), 4000u * 1330u);
    StreamRng rng("keyring default");
    ReplayCache cache({replay_capacity(c), c.false_positive_rate}, rng.fill());
    EXPECT_LT(cache.memory_bytes(), 20u << 20);  // 28.8 bits per tag: about 19 MB
    EXPECT_LT(cache.expected_false_positive_rate(), 1.1e-6);
    MixKeyring ring(c, rng.fill());
    ring.update(sys_seconds{900s * 1000 + 899s});  // 1 s before an epoch: two keys accept
    EXPECT_EQ(ring.key_count(), 24u * 4 + 1);      // the current key and a day of keys ahead
    EXPECT_EQ(ring.stats().accepting.size(), 2u);
    EXPECT_LT(ring.memory_bytes(), 40u << 20);
}

TEST(MixKeyring, settings_out_of_range_are_refused_at_construction) {
    StreamRng rng("keyring config");
    std::vector<KeyringConfig> bad(9, small_config());
    bad[7].overlap = std::chrono::seconds::max();  // would overflow a sum unchecked
    bad[8].lead = std::chrono::seconds::max();
    bad[0].epoch = 0s;
    bad[1].overlap = 96s;  // skew + overlap >= epoch: three keys would accept at once
    bad[2].max_rate = 0;
    bad[3].epoch = 3600s;
    bad[3].max_rate = 1'000'000;  // a cache of 3.6e9 tags: about 13 GB
    bad[4].lead = 100s * (kMaxKeysAhead + 1);
    bad[5].false_positive_rate = 0;
    bad[6].skew = -1s;
    for (const auto& c : bad) {
        EXPECT_EQ(validate(c).error(), MixErrc::bad_config);
        EXPECT_THROW(MixKeyring(c, rng.fill()), std::invalid_argument);
    }
    EXPECT_TRUE(validate(small_config()));
}

TEST(ReplayCache, default_size_is_stated) {
    StreamRng rng("cache default");
    ReplayCache cache({}, rng.fill());
    EXPECT_EQ(cache.capacity(), std::size_t{1} << 22);
    EXPECT_EQ(cache.hash_count(), 20u);
    EXPECT_LT(cache.memory_bytes(), 16u << 20);  // 28.8 bits per tag: about 15 MB
    EXPECT_LT(cache.expected_false_positive_rate(), 1.1e-6);
}

TEST(MixKeyring, replay_is_rejected_once_processed) {
    Started st("keyring replay");
    auto& [rng, ring, now] = st;
    const auto p = packet_to(ring.current()->key, rng);
    auto first = ring.process(p, now);
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_EQ(ring.process(p, now).error(), MixErrc::replayed);
    // Same header, another payload: still the same tag.
    Packet q = p;
    q[kPacketSize - 1] ^= 1;
    EXPECT_EQ(ring.process(q, now).error(), MixErrc::replayed);
    // A packet under another key fails its MAC and records nothing.
    const auto other = crypto::X25519KeyPair::generate();
    EXPECT_EQ(ring.process(packet_to(other.pub, rng), now).error(), MixErrc::bad_mac);
    EXPECT_EQ(ring.process(ByteView{p.data(), 10}, now).error(), MixErrc::truncated);
    EXPECT_EQ(ring.stats().replayed, 2u);
    EXPECT_EQ(ring.stats().admitted, 1u);
}

// The docs say a SURB is single use: a second reply on it carries the same header, so the
// mix refuses it as a replay, whatever its message.
TEST(MixKeyring, second_packet_on_a_surb_is_a_replay) {
    Started st("keyring surb");
    auto surb = create_surb(st.one_hop(5ms), Address{}, st.rng.fill());
    ASSERT_TRUE(surb);
    auto a = use_surb(surb->surb, as_bytes("first reply"));
    auto b = use_surb(surb->surb, as_bytes("second reply"));
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(st.ring.process(a->packet, st.now));
    EXPECT_EQ(st.ring.process(b->packet, st.now).error(), MixErrc::replayed);
}

// The attack: a packet with a delay beyond kMaxDelay (a malicious sender's) is refused, and
// its tag is recorded, so a replay of it is refused as a replay.
TEST(MixKeyring, long_delay_is_refused_and_its_replay_too) {
    Started st("keyring delay");
    auto h =
        detail::build_header(st.one_hop(1h), 2, Address{}, ByteArray<kMacSize>{}, st.rng.fill());
    ASSERT_TRUE(h);
    const Packet p = detail::seal(*h, ByteArray<kPayloadSize>{});
    EXPECT_EQ(st.ring.process(p, st.now).error(), MixErrc::bad_delay);
    EXPECT_EQ(st.ring.process(p, st.now).error(), MixErrc::replayed);
}

TEST(MixKeyring, rotates_with_skew_and_overlap_then_erases) {
    StreamRng rng("keyring rotation");
    MixKeyring ring(small_config(), rng.fill());
    ring.update(sys_seconds{1050s});  // epoch 10: [1000, 1100)
    // Published a lead (250 s) ahead: epochs 10 to 13.
    ASSERT_EQ(ring.key_count(), 4u);
    const auto k10 = *ring.current();
    EXPECT_EQ(k10.epoch, 10u);
    EXPECT_EQ(k10.valid_from, sys_seconds{1000s});
    EXPECT_EQ(k10.valid_until, sys_seconds{1110s});
    const auto k11 = key_of(ring, 11);
    EXPECT_NE(k11, k10.key);
    EXPECT_EQ(ring.stats().accepting.size(), 1u) << "only epoch 10 has a replay cache yet";

    // The next key is published, but accepted only within the clock-skew allowance (5 s):
    // a sender cannot use it minutes early (which would single it out).
    const auto early = packet_to(k11, rng);
    EXPECT_EQ(ring.process(early, sys_seconds{1080s}).error(), MixErrc::bad_mac);
    EXPECT_EQ(ring.process(early, sys_seconds{1094s}).error(), MixErrc::bad_mac);
    EXPECT_TRUE(ring.process(early, sys_seconds{1095s})) << "5 s before its epoch";
    EXPECT_EQ(ring.current()->epoch, 10u);
    EXPECT_EQ(ring.stats().accepting.size(), 2u);

    const auto old_packet = packet_to(k10.key, rng);
    const auto old_replayed = packet_to(k10.key, rng);
    ASSERT_TRUE(ring.process(old_replayed, sys_seconds{1096s}));
    ring.update(sys_seconds{1105s});  // epoch 11, inside epoch 10's overlap
    EXPECT_EQ(ring.current()->epoch, 11u);
    EXPECT_TRUE(ring.process(old_packet, sys_seconds{1105s}))
        << "a late packet under the old key is accepted";
    EXPECT_EQ(ring.process(old_replayed, sys_seconds{1105s}).error(), MixErrc::replayed)
        << "the old cache is kept";

    ring.update(sys_seconds{1110s});  // overlap over: epoch 10's key and cache are erased
    EXPECT_EQ(ring.public_keys().front().epoch, 11u);
    EXPECT_EQ(ring.public_keys().back().epoch, 13u);
    EXPECT_EQ(ring.process(packet_to(k10.key, rng), sys_seconds{1110s}).error(), MixErrc::bad_mac);

    ring.update(sys_seconds{1000s});  // the clock going back changes nothing
    EXPECT_EQ(ring.current()->epoch, 11u);
    EXPECT_EQ(ring.public_keys().front().epoch, 11u);

    ring.update(sys_seconds{5000s});  // a long sleep: the epoch of now and a lead ahead
    EXPECT_EQ(ring.current()->epoch, 50u);
    EXPECT_EQ(ring.public_keys().front().epoch, 50u);
    EXPECT_EQ(ring.key_count(), 3u);  // 50, 51, 52 (5250 is the start of 52)
}

// The attack of the review: MAC-valid packets (mix keys are public) sent as fast as
// possible used to fill the replay cache and shut the key down for the rest of its epoch.
// Now the flood gets max_rate per second, only the rest is refused as rate_limited, the
// cache never fills, and the key admits new packets every second to its last second.
TEST(MixKeyring, flood_is_rate_limited_and_never_shuts_the_key_down) {
    StreamRng rng("keyring flood");
    MixKeyring ring(rate_config(3, 2), rng.fill());
    ring.update(sys_seconds{1000s});
    const auto key = key_of(ring, 11);  // accepts [1095, 1210)
    EXPECT_EQ(ring.capacity(), 3u * (2 + 5 + 100 + 10));
    std::size_t admitted = 0, limited = 0;
    for (std::int64_t t = 1095; t < 1210; ++t) {
        const sys_seconds now{std::chrono::seconds(t)};
        const std::size_t per_second = t == 1095 ? 20 : 5;
        for (std::size_t i = 0; i < per_second; ++i) {
            auto r = ring.process(packet_to(key, rng), now);
            if (i == 0) {
                ASSERT_TRUE(r) << "every second admits again, at " << t;
            }
            if (r)
                ++admitted;
            else if (r.error() == MixErrc::rate_limited)
                ++limited;
            else
                FAIL() << t << ": " << r.error().message();
        }
        const auto s = ring.stats();
        const auto k = *std::find_if(s.accepting.begin(), s.accepting.end(),
                                     [](const auto& a) { return a.epoch == 11; });
        ASSERT_EQ(k.admitted, k.budget) << "the flood takes exactly the budget";
        ASSERT_LT(k.fill, 1.0);
    }
    // The burst (2 s of rate) at the first second, then 3 more for each of the 114 after it:
    // below the capacity, which the budget reaches only when the key is erased.
    EXPECT_EQ(admitted, 3u * (2 + 114));
    EXPECT_LT(admitted, ring.capacity());
    EXPECT_EQ(limited, 20u + 114u * 5u - admitted);
    const auto s = ring.stats();
    EXPECT_EQ(s.rate_limited, limited);
    EXPECT_EQ(s.cache_full, 0u);
    EXPECT_EQ(s.admitted, admitted);
    EXPECT_EQ(s.accepting.front().epoch, 11u);
    EXPECT_EQ(s.accepting.front().admitted, admitted);
}

// A flood against the current key does not touch the next one: budgets are per key.
TEST(MixKeyring, budgets_are_per_key) {
    StreamRng rng("keyring budgets");
    MixKeyring ring(rate_config(1, 1), rng.fill());
    const sys_seconds now{1096s};
    ring.update(now);
    const auto k10 = key_of(ring, 10);
    const auto k11 = key_of(ring, 11);
    Result<Processed> r = MixErrc::ok;
    do r = ring.process(packet_to(k10, rng), now);
    while (r);
    EXPECT_EQ(r.error(), MixErrc::rate_limited);
    EXPECT_TRUE(ring.process(packet_to(k11, rng), now));
}

}  // namespace
}  // namespace zmesh::mix
