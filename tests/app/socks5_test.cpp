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

// Feeds `in` in pieces of `piece` bytes, writing what the parser sends into `sent`.
Step drive(Parser& p, const Bytes& in, std::size_t piece, Bytes& sent) {
    for (std::size_t at = 0; at < in.size(); at += piece) {
        EXPECT_TRUE(p.feed(ByteView(in).subspan(at, std::min(piece, in.size() - at))));
        for (;;) {
            auto s = p.poll();
            sent.insert(sent.end(), s.bytes.begin(), s.bytes.end());
            if (s.kind == Step::Kind::send) continue;
            if (s.kind == Step::Kind::need_more) break;
            return s;
        }
    }
    return {};
}

Bytes bytes_of(std::string_view s) {
    auto v = as_bytes(s);
    return {v.begin(), v.end()};
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

const Bytes kNoAuth{5, 1, 0};
const Bytes kConnectV4{5, 1, 0, 1, 10, 1, 2, 3, 0x01, 0xbb};

TEST(Socks5Parser, connect_without_credentials_in_any_split) {
    for (std::size_t piece : {1u, 2u, 3u, 7u, 100u}) {
        Parser p;
        Bytes sent;
        auto s = drive(p, cat({kNoAuth, kConnectV4}), piece, sent);
        ASSERT_EQ(s.kind, Step::Kind::request) << piece;
        EXPECT_EQ(s.request.target, "10.1.2.3:443");
        EXPECT_EQ(s.request.isolation, "");
        EXPECT_EQ(sent, (Bytes{5, 0}));
        EXPECT_TRUE(p.take_rest().empty());
    }
}

TEST(Socks5, user_name_hops_n_asks_for_a_circuit_length) {
    EXPECT_EQ(hops_from_user("hops-2"), 2u);
    EXPECT_EQ(hops_from_user("hops-8"), 8u);
    EXPECT_EQ(hops_from_user("hops-1"), 0u);  // below a circuit's minimum
    EXPECT_EQ(hops_from_user("hops-9"), 0u);  // above kMaxHops
    EXPECT_EQ(hops_from_user("hops-3x"), 0u);
    EXPECT_EQ(hops_from_user("hops-"), 0u);
    EXPECT_EQ(hops_from_user("hops-003"), 0u);
    EXPECT_EQ(hops_from_user("bob"), 0u);
    EXPECT_EQ(hops_from_user("xhops-3"), 0u);
}

TEST(Socks5Parser, hops_user_name_reaches_the_request_and_stays_isolated) {
    Bytes auth{1, 6, 'h', 'o', 'p', 's', '-', '5', 1, 'k'};
    Bytes req{5, 1, 0, 1, 127, 0, 0, 1, 0, 80};
    Parser p;
    Bytes sent;
    auto s = drive(p, cat({{5, 1, 2}, auth, req}), 3, sent);
    ASSERT_EQ(s.kind, Step::Kind::request);
    EXPECT_EQ(s.request.hops, 5u);
    EXPECT_EQ(s.request.isolation, std::string("hops-5\0k", 8));
}

TEST(Socks5Parser, credentials_choose_the_isolation_and_early_data_is_kept) {
    Bytes auth{1, 3, 'b', 'o', 'b', 2, 'p', 'w'};
    Bytes domain{5, 1, 0, 3, 11};
    auto name = bytes_of("example.org");
    domain.insert(domain.end(), name.begin(), name.end());
    domain.insert(domain.end(), {0x1f, 0x90});
    for (std::size_t piece : {1u, 5u, 1000u}) {
        Parser p;
        Bytes sent;
        auto s = drive(p, cat({{5, 2, 0, 2}, auth, domain, bytes_of("GET /")}), piece, sent);
        ASSERT_EQ(s.kind, Step::Kind::request);
        EXPECT_EQ(s.request.target, "example.org:8080");
        EXPECT_EQ(s.request.isolation, std::string("bob\0pw", 6));
        EXPECT_EQ(sent, (Bytes{5, 2, 1, 0}));  // user/pass chosen, then accepted
        auto rest = p.take_rest();
        if (piece == 1000) {
            EXPECT_EQ(rest, bytes_of("GET /"));  // fed with the request
        }
        EXPECT_EQ(p.poll().kind, Step::Kind::request);  // it stays there
    }
}

TEST(Socks5Parser, ipv6_target) {
    Parser p;
    Bytes sent;
    Bytes req{5, 1, 0, 4};
    req.resize(4 + 15, 0);
    req.push_back(1);
    req.insert(req.end(), {0, 80});
    auto s = drive(p, cat({kNoAuth, req}), 4, sent);
    ASSERT_EQ(s.kind, Step::Kind::request);
    EXPECT_EQ(s.request.target, "[::1]:80");
}

TEST(Socks5Parser, not_socks5_or_no_method_closes_without_an_answer) {
    for (const Bytes& in : {Bytes{4, 1, 0}, Bytes{5, 0}, Bytes{0x16, 3, 1}}) {
        Parser p;
        Bytes sent;
        auto s = drive(p, in, 1, sent);
        EXPECT_EQ(s.kind, Step::Kind::close);
        EXPECT_TRUE(s.bad);
        EXPECT_TRUE(sent.empty());
    }
}

TEST(Socks5Parser, no_acceptable_method_is_refused) {
    Parser p;
    Bytes sent;
    auto s = drive(p, {5, 2, 1, 0x80}, 10, sent);
    EXPECT_EQ(s.kind, Step::Kind::close);
    EXPECT_TRUE(s.bad);
    EXPECT_EQ(sent, (Bytes{5, 0xff}));
}

TEST(Socks5Parser, a_wrong_credentials_version_fails_authentication) {
    Parser p;
    Bytes sent;
    auto s = drive(p, {5, 1, 2, 5, 1, 'a', 1, 'b'}, 1, sent);
    EXPECT_EQ(s.kind, Step::Kind::close);
    EXPECT_TRUE(s.bad);
    EXPECT_EQ(sent, (Bytes{5, 2, 1, 1}));
}

TEST(Socks5Parser, request_errors_get_their_reply_codes) {
    struct Case {
        Bytes request;
        Reply reply;
    };
    for (const auto& c :
         {Case{{5, 2, 0, 1, 1, 2, 3, 4, 0, 80}, Reply::command_not_supported},
          Case{{5, 3, 0, 1, 1, 2, 3, 4, 0, 80}, Reply::command_not_supported},
          Case{{5, 1, 0, 9}, Reply::address_type_not_supported},
          Case{{4, 1, 0, 1}, Reply::general_failure}, Case{{5, 1, 1, 1}, Reply::general_failure},
          Case{{5, 1, 0, 1, 1, 2, 3, 4, 0, 0}, Reply::general_failure},  // port 0
          Case{{5, 1, 0, 3, 0, 0, 80}, Reply::general_failure},          // empty name
          Case{{5, 1, 0, 3, 3, 'a', ' ', 'b', 0, 80}, Reply::general_failure},
          Case{{5, 1, 0, 3, 3, 'a', ':', 'b', 0, 80}, Reply::general_failure}}) {
        Parser p;
        Bytes sent;
        auto s = drive(p, cat({kNoAuth, c.request}), 3, sent);
        ASSERT_EQ(s.kind, Step::Kind::close);
        EXPECT_TRUE(s.bad);
        EXPECT_EQ(sent, cat({{5, 0}, make_reply(c.reply)}));
        EXPECT_EQ(p.poll().kind, Step::Kind::close);
        EXPECT_FALSE(p.feed(Bytes{5}));  // nothing more is taken
    }
}

TEST(Socks5Parser, an_incomplete_request_waits_and_a_flood_is_refused) {
    Parser p;
    EXPECT_TRUE(p.feed(cat({kNoAuth, {5, 1, 0, 3, 200, 'a'}})));
    EXPECT_EQ(p.poll().kind, Step::Kind::send);
    EXPECT_EQ(p.poll().kind, Step::Kind::need_more);
    EXPECT_TRUE(p.take_rest().empty());
    Parser q;
    EXPECT_FALSE(q.feed(Bytes(kMaxBuffered + 1, 5)));
    EXPECT_EQ(q.poll().kind, Step::Kind::close);
    Parser r;  // fed without being polled: the bound holds across calls
    EXPECT_TRUE(r.feed(Bytes(kMaxBuffered - 10, 5)));
    EXPECT_FALSE(r.feed(Bytes(11, 5)));
    EXPECT_EQ(r.poll().kind, Step::Kind::close);
}

}  // namespace
}  // namespace zmesh::app::socks5
