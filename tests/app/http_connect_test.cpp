#include "zmesh/app/http_connect.hpp"

#include <gtest/gtest.h>

namespace zmesh::app::http_connect {
namespace {

Step feed_in_pieces(Parser& p, std::string_view text, std::size_t piece) {
    Step s;
    for (std::size_t at = 0; at < text.size(); at += piece) {
        s = p.feed(as_bytes(text.substr(at, piece)));
        if (s.kind != Step::Kind::need_more) return s;
    }
    return s;
}

TEST(HttpConnect, parses_a_connect_request_in_any_split) {
    std::string_view req = "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n";
    for (std::size_t piece : {1u, 2u, 3u, 4u, 17u, 1000u}) {
        Parser p;
        auto s = feed_in_pieces(p, req, piece);
        ASSERT_EQ(s.kind, Step::Kind::request) << piece;
        EXPECT_EQ(s.target, "example.org:443");
        EXPECT_TRUE(p.take_rest().empty());
        EXPECT_EQ(p.feed(as_bytes("more")).kind, Step::Kind::request);  // it stays there
    }
}

TEST(HttpConnect, bytes_after_the_header_are_the_clients_data) {
    Parser p;
    auto s = p.feed(as_bytes("CONNECT [2001:db8::1]:8443 HTTP/1.0\r\n\r\n\x16\x03\x01"));
    ASSERT_EQ(s.kind, Step::Kind::request);
    EXPECT_EQ(s.target, "[2001:db8::1]:8443");
    EXPECT_EQ(p.take_rest(), (Bytes{0x16, 3, 1}));
}

TEST(HttpConnect, an_incomplete_header_waits) {
    Parser p;
    EXPECT_EQ(p.feed(as_bytes("CONNECT a:1 HTTP/1.1\r\n\r")).kind, Step::Kind::need_more);
    EXPECT_TRUE(p.take_rest().empty());
    EXPECT_EQ(p.feed(as_bytes("\n")).kind, Step::Kind::request);
}

TEST(HttpConnect, malformed_requests_get_their_status) {
    struct Case {
        std::string_view text;
        std::string_view status;
    };
    for (const auto& c : {
             Case{"GET http://example.org/ HTTP/1.1\r\n\r\n", "405 Method Not Allowed"},
             Case{"connect a:80 HTTP/1.1\r\n\r\n", "405 Method Not Allowed"},
             Case{"CONNECT a:80\r\n\r\n", "400 Bad Request"},
             Case{"CONNECT a:80 HTTP/2\r\n\r\n", "400 Bad Request"},
             Case{"CONNECT\r\n\r\n", "400 Bad Request"},
             Case{"\r\n\r\n", "400 Bad Request"},
             Case{"CONNECT a b:80 HTTP/1.1\r\n\r\n", "400 Bad Request"},
             Case{"CONNECT example.org HTTP/1.1\r\n\r\n", "400 Bad Request"},
             Case{"CONNECT example.org:0 HTTP/1.1\r\n\r\n", "400 Bad Request"},
             Case{"CONNECT example.org:65536 HTTP/1.1\r\n\r\n", "400 Bad Request"},
             Case{"CONNECT example.org:+80 HTTP/1.1\r\n\r\n", "400 Bad Request"},
             Case{"CONNECT :80 HTTP/1.1\r\n\r\n", "400 Bad Request"},
             Case{"CONNECT [::1:80 HTTP/1.1\r\n\r\n", "400 Bad Request"},
             Case{"CONNECT [fe80::1%eth0]:80 HTTP/1.1\r\n\r\n", "400 Bad Request"},
             Case{"CONNECT a/b:80 HTTP/1.1\r\n\r\n", "400 Bad Request"},
         }) {
        Parser p;
        auto s = p.feed(as_bytes(c.text));
        ASSERT_EQ(s.kind, Step::Kind::error) << c.text;
        EXPECT_EQ(s.status, c.status) << c.text;
        EXPECT_TRUE(p.take_rest().empty());
    }
}

TEST(HttpConnect, a_header_that_never_ends_is_refused_at_the_bound) {
    Parser p;
    std::string line = "X-Pad: " + std::string(100, 'x') + "\r\n";
    Step s = p.feed(as_bytes("CONNECT a:80 HTTP/1.1\r\n"));
    std::size_t fed = 23;
    while (s.kind == Step::Kind::need_more && fed < 2 * kMaxHeader) {
        s = p.feed(as_bytes(line));
        fed += line.size();
    }
    ASSERT_EQ(s.kind, Step::Kind::error);
    EXPECT_EQ(s.status, "431 Request Header Fields Too Large");
    EXPECT_GE(fed, kMaxHeader);
    EXPECT_LT(fed, kMaxHeader + line.size());
}

TEST(HttpConnect, targets) {
    EXPECT_TRUE(valid_target("127.0.0.1:80"));
    EXPECT_TRUE(valid_target("example.org:65535"));
    EXPECT_TRUE(valid_target("[::1]:443"));
    EXPECT_FALSE(valid_target("[]:443"));
    EXPECT_FALSE(valid_target("[example.org]:443"));
    EXPECT_FALSE(valid_target("example.org:"));
    EXPECT_FALSE(valid_target(std::string(256, 'a') + ":80"));
    EXPECT_EQ(response("200 Connection established"),
              "HTTP/1.1 200 Connection established\r\n\r\n");
}

}  // namespace
}  // namespace zmesh::app::http_connect
