// The exit's upstream proxies, without sockets: the proxy address parser, the client
// side of the SOCKS5 and HTTP CONNECT handshakes byte by byte, and how their answers
// become END reasons and then the SOCKS reply the zmesh client's application sees.
#include "zmesh/exit/upstream.hpp"

#include <gtest/gtest.h>

#include "zmesh/app/socks5.hpp"

namespace zmesh::exit {
namespace {

using stream::EndReason;
using State = ProxyHandshake::State;

Bytes bytes(std::string_view s) {
    return {s.begin(), s.end()};
}

ProxyAddress proxy(std::string_view url) {
    auto p = parse_proxy_address(url);
    EXPECT_TRUE(p) << url;
    return p.value_or(ProxyAddress{});
}

// Feeds `in` as a proxy would send it, never more than the handshake asks for at once.
State answer(ProxyHandshake& hs, ByteView in) {
    while (!in.empty() && hs.state() == State::running) {
        auto n = std::min(hs.wanted(), in.size());
        EXPECT_GT(n, 0u);
        if (n == 0) break;
        hs.feed(in.subspan(0, n));
        in = in.subspan(n);
    }
    return hs.state();
}

TEST(ProxyAddress, parses_socks5_and_http_with_ip_addresses_only) {
    auto p = parse_proxy_address("socks5://127.0.0.1:9050");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->kind, ProxyAddress::Kind::socks5);
    EXPECT_EQ(p->host, "127.0.0.1");
    EXPECT_EQ(p->port, 9050);
    p = parse_proxy_address("http://[::1]:8888/");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->kind, ProxyAddress::Kind::http);
    EXPECT_EQ(p->host, "::1");
    EXPECT_EQ(p->describe(), "http://[::1]:8888");
    p = parse_proxy_address("socks5://alice:s3cret@10.0.0.1:1080");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->user, "alice");
    EXPECT_EQ(p->password, "s3cret");
    EXPECT_EQ(p->describe(), "socks5://alice:***@10.0.0.1:1080");  // no password in logs

    std::string why;
    for (const char* bad :
         {"127.0.0.1:9050", "socks4://127.0.0.1:1", "https://127.0.0.1:1",
          "socks5://localhost:9050", "socks5://127.0.0.1:0", "socks5://127.0.0.1:65536",
          "socks5://127.0.0.1", "socks5://:9050", "http://u:p@127.0.0.1:8080",
          "socks5://user@127.0.0.1:1", "socks5://[::1:9050", ""}) {
        why.clear();
        EXPECT_FALSE(parse_proxy_address(bad, &why)) << bad;
        EXPECT_FALSE(why.empty()) << bad;
    }
    parse_proxy_address("socks5://proxy.example:1080", &why);
    EXPECT_NE(why.find("IP address"), std::string::npos) << why;
}

TEST(Socks5Client, sends_the_name_to_the_proxy_and_reads_exactly_the_reply) {
    ProxyHandshake hs(proxy("socks5://127.0.0.1:9050"), "example.onion", 80);
    EXPECT_EQ(hs.take_output(), (Bytes{5, 1, 0}));  // no authentication
    EXPECT_EQ(hs.wanted(), 2u);
    EXPECT_EQ(hs.feed(Bytes{5}), State::running);
    EXPECT_EQ(hs.wanted(), 1u);
    EXPECT_EQ(hs.feed(Bytes{0}), State::running);
    Bytes want{5, 1, 0, 3, 13};
    auto name = bytes("example.onion");
    want.insert(want.end(), name.begin(), name.end());
    want.push_back(0);
    want.push_back(80);
    EXPECT_EQ(hs.take_output(), want);
    EXPECT_EQ(hs.wanted(), 4u);
    // Success with an IPv4 bound address: 4 + 4 + 2 bytes, then the destination's bytes,
    // which the handshake must not ask for.
    EXPECT_EQ(answer(hs, Bytes{5, 0, 0, 1, 127, 0, 0, 1, 0x23, 0x28}), State::connected);
    EXPECT_EQ(hs.wanted(), 0u);
    EXPECT_TRUE(hs.take_output().empty());
    EXPECT_EQ(hs.feed(bytes("HTTP/1.1 200 OK")), State::connected);  // ignored once done
}

TEST(Socks5Client, ip_destinations_use_their_address_types_and_domain_bound_addresses_are_read) {
    ProxyHandshake v4(proxy("socks5://127.0.0.1:1"), "192.0.2.7", 443);
    v4.take_output();
    answer(v4, Bytes{5, 0});
    EXPECT_EQ(v4.take_output(), (Bytes{5, 1, 0, 1, 192, 0, 2, 7, 1, 0xbb}));
    // A bound address given as a name (length 3), then the port.
    EXPECT_EQ(answer(v4, Bytes{5, 0, 0, 3, 3, 'a', 'b', 'c', 0, 1}), State::connected);

    ProxyHandshake v6(proxy("socks5://127.0.0.1:1"), "2001:db8::1", 80);
    v6.take_output();
    answer(v6, Bytes{5, 0});
    auto req = v6.take_output();
    ASSERT_EQ(req.size(), 4u + 16 + 2);
    EXPECT_EQ(req[3], 4);
    EXPECT_EQ(req[4], 0x20);
    EXPECT_EQ(req[19], 1);
    Bytes reply{5, 0, 0, 4};
    reply.resize(4 + 16 + 2);
    EXPECT_EQ(answer(v6, reply), State::connected);
}

TEST(Socks5Client, user_and_password_when_configured) {
    ProxyHandshake hs(proxy("socks5://bob:pw@127.0.0.1:1"), "a.i2p", 80);
    EXPECT_EQ(hs.take_output(), (Bytes{5, 2, 0, 2}));
    answer(hs, Bytes{5, 2});
    EXPECT_EQ(hs.take_output(), (Bytes{1, 3, 'b', 'o', 'b', 2, 'p', 'w'}));
    answer(hs, Bytes{1, 0});
    EXPECT_EQ(hs.take_output()[3], 3);  // the request follows

    ProxyHandshake refused(proxy("socks5://bob:pw@127.0.0.1:1"), "a.i2p", 80);
    answer(refused, Bytes{5, 2});
    EXPECT_EQ(answer(refused, Bytes{1, 1}), State::failed);
    EXPECT_EQ(refused.failure(), EndReason::upstream_failed);

    // A proxy that wants a password we do not have, or no method at all.
    for (std::uint8_t method : {2, 0xff}) {
        ProxyHandshake hs2(proxy("socks5://127.0.0.1:1"), "a.onion", 80);
        EXPECT_EQ(answer(hs2, Bytes{5, method}), State::failed);
        EXPECT_EQ(hs2.failure(), EndReason::upstream_failed);
    }
}

TEST(Socks5Client, malformed_answers_and_early_close_fail_as_the_upstream) {
    for (Bytes bad :
         {Bytes{4, 0}, Bytes{5, 0, 5, 0, 0, 0}, Bytes{5, 0, 5, 0, 1, 9}, Bytes{5, 0, 5, 0, 0, 7}}) {
        ProxyHandshake hs(proxy("socks5://127.0.0.1:1"), "a.onion", 80);
        EXPECT_EQ(answer(hs, bad), State::failed);
        EXPECT_EQ(hs.failure(), EndReason::upstream_failed);
    }
    ProxyHandshake hs(proxy("socks5://127.0.0.1:1"), "a.onion", 80);
    answer(hs, Bytes{5, 0});
    EXPECT_EQ(hs.closed(), State::failed);
    EXPECT_EQ(hs.failure(), EndReason::upstream_failed);
    // More than asked for is a bug of the caller, not a crash.
    ProxyHandshake over(proxy("socks5://127.0.0.1:1"), "a.onion", 80);
    EXPECT_EQ(over.feed(Bytes{5, 0, 5}), State::failed);
    // A name SOCKS5 cannot carry.
    ProxyHandshake long_name(proxy("socks5://127.0.0.1:1"), std::string(256, 'a'), 80);
    EXPECT_EQ(long_name.state(), State::failed);
    EXPECT_TRUE(long_name.take_output().empty());
}

// The table of docs/exits.md: each SOCKS5 reply of the upstream, the END reason the exit
// sends, and the reply the zmesh client's SOCKS port gives its application.
TEST(UpstreamErrors, socks_replies_map_to_end_reasons_and_back_to_socks_replies) {
    using R = app::socks5::Reply;
    struct Row {
        std::uint8_t upstream;
        EndReason reason;
        R client;
    };
    for (auto row : {Row{1, EndReason::upstream_failed, R::general_failure},
                     Row{2, EndReason::refused, R::not_allowed},
                     Row{3, EndReason::unreachable, R::network_unreachable},
                     Row{4, EndReason::host_unreachable, R::host_unreachable},
                     Row{5, EndReason::connect_refused, R::connection_refused},
                     Row{6, EndReason::timeout, R::ttl_expired},
                     Row{7, EndReason::upstream_failed, R::general_failure},
                     Row{8, EndReason::upstream_failed, R::general_failure},
                     Row{0xF0, EndReason::host_unreachable, R::host_unreachable},
                     Row{0xF6, EndReason::resolve_failed, R::host_unreachable},
                     Row{0xF7, EndReason::timeout, R::ttl_expired},
                     Row{0x42, EndReason::upstream_failed, R::general_failure}}) {
        ProxyHandshake hs(proxy("socks5://127.0.0.1:1"), "x.onion", 80);
        answer(hs, Bytes{5, 0});
        EXPECT_EQ(answer(hs, Bytes{5, row.upstream, 0, 1}), State::failed) << int(row.upstream);
        EXPECT_EQ(hs.failure(), row.reason) << int(row.upstream);
        EXPECT_EQ(hs.detail(), "SOCKS5 reply " + std::to_string(row.upstream));
        EXPECT_EQ(app::socks5::reply_for(hs.failure()), row.client) << int(row.upstream);
    }
    // Failures of the exit's own, and the client's when no exit reaches a name.
    EXPECT_EQ(app::socks5::reply_for(EndReason::upstream_failed), R::general_failure);
    EXPECT_EQ(app::socks5::reply_for(EndReason::no_exit), R::host_unreachable);
}

TEST(HttpConnectClient, sends_connect_and_reads_up_to_the_blank_line_only) {
    ProxyHandshake hs(proxy("http://127.0.0.1:8888"), "example.com", 443);
    EXPECT_EQ(hs.take_output(),
              bytes("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"));
    std::string reply = "HTTP/1.0 200 Connection established\r\nProxy-agent: x\r\n\r\n";
    std::size_t i = 0;
    while (hs.state() == State::running) {
        auto n = hs.wanted();
        ASSERT_GT(n, 0u);
        ASSERT_LE(i + n, reply.size()) << "asked to read past the header";
        hs.feed(bytes(std::string_view(reply).substr(i, n)));
        i += n;
    }
    EXPECT_EQ(i, reply.size());
    EXPECT_EQ(hs.state(), State::connected);
    EXPECT_EQ(hs.detail(), "HTTP 200");

    ProxyHandshake v6(proxy("http://127.0.0.1:8888"), "::1", 22);
    EXPECT_EQ(v6.take_output(), bytes("CONNECT [::1]:22 HTTP/1.1\r\nHost: [::1]:22\r\n\r\n"));
}

TEST(HttpConnectClient, statuses_map_to_end_reasons) {
    struct Row {
        int status;
        EndReason reason;
    };
    for (auto row : {Row{403, EndReason::refused}, Row{407, EndReason::refused},
                     Row{404, EndReason::host_unreachable}, Row{502, EndReason::unreachable},
                     Row{503, EndReason::unreachable}, Row{504, EndReason::timeout},
                     Row{500, EndReason::upstream_failed}, Row{400, EndReason::upstream_failed},
                     Row{301, EndReason::upstream_failed}}) {
        ProxyHandshake hs(proxy("http://127.0.0.1:1"), "a.example", 80);
        auto r = "HTTP/1.1 " + std::to_string(row.status) + " Whatever\r\n\r\n";
        EXPECT_EQ(answer(hs, bytes(r)), State::failed) << row.status;
        EXPECT_EQ(hs.failure(), row.reason) << row.status;
    }
    for (std::string bad : {"SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
                            "HTTP/1.1 99 Low\r\n\r\n", "HTTP/2 200\r\n\r\n"}) {
        ProxyHandshake hs(proxy("http://127.0.0.1:1"), "a.example", 80);
        EXPECT_EQ(answer(hs, bytes(bad)), State::failed) << bad;
        EXPECT_EQ(hs.failure(), EndReason::upstream_failed);
    }
    // A header that never ends is cut at kMaxProxyResponse.
    ProxyHandshake hs(proxy("http://127.0.0.1:1"), "a.example", 80);
    std::string endless = "HTTP/1.1 200 OK\r\n" + std::string(2 * kMaxProxyResponse, 'x');
    EXPECT_EQ(answer(hs, bytes(endless)), State::failed);
    EXPECT_EQ(hs.failure(), EndReason::upstream_failed);
}

}  // namespace
}  // namespace zmesh::exit
