#include "zmesh/node/net_options.hpp"

#include "zmesh/exit/exit_service.hpp"

namespace zmesh::node {

std::optional<link::SocketAddress> parse_socket_address(const std::string& text) {
    auto t = exit::parse_target(text, true);
    boost::system::error_code ec;
    auto ip = t ? boost::asio::ip::make_address(t->host, ec) : boost::asio::ip::address();
    if (!t || ec) return std::nullopt;
    return link::SocketAddress{ip, t->port};
}

std::optional<link::LinkAddress> parse_link_address(const std::string& text) {
    link::LinkAddress a;
    std::string rest = text;
    if (auto sep = text.find("://"); sep != std::string::npos) {
        auto kind = link::parse_transport_kind(std::string_view(text).substr(0, sep));
        if (!kind) return std::nullopt;
        a.kind = *kind;
        rest = text.substr(sep + 3);
    }
    auto at = parse_socket_address(rest);
    if (!at || at->port == 0) return std::nullopt;
    a.at = *at;
    return a;
}

std::string format_link_address(const link::LinkAddress& a) {
    std::string out = link::to_string(a.kind);
    out.append("://");
    out.append(format_socket_address(a.at));
    return out;
}

std::optional<std::vector<link::LinkAddress>> parse_link_addresses(const std::string& text,
                                                                   std::size_t max) {
    std::vector<link::LinkAddress> out;
    std::size_t from = 0;
    for (;;) {
        auto comma = text.find(',', from);
        auto a = parse_link_address(text.substr(from, comma - from));
        if (!a || out.size() >= max) return std::nullopt;
        for (const auto& b : out)
            if (b.kind == a->kind) return std::nullopt;
        out.push_back(*a);
        if (comma == std::string::npos) return out;
        from = comma + 1;
    }
}

std::string format_link_addresses(const std::vector<link::LinkAddress>& addresses) {
    std::string out;
    for (const auto& a : addresses) {
        if (!out.empty()) out.push_back(',');
        out.append(format_link_address(a));
    }
    return out;
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

}  // namespace zmesh::node
