#include "zmesh/app/net_options.hpp"

#include <charconv>

namespace zmesh::app {

std::optional<link::SocketAddress> parse_socket_address(const std::string& text) {
    std::string host;
    std::string port;
    if (!text.empty() && text[0] == '[') {
        auto close = text.find("]:");
        if (close == std::string::npos) return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string::npos) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    boost::system::error_code ec;
    auto ip = boost::asio::ip::make_address(host, ec);
    unsigned value = 0;
    auto [ptr, err] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec || err != std::errc{} || ptr != port.data() + port.size() || value > 65535)
        return std::nullopt;
    return link::SocketAddress{ip, static_cast<std::uint16_t>(value)};
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
