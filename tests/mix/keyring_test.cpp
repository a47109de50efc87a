#include <gtest/gtest.h>

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
    c.lead = 20s;
    c.cache = {1000, 1e-6};
    return c;
}

// A one-hop packet to the mix whose public key is `key`.
Packet packet_to(const crypto::X25519Public& key, StreamRng& rng) {
    std::vector<Hop> path{Hop{crypto::NodeId{}, key, 5ms}};
    auto c = create_packet(path, Address{}, as_bytes("hello"), rng.fill());
    EXPECT_TRUE(c);
    return c->packet;
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

TEST(ReplayCache, default_size_is_stated) {
    StreamRng rng("cache default");
    ReplayCache cache({}, rng.fill());
    EXPECT_EQ(cache.capacity(), std::size_t{1} << 22);
    EXPECT_EQ(cache.hash_count(), 20u);
    EXPECT_LT(cache.memory_bytes(), 16u << 20);  // 28.8 bits per tag: about 15 MB
    EXPECT_LT(cache.expected_false_positive_rate(), 1.1e-6);
}

TEST(MixKeyring, replay_is_rejected_once_processed) {
    StreamRng rng("keyring replay");
    MixKeyring ring(small_config(), rng.fill());
    ring.update(sys_seconds{1000s});
    const auto p = packet_to(ring.current()->key, rng);
    auto first = ring.process(p);
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_EQ(ring.process(p).error(), MixErrc::replayed);
    // Same header, another payload: still the same tag.
    Packet q = p;
    q[kPacketSize - 1] ^= 1;
    EXPECT_EQ(ring.process(q).error(), MixErrc::replayed);
    // A packet under another key fails its MAC and records nothing.
    const auto other = crypto::X25519KeyPair::generate();
    EXPECT_EQ(ring.process(packet_to(other.pub, rng)).error(), MixErrc::bad_mac);
    EXPECT_EQ(ring.process(ByteView{p.data(), 10}).error(), MixErrc::truncated);
}

TEST(MixKeyring, rotates_with_lead_and_overlap_then_erases) {
    StreamRng rng("keyring rotation");
    MixKeyring ring(small_config(), rng.fill());
    ring.update(sys_seconds{1050s});  // epoch 10: [1000, 1100)
    ASSERT_EQ(ring.key_count(), 1u);
    const auto k10 = *ring.current();
    EXPECT_EQ(k10.epoch, 10u);
    EXPECT_EQ(k10.valid_from, sys_seconds{1000s});
    EXPECT_EQ(k10.valid_until, sys_seconds{1110s});

    ring.update(sys_seconds{1080s});  // within `lead` of epoch 11: its key exists already
    ASSERT_EQ(ring.key_count(), 2u);
    const auto k11 = ring.public_keys().back();
    EXPECT_EQ(k11.epoch, 11u);
    EXPECT_NE(k11.key, k10.key);
    EXPECT_EQ(ring.current()->epoch, 10u);
    // A sender with a fast clock may use the next key already.
    EXPECT_TRUE(ring.process(packet_to(k11.key, rng)));

    const auto old_packet = packet_to(k10.key, rng);
    const auto old_replayed = packet_to(k10.key, rng);
    ASSERT_TRUE(ring.process(old_replayed));
    ring.update(sys_seconds{1105s});  // epoch 11, inside epoch 10's overlap
    EXPECT_EQ(ring.current()->epoch, 11u);
    EXPECT_EQ(ring.key_count(), 2u);
    EXPECT_TRUE(ring.process(old_packet)) << "a late packet under the old key is accepted";
    EXPECT_EQ(ring.process(old_replayed).error(), MixErrc::replayed) << "the old cache is kept";

    ring.update(sys_seconds{1110s});  // overlap over: epoch 10's key and cache are erased
    ASSERT_EQ(ring.key_count(), 1u);
    EXPECT_EQ(ring.public_keys()[0].epoch, 11u);
    EXPECT_EQ(ring.process(packet_to(k10.key, rng)).error(), MixErrc::bad_mac);

    ring.update(sys_seconds{1000s});  // the clock going back changes nothing
    EXPECT_EQ(ring.current()->epoch, 11u);
    EXPECT_EQ(ring.key_count(), 1u);

    ring.update(sys_seconds{5000s});  // a long sleep: only the epoch of now remains
    ASSERT_EQ(ring.key_count(), 1u);
    EXPECT_EQ(ring.current()->epoch, 50u);
}

TEST(MixKeyring, full_cache_refuses_rather_than_forgets) {
    StreamRng rng("keyring full");
    auto config = small_config();
    config.cache = {3, 1e-9};
    MixKeyring ring(config, rng.fill());
    ring.update(sys_seconds{1000s});
    const auto key = ring.current()->key;
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(ring.process(packet_to(key, rng)));
    EXPECT_EQ(ring.process(packet_to(key, rng)).error(), MixErrc::cache_full);
}

}  // namespace
}  // namespace zmesh::mix
