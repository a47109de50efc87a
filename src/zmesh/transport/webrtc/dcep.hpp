#pragma once
// The Data Channel Establishment Protocol (RFC 8832) and the SCTP payload protocol
// identifiers of WebRTC data channels (RFC 8831). Pure: bytes in, bytes out.

#include <cstdint>
#include <string>

#include "zmesh/core/bytes.hpp"
#include "zmesh/core/result.hpp"

namespace zmesh::transport::webrtc {

// SCTP payload protocol identifiers (RFC 8831 section 8).
enum Ppid : std::uint32_t {
    kPpidDcep = 50,
    kPpidString = 51,
    kPpidBinary = 53,
    kPpidStringEmpty = 56,
    kPpidBinaryEmpty = 57,
};

inline constexpr std::uint8_t kDcepOpen = 0x03;
inline constexpr std::uint8_t kDcepAck = 0x02;
inline constexpr std::size_t kMaxLabel = 1024;

// Channel types: bit 7 unordered; low bits the reliability policy.
enum class ChannelType : std::uint8_t {
    reliable = 0x00,
    reliable_unordered = 0x80,
    rexmit = 0x01,
    rexmit_unordered = 0x81,
    timed = 0x02,
    timed_unordered = 0x82,
};

struct ChannelOpen {
    ChannelType type = ChannelType::rexmit_unordered;
    std::uint16_t priority = 0;
    std::uint32_t reliability = 0;  // retransmissions or milliseconds, by type
    std::string label;
    std::string protocol;

    bool unordered() const { return (static_cast<std::uint8_t>(type) & 0x80) != 0; }
};

Bytes encode_open(const ChannelOpen& o);
Result<ChannelOpen> parse_open(ByteView b);
inline Bytes encode_ack() {
    return Bytes{kDcepAck};
}

}  // namespace zmesh::transport::webrtc
