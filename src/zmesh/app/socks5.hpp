#pragma once
// SOCKS5 (RFC 1928) with username/password authentication (RFC 1929): pure parsing
// and reply building for the entry proxy. Only CONNECT is offered. Parser takes the
// client's bytes as they arrive (any split) and says what to send and when the request
// is complete; the socket code around it only reads, writes and opens the stream.

#include <optional>
#include <string>
#include <string_view>

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

// A host name a client may ask for: the exit's own rule (exit::valid_destination_host: an
// IP address or a plain DNS name), so what the client forwards is what exits accept.
bool valid_host_name(std::string_view host);

// The isolation key of a user name and password (different keys: different circuits).
inline constexpr std::size_t kMaxIsolationKey = 512;
// Bytes buffered ahead of the parser at most: a whole handshake (greeting, credentials and
// request are at most 1,038 bytes) and what a client sends early after it.
inline constexpr std::size_t kMaxBuffered = 4096;

// The hop count a SOCKS user name asks for: "hops-N" with N from 2 to circuit::kMaxHops
// gives N; any other name 0 (the node's circuit.hops). The name stays part of the
// isolation key, so circuits of different lengths are never shared.
std::size_t hops_from_user(std::string_view user);

struct Request {
    std::string target;     // "host:port", "[v6]:port" for IPv6
    std::string isolation;  // user '\0' password; empty without credentials
    std::size_t hops = 0;   // from the user name; 0: the configured length
};

// What the connection does next.
struct Step {
    enum class Kind {
        need_more,  // read more bytes and feed them
        send,       // write `bytes` (a method choice, an auth status), then poll again
        request,    // the CONNECT request is complete: open `request.target`
        close,      // write `bytes` (maybe none: an error reply), then close
    };
    Kind kind = Kind::need_more;
    Bytes bytes;
    Request request;
    bool bad = false;  // close: the client broke the protocol (counted as a bad request)
};

class Parser {
  public:
    // Appends the client's bytes; false (and the parser fails) beyond kMaxBuffered.
    bool feed(ByteView bytes);
    // The next step over what was fed; after `request` or `close` it stays there.
    Step poll();
    // Bytes that followed the request (the client's first data): they belong to the stream.
    Bytes take_rest();

  private:
    enum class State { greeting, credentials, request, done, failed };
    Step fail(Bytes reply);
    Step greeting();
    Step credentials();
    Step request();

    State state_ = State::greeting;
    Bytes buf_;
    std::size_t pos_ = 0;  // parsed up to here
    std::string isolation_;
    std::size_t hops_ = 0;
    Request request_;
};

}  // namespace zmesh::app::socks5
