// Batched UDP over loopback, with and without segmentation offload: every datagram
// arrives whole, once, in order per sender, whatever the kernel joined or split.
#include "zmesh/transport/udp_socket.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <cstring>

namespace zmesh::transport {
namespace {

using asio::ip::udp;

udp::endpoint loopback() {
    return {asio::ip::make_address("127.0.0.1"), 0};
}

Bytes numbered(std::size_t size, std::uint32_t n) {
    Bytes b(size, static_cast<std::uint8_t>(n * 7));
    store_u32_be(b.data(), n);
    return b;
}

struct Target {
    sockaddr_storage addr{};
    socklen_t len = 0;
    explicit Target(const udp::endpoint& ep) : len(static_cast<socklen_t>(ep.size())) {
        std::memcpy(&addr, ep.data(), ep.size());
    }
    OutDatagram to(const Bytes& b) const {
        return {reinterpret_cast<const sockaddr*>(&addr), len, b};
    }
};

// Everything waiting on `s` (loopback delivers during the send call).
std::vector<Bytes> drain(UdpSocket& s) {
    std::vector<Bytes> got;
    for (;;) {
        auto batch = s.receive_batch();
        if (batch.empty()) return got;
        for (const auto& d : batch) {
            EXPECT_FALSE(d.truncated);
            got.emplace_back(d.data.begin(), d.data.end());
        }
    }
}

void send_all(UdpSocket& s, const std::vector<OutDatagram>& out) {
    std::size_t sent = 0;
    for (int tries = 0; sent < out.size() && tries < 1000; ++tries)
        sent += s.send_batch(std::span(out).subspan(sent));
    ASSERT_EQ(sent, out.size());
}

// Sends in chunks of 100 and reads `to` after each, so that a receive buffer at the
// kernel's default size (without CAP_NET_ADMIN) does not overflow.
std::vector<Bytes> send_and_receive(UdpSocket& from, UdpSocket& to,
                                    const std::vector<OutDatagram>& out) {
    std::vector<Bytes> got;
    for (std::size_t i = 0; i < out.size(); i += 100) {
        std::vector<OutDatagram> chunk(
            out.begin() + static_cast<std::ptrdiff_t>(i),
            out.begin() + static_cast<std::ptrdiff_t>(std::min(out.size(), i + 100)));
        send_all(from, chunk);
        auto more = drain(to);
        got.insert(got.end(), more.begin(), more.end());
    }
    return got;
}

class UdpSocketOffload : public ::testing::TestWithParam<bool> {};

TEST_P(UdpSocketOffload, many_same_sized_datagrams_arrive_whole_and_in_order) {
    asio::io_context io;
    UdpSocket a(io.get_executor(), loopback(), GetParam());
    UdpSocket b(io.get_executor(), loopback(), GetParam());
    Target to_b(b.local_endpoint());
    std::vector<Bytes> packets;
    for (std::uint32_t i = 0; i < 300; ++i) packets.push_back(numbered(1232, i));
    std::vector<OutDatagram> out;
    for (const auto& p : packets) out.push_back(to_b.to(p));
    auto got = send_and_receive(a, b, out);
    ASSERT_EQ(got.size(), packets.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], packets[i]) << i;
    const auto& st = a.offload_stats();
    if (GetParam() && a.gso()) {
        // Chunks of 100 in runs of at most 51 (64,000 bytes): 2 messages in 1 call each.
        EXPECT_EQ(st.gso_sends, 6u);
        EXPECT_EQ(st.gso_datagrams, 300u);
        EXPECT_EQ(st.send_calls, 3u);
    } else {
        EXPECT_EQ(st.gso_sends, 0u);
        EXPECT_EQ(st.send_calls, 6u);  // at most 64 messages per call
    }
    if (GetParam() && b.gro()) {
        EXPECT_GT(b.offload_stats().gro_receives, 0u);
    } else {
        EXPECT_EQ(b.offload_stats().gro_receives, 0u);
    }
}

TEST_P(UdpSocketOffload, runs_break_at_a_new_size_or_destination) {
    asio::io_context io;
    UdpSocket a(io.get_executor(), loopback(), GetParam());
    UdpSocket b(io.get_executor(), loopback(), GetParam());
    UdpSocket c(io.get_executor(), loopback(), GetParam());
    Target to_b(b.local_endpoint());
    Target to_c(c.local_endpoint());
    std::vector<Bytes> packets;
    std::vector<OutDatagram> out;
    std::vector<Bytes> want_b, want_c;
    for (std::uint32_t i = 0; i < 200; ++i) {
        // Runs of 3 to b, then one short one to b, then 2 to c, over and over.
        std::size_t size = i % 6 == 3 ? 100 : 1232;
        packets.push_back(numbered(size, i));
    }
    for (std::uint32_t i = 0; i < 200; ++i) {
        bool to_c_now = i % 6 >= 4;
        out.push_back((to_c_now ? to_c : to_b).to(packets[i]));
        (to_c_now ? want_c : want_b).push_back(packets[i]);
    }
    send_all(a, out);
    EXPECT_EQ(drain(b), want_b);
    EXPECT_EQ(drain(c), want_c);
}

// A run the kernel refuses to segment for its destination alone (port 0 is refused with
// EINVAL) is skipped datagram by datagram; GSO stays on for everyone else. Before, one
// such refusal turned GSO off for the life of the socket.
TEST(UdpSocket, a_destination_that_refuses_a_segmented_send_does_not_turn_gso_off) {
    asio::io_context io;
    UdpSocket a(io.get_executor(), loopback());
    UdpSocket b(io.get_executor(), loopback());
    if (!a.gso()) GTEST_SKIP() << "no UDP GSO here";
    Target nowhere(udp::endpoint{asio::ip::make_address("127.0.0.1"), 0});
    Target to_b(b.local_endpoint());
    std::vector<Bytes> packets;
    for (std::uint32_t i = 0; i < 20; ++i) packets.push_back(numbered(1232, i));
    std::vector<OutDatagram> out;
    for (std::size_t i = 0; i < 20; ++i) out.push_back((i < 10 ? nowhere : to_b).to(packets[i]));
    send_all(a, out);
    auto got = drain(b);
    ASSERT_EQ(got.size(), 10u);
    for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(got[i], packets[10 + i]);
    EXPECT_EQ(a.offload_stats().gso_refusals, 1u);
    EXPECT_TRUE(a.gso());
    EXPECT_EQ(a.offload_stats().gso_sends, 1u);  // the run to b
}

TEST_P(UdpSocketOffload, an_oversized_datagram_is_marked_truncated) {
    asio::io_context io;
    UdpSocket a(io.get_executor(), loopback(), GetParam());
    UdpSocket b(io.get_executor(), loopback(), GetParam());
    Target to_b(b.local_endpoint());
    Bytes big = numbered(kMaxDatagram + 500, 1);
    Bytes small = numbered(1232, 2);
    send_all(a, {to_b.to(big), to_b.to(small)});
    auto batch = b.receive_batch();
    ASSERT_EQ(batch.size(), 2u);
    EXPECT_TRUE(batch[0].truncated);
    EXPECT_FALSE(batch[1].truncated);
    EXPECT_EQ(Bytes(batch[1].data.begin(), batch[1].data.end()), small);
}

INSTANTIATE_TEST_SUITE_P(Offload, UdpSocketOffload, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& p) {
                             return p.param ? "on" : "off";
                         });

}  // namespace
}  // namespace zmesh::transport
