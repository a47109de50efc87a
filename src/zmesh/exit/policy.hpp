#pragma once
// Exit policy: which destinations an exit connects to. Rules are checked in order,
// the first match decides; private, loopback, link-local, multicast and unspecified
// addresses are refused before any rule unless the policy allows private ranges (as a
// test network on loopback must).
//
//   accept *:80,443        reject 192.0.2.0/24:*      accept [2001:db8::]/32:1-1024

#include <boost/asio/ip/address.hpp>
#include <string>
#include <vector>

#include "zmesh/core/result.hpp"
#include "zmesh/link/ip_ranges.hpp"

namespace zmesh::exit {

struct PolicyRule {
    bool accept = true;
    bool any_address = true;
    boost::asio::ip::address_v6 network;  // v4 rules are stored v4-mapped
    unsigned prefix = 0;                  // in bits of the v6 form
    std::uint16_t port_lo = 1;
    std::uint16_t port_hi = 65535;
};

class ExitPolicy {
  public:
    // Accepts everything public (the default of a fresh exit).
    ExitPolicy() = default;
    // Parses one rule per entry. Errors name the entry.
    static Result<ExitPolicy> parse(const std::vector<std::string>& rules, bool allow_private,
                                    std::string* error = nullptr);

    bool allows(const boost::asio::ip::address& addr, std::uint16_t port) const;
    // Whether some public address is allowed on this port (for choosing an exit before the
    // destination's address is known, as Tor's exit policy summaries do).
    bool may_allow_port(std::uint16_t port) const;
    bool allow_private() const { return allow_private_; }
    void set_allow_private(bool v) { allow_private_ = v; }

  private:
    std::vector<PolicyRule> rules_;
    bool allow_private_ = false;
};

using link::is_private;  // the destinations refused unless allow_private

}  // namespace zmesh::exit
