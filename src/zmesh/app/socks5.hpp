#pragma once
// SOCKS5 (RFC 1928) with username/password authentication (RFC 1929): pure parsing
// and reply building for the entry proxy. Only CONNECT is offered.

#include <optional>
#include <string>

#include "zmesh/core/result.hpp"
#include "zmesh/stream/mux.hpp"

namespace zmesh::app::socks5 {

inline constexpr std::uint8_t kVersion = 5;
inline constexpr std::uint8_t kMethodNone = 0x00;
inline constexpr std::uint8_t kMethodUserPass = 0x02;
inline constexpr std::uint8_t kMethodRefused = 0xff;

enum class Reply : std::uint8_t {
    succeeded = 0,
    general_failure = 1,
    not_allowed = 2,
    network_unreachable = 3,
    host_unreachable = 4,
    connection_refused = 5,
    ttl_expired = 6,
    command_not_supported = 7,
    address_type_not_supported = 8,
};

// Username/password is preferred when offered: it selects the stream's isolation.
std::uint8_t select_method(ByteView offered);

struct RequestHeader {
    std::uint8_t command = 0;
    std::uint8_t address_type = 0;
};
// The 4 fixed bytes of a request; an error reply code when it cannot be served.
struct HeaderCheck {
    std::optional<RequestHeader> header;
    Reply error = Reply::general_failure;
};
HeaderCheck check_request_header(ByteView four);
// How many address bytes follow for an address type (domain: its length byte first).
std::size_t address_length(std::uint8_t type, std::uint8_t first_byte);
// The destination as "host:port" ("[v6]:port" for IPv6), from address bytes and port.
std::optional<std::string> target_from(std::uint8_t type, ByteView address, std::uint16_t port);

Bytes make_reply(Reply r);
Reply reply_for(stream::EndReason r);

}  // namespace zmesh::app::socks5
