#pragma once
// Parsing of command-line network values shared by subcommands.

#include <optional>
#include <string>

#include "zmesh/link/service.hpp"

namespace zmesh::app {

// "127.0.0.1:9000" or "[::1]:9000".
std::optional<link::SocketAddress> parse_socket_address(const std::string& text);
std::string format_socket_address(const link::SocketAddress& a);
std::optional<link::noise::Pattern> parse_pattern_name(const std::string& text);
// ChaCha20-Poly1305, or AES-256-GCM when this CPU has AES-NI.
link::noise::Suite default_suite();

}  // namespace zmesh::app
