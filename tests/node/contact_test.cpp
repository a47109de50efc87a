#include "zmesh/node/contact.hpp"

#include <gtest/gtest.h>

#include "zmesh/circuit/node.hpp"
#include "zmesh/discovery/descriptor.hpp"

namespace zmesh::node {
namespace {

TEST(Contact, RoundTripsAndRejectsDamage) {
    auto id = crypto::Identity::generate();
    auto onion = crypto::X25519KeyPair::generate();
    link::SocketAddress at{boost::asio::ip::make_address("127.0.0.1"), 7001};
    link::SocketAddress ws{boost::asio::ip::make_address("::1"), 7443};
    Contact c{circuit::make_path_hop(
                  id, onion.pub, {{link::TransportKind::udp, at}, {link::TransportKind::wss, ws}}),
              true};
    std::string line = format_contact(c);
    EXPECT_TRUE(line.starts_with("udp://127.0.0.1:7001,wss://[::1]:7443 id=")) << line;
    auto back = parse_contact(line);
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->exit);
    EXPECT_EQ(back->hop.hop.id, c.hop.hop.id);
    EXPECT_EQ(back->hop.hop.link_key, c.hop.hop.link_key);
    EXPECT_EQ(back->hop.onion, c.hop.onion);
    EXPECT_EQ(back->hop.hop.addresses, c.hop.hop.addresses);
    // A bare address is UDP (the form of earlier versions).
    auto bare = parse_contact("127.0.0.1:7001" + line.substr(line.find(' ')));
    ASSERT_TRUE(bare);
    ASSERT_EQ(bare->hop.hop.addresses.size(), 1u);
    EXPECT_EQ(bare->hop.hop.addresses[0], (link::LinkAddress{link::TransportKind::udp, at}));

    std::string why;
    EXPECT_FALSE(parse_contact(line.substr(0, line.size() - 10), &why));  // onion cut short
    EXPECT_FALSE(parse_contact(line + " extra", &why));
    for (std::string bad : {"127.0.0.1:0", "smtp://127.0.0.1:7001",
                            "udp://127.0.0.1:1,udp://127.0.0.1:2", "udp://127.0.0.1:1,",
                            "tcp://127.0.0.1:1,ws://127.0.0.1:2,wss://127.0.0.1:3,"
                            "udp://127.0.0.1:4,webrtc://127.0.0.1:5,webrtc-tls://127.0.0.1:6,"
                            "tcp://127.0.0.1:7"}) {
        EXPECT_FALSE(parse_contact(bad + line.substr(line.find(' ')), &why)) << bad;
        EXPECT_NE(why.find("address"), std::string::npos) << why;
    }
    EXPECT_FALSE(parse_contact("", &why));

    // An exit's abilities follow "exit".
    c.abilities = discovery::kFlagOnion | discovery::kFlagUpstream;
    line = format_contact(c);
    EXPECT_TRUE(line.ends_with(" exit reaches-onion upstream")) << line;
    back = parse_contact(line);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->abilities, c.abilities);
    auto base = line.substr(0, line.find(" exit"));
    EXPECT_EQ(parse_contact(base + " exit reaches-i2p")->abilities, discovery::kFlagI2p);
    EXPECT_FALSE(parse_contact(base + " reaches-onion", &why));  // not an exit
    EXPECT_FALSE(parse_contact(base + " exit reaches-onion reaches-onion", &why));
    EXPECT_FALSE(parse_contact(base + " exit onion", &why));
    EXPECT_NE(why.find("'onion'"), std::string::npos) << why;
}

TEST(Bootstrap, LinesRoundTripWithDhtAndLinkAndRejectDamage) {
    auto id = crypto::Identity::generate();
    auto onion = crypto::X25519KeyPair::generate();
    link::SocketAddress http{boost::asio::ip::make_address("127.0.0.1"), 8080};
    link::SocketAddress dht{boost::asio::ip::make_address("127.0.0.1"), 4222};
    link::SocketAddress at{boost::asio::ip::make_address("127.0.0.1"), 7001};
    BootstrapNode b{
        http, id.signing.pub, dht,
        Contact{circuit::make_path_hop(id, onion.pub, {{link::TransportKind::webrtc, at}}), false}};
    std::string line = format_bootstrap(b);
    auto back = parse_bootstrap(line);
    ASSERT_TRUE(back) << line;
    EXPECT_EQ(back->directory.port, 8080);
    ASSERT_TRUE(back->dht && back->link);
    EXPECT_EQ(back->dht->port, 4222);
    ASSERT_EQ(back->link->hop.hop.addresses.size(), 1u);
    EXPECT_EQ(back->link->hop.hop.addresses[0].kind, link::TransportKind::webrtc);
    EXPECT_EQ(back->link->hop.hop.addresses[0].at.port, 7001);
    EXPECT_EQ(back->link->hop.hop.id, id.node_id());  // derived from the identity key
    EXPECT_EQ(back->link->hop.hop.link_key, id.link.pub);
    EXPECT_EQ(back->link->hop.onion, onion.pub);
    EXPECT_EQ(format_bootstrap(*back), line);
    // The plain form still works; the link needs all three parts; no unknown or repeated
    // parts.
    auto plain = parse_bootstrap(line.substr(0, line.find(" dht=")));
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->dht || plain->link);
    EXPECT_FALSE(parse_bootstrap(line.substr(0, line.find(" onion="))));
    EXPECT_FALSE(parse_bootstrap(line + " dht=127.0.0.1:1"));
    EXPECT_FALSE(parse_bootstrap(line + " color=blue"));
    EXPECT_FALSE(parse_bootstrap(line + " exit"));
    EXPECT_FALSE(parse_bootstrap("127.0.0.1:8080 00"));
}

}  // namespace
}  // namespace zmesh::node
