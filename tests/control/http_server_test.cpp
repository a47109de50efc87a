#include <gtest/gtest.h>

#include <random>

#include "zmesh/control/http_server.hpp"

namespace zmesh::control {
namespace {

TEST(HttpRequest, parses_method_target_and_lower_cased_headers) {
    auto r = parse_http_request(
        "GET /api/state?since=12&x=1 HTTP/1.1\r\nHost: 127.0.0.1:9100\r\n"
        "Authorization:  Bearer abc \r\nCOOKIE: a=b\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->method, "GET");
    EXPECT_EQ(r->path(), "/api/state");
    EXPECT_EQ(r->query(), "since=12&x=1");
    EXPECT_EQ(r->header("host"), "127.0.0.1:9100");
    EXPECT_EQ(r->header("authorization"), "Bearer abc");
    EXPECT_EQ(r->header("cookie"), "a=b");
    EXPECT_EQ(r->header("referer"), "");
    auto bare = parse_http_request("GET / HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(bare);
    EXPECT_EQ(bare->path(), "/");
    EXPECT_EQ(bare->query(), "");
}

TEST(HttpRequest, refuses_what_is_not_a_request_head) {
    for (const char* bad : {"", "GET\r\n\r\n", "GET /\r\n\r\n", "GET / SPDY/3\r\n\r\n",
                            "GET http://x/ HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nno colon\r\n\r\n",
                            "GET / HTTP/1.1\r\n: empty name\r\n\r\n", "GET / HTTP/1.1"})
        EXPECT_FALSE(parse_http_request(bad)) << bad;
}

TEST(HttpRequest, random_bytes_never_crash) {
    std::mt19937 rng(21);
    const std::string alphabet = "GET /?=&:; \r\nHTTP/1.abc\t";
    for (int i = 0; i < 20000; ++i) {
        std::string s(rng() % 200, ' ');
        for (auto& c : s)
            c = rng() % 4 == 0 ? static_cast<char>(rng()) : alphabet[rng() % alphabet.size()];
        if (auto r = parse_http_request(s)) {
            EXPECT_FALSE(r->target.empty());
            EXPECT_EQ(r->target.front(), '/');
            (void)r->path();
            (void)r->query();
        }
    }
}

}  // namespace
}  // namespace zmesh::control
