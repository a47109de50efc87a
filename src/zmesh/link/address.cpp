#include "zmesh/link/address.hpp"

namespace zmesh::link {

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
    for (std::uint8_t v = 1; v <= kMaxTransportKind; ++v) {
        auto t = static_cast<TransportKind>(v);
        if (name == to_string(t)) return t;
    }
    return std::nullopt;
}

bool known_transport(std::uint8_t value) {
    return value >= 1 && value <= kMaxTransportKind;
}

}  // namespace zmesh::link
