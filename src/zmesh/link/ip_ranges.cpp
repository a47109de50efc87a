#include "zmesh/link/ip_ranges.hpp"

#include <algorithm>

namespace zmesh::link {

namespace ip = boost::asio::ip;

ip::address_v6 as_v6(const ip::address& a) {
    return a.is_v4() ? ip::make_address_v6(ip::v4_mapped, a.to_v4()) : a.to_v6();
}

bool in_prefix(const ip::address_v6& addr, const ip::address_v6& net, unsigned bits) {
    auto a = addr.to_bytes();
    auto n = net.to_bytes();
    for (unsigned i = 0; i < 16 && bits > 0; ++i) {
        unsigned take = std::min(bits, 8u);
        std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - take));
        if ((a[i] & mask) != (n[i] & mask)) return false;
        bits -= take;
    }
    return true;
}

namespace {

struct Range {
    const char* net;
    unsigned bits;
};

}  // namespace

bool is_private(const ip::address& addr) {
    static const Range v4[] = {{"0.0.0.0", 8},     {"10.0.0.0", 8},      {"100.64.0.0", 10},
                               {"127.0.0.0", 8},   {"169.254.0.0", 16},  {"172.16.0.0", 12},
                               {"192.0.0.0", 24},  {"192.0.2.0", 24},    {"192.168.0.0", 16},
                               {"198.18.0.0", 15}, {"198.51.100.0", 24}, {"203.0.113.0", 24},
                               {"224.0.0.0", 4},   {"240.0.0.0", 4}};
    static const Range v6[] = {{"::", 128},   {"::1", 128},       {"fc00::", 7},    {"fe80::", 10},
                               {"ff00::", 8}, {"2001:db8::", 32}, {"64:ff9b::", 96}};
    auto a = as_v6(addr);
    if (a.is_v4_mapped()) {
        for (const auto& r : v4)
            if (in_prefix(a, as_v6(ip::make_address(r.net)), 96 + r.bits)) return true;
        return false;
    }
    for (const auto& r : v6)
        if (in_prefix(a, ip::make_address_v6(r.net), r.bits)) return true;
    return false;
}

}  // namespace zmesh::link
