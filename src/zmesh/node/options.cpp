#include "zmesh/node/options.hpp"

#include "zmesh/circuit/limits.hpp"
#include "zmesh/exit/policy.hpp"

namespace zmesh::node {

std::vector<std::string> Roles::names() const {
    std::vector<std::string> out;
    if (client) out.emplace_back("client");
    if (relay) out.emplace_back("relay");
    if (exit) out.emplace_back("exit");
    if (bootstrap) out.emplace_back("bootstrap");
    return out;
}

std::vector<std::string> problems(const Options& o) {
    std::vector<std::string> out;
    if (!o.roles.client && !o.roles.accepts_circuits())
        out.emplace_back("roles: at least one of client, relay, exit, bootstrap");
    if (o.circuit.hops < 2 || o.circuit.hops > circuit::kMaxHops)
        out.emplace_back("circuit.hops: from 2 to " + std::to_string(circuit::kMaxHops));
    if (!o.links.udp && !o.links.tcp && !o.links.ws && !o.links.webrtc)
        out.emplace_back("transport: no link (every listen address is off)");
    if (o.links.packet_loss < 0 || o.links.packet_loss >= 1)
        out.emplace_back("development.packet_loss_rate: from 0 to below 1");
    std::string why;
    if (!exit::ExitPolicy::parse(o.exit.policy, o.exit.allow_private, &why))
        out.emplace_back("security.exit_policy: " + why);
    return out;
}

}  // namespace zmesh::node
