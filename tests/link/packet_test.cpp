#include <gtest/gtest.h>

#include "zmesh/link/packet.hpp"

namespace zmesh::link {
namespace {

TEST(Packet, handshake_round_trips) {
    Bytes msg(100, 0xab);
    HandshakeHeader h{1, 0x12, 2, 0xdeadbeef, 0x01020304, 1, 2};
    auto p = build_handshake(h, msg);
    ASSERT_TRUE(p);
    auto parsed = parse_packet(*p);
    ASSERT_TRUE(parsed);
    auto& v = std::get<HandshakeView>(*parsed);
    EXPECT_EQ(v.header.step, 1);
    EXPECT_EQ(v.header.suite, 0x12);
    EXPECT_EQ(v.header.pattern, 2);
    EXPECT_EQ(v.header.sender, 0xdeadbeefu);
    EXPECT_EQ(v.header.receiver, 0x01020304u);
    EXPECT_EQ(v.header.fragment, 1);
    EXPECT_EQ(v.header.fragments, 2);
    EXPECT_EQ(Bytes(v.message.begin(), v.message.end()), msg);
    EXPECT_EQ(v.mac1.size(), kMacSize);
}

TEST(Packet, data_and_cookie_round_trip) {
    Packet p{};
    write_data_header(p, 77, 0x1122334455667788ULL);
    auto parsed = parse_packet(p);
    ASSERT_TRUE(parsed);
    auto& d = std::get<DataView>(*parsed);
    EXPECT_EQ(d.receiver, 77u);
    EXPECT_EQ(d.counter, 0x1122334455667788ULL);
    EXPECT_EQ(d.sealed.size(), wire::kCellSize + wire::kLinkTagSize);

    ByteArray<kCookieNonceSize> nonce{};
    nonce.fill(5);
    ByteArray<kSealedCookieSize> sealed{};
    sealed.fill(6);
    Packet cookie = build_cookie(9, nonce, sealed);  // parsed views point into it
    auto c = parse_packet(cookie);
    ASSERT_TRUE(c);
    EXPECT_EQ(std::get<CookieView>(*c).receiver, 9u);
    EXPECT_EQ(std::get<CookieView>(*c).sealed[0], 6);
}

TEST(Packet, rejects_wrong_sizes_types_and_fields) {
    Packet p{};
    write_data_header(p, 1, 1);
    EXPECT_EQ(parse_packet(ByteView{p}.first(100)).error(), make_error_code(Errc::truncated));
    Bytes big(p.begin(), p.end());
    big.push_back(0);
    EXPECT_EQ(parse_packet(big).error(), make_error_code(Errc::oversized));
    EXPECT_EQ(parse_packet({}).error(), make_error_code(Errc::truncated));

    for (int type : {0, 4, 255}) {
        Packet q = p;
        q[0] = static_cast<std::uint8_t>(type);
        EXPECT_EQ(parse_packet(q).error(), make_error_code(Errc::malformed)) << type;
    }
    Packet reserved = p;
    reserved[2] = 1;
    EXPECT_FALSE(parse_packet(reserved));

    auto hs = build_handshake({0, 0x12, 2, 1, 0}, Bytes(64, 1));
    ASSERT_TRUE(hs);
    Packet zero_len = *hs;
    zero_len[4] = zero_len[5] = 0;
    EXPECT_FALSE(parse_packet(zero_len));
    Packet long_len = *hs;
    store_u16_be(&long_len[4], static_cast<std::uint16_t>(kMaxNoiseMessage + 1));
    EXPECT_FALSE(parse_packet(long_len));
    Packet no_fragments = *hs;
    no_fragments[7] = 0;
    EXPECT_FALSE(parse_packet(no_fragments));
    Packet index_past_count = *hs;
    index_past_count[6] = 1;
    EXPECT_FALSE(parse_packet(index_past_count));
    Packet too_many = *hs;
    too_many[7] = static_cast<std::uint8_t>(kMaxFragments + 1);
    EXPECT_FALSE(parse_packet(too_many));
    Packet dirty_padding = *hs;
    dirty_padding[kHandshakeHeader + 64 + 3] = 1;
    EXPECT_FALSE(parse_packet(dirty_padding));
    EXPECT_FALSE(build_handshake({}, Bytes(kMaxNoiseMessage + 1, 1)));
    EXPECT_FALSE(build_handshake({}, {}));
}

}  // namespace
}  // namespace zmesh::link
