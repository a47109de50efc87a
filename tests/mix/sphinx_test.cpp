#include <gtest/gtest.h>

#include "mix/test_rng.hpp"
#include "zmesh/mix/sphinx.hpp"

namespace zmesh::mix {
namespace {

using test::make_mixes;
using test::path_of;
using test::StreamRng;

Address address_of(std::uint8_t b) {
    Address a;
    a.bytes.fill(b);
    return a;
}

Bytes message_of(std::size_t n) {
    Bytes m(n);
    for (std::size_t i = 0; i < n; ++i) m[i] = static_cast<std::uint8_t>(i * 7 + 1);
    return m;
}

// Runs a packet through the path; returns the final result (or the first error).
Result<Processed> run(const std::vector<test::TestMix>& mixes, std::size_t hops, Packet packet,
                      std::vector<Packet>* seen = nullptr) {
    for (std::size_t i = 0;; ++i) {
        if (seen) seen->push_back(packet);
        auto r = process_packet(mixes[i].keys.secret, packet);
        if (!r) return r;
        auto* f = std::get_if<Forward>(&r->action);
        if (!f) {
            EXPECT_EQ(i + 1, hops);
            return r;
        }
        EXPECT_LT(i + 1, hops);
        EXPECT_EQ(f->next, mixes[i + 1].node);
        packet = f->packet;
    }
}

TEST(Sphinx, sizes_fill_one_cell_body) {
    EXPECT_EQ(kPacketSize, 1195u);
    EXPECT_EQ(kHeaderSize, 313u);
    EXPECT_EQ(kPayloadSize, 882u);
    EXPECT_EQ(kMaxMessageSize, 864u);
}

TEST(Sphinx, round_trip_every_path_length) {
    StreamRng rng("round trip");
    const auto mixes = make_mixes(kMaxHops, rng);
    for (std::size_t hops = 1; hops <= kMaxHops; ++hops) {
        const auto path = path_of(mixes, hops);
        const auto msg = message_of(100 + hops);
        auto created = create_packet(path, address_of(0xd0), msg, rng.fill());
        ASSERT_TRUE(created) << created.error().message();
        EXPECT_EQ(created->first_hop, mixes[0].node);
        ASSERT_EQ(created->delays.size(), hops);

        Packet packet = created->packet;
        for (std::size_t i = 0; i < hops; ++i) {
            auto r = process_packet(mixes[i].keys.secret, packet);
            ASSERT_TRUE(r) << "hop " << i << ": " << r.error().message();
            if (i + 1 < hops) {
                const auto& f = std::get<Forward>(r->action);
                EXPECT_EQ(f.next, mixes[i + 1].node);
                EXPECT_EQ(f.delay, path[i].delay);
                EXPECT_EQ(f.delay, created->delays[i]);
                // Nothing of the header or payload survives a hop unchanged.
                EXPECT_FALSE(std::equal(f.packet.begin(), f.packet.begin() + 32, packet.begin()));
                EXPECT_FALSE(std::equal(f.packet.begin() + kHeaderSize, f.packet.end(),
                                        packet.begin() + kHeaderSize));
                packet = f.packet;
            } else {
                const auto& d = std::get<Deliver>(r->action);
                EXPECT_EQ(d.destination, address_of(0xd0));
                EXPECT_EQ(d.delay, path[i].delay);
                EXPECT_EQ(d.message, msg);
            }
        }
    }
}

TEST(Sphinx, empty_and_largest_messages) {
    StreamRng rng("sizes");
    const auto mixes = make_mixes(3, rng);
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, kMaxMessageSize}) {
        auto created = create_packet(path_of(mixes, 3), address_of(1), message_of(n), rng.fill());
        ASSERT_TRUE(created);
        auto r = run(mixes, 3, created->packet);
        ASSERT_TRUE(r) << r.error().message();
        EXPECT_EQ(std::get<Deliver>(r->action).message, message_of(n));
    }
    auto too_long = create_packet(path_of(mixes, 3), address_of(1), message_of(kMaxMessageSize + 1),
                                  rng.fill());
    EXPECT_EQ(too_long.error(), MixErrc::message_too_long);
}

TEST(Sphinx, rejects_invalid_paths) {
    StreamRng rng("paths");
    const auto mixes = make_mixes(kMaxHops + 1, rng);
    EXPECT_EQ(create_packet({}, address_of(1), {}, rng.fill()).error(), MixErrc::bad_path);
    auto six = path_of(mixes, kMaxHops + 1);
    EXPECT_EQ(create_packet(six, address_of(1), {}, rng.fill()).error(), MixErrc::bad_path);
    auto path = path_of(mixes, 2);
    path[1].delay = std::chrono::milliseconds(std::int64_t{kMaxDelayMs} + 1);
    EXPECT_EQ(create_packet(path, address_of(1), {}, rng.fill()).error(), MixErrc::bad_path);
    path[1].delay = std::chrono::milliseconds(-1);
    EXPECT_EQ(create_packet(path, address_of(1), {}, rng.fill()).error(), MixErrc::bad_path);
    path = path_of(mixes, 2);
    path[1].mix_key = crypto::X25519Public{};  // low order: the shared secret would be zero
    EXPECT_EQ(create_packet(path, address_of(1), {}, rng.fill()).error(), MixErrc::weak_key);
}

TEST(Sphinx, flipped_header_bit_fails_the_mac_at_that_hop) {
    StreamRng rng("tamper header");
    const auto mixes = make_mixes(kMaxHops, rng);
    auto created =
        create_packet(path_of(mixes, kMaxHops), address_of(2), message_of(50), rng.fill());
    ASSERT_TRUE(created);
    std::vector<Packet> seen;
    ASSERT_TRUE(run(mixes, kMaxHops, created->packet, &seen));
    ASSERT_EQ(seen.size(), kMaxHops);
    for (std::size_t hop = 0; hop < kMaxHops; ++hop) {
        for (std::size_t pos = 0; pos < kHeaderSize; ++pos) {
            // The top bit of the group element is one X25519 ignores: the MAC still covers it.
            for (std::uint8_t bit : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
                Packet p = seen[hop];
                p[pos] ^= bit;
                auto r = process_packet(mixes[hop].keys.secret, p);
                ASSERT_FALSE(r) << "hop " << hop << " byte " << pos;
                EXPECT_TRUE(r.error() == MixErrc::bad_mac ||
                            (pos < kGroupElementSize && r.error() == MixErrc::weak_key))
                    << r.error().message();
            }
        }
    }
}

// The attack: X25519 ignores the top bit of a point, so a relay (or the network) can flip
// it and keep the shared secret, which would make a mark that survives to the next hop
// if the MAC did not cover alpha's bytes.
TEST(Sphinx, alpha_with_its_ignored_top_bit_flipped_fails_the_mac) {
    StreamRng rng("top bit");
    const auto mixes = make_mixes(2, rng);
    auto created = create_packet(path_of(mixes, 2), address_of(8), message_of(8), rng.fill());
    ASSERT_TRUE(created);
    Packet marked = created->packet;
    marked[31] ^= 0x80;
    const auto alpha = *crypto::X25519Public::from(ByteView{created->packet}.first(32));
    const auto marked_alpha = *crypto::X25519Public::from(ByteView{marked}.first(32));
    ASSERT_NE(alpha, marked_alpha);
    auto s1 = crypto::x25519(mixes[0].keys.secret, alpha);
    auto s2 = crypto::x25519(mixes[0].keys.secret, marked_alpha);
    ASSERT_TRUE(s1 && s2);
    EXPECT_TRUE(s1->ct_equals(*s2)) << "the mark does not change the shared secret";
    EXPECT_EQ(process_packet(mixes[0].keys.secret, marked).error(), MixErrc::bad_mac);
    EXPECT_TRUE(process_packet(mixes[0].keys.secret, created->packet));
}

TEST(Sphinx, tampered_payload_passes_the_mixes_and_is_garbage_at_delivery) {
    StreamRng rng("tamper payload");
    const auto mixes = make_mixes(4, rng);
    auto created = create_packet(path_of(mixes, 4), address_of(3), message_of(200), rng.fill());
    ASSERT_TRUE(created);
    std::vector<Packet> seen;
    ASSERT_TRUE(run(mixes, 4, created->packet, &seen));
    for (std::size_t hop = 0; hop < 4; ++hop) {
        for (std::size_t pos : {kHeaderSize, kHeaderSize + 31, kHeaderSize + 32, kHeaderSize + 500,
                                kPacketSize - 1}) {
            Packet p = seen[hop];
            p[pos] ^= 0x10;
            std::size_t at = hop;
            Result<Processed> r = MixErrc::ok;
            for (;; ++at) {
                r = process_packet(mixes[at].keys.secret, p);
                if (!r || !std::holds_alternative<Forward>(r->action)) break;
                p = std::get<Forward>(r->action).packet;
            }
            ASSERT_FALSE(r) << "hop " << hop << " byte " << pos;
            EXPECT_EQ(r.error(), MixErrc::bad_payload);
            EXPECT_EQ(at, 3u) << "detected only by the last hop";
        }
    }
}

TEST(Sphinx, wrong_key_fails_the_mac) {
    StreamRng rng("wrong key");
    const auto mixes = make_mixes(3, rng);
    auto created = create_packet(path_of(mixes, 3), address_of(4), message_of(10), rng.fill());
    ASSERT_TRUE(created);
    EXPECT_EQ(process_packet(mixes[1].keys.secret, created->packet).error(), MixErrc::bad_mac);
    EXPECT_EQ(process_packet(mixes[2].keys.secret, created->packet).error(), MixErrc::bad_mac);
}

TEST(Sphinx, wrong_sizes_and_garbage_are_errors) {
    StreamRng rng("garbage");
    const auto mixes = make_mixes(1, rng);
    Bytes buf(kPacketSize + 64);
    rng(buf);
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, kHeaderSize, kPacketSize - 1})
        EXPECT_EQ(process_packet(mixes[0].keys.secret, ByteView{buf.data(), n}).error(),
                  MixErrc::truncated);
    for (std::size_t n : {kPacketSize + 1, kPacketSize + 64})
        EXPECT_EQ(process_packet(mixes[0].keys.secret, ByteView{buf.data(), n}).error(),
                  MixErrc::oversized);
    for (int i = 0; i < 200; ++i) {
        rng(buf);
        auto r = process_packet(mixes[0].keys.secret, ByteView{buf.data(), kPacketSize});
        ASSERT_FALSE(r);
        EXPECT_TRUE(r.error() == MixErrc::bad_mac || r.error() == MixErrc::weak_key);
    }
    Packet zero_alpha{};
    EXPECT_EQ(process_packet(mixes[0].keys.secret, zero_alpha).error(), MixErrc::weak_key);
}

TEST(Sphinx, replays_carry_the_same_tag_and_different_packets_do_not) {
    StreamRng rng("tags");
    const auto mixes = make_mixes(2, rng);
    auto a = create_packet(path_of(mixes, 2), address_of(5), message_of(5), rng.fill());
    auto b = create_packet(path_of(mixes, 2), address_of(5), message_of(5), rng.fill());
    ASSERT_TRUE(a && b);
    auto a1 = process_packet(mixes[0].keys.secret, a->packet);
    auto a2 = process_packet(mixes[0].keys.secret, a->packet);
    auto b1 = process_packet(mixes[0].keys.secret, b->packet);
    ASSERT_TRUE(a1 && a2 && b1);
    EXPECT_EQ(a1->tag, a2->tag);
    EXPECT_NE(a1->tag, b1->tag);
    // A tampered payload keeps the header (and the tag): a replay with a new payload is caught.
    Packet t = a->packet;
    t[kPacketSize - 1] ^= 1;
    auto a3 = process_packet(mixes[0].keys.secret, t);
    ASSERT_TRUE(a3);
    EXPECT_EQ(a3->tag, a1->tag);
}

// A malicious sender can make every MAC verify; the decoders behind it still refuse what
// the format forbids.
TEST(Sphinx, malicious_sender_fields_are_refused_behind_a_valid_mac) {
    StreamRng rng("malicious");
    const auto mixes = make_mixes(2, rng);
    const auto path = path_of(mixes, 2);
    const ByteArray<kMacSize> zero_last{};
    auto deliver_with = [&](std::uint8_t flag, ByteView last,
                            const ByteArray<kPayloadSize>& plain) {
        auto h = detail::build_header(path, flag, address_of(7), last, rng.fill());
        EXPECT_TRUE(h);
        return run(mixes, 2, detail::seal(*h, plain));
    };
    ByteArray<kPayloadSize> good{};
    store_u16_be(good.data() + kAuthSize, 3);
    good[kAuthSize + 2] = 'a';
    ASSERT_TRUE(deliver_with(2, zero_last, good));
    for (std::uint8_t flag : {0, 4, 0x81, 0xff})
        EXPECT_EQ(deliver_with(flag, zero_last, good).error(), MixErrc::bad_routing) << int{flag};
    ByteArray<kMacSize> nonzero_last{};
    nonzero_last[15] = 1;
    EXPECT_EQ(deliver_with(2, nonzero_last, good).error(), MixErrc::bad_routing);

    auto too_long = good;
    store_u16_be(too_long.data() + kAuthSize, kMaxMessageSize + 1);
    EXPECT_EQ(deliver_with(2, zero_last, too_long).error(), MixErrc::bad_payload);
    auto padded = good;
    padded[kPayloadSize - 1] = 1;
    EXPECT_EQ(deliver_with(2, zero_last, padded).error(), MixErrc::bad_payload);
    auto no_auth = good;
    no_auth[0] = 1;
    EXPECT_EQ(deliver_with(2, zero_last, no_auth).error(), MixErrc::bad_payload);
    EXPECT_EQ(
        detail::build_header(path, 2, address_of(7), ByteView{zero_last}.first(15), rng.fill())
            .error(),
        MixErrc::bad_path);
}

TEST(Sphinx, lioness_is_a_wide_block_permutation) {
    StreamRng rng("lioness");
    LionessKey key;
    rng(key.mut_view());
    ByteArray<kPayloadSize> plain;
    rng(plain);
    auto c = plain;
    lioness_encrypt(key, c);
    EXPECT_NE(c, plain);
    auto d = c;
    lioness_decrypt(key, d);
    EXPECT_EQ(d, plain);
    // One flipped ciphertext bit anywhere: about half of all plaintext bits change,
    // in the left part and in the right part.
    for (std::size_t pos : {std::size_t{0}, std::size_t{31}, std::size_t{32}, kPayloadSize - 1}) {
        auto t = c;
        t[pos] ^= 0x04;
        lioness_decrypt(key, t);
        auto differing = [&](std::size_t from, std::size_t to) {
            std::size_t n = 0;
            for (std::size_t i = from; i < to; ++i)
                n += std::popcount(static_cast<unsigned>(t[i] ^ plain[i]));
            return static_cast<double>(n) / (8.0 * static_cast<double>(to - from));
        };
        EXPECT_NEAR(differing(0, 32), 0.5, 0.15) << pos;
        EXPECT_NEAR(differing(32, kPayloadSize), 0.5, 0.05) << pos;
    }
}

TEST(Sphinx, surb_reply_reaches_its_creator) {
    StreamRng rng("surb");
    const auto mixes = make_mixes(3, rng);
    SurbId id;
    id.bytes.fill(0x5b);
    auto surb = create_surb(path_of(mixes, 3), address_of(6), id, rng.fill());
    ASSERT_TRUE(surb);
    const auto reply = message_of(300);
    auto packet = use_surb(surb->surb, reply);
    ASSERT_TRUE(packet);
    EXPECT_EQ(packet->first_hop, mixes[0].node);
    auto r = run(mixes, 3, packet->packet);
    ASSERT_TRUE(r) << r.error().message();
    const auto& d = std::get<DeliverReply>(r->action);
    EXPECT_EQ(d.surb_id, id);
    EXPECT_EQ(d.destination, address_of(6));
    auto opened = open_surb_reply(surb->secrets, d.payload);
    ASSERT_TRUE(opened) << opened.error().message();
    EXPECT_EQ(*opened, reply);

    // A reply tampered on the way is garbage to its creator.
    Packet t = packet->packet;
    t[kHeaderSize + 100] ^= 1;
    auto rt = run(mixes, 3, t);
    ASSERT_TRUE(rt);
    EXPECT_EQ(open_surb_reply(surb->secrets, std::get<DeliverReply>(rt->action).payload).error(),
              MixErrc::bad_payload);
}

}  // namespace
}  // namespace zmesh::mix
