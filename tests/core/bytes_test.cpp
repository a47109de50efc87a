#include <gtest/gtest.h>

#include "zmesh/core/bytes.hpp"
#include "zmesh/core/result.hpp"

namespace zmesh {

TEST(Bytes, hex_round_trips_and_rejects_bad_input) {
    Bytes b{0x00, 0x7f, 0x80, 0xff};
    EXPECT_EQ(to_hex(b), "007f80ff");
    EXPECT_EQ(from_hex("007F80fF"), b);
    EXPECT_FALSE(from_hex("abc"));
    EXPECT_FALSE(from_hex("zz"));
    EXPECT_EQ(from_hex("")->size(), 0u);
}

TEST(Bytes, base32_matches_rfc4648_without_padding) {
    EXPECT_EQ(to_base32(as_bytes("")), "");
    EXPECT_EQ(to_base32(as_bytes("f")), "my");
    EXPECT_EQ(to_base32(as_bytes("fo")), "mzxq");
    EXPECT_EQ(to_base32(as_bytes("foobar")), "mzxw6ytboi");
}

TEST(Bytes, base32_decodes_what_it_encodes_and_nothing_else) {
    for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
        auto text = to_base32(as_bytes(s));
        EXPECT_EQ(from_base32(text), Bytes(s.begin(), s.end())) << s;
    }
    EXPECT_EQ(from_base32("MZXW6YTBOI"), from_base32("mzxw6ytboi"));  // either case
    EXPECT_FALSE(from_base32("mzx1"));                                // 1 is not in the alphabet
    EXPECT_FALSE(from_base32("my="));                                 // no padding
    EXPECT_FALSE(from_base32("m"));          // no encoding is one character long
    EXPECT_FALSE(from_base32("mz"));         // "f" is "my": leftover bits must be zero
    EXPECT_FALSE(from_base32("mzxw6ytbo"));  // a length no encoding has
}

TEST(Bytes, endian_helpers_round_trip) {
    ByteArray<8> buf{};
    store_u64_le(buf.data(), 0x0102030405060708ULL);
    EXPECT_EQ(buf[0], 0x08);
    EXPECT_EQ(load_u64_le(buf.data()), 0x0102030405060708ULL);
    store_u32_be(buf.data(), 0xa1b2c3d4);
    EXPECT_EQ(buf[0], 0xa1);
    EXPECT_EQ(load_u32_be(buf.data()), 0xa1b2c3d4u);
    store_u16_be(buf.data(), 0xbeef);
    EXPECT_EQ(load_u16_be(buf.data()), 0xbeef);
}

TEST(Result, error_codes_have_messages) {
    std::error_code ec = Errc::replayed;
    EXPECT_EQ(ec.message(), "replayed or too old");
    EXPECT_STREQ(ec.category().name(), "zmesh");
}

}  // namespace zmesh
