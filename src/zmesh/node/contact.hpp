#pragma once
// A relay's contact line: everything a client needs to put the relay in a path, on one
// line that an operator can copy into circuit.relays:
//   udp://127.0.0.1:7001,ws://127.0.0.1:7002 id=<64 hex> link=<64 hex> onion=<64 hex>
//   [exit [reaches-onion] [reaches-i2p] [upstream]]
// The addresses are its links, one per transport (a bare HOST:PORT is UDP). Unsigned;
// signed descriptors and discovery do the same without hand-copied lines.

#include <optional>
#include <string>

#include "zmesh/circuit/client_table.hpp"
#include "zmesh/link/service.hpp"

namespace zmesh::node {

struct Contact {
    circuit::PathHop hop;  // its addresses are hop.hop.addresses
    bool exit = false;
    // An exit's abilities (discovery::kFlagOnion, kFlagI2p, kFlagUpstream).
    std::uint8_t abilities = 0;
};

std::string format_contact(const Contact& c);
// nullopt and a reason when the line is not a contact.
std::optional<Contact> parse_contact(const std::string& line, std::string* why = nullptr);

// A core.bootstrap entry:
//   "HOST:PORT KEY [dht=HOST:PORT] [link=TRANSPORT://HOST:PORT[,...] linkkey=HEX onion=HEX]"
// the HTTP directory address, the Ed25519 identity key (hex), its DHT node, and its zmesh
// link address with the link and onion keys (then the directory is fetched over a
// circuit to it, and HTTP is the fallback).
struct BootstrapNode {
    link::SocketAddress directory;
    crypto::Ed25519Public key;
    std::optional<link::SocketAddress> dht;
    std::optional<Contact> link;
};
std::optional<BootstrapNode> parse_bootstrap(const std::string& line);
std::string format_bootstrap(const BootstrapNode& b);

}  // namespace zmesh::node
