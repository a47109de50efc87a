#pragma once
// Address ranges: which IP addresses are not public unicast. Shared by the exit policy
// (destinations) and the circuit layer's EXTEND check (next hops).

#include <boost/asio/ip/address.hpp>

namespace zmesh::link {

// IPv4 as v4-mapped IPv6.
boost::asio::ip::address_v6 as_v6(const boost::asio::ip::address& a);
// Whether `addr` lies in the first `bits` of `net`.
bool in_prefix(const boost::asio::ip::address_v6& addr, const boost::asio::ip::address_v6& net,
               unsigned bits);
// Not a public unicast address: loopback, RFC 1918, CGNAT, link-local, unique-local,
// multicast, unspecified, documentation and reserved ranges. Exits refuse such destinations
// and relays such next hops unless configured otherwise.
bool is_private(const boost::asio::ip::address& addr);

}  // namespace zmesh::link
