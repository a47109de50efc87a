#include "zmesh/circuit/extend_policy.hpp"

#include <algorithm>

#include "zmesh/link/ip_ranges.hpp"

namespace zmesh::circuit {

const char* to_string(ExtendRefusal r) {
    switch (r) {
        case ExtendRefusal::none:
            return "allowed";
        case ExtendRefusal::private_address:
            return "next hop has only internal addresses";
        case ExtendRefusal::self:
            return "next hop is this relay";
        case ExtendRefusal::previous_hop:
            return "next hop is the previous hop";
    }
    return "unknown";
}

ExtendRefusal check_extend(NextHop& hop, const ExtendContext& ctx) {
    if (hop.id == ctx.self_id || (ctx.self_link_key && hop.link_key == *ctx.self_link_key))
        return ExtendRefusal::self;
    if (ctx.previous_link_key && hop.link_key == *ctx.previous_link_key)
        return ExtendRefusal::previous_hop;
    if (!ctx.allow_private_addresses)
        std::erase_if(hop.addresses,
                      [](const link::LinkAddress& a) { return link::is_private(a.at.ip); });
    return hop.addresses.empty() ? ExtendRefusal::private_address : ExtendRefusal::none;
}

}  // namespace zmesh::circuit
