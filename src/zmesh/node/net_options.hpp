#pragma once
// Parsing of command-line network values shared by subcommands.

#include <optional>
#include <string>
#include <vector>

#include "zmesh/link/service.hpp"
#include "zmesh/transport/webrtc/peer.hpp"

namespace zmesh::node {

// "127.0.0.1:9000" or "[::1]:9000".
std::optional<link::SocketAddress> parse_socket_address(const std::string& text);
std::string format_socket_address(const link::SocketAddress& a);
// "ws://127.0.0.1:7001": a transport (link::to_string), "://", an address with a port; a
// bare "127.0.0.1:7001" is UDP.
std::optional<link::LinkAddress> parse_link_address(const std::string& text);
std::string format_link_address(const link::LinkAddress& a);
// Several, comma-separated ("udp://127.0.0.1:7000,wss://127.0.0.1:7443"): one to `max`,
// at most one per transport.
std::optional<std::vector<link::LinkAddress>> parse_link_addresses(const std::string& text,
                                                                   std::size_t max);
std::string format_link_addresses(const std::vector<link::LinkAddress>& addresses);
// "USER:PASSWORD@IP:PORT" (the password may hold ':'; the user may not).
std::optional<transport::webrtc::TurnServer> parse_turn_server(const std::string& text);
std::optional<link::noise::Pattern> parse_pattern_name(const std::string& text);
// ChaCha20-Poly1305, or AES-256-GCM when this CPU has AES-NI.
link::noise::Suite default_suite();

}  // namespace zmesh::node
