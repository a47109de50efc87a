#include <gtest/gtest.h>

#include "zmesh/app/socks5.hpp"

namespace zmesh::app::socks5 {
namespace {

TEST(Socks5, prefers_user_pass_then_none) {
    EXPECT_EQ(select_method(Bytes{0x00, 0x02}), kMethodUserPass);
    EXPECT_EQ(select_method(Bytes{0x00}), kMethodNone);
    EXPECT_EQ(select_method(Bytes{0x01, 0x80}), kMethodRefused);
    EXPECT_EQ(select_method(Bytes{}), kMethodRefused);
}

TEST(Socks5, request_header_errors_map_to_reply_codes) {
    EXPECT_TRUE(check_request_header(Bytes{5, 1, 0, 1}).header);
    EXPECT_EQ(check_request_header(Bytes{5, 2, 0, 1}).error, Reply::command_not_supported);
    EXPECT_EQ(check_request_header(Bytes{5, 3, 0, 1}).error, Reply::command_not_supported);
    EXPECT_EQ(check_request_header(Bytes{5, 1, 0, 9}).error, Reply::address_type_not_supported);
    EXPECT_EQ(check_request_header(Bytes{4, 1, 0, 1}).error, Reply::general_failure);
    EXPECT_EQ(check_request_header(Bytes{5, 1, 7, 1}).error, Reply::general_failure);
}

TEST(Socks5, targets_from_each_address_type) {
    EXPECT_EQ(target_from(1, Bytes{127, 0, 0, 1}, 80), "127.0.0.1:80");
    Bytes v6(16, 0);
    v6[15] = 1;
    EXPECT_EQ(target_from(4, v6, 443), "[::1]:443");
    EXPECT_EQ(target_from(3, as_bytes("example.org"), 8080), "example.org:8080");
    EXPECT_FALSE(target_from(3, as_bytes("bad host"), 80));
    EXPECT_FALSE(target_from(3, as_bytes("a:b"), 80));
    EXPECT_FALSE(target_from(1, Bytes{1, 2, 3}, 80));
    EXPECT_FALSE(target_from(1, Bytes{1, 2, 3, 4}, 0));
}

TEST(Socks5, reply_codes_for_end_reasons) {
    using stream::EndReason;
    EXPECT_EQ(reply_for(EndReason::refused), Reply::not_allowed);
    EXPECT_EQ(reply_for(EndReason::connect_refused), Reply::connection_refused);
    EXPECT_EQ(reply_for(EndReason::resolve_failed), Reply::host_unreachable);
    EXPECT_EQ(reply_for(EndReason::timeout), Reply::ttl_expired);
    auto r = make_reply(Reply::connection_refused);
    ASSERT_EQ(r.size(), 10u);
    EXPECT_EQ(r[0], 5);
    EXPECT_EQ(r[1], 5);
}

}  // namespace
}  // namespace zmesh::app::socks5
