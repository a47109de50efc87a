#include "zmesh/link/address.hpp"

#include <algorithm>

namespace zmesh::link {

namespace ip = boost::asio::ip;

ByteArray<16> ip_bytes(const ip::address& a) {
    auto v6 = a.is_v4() ? ip::make_address_v6(ip::v4_mapped, a.to_v4()) : a.to_v6();
    auto b = v6.to_bytes();
    ByteArray<16> out;
    std::copy(b.begin(), b.end(), out.begin());
    return out;
}

ip::address ip_from_bytes(const std::uint8_t* bytes) {
    ip::address_v6::bytes_type b;
    std::copy_n(bytes, b.size(), b.begin());
    ip::address_v6 v6(b);
    if (v6.is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, v6);
    return v6;
}

const char* to_string(TransportKind t) {
    switch (t) {
        case TransportKind::udp:
            return "udp";
        case TransportKind::tcp:
            return "tcp";
        case TransportKind::ws:
            return "ws";
        case TransportKind::wss:
            return "wss";
        case TransportKind::webrtc:
            return "webrtc";
        case TransportKind::webrtc_tls:
            return "webrtc-tls";
    }
    return "unknown";
}

std::optional<TransportKind> parse_transport_kind(std::string_view name) {
    for (std::uint8_t v = 1; v <= kTransportKinds; ++v) {
        auto t = static_cast<TransportKind>(v);
        if (name == to_string(t)) return t;
    }
    return std::nullopt;
}

bool known_transport(std::uint8_t value) {
    return value >= 1 && value <= kTransportKinds;
}

}  // namespace zmesh::link
