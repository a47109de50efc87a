// Tetrys and Reed-Solomon: TinyMT32 against RFC 8682's reference sequence, GF(2^8)
// kernels against the scalar definition, exact recovery under seeded random and burst
// loss, refusal of malformed repair symbols, Reed-Solomon erasure decoding, the adaptive
// repair rate.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "zmesh/fec/adaptive.hpp"
#include "zmesh/fec/gf256.hpp"
#include "zmesh/fec/reed_solomon.hpp"
#include "zmesh/fec/tetrys.hpp"
#include "zmesh/fec/tinymt32.hpp"

namespace zmesh::fec {
namespace {

TEST(TinyMt32, matches_the_reference_sequence_for_seed_1) {
    // RFC 8682 figure 2 (the authors' check32.out.txt), first values.
    const std::uint32_t expected[] = {2545341989, 981918433,  3715302833, 2387538352,
                                      3591001365, 3820442102, 2114400566, 2196103051,
                                      2783359912, 764534509,  643179475,  1822416315};
    TinyMt32 rng(1);
    for (auto e : expected) EXPECT_EQ(rng.next(), e);
}

TEST(TinyMt32, coefficients_are_nonzero_at_full_density_and_sparse_below) {
    std::uint8_t c[64];
    generate_coding_coefficients(7, c, 15);
    for (auto x : c) EXPECT_NE(x, 0);
    // The same key gives the same coefficients (both ends derive them).
    std::uint8_t d[64];
    generate_coding_coefficients(7, d, 15);
    EXPECT_TRUE(std::equal(std::begin(c), std::end(c), std::begin(d)));
    // First values for key 1 follow the sequence: 2545341989 & 0xff = 0x25 = 37.
    generate_coding_coefficients(1, {c, 2}, 15);
    EXPECT_EQ(c[0], 2545341989u & 0xff);
    EXPECT_EQ(c[1], 981918433u & 0xff);
    std::uint8_t sparse[4096];
    generate_coding_coefficients(3, sparse, 3);  // about 4 in 16 nonzero
    auto nonzero = std::count_if(std::begin(sparse), std::end(sparse), [](auto x) { return x; });
    EXPECT_GT(nonzero, 4096 * 2 / 16);
    EXPECT_LT(nonzero, 4096 * 6 / 16);
}

TEST(Gf256, kernels_match_the_field_definition) {
    // Multiplication by shift-and-add modulo x^8 + x^4 + x^3 + x^2 + 1.
    auto slow = [](std::uint8_t a, std::uint8_t b) {
        unsigned r = 0, x = a;
        for (int i = 0; i < 8; ++i) {
            if (b & (1 << i)) r ^= x;
            x <<= 1;
            if (x & 0x100) x ^= 0x11d;
        }
        return static_cast<std::uint8_t>(r);
    };
    for (unsigned a = 0; a < 256; ++a)
        for (unsigned b = 0; b < 256; b += 7)
            ASSERT_EQ(gf::mul(static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b)),
                      slow(static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b)));
    for (unsigned a = 1; a < 256; ++a)
        EXPECT_EQ(gf::mul(static_cast<std::uint8_t>(a), gf::inv(static_cast<std::uint8_t>(a))), 1);
    std::mt19937 rng(5);
    for (std::size_t len : {1u, 17u, 63u, 64u, 65u, 1051u}) {
        Bytes src(len), dst(len), want(len);
        for (auto& b : src) b = static_cast<std::uint8_t>(rng());
        for (auto& b : dst) b = static_cast<std::uint8_t>(rng());
        auto c = static_cast<std::uint8_t>(rng() | 2);
        for (std::size_t i = 0; i < len; ++i) want[i] = dst[i] ^ slow(c, src[i]);
        gf::mul_add(c, src, dst);
        EXPECT_EQ(dst, want) << len;
    }
}

// Sends `n` source symbols of varied sizes through an encoder, a channel that loses
// what `lost(i)` says (source and repair symbols alike, one index per packet), and a
// decoder; acknowledgements (of what the receiver holds without a gap) lag `lag` symbols
// behind. Every rebuilt symbol must equal
// what was sent. Returns {lost source symbols, of which rebuilt, repair symbols sent}.
struct Outcome {
    std::size_t lost = 0;
    std::size_t rebuilt = 0;
    std::size_t repairs = 0;
};
Outcome run_channel(std::size_t n, TetrysConfig cfg, const std::function<bool()>& lose,
                    std::uint32_t lag = 32) {
    TetrysEncoder enc(cfg);
    TetrysDecoder dec;
    std::map<std::uint32_t, Bytes> sent;
    std::set<std::uint32_t> received;
    Outcome o;
    std::uint32_t contiguous = 0;
    std::mt19937 sizes(11);
    auto deliver_rebuilt = [&](const std::vector<Recovered>& got) {
        for (const auto& r : got) {
            EXPECT_EQ(r.payload, sent.at(r.id)) << "symbol " << r.id;
            EXPECT_FALSE(received.contains(r.id));
            received.insert(r.id);
            ++o.rebuilt;
        }
    };
    for (std::uint32_t id = 0; id < n; ++id) {
        Bytes p(1 + sizes() % 1040);
        for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(id * 31 + i);
        sent[id] = p;
        EXPECT_TRUE(enc.add_source(id, p));
        if (lose()) {
            ++o.lost;
        } else {
            received.insert(id);
            deliver_rebuilt(dec.add_source(id, p));
        }
        for (auto& r : enc.take_repairs()) {
            ++o.repairs;
            if (lose()) continue;
            auto got = dec.add_repair(r);
            EXPECT_TRUE(got);
            if (got) deliver_rebuilt(*got);
        }
        // The receiver acknowledges what it holds without a gap, `lag` symbols late.
        while (received.contains(contiguous)) ++contiguous;
        if (id >= lag) enc.acknowledge(std::min(contiguous, id - lag));
    }
    for (int i = 0; i < 4; ++i)  // the tail: a few more repairs
        if (auto r = enc.repair())
            if (auto got = dec.add_repair(*r)) deliver_rebuilt(*got);
    return o;
}

TEST(Tetrys, random_loss_is_repaired_exactly) {
    for (double loss : {0.01, 0.05, 0.10}) {
        std::mt19937 rng(static_cast<unsigned>(loss * 1000));
        std::bernoulli_distribution drop(loss);
        TetrysConfig cfg;
        cfg.repair_rate = 2 * loss + 0.03;
        auto o = run_channel(20000, cfg, [&] { return drop(rng); });
        ASSERT_GT(o.lost, 0u);
        // Whatever a cluster of losses leaves for retransmission is rare.
        double fraction = static_cast<double>(o.rebuilt) / static_cast<double>(o.lost);
        EXPECT_GE(fraction, 0.97) << "loss " << loss << ": " << o.rebuilt << "/" << o.lost
                                  << " with " << o.repairs << " repairs";
    }
}

TEST(Tetrys, burst_loss_is_repaired_exactly) {
    // Gilbert-Elliott: good state loses 0.5%, bad state 50%; bursts of ~5 packets.
    std::mt19937 rng(99);
    bool bad = false;
    auto lose = [&] {
        std::uniform_real_distribution<double> u(0, 1);
        bad = bad ? u(rng) > 0.2 : u(rng) < 0.01;
        return u(rng) < (bad ? 0.5 : 0.005);
    };
    TetrysConfig cfg;
    cfg.repair_rate = 0.2;
    auto o = run_channel(5000, cfg, lose);
    ASSERT_GT(o.lost, 0u);
    EXPECT_GE(static_cast<double>(o.rebuilt) / static_cast<double>(o.lost), 0.95)
        << o.rebuilt << "/" << o.lost;
}

TEST(Tetrys, nothing_lost_means_nothing_rebuilt_and_repairs_follow_the_rate) {
    TetrysConfig cfg;
    cfg.repair_rate = 0.1;
    auto o = run_channel(1000, cfg, [] { return false; });
    EXPECT_EQ(o.lost, 0u);
    EXPECT_EQ(o.rebuilt, 0u);
    EXPECT_EQ(o.repairs, 100u);
}

TEST(Tetrys, malformed_repair_symbols_are_refused_and_change_nothing) {
    TetrysEncoder enc;
    for (std::uint32_t i = 0; i < 10; ++i) ASSERT_TRUE(enc.add_source(i, Bytes(100, 1)));
    Bytes good = *enc.repair();
    TetrysDecoder dec;
    auto bad = [&](Bytes b) {
        auto r = dec.add_repair(b);
        EXPECT_FALSE(r);
        EXPECT_EQ(dec.pending_equations(), 0u);
    };
    bad({});
    bad(Bytes(good.begin(), good.begin() + kRepairHeader - 1));  // short header
    Bytes v = good;
    v[0] = 0x21;  // unknown version or generator
    bad(v);
    v = good;
    v[5] = 0;  // covers nothing
    bad(v);
    v = good;
    v.push_back(0);  // length disagrees
    bad(v);
    v = good;
    store_u16_be(v.data() + 8, 1);  // shorter than a length field
    v.resize(kRepairHeader + 1);
    bad(v);
    v = good;
    store_u32_be(v.data() + 1, UINT32_MAX - 2);  // ids would wrap
    bad(v);
    Bytes huge(kRepairHeader + kMaxCoded + 1, 0);
    huge[0] = kRepairVersion;
    huge[5] = 1;
    store_u16_be(huge.data() + 8, static_cast<std::uint16_t>(kMaxCoded + 1));
    bad(huge);
    EXPECT_EQ(dec.stats().malformed, 8u);
    // The good one is taken: ten unknowns, one equation.
    ASSERT_TRUE(dec.add_repair(good));
    EXPECT_EQ(dec.pending_equations(), 1u);
    // Oversized source symbols are refused by the encoder.
    EXPECT_FALSE(enc.add_source(10, Bytes(kMaxSourceSize + 1)));
    EXPECT_FALSE(enc.add_source(12, Bytes(10)));  // a gap in the ids
}

TEST(Tetrys, memory_stays_bounded_when_nothing_can_be_solved) {
    TetrysConfig cfg;
    cfg.window_size = 16;
    cfg.repair_rate = 0.5;
    cfg.max_repair_rate = 0.5;
    TetrysEncoder enc(cfg);
    TetrysDecoder dec(64);
    // Every source symbol is lost: repairs pile up as equations, which must stay bounded.
    for (std::uint32_t id = 0; id < 2000; ++id) {
        ASSERT_TRUE(enc.add_source(id, Bytes(200, static_cast<std::uint8_t>(id))));
        for (auto& r : enc.take_repairs()) ASSERT_TRUE(dec.add_repair(r));
        ASSERT_LE(dec.pending_equations(), kMaxWindow);
    }
}

TEST(ReedSolomon, any_k_of_k_plus_m_shards_rebuild_the_data) {
    auto rs = make_reed_solomon(10, 4);
    ASSERT_TRUE(rs);
    std::mt19937 rng(3);
    std::vector<Bytes> data(10, Bytes(1024));
    for (auto& d : data)
        for (auto& b : d) b = static_cast<std::uint8_t>(rng());
    std::vector<Bytes> parity(4, Bytes(1024));
    std::vector<ByteView> in(data.begin(), data.end());
    std::vector<MutByteView> out(parity.begin(), parity.end());
    ASSERT_TRUE(rs->encode(in, out));
    for (int trial = 0; trial < 50; ++trial) {
        std::vector<std::optional<Bytes>> shards;
        for (auto& d : data) shards.emplace_back(d);
        for (auto& p : parity) shards.emplace_back(p);
        std::vector<std::size_t> idx(14);
        std::iota(idx.begin(), idx.end(), 0);
        std::shuffle(idx.begin(), idx.end(), rng);
        std::size_t erase = 1 + trial % 4;
        for (std::size_t i = 0; i < erase; ++i) shards[idx[i]].reset();
        ASSERT_TRUE(rs->reconstruct(shards));
        for (std::size_t i = 0; i < 10; ++i) ASSERT_EQ(*shards[i], data[i]) << trial;
    }
    std::vector<std::optional<Bytes>> too_few;
    for (std::size_t i = 0; i < 14; ++i)
        too_few.emplace_back(i < 9 ? std::optional<Bytes>(data[i]) : std::nullopt);
    EXPECT_FALSE(rs->reconstruct(too_few));
    EXPECT_FALSE(make_reed_solomon(0, 4));
    EXPECT_FALSE(make_reed_solomon(200, 56));
}

TEST(AdaptiveRate, follows_measured_loss_within_bounds) {
    TetrysConfig cfg;
    AdaptiveRate a(cfg);
    EXPECT_DOUBLE_EQ(a.on_loss(0), cfg.min_repair_rate);
    for (int i = 0; i < 10; ++i) a.on_loss(0.05);
    EXPECT_NEAR(a.rate(), 0.12, 0.01);
    for (int i = 0; i < 10; ++i) a.on_loss(0.9);
    EXPECT_DOUBLE_EQ(a.rate(), cfg.max_repair_rate);
    double before = a.rate();
    a.on_loss(0);  // falls slowly
    EXPECT_GT(a.rate(), cfg.min_repair_rate);
    EXPECT_LE(a.rate(), before);
    EXPECT_DOUBLE_EQ(a.on_loss(std::nan("")), a.rate());
    TetrysConfig bad;
    bad.window_size = 0;
    EXPECT_TRUE(check(bad));
    EXPECT_FALSE(check(TetrysConfig{}));
}

}  // namespace
}  // namespace zmesh::fec
