#pragma once
// The exit's upstream proxies (docs/exits.md): a Tor client for .onion names, an I2P
// router for .i2p names, or a proxy every stream goes through. Pure: the proxy address
// parser, the client side of the SOCKS5 (RFC 1928, RFC 1929) and HTTP CONNECT (RFC 9110
// section 9.3.6) handshakes as state machines, and the mapping of their answers to END
// reasons. The socket code (dialer.hpp) writes what they produce and reads exactly what
// they ask for, so no byte of the destination's is read into the handshake.

#include <optional>
#include <string>
#include <string_view>

#include "zmesh/core/bytes.hpp"
#include "zmesh/stream/mux.hpp"

namespace zmesh::exit {

// "host:port" or "[v6]:port"; nullopt when malformed. Port 0 is refused unless allowed
// (a listen address may ask for any port; a destination may not).
struct Target {
    std::string host;
    std::uint16_t port = 0;
};
// The host must be an IP address (IPv6 only in brackets) or a DNS name: labels of
// letters, digits, '-' and '_', 1 to 63 bytes, 253 in all, the last not a number (inet_aton
// would read "127.1" or "0x7f.1" as an address).
std::optional<Target> parse_target(std::string_view text, bool allow_port_zero = false);
bool valid_destination_host(std::string_view host);
// "localhost" and names under it: a resolver answers them with a loopback address.
bool loopback_name(std::string_view host);

// socks5://[USER:PASSWORD@]IP:PORT or http://IP:PORT (IPv6 in brackets). The proxy is
// named by its address: the exit looks nothing up to reach it.
struct ProxyAddress {
    enum class Kind { socks5, http };
    Kind kind = Kind::socks5;
    std::string host;  // an IP address, IPv6 without brackets
    std::uint16_t port = 0;
    std::string user;  // SOCKS5 only; empty: no authentication offered
    std::string password;
    // The address as written, without the password.
    std::string describe() const;
};
std::optional<ProxyAddress> parse_proxy_address(std::string_view text, std::string* why = nullptr);

// The END reason for a SOCKS5 reply code other than success (RFC 1928 section 6, and the
// 0xF0-0xF7 codes Tor sends for onion services with its ExtendedErrors port flag).
stream::EndReason end_reason_for_socks_reply(std::uint8_t code);
// The END reason for an HTTP CONNECT answer other than 2xx.
stream::EndReason end_reason_for_http_status(int status);

// The response header of an HTTP proxy is read up to this many bytes.
inline constexpr std::size_t kMaxProxyResponse = 8192;

class ProxyHandshake {
  public:
    enum class State { running, connected, failed };

    // To reach HOST:PORT (HOST a name or an IP address, IPv6 without brackets; a name
    // longer than 255 bytes fails at once).
    ProxyHandshake(const ProxyAddress& proxy, std::string_view host, std::uint16_t port);

    // What to write to the proxy now (empty when nothing).
    Bytes take_output();
    // How many bytes to read next at most: never beyond the end of the handshake, so
    // what the destination sends first stays in the socket. 0 once finished.
    std::size_t wanted() const;
    // Bytes read from the proxy (at most wanted()).
    State feed(ByteView bytes);
    // The proxy closed the connection before answering.
    State closed();

    State state() const { return state_; }
    stream::EndReason failure() const { return failure_; }
    // What the proxy answered, for the log: "SOCKS5 reply 4", "HTTP 403".
    const std::string& detail() const { return detail_; }

  private:
    enum class Phase { method, auth, reply_head, reply_domain_length, reply_rest, http_header };
    State fail(stream::EndReason reason, std::string detail);
    void send_request();
    State socks_step();
    State http_step();

    ProxyAddress::Kind kind_;
    std::string user_;
    std::string password_;
    std::string host_;
    std::uint16_t port_ = 0;
    Phase phase_ = Phase::method;
    std::size_t need_ = 0;  // bytes of the current SOCKS message still to come
    Bytes in_;              // the current message so far
    Bytes out_;
    State state_ = State::running;
    stream::EndReason failure_ = stream::EndReason::upstream_failed;
    std::string detail_;
};

}  // namespace zmesh::exit
