#pragma once
// Where a node's links listen and how to reach them: network addresses, the transports a
// node can speak, and the order in which a node tries them.

#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string_view>

#include "zmesh/core/bytes.hpp"

namespace zmesh::link {

struct SocketAddress {
    boost::asio::ip::address ip;
    std::uint16_t port = 0;
    bool operator==(const SocketAddress&) const = default;
};

// The 16-byte wire form of an IP address: IPv6, or IPv4 as v4-mapped IPv6; and back (a
// v4-mapped address becomes IPv4 again).
ByteArray<16> ip_bytes(const boost::asio::ip::address& ip);
boost::asio::ip::address ip_from_bytes(const std::uint8_t* bytes);

// The wire values are those of descriptors and EXTEND messages. webrtc: the address is the
// node's signaling WebSocket; webrtc_tls: the same inside TLS.
enum class TransportKind : std::uint8_t {
    udp = 1,
    tcp = 2,
    ws = 3,
    wss = 4,
    webrtc = 5,
    webrtc_tls = 6
};
inline constexpr std::uint8_t kTransportKinds = 6;  // numbered 1 to 6

// "udp", "tcp", "ws", "wss", "webrtc", "webrtc-tls".
const char* to_string(TransportKind t);
std::optional<TransportKind> parse_transport_kind(std::string_view name);
bool known_transport(std::uint8_t value);

// The order a node tries a peer's transports in unless configured otherwise: the ones that
// look like web traffic first, then plain UDP, then TCP.
inline constexpr std::array<TransportKind, kTransportKinds> kDefaultTransportOrder = {
    TransportKind::webrtc_tls, TransportKind::webrtc, TransportKind::wss,
    TransportKind::ws,         TransportKind::udp,    TransportKind::tcp};

// One address a peer's link can be reached at.
struct LinkAddress {
    TransportKind kind = TransportKind::udp;
    SocketAddress at;
    bool operator==(const LinkAddress&) const = default;
};

}  // namespace zmesh::link
