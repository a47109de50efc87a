#include "zmesh/app/net_options.hpp"

#include "zmesh/exit/exit_service.hpp"

namespace zmesh::app {

std::optional<link::SocketAddress> parse_socket_address(const std::string& text) {
    auto t = exit::parse_target(text, true);
    boost::system::error_code ec;
    auto ip = t ? boost::asio::ip::make_address(t->host, ec) : boost::asio::ip::address();
    if (!t || ec) return std::nullopt;
    return link::SocketAddress{ip, t->port};
}

std::optional<transport::webrtc::TurnServer> parse_turn_server(const std::string& text) {
    auto at = text.rfind('@');
    if (at == std::string::npos) return std::nullopt;
    auto creds = text.substr(0, at);
    auto colon = creds.find(':');
    auto addr = parse_socket_address(text.substr(at + 1));
    if (colon == std::string::npos || colon == 0 || !addr || addr->port == 0) return std::nullopt;
    transport::webrtc::TurnServer t;
    t.host = addr->ip.to_string();
    t.port = addr->port;
    t.user = creds.substr(0, colon);
    t.password = creds.substr(colon + 1);
    return t;
}

std::string format_socket_address(const link::SocketAddress& a) {
    // Appends rather than operator+ chains, which trip GCC 12's -Wrestrict at -O3.
    std::string out;
    if (a.ip.is_v6()) out.push_back('[');
    out.append(a.ip.to_string());
    if (a.ip.is_v6()) out.push_back(']');
    out.push_back(':');
    out.append(std::to_string(a.port));
    return out;
}

std::optional<link::noise::Pattern> parse_pattern_name(const std::string& text) {
    if (text == "nk" || text == "NK") return link::noise::Pattern::NK;
    if (text == "ik" || text == "IK") return link::noise::Pattern::IK;
    if (text == "xk" || text == "XK") return link::noise::Pattern::XK;
    return std::nullopt;
}

link::noise::Suite default_suite() {
    link::noise::Suite s;
    s.cipher = crypto::aes_gcm_hardware_available() ? crypto::AeadAlg::aes256_gcm
                                                    : crypto::AeadAlg::chacha20_poly1305;
    s.hash = crypto::HashAlg::blake2b;
    return s;
}

}  // namespace zmesh::app
