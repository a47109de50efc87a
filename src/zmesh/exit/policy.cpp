#include "zmesh/exit/policy.hpp"

#include <charconv>

namespace zmesh::exit {

namespace ip = boost::asio::ip;

namespace {

using link::as_v6;
using link::in_prefix;

bool parse_u16(std::string_view s, std::uint16_t& out) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || v == 0 || v > 65535) return false;
    out = static_cast<std::uint16_t>(v);
    return true;
}

}  // namespace

Result<ExitPolicy> ExitPolicy::parse(const std::vector<std::string>& rules, bool allow_private,
                                     std::string* error) {
    ExitPolicy p;
    p.allow_private_ = allow_private;
    auto fail = [&](const std::string& rule, const char* why) -> Result<ExitPolicy> {
        if (error) *error = "exit policy rule '" + rule + "': " + why;
        return Errc::malformed;
    };
    for (const auto& rule : rules) {
        PolicyRule r;
        std::string_view s = rule;
        if (s.starts_with("accept ")) {
            r.accept = true;
            s.remove_prefix(7);
        } else if (s.starts_with("reject ")) {
            r.accept = false;
            s.remove_prefix(7);
        } else {
            return fail(rule, "must start with 'accept ' or 'reject '");
        }
        auto colon = s.rfind(':');
        if (colon == std::string_view::npos) return fail(rule, "expected ADDRESS:PORTS");
        std::string_view addr = s.substr(0, colon);
        std::string_view ports = s.substr(colon + 1);
        if (addr != "*") {
            r.any_address = false;
            std::string_view net = addr;
            unsigned bits = 0;
            bool has_bits = false;
            if (auto slash = addr.find('/'); slash != std::string_view::npos) {
                net = addr.substr(0, slash);
                auto b = addr.substr(slash + 1);
                auto [ptr, ec] = std::from_chars(b.data(), b.data() + b.size(), bits);
                if (ec != std::errc{} || ptr != b.data() + b.size())
                    return fail(rule, "bad prefix length");
                has_bits = true;
            }
            if (net.starts_with("[") && net.ends_with("]")) net = net.substr(1, net.size() - 2);
            boost::system::error_code ec;
            auto a = ip::make_address(std::string(net), ec);
            if (ec) return fail(rule, "bad address");
            unsigned max = a.is_v4() ? 32 : 128;
            if (!has_bits) bits = max;
            if (bits > max) return fail(rule, "prefix length too long");
            r.network = as_v6(a);
            r.prefix = a.is_v4() ? 96 + bits : bits;
        }
        if (ports != "*") {
            auto dash = ports.find('-');
            bool ok = dash == std::string_view::npos
                          ? parse_u16(ports, r.port_lo) && parse_u16(ports, r.port_hi)
                          : parse_u16(ports.substr(0, dash), r.port_lo) &&
                                parse_u16(ports.substr(dash + 1), r.port_hi);
            if (!ok || r.port_lo > r.port_hi) return fail(rule, "bad port or port range");
        }
        p.rules_.push_back(r);
    }
    return p;
}

bool ExitPolicy::allows(const ip::address& addr, std::uint16_t port) const {
    if (port == 0) return false;
    if (!allow_private_ && is_private(addr)) return false;
    auto a = as_v6(addr);
    for (const auto& r : rules_) {
        if (port < r.port_lo || port > r.port_hi) continue;
        if (!r.any_address && !in_prefix(a, r.network, r.prefix)) continue;
        return r.accept;
    }
    return true;
}

bool ExitPolicy::may_allow_port(std::uint16_t port) const {
    if (port == 0) return false;
    for (const auto& r : rules_) {
        if (port < r.port_lo || port > r.port_hi) continue;
        if (r.accept) return true;        // some addresses at least
        if (r.any_address) return false;  // everything else on this port is refused
    }
    return true;
}

}  // namespace zmesh::exit
