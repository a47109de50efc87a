#include "zmesh/app/socks5.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>

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
        bool printable = std::all_of(host.begin(), host.end(), [](char ch) {
            return ch > 0x20 && ch < 0x7f && ch != ':' && ch != '/' && ch != '[' && ch != ']';
        });
        if (!printable) return std::nullopt;
    } else {
        return std::nullopt;
    }
    if (port == 0) return std::nullopt;
    return host + ":" + std::to_string(port);
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
            return Reply::host_unreachable;
        case stream::EndReason::timeout:
            return Reply::ttl_expired;
        default:
            return Reply::general_failure;
    }
}

}  // namespace zmesh::app::socks5
