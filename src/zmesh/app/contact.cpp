#include "zmesh/app/contact.hpp"

#include <sstream>
#include <vector>

#include "zmesh/app/net_options.hpp"
#include "zmesh/circuit/node.hpp"

namespace zmesh::app {
namespace {

template <class Key>
bool parse_key(const std::string& token, std::string_view name, Key& out) {
    std::string prefix = std::string(name) + "=";
    if (!token.starts_with(prefix)) return false;
    auto bytes = from_hex(std::string_view(token).substr(prefix.size()));
    if (!bytes || bytes->size() != Key::size()) return false;
    std::copy(bytes->begin(), bytes->end(), out.data());
    return true;
}

}  // namespace

std::string format_contact(const Contact& c) {
    std::string s = format_link_addresses(c.hop.hop.addresses);
    s += " id=" + to_hex(c.hop.hop.id.view());
    s += " link=" + to_hex(c.hop.hop.link_key.view());
    s += " onion=" + to_hex(c.hop.onion.view());
    if (c.exit) s += " exit";
    return s;
}

std::optional<Contact> parse_contact(const std::string& line, std::string* why) {
    auto fail = [&](const std::string& reason) -> std::optional<Contact> {
        if (why) *why = reason;
        return std::nullopt;
    };
    std::istringstream in(line);
    std::vector<std::string> tokens;
    for (std::string t; in >> t;) tokens.push_back(t);
    if (tokens.size() < 4 || tokens.size() > 5)
        return fail("expected 'TRANSPORT://HOST:PORT[,...] id=HEX link=HEX onion=HEX [exit]'");
    Contact c;
    auto addrs = parse_link_addresses(tokens[0], circuit::kMaxHopAddresses);
    if (!addrs)
        return fail("bad addresses '" + tokens[0] +
                    "' (TRANSPORT://HOST:PORT, comma-separated, one per transport)");
    if (!parse_key(tokens[1], "id", c.hop.hop.id)) return fail("bad id= (64 hex digits)");
    if (!parse_key(tokens[2], "link", c.hop.hop.link_key)) return fail("bad link= (64 hex digits)");
    if (!parse_key(tokens[3], "onion", c.hop.onion)) return fail("bad onion= (64 hex digits)");
    if (tokens.size() == 5) {
        if (tokens[4] != "exit") return fail("unknown flag '" + tokens[4] + "'");
        c.exit = true;
    }
    c.hop = circuit::make_path_hop(c.hop.hop.id, c.hop.hop.link_key, c.hop.onion, *addrs);
    return c;
}

}  // namespace zmesh::app
