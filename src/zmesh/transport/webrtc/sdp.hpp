#pragma once
// The session descriptions (RFC 8866, as WebRTC uses them per RFC 8829/8841) of a
// data-channel-only peer connection: one `m=application ... UDP/DTLS/SCTP
// webrtc-datachannel` section. We write offers and answers and read the peer's, taking
// only what the connection needs (ICE credentials, the DTLS certificate fingerprint and
// role, the SCTP port and message size, candidates) and refusing anything we cannot use:
// no fingerprint, no data section, oversized descriptions, too many candidates.
// Pure: text in, text out.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zmesh/core/bytes.hpp"
#include "zmesh/core/result.hpp"

namespace zmesh::transport::webrtc {

inline constexpr std::size_t kMaxSdpSize = 16 * 1024;
inline constexpr std::size_t kMaxCandidates = 32;
inline constexpr std::uint16_t kSctpPort = 5000;
inline constexpr std::size_t kMaxMessageSize = 256 * 1024;

// Who starts the DTLS handshake (RFC 8842 a=setup).
enum class DtlsRole { actpass, active, passive };

struct Description {
    std::string ice_ufrag;
    std::string ice_pwd;
    ByteArray<32> fingerprint{};  // SHA-256 of the peer's DTLS certificate (DER)
    DtlsRole setup = DtlsRole::actpass;
    std::string mid = "0";
    std::uint16_t sctp_port = kSctpPort;
    std::size_t max_message_size = 65536;  // RFC 8841's default when not given
    std::vector<std::string> candidates;   // "candidate:..." attribute values
};

// Writes a description (offer when setup is actpass, else an answer).
std::string write_sdp(const Description& d, std::uint64_t session_id);
// Reads a peer's description; the reason in `why` when it is refused.
Result<Description> parse_sdp(std::string_view sdp, std::string* why = nullptr);

// "AB:CD:..." of a SHA-256 fingerprint, and back.
std::string fingerprint_text(const ByteArray<32>& f);
std::optional<ByteArray<32>> parse_fingerprint(std::string_view text);

}  // namespace zmesh::transport::webrtc
