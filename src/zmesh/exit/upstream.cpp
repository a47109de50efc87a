#include "zmesh/exit/upstream.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <charconv>

namespace zmesh::exit {

namespace ip = boost::asio::ip;
using stream::EndReason;

namespace {

constexpr std::uint8_t kSocksVersion = 5;
constexpr std::uint8_t kNoAuth = 0x00;
constexpr std::uint8_t kUserPass = 0x02;
constexpr std::uint8_t kAtypV4 = 1;
constexpr std::uint8_t kAtypDomain = 3;
constexpr std::uint8_t kAtypV6 = 4;
constexpr std::string_view kHeaderEnd = "\r\n\r\n";

std::optional<ip::address> ip_of(std::string_view host) {
    boost::system::error_code ec;
    auto a = ip::make_address(std::string(host), ec);
    if (ec) return std::nullopt;
    return a;
}

bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

// The last label of a name that inet_aton, and so getaddrinfo in a proxy, would read as
// a number: "127.1", "2130706433", "0x7f.1", "0177.0.0.1" all reach 127.0.0.1.
bool numeric_label(std::string_view label) {
    if (label.size() > 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X'))
        return std::all_of(label.begin() + 2, label.end(),
                           [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
    return std::all_of(label.begin(), label.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool valid_destination_host(std::string_view host) {
    if (ip_of(host)) return true;
    if (host.ends_with('.')) host.remove_suffix(1);
    if (host.empty() || host.size() > 253) return false;
    std::string_view last;
    for (std::size_t start = 0; start <= host.size();) {
        auto dot = std::min(host.find('.', start), host.size());
        auto label = host.substr(start, dot - start);
        if (label.empty() || label.size() > 63 ||
            !std::all_of(label.begin(), label.end(), name_char))
            return false;
        last = label;
        start = dot + 1;
    }
    return !numeric_label(last);
}

bool loopback_name(std::string_view host) {
    if (host.ends_with('.')) host.remove_suffix(1);
    auto lower = [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    };
    std::string h(host.size(), '\0');
    std::transform(host.begin(), host.end(), h.begin(), lower);
    return h == "localhost" || h.ends_with(".localhost");
}

std::optional<Target> parse_target(std::string_view text, bool allow_port_zero) {
    std::string_view host;
    std::string_view port;
    if (text.starts_with("[")) {
        auto close = text.find("]:");
        if (close == std::string_view::npos) return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (host.empty() || port.empty() || ec != std::errc{} || ptr != port.data() + port.size() ||
        (p == 0 && !allow_port_zero) || p > 65535)
        return std::nullopt;
    // Only a name or an address: nothing that a proxy's request line or a resolver could
    // read as more (CR LF, spaces, a second port, a bracketed name, a number in disguise).
    if (text.starts_with("[")
            ? !ip_of(host) || !ip_of(host)->is_v6()
            : !valid_destination_host(host) || host.find(':') != std::string_view::npos)
        return std::nullopt;
    return Target{std::string(host), static_cast<std::uint16_t>(p)};
}

std::string ProxyAddress::describe() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return std::string(kind == Kind::socks5 ? "socks5://" : "http://") +
           (user.empty() ? "" : user + ":***@") + h + ":" + std::to_string(port);
}

std::optional<ProxyAddress> parse_proxy_address(std::string_view text, std::string* why) {
    auto fail = [&](const char* reason) -> std::optional<ProxyAddress> {
        if (why) *why = reason;
        return std::nullopt;
    };
    ProxyAddress p;
    if (text.starts_with("socks5://")) {
        p.kind = ProxyAddress::Kind::socks5;
        text.remove_prefix(9);
    } else if (text.starts_with("http://")) {
        p.kind = ProxyAddress::Kind::http;
        text.remove_prefix(7);
    } else {
        return fail("expected socks5://IP:PORT or http://IP:PORT");
    }
    if (text.ends_with('/')) text.remove_suffix(1);
    if (auto at = text.rfind('@'); at != std::string_view::npos) {
        if (p.kind != ProxyAddress::Kind::socks5)
            return fail("a user name and password are supported for socks5:// only");
        auto cred = text.substr(0, at);
        auto colon = cred.find(':');
        if (colon == std::string_view::npos)
            return fail("expected USER:PASSWORD@ before the address");
        p.user = std::string(cred.substr(0, colon));
        p.password = std::string(cred.substr(colon + 1));
        // RFC 1929: each is 1 to 255 bytes.
        if (p.user.empty() || p.user.size() > 255 || p.password.empty() || p.password.size() > 255)
            return fail("the user name and the password are 1 to 255 bytes each");
        text.remove_prefix(at + 1);
    }
    auto target = parse_target(text);
    if (!target)
        return fail("expected IP:PORT or [IPv6]:PORT after the scheme, PORT from 1 to 65535");
    if (!ip_of(target->host))
        return fail("the proxy must be named by an IP address, not a host name");
    p.host = std::move(target->host);
    p.port = target->port;
    return p;
}

EndReason end_reason_for_socks_reply(std::uint8_t code) {
    switch (code) {
        case 2:  // connection not allowed by ruleset
            return EndReason::refused;
        case 3:  // network unreachable
            return EndReason::unreachable;
        case 4:     // host unreachable
        case 0xF0:  // Tor: onion service descriptor not found
        case 0xF1:  // Tor: onion service descriptor invalid
        case 0xF2:  // Tor: introduction failed
        case 0xF3:  // Tor: rendezvous failed
            return EndReason::host_unreachable;
        case 5:  // connection refused
            return EndReason::connect_refused;
        case 6:     // TTL expired (Tor: the attempt timed out)
        case 0xF7:  // Tor: introduction timed out
            return EndReason::timeout;
        case 0xF4:  // Tor: client authorization missing
        case 0xF5:  // Tor: client authorization wrong
            return EndReason::refused;
        case 0xF6:  // Tor: not a valid onion address
            return EndReason::resolve_failed;
        default:  // 1 general failure, 7 command and 8 address type not supported, others
            return EndReason::upstream_failed;
    }
}

EndReason end_reason_for_http_status(int status) {
    switch (status) {
        case 401:
        case 403:
        case 407:
            return EndReason::refused;
        case 404:
        case 410:
            return EndReason::host_unreachable;
        case 502:
        case 503:
            return EndReason::unreachable;
        case 504:
            return EndReason::timeout;
        default:
            return EndReason::upstream_failed;
    }
}

ProxyHandshake::ProxyHandshake(const ProxyAddress& proxy, std::string_view host, std::uint16_t port)
    : kind_(proxy.kind), user_(proxy.user), password_(proxy.password), host_(host), port_(port) {
    if (host_.empty() || host_.size() > 255 || port_ == 0) {
        fail(EndReason::protocol, "destination not expressible to the proxy");
        return;
    }
    if (kind_ == ProxyAddress::Kind::http) {
        std::string target = (ip_of(host_) && ip_of(host_)->is_v6() ? "[" + host_ + "]" : host_) +
                             ":" + std::to_string(port_);
        std::string req = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n";
        out_.assign(req.begin(), req.end());
        phase_ = Phase::http_header;
        return;
    }
    out_ = user_.empty() ? Bytes{kSocksVersion, 1, kNoAuth}
                         : Bytes{kSocksVersion, 2, kNoAuth, kUserPass};
    phase_ = Phase::method;
    need_ = 2;
}

Bytes ProxyHandshake::take_output() {
    Bytes out;
    out.swap(out_);
    return out;
}

std::size_t ProxyHandshake::wanted() const {
    if (state_ != State::running) return 0;
    if (phase_ != Phase::http_header) return need_ - in_.size();
    // Up to the blank line and not past it: if the bytes so far end with k bytes of
    // "\r\n\r\n", the header ends 4 - k bytes later at the earliest.
    for (std::size_t k = std::min<std::size_t>(3, in_.size()); k > 0; --k)
        if (std::equal(in_.end() - static_cast<std::ptrdiff_t>(k), in_.end(), kHeaderEnd.begin()))
            return kHeaderEnd.size() - k;
    return kHeaderEnd.size();
}

ProxyHandshake::State ProxyHandshake::fail(EndReason reason, std::string detail) {
    state_ = State::failed;
    failure_ = reason;
    detail_ = std::move(detail);
    out_.clear();
    return state_;
}

ProxyHandshake::State ProxyHandshake::closed() {
    if (state_ != State::running) return state_;
    return fail(EndReason::upstream_failed, "the proxy closed the connection");
}

ProxyHandshake::State ProxyHandshake::feed(ByteView bytes) {
    if (state_ != State::running) return state_;
    if (bytes.size() > wanted()) return fail(EndReason::upstream_failed, "read past the handshake");
    in_.insert(in_.end(), bytes.begin(), bytes.end());
    return phase_ == Phase::http_header ? http_step() : socks_step();
}

void ProxyHandshake::send_request() {
    out_ = {kSocksVersion, 1, 0};
    auto a = ip_of(host_);
    if (a && a->is_v4()) {
        out_.push_back(kAtypV4);
        auto b = a->to_v4().to_bytes();
        out_.insert(out_.end(), b.begin(), b.end());
    } else if (a) {
        out_.push_back(kAtypV6);
        auto b = a->to_v6().to_bytes();
        out_.insert(out_.end(), b.begin(), b.end());
    } else {
        // The name goes to the proxy as it is: it resolves it (or, for .onion and .i2p,
        // looks up the service), never the exit.
        out_.push_back(kAtypDomain);
        out_.push_back(static_cast<std::uint8_t>(host_.size()));
        out_.insert(out_.end(), host_.begin(), host_.end());
    }
    out_.push_back(static_cast<std::uint8_t>(port_ >> 8));
    out_.push_back(static_cast<std::uint8_t>(port_ & 0xff));
    phase_ = Phase::reply_head;
    need_ = 4;
}

ProxyHandshake::State ProxyHandshake::socks_step() {
    if (in_.size() < need_) return state_;
    Bytes msg;
    msg.swap(in_);
    switch (phase_) {
        case Phase::method:
            if (msg[0] != kSocksVersion)
                return fail(EndReason::upstream_failed, "not a SOCKS5 proxy");
            if (msg[1] == kNoAuth) {
                send_request();
            } else if (msg[1] == kUserPass && !user_.empty()) {
                out_ = {1, static_cast<std::uint8_t>(user_.size())};
                out_.insert(out_.end(), user_.begin(), user_.end());
                out_.push_back(static_cast<std::uint8_t>(password_.size()));
                out_.insert(out_.end(), password_.begin(), password_.end());
                phase_ = Phase::auth;
                need_ = 2;
            } else {
                return fail(EndReason::upstream_failed,
                            "the SOCKS5 proxy accepts none of our authentication methods");
            }
            return state_;
        case Phase::auth:
            if (msg[1] != 0)
                return fail(EndReason::upstream_failed, "the SOCKS5 proxy refused the password");
            send_request();
            return state_;
        case Phase::reply_head:
            if (msg[0] != kSocksVersion || msg[2] != 0)
                return fail(EndReason::upstream_failed, "malformed SOCKS5 reply");
            if (msg[1] != 0)
                return fail(end_reason_for_socks_reply(msg[1]),
                            "SOCKS5 reply " + std::to_string(msg[1]));
            // The bound address follows: read it all, nothing more.
            if (msg[3] == kAtypV4) {
                phase_ = Phase::reply_rest;
                need_ = 4 + 2;
            } else if (msg[3] == kAtypV6) {
                phase_ = Phase::reply_rest;
                need_ = 16 + 2;
            } else if (msg[3] == kAtypDomain) {
                phase_ = Phase::reply_domain_length;
                need_ = 1;
            } else {
                return fail(EndReason::upstream_failed, "malformed SOCKS5 reply");
            }
            return state_;
        case Phase::reply_domain_length:
            phase_ = Phase::reply_rest;
            need_ = std::size_t{msg[0]} + 2;
            return state_;
        case Phase::reply_rest:
            state_ = State::connected;
            detail_ = "SOCKS5 reply 0";
            return state_;
        case Phase::http_header:
            break;
    }
    return fail(EndReason::upstream_failed, "unexpected state");
}

ProxyHandshake::State ProxyHandshake::http_step() {
    std::string_view text(reinterpret_cast<const char*>(in_.data()), in_.size());
    if (!text.ends_with(kHeaderEnd)) {
        if (in_.size() >= kMaxProxyResponse)
            return fail(EndReason::upstream_failed, "HTTP proxy response header too long");
        return state_;
    }
    // "HTTP/1.x NNN reason"
    if (!text.starts_with("HTTP/1.") || text.size() < 12 || text[8] != ' ')
        return fail(EndReason::upstream_failed, "not an HTTP response");
    int status = 0;
    auto [ptr, ec] = std::from_chars(text.data() + 9, text.data() + 12, status);
    if (ec != std::errc{} || ptr != text.data() + 12 || status < 100 || status > 599)
        return fail(EndReason::upstream_failed, "not an HTTP response");
    detail_ = "HTTP " + std::to_string(status);
    if (status / 100 != 2) return fail(end_reason_for_http_status(status), detail_);
    state_ = State::connected;
    return state_;
}

}  // namespace zmesh::exit
