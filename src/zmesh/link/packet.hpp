#pragma once
// Link packet codec. Every packet is exactly wire::kPacketSize bytes.
//
//  handshake  0 type=1 | 1 step | 2 suite | 3 pattern (+0x10: hybrid) | 4-5 length
//             | 6 fragment index | 7 fragment count
//             8-11 sender index | 12-15 receiver index | 16.. Noise message, zero padding
//             | last 32 bytes: mac1 (16), mac2 (16)
//  cookie     0 type=2 | 1-3 zero | 4-7 receiver index | 8-31 nonce | 32-63 sealed cookie
//             | zero padding
//  data       0 type=3 | 1-3 zero | 4-7 receiver index | 8-15 counter (LE)
//             | 16.. sealed cell (kCellSize + 16)

#include <optional>
#include <variant>

#include "zmesh/core/result.hpp"
#include "zmesh/wire/cell.hpp"

namespace zmesh::link {

using wire::Packet;

enum class PacketType : std::uint8_t { handshake = 1, cookie = 2, data = 3 };

inline constexpr std::size_t kMacSize = 16;
inline constexpr std::size_t kHandshakeHeader = 16;
inline constexpr std::size_t kMaxNoiseMessage = wire::kPacketSize - kHandshakeHeader - 2 * kMacSize;
inline constexpr std::size_t kMac1Offset = wire::kPacketSize - 2 * kMacSize;
inline constexpr std::size_t kMac2Offset = wire::kPacketSize - kMacSize;
inline constexpr std::size_t kCookieNonceSize = 24;
inline constexpr std::size_t kCookieSize = 16;
inline constexpr std::size_t kSealedCookieSize = kCookieSize + 16;
// A Noise message longer than one packet (a hybrid first message) is split in up to this
// many fragments, each a full packet with its own macs.
inline constexpr std::size_t kMaxFragments = 4;
inline constexpr std::uint8_t kPatternHybrid = 0x10;

struct HandshakeHeader {
    std::uint8_t step = 0;
    std::uint8_t suite = 0;
    std::uint8_t pattern = 0;
    std::uint32_t sender = 0;
    std::uint32_t receiver = 0;
    std::uint8_t fragment = 0;
    std::uint8_t fragments = 1;
};

struct HandshakeView {
    HandshakeHeader header;
    ByteView message;  // the Noise message
    ByteView macced;   // bytes covered by mac1
    ByteView mac1;
    ByteView mac2;
};

struct CookieView {
    std::uint32_t receiver = 0;
    ByteView nonce;
    ByteView sealed;
};

struct DataView {
    std::uint32_t receiver = 0;
    std::uint64_t counter = 0;
    ByteView header;  // authenticated as associated data
    ByteView sealed;
};

using ParsedPacket = std::variant<HandshakeView, CookieView, DataView>;

// Validates size, type, reserved bytes and lengths. Never reads outside `in`.
Result<ParsedPacket> parse_packet(ByteView in);

// Builders fill a whole packet; macs are written by the cookie module.
Result<Packet> build_handshake(const HandshakeHeader& h, ByteView noise_message);
Packet build_cookie(std::uint32_t receiver, ByteView nonce, ByteView sealed);
// Writes the data header; the caller seals the cell into out[kLinkHeaderSize..].
void write_data_header(Packet& out, std::uint32_t receiver, std::uint64_t counter);

}  // namespace zmesh::link
