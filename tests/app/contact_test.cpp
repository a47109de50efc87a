#include "zmesh/app/contact.hpp"

#include <gtest/gtest.h>

#include "zmesh/app/node_config.hpp"
#include "zmesh/circuit/node.hpp"

namespace zmesh::app {
namespace {

TEST(Contact, RoundTripsAndRejectsDamage) {
    auto id = crypto::Identity::generate();
    auto onion = crypto::X25519KeyPair::generate();
    link::SocketAddress at{boost::asio::ip::make_address("127.0.0.1"), 7001};
    Contact c{circuit::make_path_hop(id, onion.pub, at), at, true};
    std::string line = format_contact(c);
    auto back = parse_contact(line);
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->exit);
    EXPECT_EQ(back->address.port, 7001);
    EXPECT_EQ(back->hop.hop.id, c.hop.hop.id);
    EXPECT_EQ(back->hop.hop.link_key, c.hop.hop.link_key);
    EXPECT_EQ(back->hop.onion, c.hop.onion);
    EXPECT_EQ(back->hop.hop.address, c.hop.hop.address);

    std::string why;
    EXPECT_FALSE(parse_contact(line.substr(0, line.size() - 10), &why));  // onion cut short
    EXPECT_FALSE(parse_contact(line + " extra", &why));
    EXPECT_FALSE(parse_contact("127.0.0.1:0" + line.substr(line.find(' ')), &why));
    EXPECT_NE(why.find("address"), std::string::npos) << why;
    EXPECT_FALSE(parse_contact("", &why));
}

TEST(Bootstrap, LinesRoundTripWithDhtAndLinkAndRejectDamage) {
    auto id = crypto::Identity::generate();
    auto onion = crypto::X25519KeyPair::generate();
    link::SocketAddress http{boost::asio::ip::make_address("127.0.0.1"), 8080};
    link::SocketAddress dht{boost::asio::ip::make_address("127.0.0.1"), 4222};
    link::SocketAddress at{boost::asio::ip::make_address("127.0.0.1"), 7001};
    BootstrapNode b{http, id.signing.pub, dht,
                    Contact{circuit::make_path_hop(id, onion.pub, at), at, false}};
    std::string line = format_bootstrap(b);
    auto back = parse_bootstrap(line);
    ASSERT_TRUE(back) << line;
    EXPECT_EQ(back->directory.port, 8080);
    ASSERT_TRUE(back->dht && back->link);
    EXPECT_EQ(back->dht->port, 4222);
    EXPECT_EQ(back->link->address.port, 7001);
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
}  // namespace zmesh::app
