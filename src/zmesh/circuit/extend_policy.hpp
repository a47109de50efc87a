#pragma once
// Which next hops a relay agrees to extend a circuit to. An EXTEND names the next hop's
// addresses and keys; without a check, a client could make a relay open links into the
// relay's own network (loopback, RFC 1918, link-local: a port scanner behind its
// firewall), to the relay itself, or back to the previous hop (a circuit that loops
// through one relay twice, for traffic amplification and to confuse path selection). Tor
// refuses all of these by default; so does zmesh, unless the configuration allows private
// addresses (a test network on one machine or a LAN).

#include <optional>

#include "zmesh/circuit/messages.hpp"

namespace zmesh::circuit {

enum class ExtendRefusal : std::uint8_t {
    none = 0,
    private_address,  // every address of the next hop is internal
    self,             // the next hop is this relay
    previous_hop,     // the next hop is where the circuit came from
};
const char* to_string(ExtendRefusal r);

struct ExtendContext {
    crypto::NodeId self_id;
    std::optional<crypto::X25519Public> self_link_key;
    // The previous hop's static link key; none when it is a client (anonymous link).
    std::optional<crypto::X25519Public> previous_link_key;
    bool allow_private_addresses = false;
};

// Drops the addresses of `hop` this relay may not connect to; refuses the hop when it is
// this relay, the previous hop, or no address remains.
ExtendRefusal check_extend(NextHop& hop, const ExtendContext& ctx);

}  // namespace zmesh::circuit
