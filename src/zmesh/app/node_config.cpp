#include "zmesh/app/node_config.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "zmesh/app/net_options.hpp"
#include "zmesh/exit/policy.hpp"

namespace zmesh::app {

std::optional<std::string> read_text_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::optional<control::Config> load_or_explain(const std::string& path,
                                               const std::vector<std::string>& sets) {
    std::string text;
    if (!path.empty()) {
        auto t = read_text_file(path);
        if (!t) {
            std::cerr << path << ": cannot read: " << std::strerror(errno) << "\n";
            return std::nullopt;
        }
        text = *t;
    }
    auto loaded = control::load_config(text, control::process_environment(), sets);
    for (const auto& e : loaded.errors) {
        std::cerr << (path.empty() ? "config" : path);
        if (e.line > 0) std::cerr << ":" << e.line;
        std::cerr << ": " << (e.key.empty() ? "" : e.key + ": ") << e.message << "\n";
    }
    if (!loaded.ok()) return std::nullopt;
    return loaded.config;
}

bool has_role(const control::Config& c, const std::string& role) {
    const auto& roles = std::get<std::vector<std::string>>(c.get("core.roles"));
    return std::find(roles.begin(), roles.end(), role) != roles.end();
}

std::vector<Contact> configured_relays(const control::Config& c) {
    std::vector<Contact> out;
    for (const auto& line : std::get<std::vector<std::string>>(c.get("circuit.relays")))
        if (auto contact = parse_contact(line)) out.push_back(*contact);
    return out;
}

std::optional<BootstrapNode> parse_bootstrap(const std::string& line) {
    std::istringstream in(line);
    std::string addr, key, dht, extra;
    if (!(in >> addr >> key) || (in >> dht && in >> extra)) return std::nullopt;
    auto at = parse_socket_address(addr);
    auto bytes = from_hex(key);
    if (!at || at->port == 0 || !bytes || bytes->size() != crypto::Ed25519Public::size())
        return std::nullopt;
    BootstrapNode b{*at, {}, std::nullopt};
    if (!dht.empty()) {
        if (!dht.starts_with("dht=")) return std::nullopt;
        b.dht = parse_socket_address(dht.substr(4));
        if (!b.dht || b.dht->port == 0) return std::nullopt;
    }
    std::copy(bytes->begin(), bytes->end(), b.key.bytes.begin());
    return b;
}

std::string format_bootstrap(const BootstrapNode& b) {
    return format_socket_address(b.directory) + " " + to_hex(b.key.view()) +
           (b.dht ? " dht=" + format_socket_address(*b.dht) : "");
}

std::vector<BootstrapNode> configured_bootstraps(const control::Config& c) {
    std::vector<BootstrapNode> out;
    for (const auto& line : std::get<std::vector<std::string>>(c.get("core.bootstrap")))
        if (auto b = parse_bootstrap(line)) out.push_back(*b);
    return out;
}

std::vector<std::string> node_config_problems(const control::Config& c) {
    std::vector<std::string> p;
    const auto& roles = std::get<std::vector<std::string>>(c.get("core.roles"));
    if (roles.empty())
        p.push_back("core.roles: name at least one of client, relay, exit, bootstrap");
    const auto& boots = std::get<std::vector<std::string>>(c.get("core.bootstrap"));
    for (std::size_t i = 0; i < boots.size(); ++i)
        if (!parse_bootstrap(boots[i]))
            p.push_back(
                "core.bootstrap: entry " + std::to_string(i + 1) +
                ": expected 'HOST:PORT KEY [dht=HOST:PORT]' with a 64-hex-digit Ed25519 key");
    if (has_role(c, "bootstrap") && c.string("transport.directory_listen").empty())
        p.push_back(
            "transport.directory_listen: the bootstrap role serves descriptors there; set it");
    bool serves = has_role(c, "relay") || has_role(c, "exit") || has_role(c, "bootstrap");
    bool udp = !c.string("transport.udp_listen").empty();
    bool tcp = !c.string("transport.tcp_listen").empty();
    if (udp && tcp)
        p.push_back(
            "transport.tcp_listen: one link transport per node in this version; set "
            "udp_listen or tcp_listen, not both");
    if (!udp && !tcp)
        p.push_back("transport.udp_listen: a node needs a link address (or tcp_listen)");
    if (serves && !c.string("transport.advertise").empty() &&
        !parse_socket_address(c.string("transport.advertise")))
        p.push_back("transport.advertise: HOST:PORT with an IP address");
    if (has_role(c, "client")) {
        if (c.string("transport.socks_listen").empty() &&
            c.string("transport.http_connect_listen").empty())
            p.push_back(
                "transport.socks_listen: the client role needs a SOCKS5 or HTTP CONNECT port");
        const auto& lines = std::get<std::vector<std::string>>(c.get("circuit.relays"));
        for (std::size_t i = 0; i < lines.size(); ++i) {
            std::string why;
            if (!parse_contact(lines[i], &why))
                p.push_back("circuit.relays: entry " + std::to_string(i + 1) + ": " + why);
        }
    }
    if (has_role(c, "exit")) {
        std::string why;
        if (!exit::ExitPolicy::parse(
                std::get<std::vector<std::string>>(c.get("security.exit_policy")),
                c.boolean("security.allow_private_exit"), &why))
            p.push_back("security.exit_policy: " + why);
    }
    if (c.boolean("mix.enabled"))
        p.push_back("mix.enabled: the mix-network mode is not part of this version yet");
    for (const char* key : {"monitoring.control_addr"}) {
        auto at = parse_socket_address(c.string(key));
        if (!c.string(key).empty() && (!at || !at->ip.is_loopback()))
            p.push_back(std::string(key) + ": the control API is served on loopback only");
    }
    return p;
}

std::vector<std::string> node_config_warnings(const control::Config& c) {
    std::vector<std::string> w;
    if (has_role(c, "client") &&
        std::get<std::vector<std::string>>(c.get("core.bootstrap")).empty()) {
        auto relays = configured_relays(c);
        bool any_exit =
            std::any_of(relays.begin(), relays.end(), [](const auto& r) { return r.exit; });
        if (relays.size() < static_cast<std::size_t>(c.integer("circuit.hops")) || !any_exit)
            w.push_back("circuit.relays: " + std::to_string(relays.size()) +
                        " relays known and no core.bootstrap; circuits need circuit.hops (" +
                        std::to_string(c.integer("circuit.hops")) +
                        ") of them, one an exit, so streams will fail until they are added");
    }
    return w;
}

}  // namespace zmesh::app
