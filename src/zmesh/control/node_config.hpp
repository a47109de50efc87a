#pragma once
// Loading a node's configuration for the daemon and `zmesh config`: the file, then the
// environment, then --set; type and range errors from the option table, then the checks
// that need more than one option (roles and listen addresses, relay contact lines).

#include <optional>
#include <string>
#include <vector>

#include "zmesh/control/config.hpp"
#include "zmesh/fec/tetrys.hpp"
#include "zmesh/link/webrtc_link.hpp"
#include "zmesh/node/contact.hpp"
#include "zmesh/node/options.hpp"

namespace zmesh::control {

std::optional<std::string> read_text_file(const std::string& path);

// Prints each error as FILE:LINE: key: message on stderr; nullopt on any error.
std::optional<Config> load_or_explain(const std::string& path,
                                      const std::vector<std::string>& sets);

bool has_role(const Config& c, const std::string& role);
// "key: what is wrong", one per problem; empty when the node can start with it.
std::vector<std::string> node_config_problems(const Config& c);
// What works but is probably not what the operator wants.
std::vector<std::string> node_config_warnings(const Config& c);
// circuit.relays, parsed (lines that do not parse are left out; see node_config_problems).
std::vector<node::Contact> configured_relays(const Config& c);
// The [fec] section as a Tetrys configuration; nullopt when fec.enabled is false.
std::optional<fec::TetrysConfig> fec_config(const Config& c);
// WebRTC link options from [transport] (webrtc_*, stun_server, turn_servers); the config
// must have passed node_config_problems.
link::WebRtcOptions webrtc_options(const Config& c);

std::vector<node::BootstrapNode> configured_bootstraps(const Config& c);
// The transports of the links the configuration starts (by their listen addresses).
std::vector<link::TransportKind> configured_transports(const Config& c);
// transport.order as transport kinds (duplicates dropped).
std::vector<link::TransportKind> transport_order(const Config& c);

// SIGHUP: the reloadable options that differ in `fresh` are set in `running`
// ("key=value" each, in `applied`); the others that differ need a restart.
struct Reload {
    std::vector<std::string> applied;
    std::vector<std::string> restart;
};
Reload apply_reloadable(Config& running, const Config& fresh);

// The typed options of a Node from a configuration that passed node_config_problems.
// Throws std::runtime_error when a TLS certificate or key file cannot be loaded.
node::Options node_options(const Config& c);

}  // namespace zmesh::control
