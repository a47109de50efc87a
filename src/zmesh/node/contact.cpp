#include "zmesh/node/contact.hpp"

#include <algorithm>
#include <array>
#include <sstream>
#include <vector>

#include "zmesh/circuit/node.hpp"
#include "zmesh/discovery/descriptor.hpp"
#include "zmesh/node/net_options.hpp"

namespace zmesh::node {
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

namespace {
// Its abilities after "exit", in this order.
constexpr std::array<std::pair<std::uint8_t, const char*>, 3> kAbilityWords{
    {{discovery::kFlagOnion, "reaches-onion"},
     {discovery::kFlagI2p, "reaches-i2p"},
     {discovery::kFlagUpstream, "upstream"}}};
}  // namespace

std::string format_contact(const Contact& c) {
    std::string s = format_link_addresses(c.hop.hop.addresses);
    s += " id=" + to_hex(c.hop.hop.id.view());
    s += " link=" + to_hex(c.hop.hop.link_key.view());
    s += " onion=" + to_hex(c.hop.onion.view());
    if (c.exit) s += " exit";
    for (const auto& [bit, word] : kAbilityWords)
        if (c.exit && (c.abilities & bit)) s += std::string(" ") + word;
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
    if (tokens.size() < 4 || tokens.size() > 5 + kAbilityWords.size())
        return fail(
            "expected 'TRANSPORT://HOST:PORT[,...] id=HEX link=HEX onion=HEX [exit "
            "[reaches-onion] [reaches-i2p] [upstream]]'");
    Contact c;
    auto addrs = parse_link_addresses(tokens[0], circuit::kMaxHopAddresses);
    if (!addrs)
        return fail("bad addresses '" + tokens[0] +
                    "' (TRANSPORT://HOST:PORT, comma-separated, one per transport)");
    if (!parse_key(tokens[1], "id", c.hop.hop.id)) return fail("bad id= (64 hex digits)");
    if (!parse_key(tokens[2], "link", c.hop.hop.link_key)) return fail("bad link= (64 hex digits)");
    if (!parse_key(tokens[3], "onion", c.hop.onion)) return fail("bad onion= (64 hex digits)");
    if (tokens.size() >= 5) {
        if (tokens[4] != "exit") return fail("unknown flag '" + tokens[4] + "'");
        c.exit = true;
    }
    for (std::size_t i = 5; i < tokens.size(); ++i) {
        auto it = std::find_if(kAbilityWords.begin(), kAbilityWords.end(),
                               [&](const auto& w) { return tokens[i] == w.second; });
        if (it == kAbilityWords.end() || (c.abilities & it->first))
            return fail("unknown or repeated exit ability '" + tokens[i] + "'");
        c.abilities |= it->first;
    }
    c.hop = circuit::make_path_hop(c.hop.hop.id, c.hop.hop.link_key, c.hop.onion, *addrs);
    return c;
}

namespace {

template <typename Key>
bool parse_hex_key(const std::string& hex, Key& out) {
    auto bytes = from_hex(hex);
    if (!bytes || bytes->size() != Key::size()) return false;
    std::copy(bytes->begin(), bytes->end(), out.bytes.begin());
    return true;
}

}  // namespace

std::optional<BootstrapNode> parse_bootstrap(const std::string& line) {
    std::istringstream in(line);
    std::string addr, key;
    if (!(in >> addr >> key)) return std::nullopt;
    auto at = parse_socket_address(addr);
    BootstrapNode b{};
    if (!at || at->port == 0 || !parse_hex_key(key, b.key)) return std::nullopt;
    b.directory = *at;
    std::optional<std::vector<link::LinkAddress>> link_at;
    std::optional<crypto::X25519Public> link_key, onion;
    for (std::string tok; in >> tok;) {
        auto eq = tok.find('=');
        if (eq == std::string::npos) return std::nullopt;
        auto name = tok.substr(0, eq);
        auto value = tok.substr(eq + 1);
        if (name == "dht" && !b.dht) {
            b.dht = parse_socket_address(value);
            if (!b.dht || b.dht->port == 0) return std::nullopt;
        } else if (name == "link" && !link_at) {
            link_at = parse_link_addresses(value, circuit::kMaxHopAddresses);
            if (!link_at) return std::nullopt;
        } else if (name == "linkkey" && !link_key) {
            if (!parse_hex_key(value, link_key.emplace())) return std::nullopt;
        } else if (name == "onion" && !onion) {
            if (!parse_hex_key(value, onion.emplace())) return std::nullopt;
        } else {
            return std::nullopt;  // unknown or repeated
        }
    }
    // The link needs all three, or none.
    if (link_at.has_value() != link_key.has_value() || link_at.has_value() != onion.has_value())
        return std::nullopt;
    if (link_at)
        b.link = Contact{
            circuit::make_path_hop(crypto::node_id_of(b.key), *link_key, *onion, *link_at), false};
    return b;
}

std::string format_bootstrap(const BootstrapNode& b) {
    std::string s = format_socket_address(b.directory) + " " + to_hex(b.key.view());
    if (b.dht) s += " dht=" + format_socket_address(*b.dht);
    if (b.link)
        s += " link=" + format_link_addresses(b.link->hop.hop.addresses) +
             " linkkey=" + to_hex(b.link->hop.hop.link_key.view()) +
             " onion=" + to_hex(b.link->hop.onion.view());
    return s;
}

}  // namespace zmesh::node
