#include <gtest/gtest.h>

#include "zmesh/exit/exit_service.hpp"
#include "zmesh/exit/policy.hpp"

namespace zmesh::exit {
namespace {

namespace ip = boost::asio::ip;

TEST(ExitPolicy, refuses_private_ranges_unless_allowed) {
    ExitPolicy p;
    for (const char* a : {"127.0.0.1", "10.1.2.3", "192.168.1.1", "172.20.0.1", "169.254.1.1",
                          "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fd00::1", "::"})
        EXPECT_FALSE(p.allows(ip::make_address(a), 80)) << a;
    for (const char* a : {"93.184.216.34", "8.8.8.8", "2606:4700::1111"})
        EXPECT_TRUE(p.allows(ip::make_address(a), 443)) << a;
    EXPECT_FALSE(p.allows(ip::make_address("::ffff:10.0.0.1"), 80));  // v4-mapped private
    p.set_allow_private(true);
    EXPECT_TRUE(p.allows(ip::make_address("127.0.0.1"), 80));
    EXPECT_FALSE(p.allows(ip::make_address("127.0.0.1"), 0));
}

TEST(ExitPolicy, first_matching_rule_decides) {
    std::string err;
    auto p = ExitPolicy::parse(
        {"reject 8.8.8.0/24:*", "accept *:80,443", "accept *:80", "accept *:443", "reject *:*"},
        false, &err);
    EXPECT_FALSE(p);  // "80,443" is not a port or range
    EXPECT_NE(err.find("80,443"), std::string::npos);
    p = ExitPolicy::parse({"reject 8.8.8.0/24:*", "accept *:80", "accept [2001:db8::]/32:1-1024",
                           "accept *:443", "reject *:*"},
                          false, &err);
    ASSERT_TRUE(p) << err;
    EXPECT_FALSE(p->allows(ip::make_address("8.8.8.8"), 80));
    EXPECT_TRUE(p->allows(ip::make_address("8.8.4.4"), 80));
    EXPECT_TRUE(p->allows(ip::make_address("1.1.1.1"), 443));
    EXPECT_FALSE(p->allows(ip::make_address("1.1.1.1"), 22));
}

TEST(ExitPolicy, parse_errors_name_the_rule) {
    for (const char* bad : {"allow *:*", "accept *", "accept 1.2.3.4/33:*", "accept 1.2.3.x:*",
                            "accept *:0", "accept *:90-80", "accept *:70000"}) {
        std::string err;
        EXPECT_FALSE(ExitPolicy::parse({bad}, false, &err)) << bad;
        EXPECT_NE(err.find(bad), std::string::npos) << err;
    }
}

TEST(ExitTarget, parses_host_port_forms) {
    auto t = parse_target("example.org:443");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->host, "example.org");
    EXPECT_EQ(t->port, 443);
    t = parse_target("[2001:db8::1]:80");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->host, "2001:db8::1");
    for (const char* bad : {"example.org", ":80", "host:0", "host:65536", "host:8x", "[::1]80"})
        EXPECT_FALSE(parse_target(bad)) << bad;
    for (const char* good : {"a-b_c.example.org.:443", "1.2.3.4:80", "xn--bcher-kva.example:80"})
        EXPECT_TRUE(parse_target(good)) << good;
}

// The attack: a client hand-builds a BEGIN whose host smuggles a second request line
// into an HTTP CONNECT upstream ("CONNECT 10.0.0.5:22 HTTP/1.1\r\nX:443 HTTP/1.1"), or a
// name that the upstream's resolver reads as a loopback number, past a policy that
// checks only the port of names. The exit refuses them before any dialer sees them.
TEST(ExitTarget, refuses_hosts_a_proxy_or_resolver_would_read_as_more) {
    for (const char* bad : {"10.0.0.5:22 HTTP/1.1\r\nX:443", "mail.example:25 HTTP/1.1\r\nX:443",
                            "a b.example:80", "a\tb:80", "[[::1]]:80", "[localhost]:80",
                            "[1.2.3.4]:80", "::1:80", "127.1:80", "2130706433:80", "0x7f.1:80",
                            "0177.0.0.1:80", "a..b:80", ".a:80", "a/b:80", "a@b:80", "a%b:80"})
        EXPECT_FALSE(parse_target(bad)) << bad;
    EXPECT_FALSE(valid_destination_host(std::string(64, 'a') + ".example"));  // label > 63
    EXPECT_FALSE(valid_destination_host(std::string(254, 'a')));
    EXPECT_TRUE(valid_destination_host("3com.example"));  // digits are fine in a name
    EXPECT_TRUE(loopback_name("LocalHost."));
    EXPECT_TRUE(loopback_name("printer.localhost"));
    EXPECT_FALSE(loopback_name("localhost.example"));
}

}  // namespace
}  // namespace zmesh::exit
