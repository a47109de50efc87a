#pragma once
// A relay's contact line: everything a client needs to put the relay in a path, on one
// line that an operator can copy into circuit.relays:
//   udp://127.0.0.1:7001,ws://127.0.0.1:7002 id=<64 hex> link=<64 hex> onion=<64 hex> [exit]
// The addresses are its links, one per transport (a bare HOST:PORT is UDP). Unsigned;
// signed descriptors and discovery do the same without hand-copied lines.

#include <optional>
#include <string>

#include "zmesh/circuit/client_table.hpp"
#include "zmesh/link/service.hpp"

namespace zmesh::app {

struct Contact {
    circuit::PathHop hop;  // its addresses are hop.hop.addresses
    bool exit = false;
};

std::string format_contact(const Contact& c);
// nullopt and a reason when the line is not a contact.
std::optional<Contact> parse_contact(const std::string& line, std::string* why = nullptr);

}  // namespace zmesh::app
