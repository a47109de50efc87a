#include <gtest/gtest.h>

#include "zmesh/transport/frame.hpp"

namespace zmesh::transport {
namespace {

Bytes packet_filled(std::uint8_t v) {
    return Bytes(wire::kPacketSize, v);
}

TEST(Frame, decodes_frames_split_at_every_byte) {
    Bytes stream;
    ASSERT_TRUE(append_frame(stream, packet_filled(1)));
    ASSERT_TRUE(append_frame(stream, packet_filled(2)));
    ASSERT_TRUE(append_frame(stream, packet_filled(3)));
    for (std::size_t cut = 1; cut < stream.size(); cut += 97) {
        FrameDecoder d;
        std::vector<Bytes> got;
        for (std::size_t at = 0; at < stream.size(); at += cut) {
            ASSERT_TRUE(d.feed(ByteView{stream}.subspan(at, std::min(cut, stream.size() - at))));
            for (auto f = d.next(); !f.empty(); f = d.next()) got.emplace_back(f.begin(), f.end());
        }
        ASSERT_EQ(got.size(), 3u) << cut;
        EXPECT_EQ(got[2], packet_filled(3));
        EXPECT_EQ(d.buffered(), 0u);
    }
}

TEST(Frame, wrong_length_fails_for_good) {
    FrameDecoder d;
    Bytes bad{0x00, 0x10, 1, 2, 3};
    ASSERT_TRUE(d.feed(bad));
    EXPECT_TRUE(d.next().empty());
    EXPECT_TRUE(d.failed());
    Bytes good;
    ASSERT_TRUE(append_frame(good, packet_filled(1)));
    EXPECT_FALSE(d.feed(good));
    EXPECT_TRUE(d.next().empty());

    FrameDecoder huge;
    ASSERT_TRUE(huge.feed(Bytes{0xff, 0xff}));
    EXPECT_TRUE(huge.next().empty());
    EXPECT_TRUE(huge.failed());
}

TEST(Frame, append_rejects_empty_and_oversized) {
    Bytes out;
    EXPECT_FALSE(append_frame(out, {}));
    EXPECT_FALSE(append_frame(out, Bytes(kMaxFrame + 1)));
    EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace zmesh::transport
