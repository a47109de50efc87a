#include "zmesh/app/socks5.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <charconv>

#include "zmesh/circuit/limits.hpp"
#include "zmesh/exit/upstream.hpp"

namespace zmesh::app::socks5 {

namespace ip = boost::asio::ip;

std::uint8_t select_method(ByteView offered) {
    if (std::find(offered.begin(), offered.end(), kMethodUserPass) != offered.end())
        return kMethodUserPass;
    if (std::find(offered.begin(), offered.end(), kMethodNone) != offered.end()) return kMethodNone;
    return kMethodRefused;
}

HeaderCheck check_request_header(ByteView four) {
    HeaderCheck c;
    if (four.size() != 4 || four[0] != kVersion || four[2] != 0) {
        c.error = Reply::general_failure;
        return c;
    }
    if (four[1] != 1) {
        c.error = Reply::command_not_supported;
        return c;
    }
    if (four[3] != 1 && four[3] != 3 && four[3] != 4) {
        c.error = Reply::address_type_not_supported;
        return c;
    }
    c.header = RequestHeader{four[1], four[3]};
    return c;
}

std::size_t address_length(std::uint8_t type, std::uint8_t first_byte) {
    switch (type) {
        case 1:
            return 4;
        case 4:
            return 16;
        case 3:
            return first_byte;
        default:
            return 0;
    }
}

std::optional<std::string> target_from(std::uint8_t type, ByteView address, std::uint16_t port) {
    std::string host;
    if (type == 1 && address.size() == 4) {
        ip::address_v4::bytes_type b;
        std::copy(address.begin(), address.end(), b.begin());
        host = ip::address_v4(b).to_string();
    } else if (type == 4 && address.size() == 16) {
        ip::address_v6::bytes_type b;
        std::copy(address.begin(), address.end(), b.begin());
        host = "[" + ip::address_v6(b).to_string() + "]";
    } else if (type == 3 && !address.empty()) {
        host.assign(address.begin(), address.end());
        if (!valid_host_name(host)) return std::nullopt;
    } else {
        return std::nullopt;
    }
    if (port == 0) return std::nullopt;
    return host + ":" + std::to_string(port);
}

bool valid_host_name(std::string_view host) {
    return exit::valid_destination_host(host) && host.find(':') == std::string_view::npos;
}

Bytes make_reply(Reply r) {
    // Bound address 0.0.0.0:0: the client learns nothing about the exit side.
    return Bytes{kVersion, static_cast<std::uint8_t>(r), 0, 1, 0, 0, 0, 0, 0, 0};
}

Reply reply_for(stream::EndReason r) {
    switch (r) {
        case stream::EndReason::refused:
            return Reply::not_allowed;
        case stream::EndReason::connect_refused:
            return Reply::connection_refused;
        case stream::EndReason::unreachable:
            return Reply::network_unreachable;
        case stream::EndReason::resolve_failed:
        case stream::EndReason::host_unreachable:
        case stream::EndReason::no_exit:
            return Reply::host_unreachable;
        case stream::EndReason::timeout:
            return Reply::ttl_expired;
        default:
            return Reply::general_failure;
    }
}

bool Parser::feed(ByteView bytes) {
    if (state_ == State::failed) return false;
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
    if (buf_.size() + bytes.size() > kMaxBuffered) {
        state_ = State::failed;
        return false;
    }
    buf_.insert(buf_.end(), bytes.begin(), bytes.end());
    return true;
}

Step Parser::fail(Bytes reply) {
    state_ = State::failed;
    Step s;
    s.kind = Step::Kind::close;
    s.bytes = std::move(reply);
    s.bad = true;
    return s;
}

Step Parser::poll() {
    switch (state_) {
        case State::greeting:
            return greeting();
        case State::credentials:
            return credentials();
        case State::request:
            return request();
        case State::done: {
            Step s;
            s.kind = Step::Kind::request;
            s.request = request_;
            return s;
        }
        case State::failed:
            break;
    }
    Step s;
    s.kind = Step::Kind::close;
    return s;
}

// VER NMETHODS METHODS...
Step Parser::greeting() {
    ByteView in = ByteView(buf_).subspan(pos_);
    if (in.size() >= 1 && in[0] != kVersion) return fail({});  // not SOCKS5: no answer exists
    if (in.size() >= 2 && in[1] == 0) return fail({});
    if (in.size() < 2 || in.size() < 2u + in[1]) return {};
    std::uint8_t method = select_method(in.subspan(2, in[1]));
    pos_ += 2u + in[1];
    if (method == kMethodRefused) return fail({kVersion, kMethodRefused});
    state_ = method == kMethodUserPass ? State::credentials : State::request;
    Step s;
    s.kind = Step::Kind::send;
    s.bytes = {kVersion, method};
    return s;
}

std::size_t hops_from_user(std::string_view user) {
    constexpr std::string_view kPrefix = "hops-";
    if (!user.starts_with(kPrefix)) return 0;
    auto digits = user.substr(kPrefix.size());
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.size() > 2) return 0;
    return n >= 2 && n <= circuit::kMaxHops ? n : 0;
}

// RFC 1929: VER(1) ULEN UNAME PLEN PASSWD. Any credentials are accepted: they only choose
// the circuit.
Step Parser::credentials() {
    ByteView in = ByteView(buf_).subspan(pos_);
    if (in.size() >= 1 && in[0] != 1) return fail({1, 1});
    if (in.size() < 2) return {};
    std::size_t ulen = in[1];
    if (in.size() < 3 + ulen) return {};
    std::size_t plen = in[2 + ulen];
    if (in.size() < 3 + ulen + plen) return {};
    auto user = in.subspan(2, ulen);
    auto pass = in.subspan(3 + ulen, plen);
    hops_ = hops_from_user(std::string_view(reinterpret_cast<const char*>(user.data()), ulen));
    isolation_.assign(user.begin(), user.end());
    isolation_ += '\0';
    isolation_.append(pass.begin(), pass.end());
    if (isolation_.size() > kMaxIsolationKey) isolation_.resize(kMaxIsolationKey);
    pos_ += 3 + ulen + plen;
    state_ = State::request;
    Step s;
    s.kind = Step::Kind::send;
    s.bytes = {1, 0};
    return s;
}

// VER CMD RSV ATYP ADDR PORT; a domain's address starts with its length.
Step Parser::request() {
    ByteView in = ByteView(buf_).subspan(pos_);
    if (in.size() < 4) return {};
    auto check = check_request_header(in.first(4));
    if (!check.header) return fail(make_reply(check.error));
    std::size_t at = 4;
    if (check.header->address_type == 3) {
        if (in.size() < 5) return {};
        at = 5;
    }
    std::size_t alen = address_length(check.header->address_type, in.size() > 4 ? in[4] : 0);
    if (in.size() < at + alen + 2) return {};
    auto target = target_from(check.header->address_type, in.subspan(at, alen),
                              load_u16_be(in.data() + at + alen));
    if (!target) return fail(make_reply(Reply::general_failure));
    pos_ += at + alen + 2;
    state_ = State::done;
    request_ = {std::move(*target), std::move(isolation_), hops_};
    Step s;
    s.kind = Step::Kind::request;
    s.request = request_;
    return s;
}

Bytes Parser::take_rest() {
    if (state_ != State::done) return {};
    Bytes rest(buf_.begin() + static_cast<std::ptrdiff_t>(pos_), buf_.end());
    buf_.clear();
    pos_ = 0;
    return rest;
}

}  // namespace zmesh::app::socks5
