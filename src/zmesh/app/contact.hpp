#pragma once
// A relay's contact line: everything a client needs to put the relay in a path, on one
// line that an operator can copy into circuit.relays:
//   127.0.0.1:7001 id=<64 hex> link=<64 hex> onion=<64 hex> [exit]
// Unsigned; signed descriptors and discovery replace hand-copied lines later.

#include <optional>
#include <string>

#include "zmesh/circuit/client_table.hpp"
#include "zmesh/link/service.hpp"

namespace zmesh::app {

struct Contact {
    circuit::PathHop hop;
    link::SocketAddress address;
    bool exit = false;
};

std::string format_contact(const Contact& c);
// nullopt and a reason when the line is not a contact.
std::optional<Contact> parse_contact(const std::string& line, std::string* why = nullptr);

}  // namespace zmesh::app
