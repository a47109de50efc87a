#include "zmesh/app/contact.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace zmesh::app
