#include <gtest/gtest.h>

#include <openssl/bn.h>
#include "mix/test_rng.hpp"

#include "zmesh/crypto/hash.hpp"
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

// A mix's step without a replay cache: these tests look at one packet at a time.
Result<Processed> unwrap(const crypto::X25519Secret& key, ByteView packet) {
    return process_packet(key, packet, detail::no_replay_check);
}

// `marked` is `good` with another encoding of the same group element: the shared secret
// is the same, and only the MAC over alpha's bytes refuses the marked packet.
void expect_same_secret_but_bad_mac(const test::TestMix& mix, const Packet& good,
                                    const Packet& marked) {
    const auto alpha = *crypto::X25519Public::from(ByteView{good}.first(32));
    const auto other = *crypto::X25519Public::from(ByteView{marked}.first(32));
    ASSERT_NE(alpha, other);
    auto s1 = crypto::x25519(mix.keys.secret, alpha);
    auto s2 = crypto::x25519(mix.keys.secret, other);
    ASSERT_TRUE(s1 && s2);
    EXPECT_TRUE(s1->ct_equals(*s2)) << "the mark does not change the shared secret";
    EXPECT_EQ(unwrap(mix.keys.secret, marked).error(), MixErrc::bad_mac);
    EXPECT_TRUE(unwrap(mix.keys.secret, good));
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
        auto r = unwrap(mixes[i].keys.secret, packet);
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
            auto r = unwrap(mixes[i].keys.secret, packet);
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
    path[1].delay = kMaxDelay;
    EXPECT_TRUE(create_packet(path, address_of(1), {}, rng.fill()));
    path[1].delay = kMaxDelay + std::chrono::milliseconds(1);
    EXPECT_EQ(create_packet(path, address_of(1), {}, rng.fill()).error(), MixErrc::bad_path);
    EXPECT_EQ(create_surb(path, address_of(1), rng.fill()).error(), MixErrc::bad_path);
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
                auto r = unwrap(mixes[hop].keys.secret, p);
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
    expect_same_secret_but_bad_mac(mixes[0], created->packet, marked);
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
                r = unwrap(mixes[at].keys.secret, p);
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
    EXPECT_EQ(unwrap(mixes[1].keys.secret, created->packet).error(), MixErrc::bad_mac);
    EXPECT_EQ(unwrap(mixes[2].keys.secret, created->packet).error(), MixErrc::bad_mac);
}

TEST(Sphinx, wrong_sizes_and_garbage_are_errors) {
    StreamRng rng("garbage");
    const auto mixes = make_mixes(1, rng);
    Bytes buf(kPacketSize + 64);
    rng(buf);
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, kHeaderSize, kPacketSize - 1})
        EXPECT_EQ(unwrap(mixes[0].keys.secret, ByteView{buf.data(), n}).error(),
                  MixErrc::truncated);
    for (std::size_t n : {kPacketSize + 1, kPacketSize + 64})
        EXPECT_EQ(unwrap(mixes[0].keys.secret, ByteView{buf.data(), n}).error(),
                  MixErrc::oversized);
    for (int i = 0; i < 200; ++i) {
        rng(buf);
        auto r = unwrap(mixes[0].keys.secret, ByteView{buf.data(), kPacketSize});
        ASSERT_FALSE(r);
        EXPECT_TRUE(r.error() == MixErrc::bad_mac || r.error() == MixErrc::weak_key);
    }
    Packet zero_alpha{};
    EXPECT_EQ(unwrap(mixes[0].keys.secret, zero_alpha).error(), MixErrc::weak_key);
}

TEST(Sphinx, replays_carry_the_same_tag_and_different_packets_do_not) {
    StreamRng rng("tags");
    const auto mixes = make_mixes(2, rng);
    auto a = create_packet(path_of(mixes, 2), address_of(5), message_of(5), rng.fill());
    auto b = create_packet(path_of(mixes, 2), address_of(5), message_of(5), rng.fill());
    ASSERT_TRUE(a && b);
    auto a1 = unwrap(mixes[0].keys.secret, a->packet);
    auto a2 = unwrap(mixes[0].keys.secret, a->packet);
    auto b1 = unwrap(mixes[0].keys.secret, b->packet);
    ASSERT_TRUE(a1 && a2 && b1);
    EXPECT_EQ(a1->tag, a2->tag);
    EXPECT_NE(a1->tag, b1->tag);
    // A tampered payload keeps the header (and the tag): a replay with a new payload is caught.
    Packet t = a->packet;
    t[kPacketSize - 1] ^= 1;
    auto a3 = unwrap(mixes[0].keys.secret, t);
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

TEST(Sphinx, surb_reply_reaches_its_creator_once) {
    StreamRng rng("surb");
    const auto mixes = make_mixes(3, rng);
    auto surb = create_surb(path_of(mixes, 3), address_of(6), rng.fill());
    ASSERT_TRUE(surb);
    const auto reply = message_of(300);
    auto packet = use_surb(surb->surb, reply);
    ASSERT_TRUE(packet);
    EXPECT_EQ(packet->first_hop, mixes[0].node);
    auto r = run(mixes, 3, packet->packet);
    ASSERT_TRUE(r) << r.error().message();
    const auto& d = std::get<DeliverReply>(r->action);
    EXPECT_EQ(d.surb_id, surb->secrets.id);
    EXPECT_EQ(d.destination, address_of(6));
    auto kept = surb->secrets;  // a copy, to open a tampered reply below
    auto opened = open_surb_reply(surb->secrets, d.payload);
    ASSERT_TRUE(opened) << opened.error().message();
    EXPECT_EQ(*opened, reply);
    // The secrets were consumed: the same reply (or any other) is not accepted twice.
    EXPECT_TRUE(surb->secrets.hop_keys.empty());
    EXPECT_EQ(open_surb_reply(surb->secrets, d.payload).error(), MixErrc::surb_used);

    // A reply tampered on the way is garbage to its creator.
    Packet t = packet->packet;
    t[kHeaderSize + 100] ^= 1;
    auto rt = run(mixes, 3, t);
    ASSERT_TRUE(rt);
    EXPECT_EQ(open_surb_reply(kept, std::get<DeliverReply>(rt->action).payload).error(),
              MixErrc::bad_payload);
}

// The SURB id shown to the last hop is drawn by create_surb: different for every SURB,
// never all zero, and not something the caller can set to a linkable value.
TEST(Sphinx, surb_ids_are_random) {
    StreamRng rng("surb ids");
    const auto mixes = make_mixes(2, rng);
    auto a = create_surb(path_of(mixes, 2), address_of(6), rng.fill());
    auto b = create_surb(path_of(mixes, 2), address_of(6), rng.fill());
    ASSERT_TRUE(a && b);
    EXPECT_NE(a->secrets.id, b->secrets.id);
    EXPECT_NE(a->secrets.id, SurbId{});
}

TEST(Sphinx, a_missing_replay_check_is_refused) {
    StreamRng rng("no admit");
    const auto mixes = make_mixes(1, rng);
    auto c = create_packet(path_of(mixes, 1), address_of(1), message_of(4), rng.fill());
    ASSERT_TRUE(c);
    EXPECT_EQ(process_packet(mixes[0].keys.secret, c->packet, AdmitTag{}).error(),
              MixErrc::bad_config);
}

// The attack: a malicious sender asks a mix to hold a packet for days (any 32-bit delay
// fits the header). The mix refuses it, after recording the tag so that a replay of it
// costs only the MAC.
TEST(Sphinx, delay_above_the_maximum_is_refused_after_the_tag) {
    StreamRng rng("long delay");
    const auto mixes = make_mixes(2, rng);
    for (std::size_t hop : {std::size_t{0}, std::size_t{1}}) {
        auto path = path_of(mixes, 2);
        path[hop].delay = kMaxDelay + std::chrono::milliseconds(1);
        auto h = detail::build_header(path, 2, address_of(1), ByteArray<kMacSize>{}, rng.fill());
        ASSERT_TRUE(h);
        ByteArray<kPayloadSize> plain{};
        Packet p = detail::seal(*h, plain);
        if (hop == 1) {
            auto first = unwrap(mixes[0].keys.secret, p);
            ASSERT_TRUE(first);
            p = std::get<Forward>(first->action).packet;
        }
        std::size_t recorded = 0;
        auto r = process_packet(mixes[hop].keys.secret, p, [&](const ReplayTag&) -> Status {
            ++recorded;
            return {};
        });
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error(), MixErrc::bad_delay) << "hop " << hop;
        EXPECT_EQ(recorded, 1u);
    }
}

// Two encodings of one group element give one shared secret; only the MAC over alpha's
// bytes tells them apart. (1) alpha + T with T = (0, 0) of order 2: on a Montgomery curve
// x(P + T) = 1/x(P), and clamping (a multiple of 8) kills T. (2) u + p for u < 19.
TEST(Sphinx, alpha_plus_small_order_point_fails_the_mac) {
    StreamRng rng("small order");
    const auto mixes = make_mixes(2, rng);
    auto c = create_packet(path_of(mixes, 2), address_of(1), message_of(9), rng.fill());
    ASSERT_TRUE(c);
    BN_CTX* ctx = BN_CTX_new();
    BIGNUM* p = BN_new();
    BIGNUM* u = BN_new();
    ASSERT_TRUE(ctx && p && u);
    BN_set_bit(p, 255);
    BN_sub_word(p, 19);
    BN_lebin2bn(c->packet.data(), 32, u);
    BN_clear_bit(u, 255);
    ASSERT_TRUE(BN_mod_inverse(u, u, p, ctx));
    Packet marked = c->packet;
    ASSERT_EQ(BN_bn2lebinpad(u, marked.data(), 32), 32);
    BN_free(u);
    BN_free(p);
    BN_CTX_free(ctx);
    expect_same_secret_but_bad_mac(mixes[0], c->packet, marked);
}

TEST(Sphinx, non_canonical_alpha_fails_the_mac) {
    StreamRng rng("non canonical");
    const auto mixes = make_mixes(1, rng);
    const auto& y = mixes[0].keys.secret;
    std::size_t tried = 0;
    for (std::uint8_t small = 2; small < 19; ++small) {
        // u and u + p = u + 2^255 - 19 (little endian: the low byte gains -19, the top bit 1).
        crypto::X25519Public canonical{}, alias{};
        canonical.bytes[0] = small;
        alias.bytes.fill(0xff);
        alias.bytes[0] = static_cast<std::uint8_t>(small + 0xed);
        alias.bytes[31] = 0x7f;
        auto s = crypto::x25519(y, canonical);
        if (!s) continue;  // a low-order point
        auto s_alias = crypto::x25519(y, alias);
        ASSERT_TRUE(s_alias);
        ASSERT_TRUE(s->ct_equals(*s_alias)) << int{small};
        // A header whose MAC verifies for alpha = u, made as docs/mix.md derives mu.
        crypto::SymmetricKey mu;
        crypto::blake2b(mu.mut_view(), as_bytes("zmesh-sphinx-v1 mu"), s->view());
        Packet p{};
        std::copy(canonical.bytes.begin(), canonical.bytes.end(), p.begin());
        rng(MutByteView{p.data() + 32, kBetaSize});
        Bytes covered(p.begin(), p.begin() + 32 + kBetaSize);
        ByteArray<kMacSize> gamma;
        crypto::blake2b(gamma, covered, mu.view());
        std::copy(gamma.begin(), gamma.end(), p.begin() + 32 + kBetaSize);
        auto r = unwrap(y, p);
        EXPECT_TRUE(r || r.error() != MixErrc::bad_mac) << "MAC verifies for u = " << int{small};
        std::copy(alias.bytes.begin(), alias.bytes.end(), p.begin());
        EXPECT_EQ(unwrap(y, p).error(), MixErrc::bad_mac) << int{small};
        ++tried;
    }
    EXPECT_GE(tried, 10u);
}

}  // namespace
}  // namespace zmesh::mix
