#include "zmesh/app/http_connect.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <charconv>

#include "zmesh/app/socks5.hpp"

namespace zmesh::app::http_connect {

namespace {

constexpr std::string_view kEnd = "\r\n\r\n";

Step error(std::string_view status) {
    Step s;
    s.kind = Step::Kind::error;
    s.status = status;
    return s;
}

}  // namespace

bool valid_target(std::string_view target) {
    auto colon = target.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == target.size()) return false;
    auto port_text = target.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535)
        return false;
    auto host = target.substr(0, colon);
    // A bracketed IPv6 address without a zone (a zone names an interface of this host).
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        if (host.find('%') != std::string_view::npos) return false;
        boost::system::error_code bad;
        auto a = boost::asio::ip::make_address_v6(host.substr(1, host.size() - 2), bad);
        return !bad && a.scope_id() == 0;
    }
    return host.size() <= 255 && socks5::valid_host_name(host);
}

std::string response(std::string_view status) {
    return "HTTP/1.1 " + std::string(status) + "\r\n\r\n";
}

Step Parser::feed(ByteView bytes) {
    if (finished_) return result_;
    // Only the new bytes and the three before them can complete the blank line.
    std::size_t from = buf_.size() >= 3 ? buf_.size() - 3 : 0;
    std::size_t room = kMaxHeader - buf_.size();
    buf_.insert(buf_.end(), bytes.begin(), bytes.begin() + std::min(room, bytes.size()));
    auto text = std::string_view(reinterpret_cast<const char*>(buf_.data()), buf_.size());
    auto end = text.find(kEnd, from);
    if (end == std::string_view::npos) {
        if (buf_.size() < kMaxHeader) return {};
        finished_ = true;
        result_ = error("431 Request Header Fields Too Large");
        return result_;
    }
    finished_ = true;
    header_end_ = end + kEnd.size();
    // What did not fit is the client's data, kept after the header.
    if (room < bytes.size()) buf_.insert(buf_.end(), bytes.begin() + room, bytes.end());
    result_ = parse(end);
    return result_;
}

// CONNECT host:port HTTP/1.x
Step Parser::parse(std::size_t header_end) {
    auto text = std::string_view(reinterpret_cast<const char*>(buf_.data()), header_end);
    auto line = text.substr(0, text.find("\r\n"));
    auto sp1 = line.find(' ');
    auto sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1 || !line.substr(sp2 + 1).starts_with("HTTP/1."))
        return error("400 Bad Request");
    if (line.substr(0, sp1) != "CONNECT") return error("405 Method Not Allowed");
    auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (!valid_target(target)) return error("400 Bad Request");
    Step s;
    s.kind = Step::Kind::request;
    s.target = std::string(target);
    return s;
}

Bytes Parser::take_rest() {
    if (result_.kind != Step::Kind::request) return {};
    Bytes rest(buf_.begin() + static_cast<std::ptrdiff_t>(header_end_), buf_.end());
    buf_.resize(header_end_);
    return rest;
}

}  // namespace zmesh::app::http_connect
