#include "zmesh/control/node_config.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "zmesh/circuit/node.hpp"
#include "zmesh/exit/policy.hpp"
#include "zmesh/exit/upstream.hpp"
#include "zmesh/link/ws_link.hpp"
#include "zmesh/node/net_options.hpp"

namespace zmesh::control {

using node::BootstrapNode;
using node::Contact;
using node::parse_bootstrap;
using node::parse_contact;
using node::parse_socket_address;
using node::parse_turn_server;

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

std::optional<fec::TetrysConfig> fec_config(const control::Config& c) {
    if (!c.boolean("fec.enabled")) return std::nullopt;
    fec::TetrysConfig t;
    t.window_size = static_cast<std::size_t>(c.integer("fec.window_size"));
    t.repair_rate = c.number("fec.repair_rate");
    t.adaptive = c.boolean("fec.adaptive");
    t.loss_threshold = c.number("fec.loss_threshold");
    t.min_repair_rate = c.number("fec.min_repair_rate");
    t.max_repair_rate = c.number("fec.max_repair_rate");
    return t;
}

std::vector<BootstrapNode> configured_bootstraps(const control::Config& c) {
    std::vector<BootstrapNode> out;
    for (const auto& line : std::get<std::vector<std::string>>(c.get("core.bootstrap")))
        if (auto b = parse_bootstrap(line)) out.push_back(*b);
    return out;
}

std::vector<link::TransportKind> configured_transports(const control::Config& c) {
    using K = link::TransportKind;
    std::vector<K> out;
    if (!c.string("transport.udp_listen").empty()) out.push_back(K::udp);
    if (!c.string("transport.tcp_listen").empty()) out.push_back(K::tcp);
    if (!c.string("transport.ws_listen").empty())
        out.push_back(c.boolean("transport.ws_tls") ? K::wss : K::ws);
    if (!c.string("transport.webrtc_listen").empty())
        out.push_back(c.boolean("transport.webrtc_tls") ? K::webrtc_tls : K::webrtc);
    return out;
}

std::vector<link::TransportKind> transport_order(const control::Config& c) {
    std::vector<link::TransportKind> out;
    for (const auto& name : std::get<std::vector<std::string>>(c.get("transport.order")))
        if (auto k = link::parse_transport_kind(name);
            k && std::find(out.begin(), out.end(), *k) == out.end())
            out.push_back(*k);
    return out;
}

std::vector<std::string> node_config_problems(const control::Config& c) {
    std::vector<std::string> p;
    if (c.boolean("fec.enabled")) {
        auto t = fec_config(c);
        if (auto why = fec::check(*t)) p.push_back("fec: " + *why);
    }
    const auto& roles = std::get<std::vector<std::string>>(c.get("core.roles"));
    if (roles.empty())
        p.push_back("core.roles: name at least one of client, relay, exit, bootstrap");
    const auto& boots = std::get<std::vector<std::string>>(c.get("core.bootstrap"));
    for (std::size_t i = 0; i < boots.size(); ++i)
        if (!parse_bootstrap(boots[i]))
            p.push_back("core.bootstrap: entry " + std::to_string(i + 1) +
                        ": expected 'HOST:PORT KEY [dht=HOST:PORT] "
                        "[link=TRANSPORT://HOST:PORT[,...] linkkey=HEX "
                        "onion=HEX]' with 64-hex-digit keys");
    if (has_role(c, "bootstrap") && c.string("transport.directory_listen").empty())
        p.push_back(
            "transport.directory_listen: the bootstrap role serves descriptors there; set it");
    bool serves = has_role(c, "relay") || has_role(c, "exit") || has_role(c, "bootstrap");
    auto kinds = configured_transports(c);
    if (kinds.empty())
        p.push_back(
            "transport.udp_listen: a node needs a link address (or tcp_listen, ws_listen, "
            "webrtc_listen)");
    const auto& order = std::get<std::vector<std::string>>(c.get("transport.order"));
    for (std::size_t i = 0; i < order.size(); ++i)
        if (std::find(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(i), order[i]) !=
            order.begin() + static_cast<std::ptrdiff_t>(i))
            p.push_back("transport.order: " + order[i] + " is named twice");
    auto usable = transport_order(c);
    if (!kinds.empty() && std::none_of(usable.begin(), usable.end(), [&](link::TransportKind k) {
            return std::find(kinds.begin(), kinds.end(), k) != kinds.end();
        })) {
        std::string runs;
        for (auto k : kinds) runs += std::string(runs.empty() ? "" : ", ") + link::to_string(k);
        p.push_back("transport.order: names none of this node's links (" + runs +
                    "), so it could not reach any peer");
    }
    if (!c.string("transport.webrtc_path").starts_with("/"))
        p.push_back("transport.webrtc_path: must start with /");
    const auto& locals =
        std::get<std::vector<std::string>>(c.get("transport.webrtc_local_addresses"));
    for (const auto& a : locals) {
        boost::system::error_code ec;
        boost::asio::ip::make_address(a, ec);
        if (ec) p.push_back("transport.webrtc_local_addresses: " + a + " is not an IP address");
    }
    if (const auto& stun = c.string("transport.stun_server");
        !stun.empty() && !parse_socket_address(stun))
        p.push_back("transport.stun_server: IP:PORT (libnice does not resolve names)");
    const auto& turns = std::get<std::vector<std::string>>(c.get("transport.turn_servers"));
    for (const auto& t : turns)
        if (!parse_turn_server(t))
            p.push_back("transport.turn_servers: '" + t + "' is not USER:PASSWORD@IP:PORT");
    if (!c.string("transport.ws_path").starts_with("/"))
        p.push_back("transport.ws_path: must start with /");
    if (c.string("transport.tls_cert").empty() != c.string("transport.tls_key").empty())
        p.push_back("transport.tls_cert: set both tls_cert and tls_key, or neither");
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
    if (auto at = parse_socket_address(c.string("monitoring.dashboard_addr"));
        at && !at->ip.is_loopback() && c.string("monitoring.dashboard_token_file").empty())
        p.push_back(
            "monitoring.dashboard_addr: not a loopback address, so the dashboard needs a token: "
            "set monitoring.dashboard_token_file");
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

link::WebRtcOptions webrtc_options(const control::Config& c) {
    link::WebRtcOptions o;
    o.signal_path = c.string("transport.webrtc_path");
    o.connect_tls = c.boolean("transport.webrtc_tls");
    if (o.connect_tls) {
        const auto& cert = c.string("transport.tls_cert");
        o.server_tls = cert.empty() ? link::self_signed_tls("localhost")
                                    : link::tls_from_files(cert, c.string("transport.tls_key"));
    }
    o.peer.local_addresses =
        std::get<std::vector<std::string>>(c.get("transport.webrtc_local_addresses"));
    if (auto stun = parse_socket_address(c.string("transport.stun_server"))) {
        o.peer.stun_host = stun->ip.to_string();
        o.peer.stun_port = stun->port;
    }
    for (const auto& t : std::get<std::vector<std::string>>(c.get("transport.turn_servers")))
        if (auto turn = parse_turn_server(t)) o.peer.turn.push_back(*turn);
    return o;
}

namespace {

std::optional<link::SocketAddress> listen_at(const Config& c, const std::string& key) {
    const auto& at = c.string(key);
    if (at.empty()) return std::nullopt;
    return parse_socket_address(at);
}

node::LinkOptions link_options(const Config& c) {
    node::LinkOptions l;
    l.udp = listen_at(c, "transport.udp_listen");
    l.tcp = listen_at(c, "transport.tcp_listen");
    l.ws = listen_at(c, "transport.ws_listen");
    l.webrtc = listen_at(c, "transport.webrtc_listen");
    l.ws_options.path = c.string("transport.ws_path");
    l.ws_options.host = c.string("transport.ws_host");
    l.ws_options.connect_tls = c.boolean("transport.ws_tls");
    if (l.ws && l.ws_options.connect_tls) {
        const auto& cert = c.string("transport.tls_cert");
        l.ws_options.server_tls = cert.empty()
                                      ? link::self_signed_tls("localhost")
                                      : link::tls_from_files(cert, c.string("transport.tls_key"));
    }
    if (l.webrtc) l.webrtc_options = webrtc_options(c);
    l.advertise = listen_at(c, "transport.advertise");
    l.order = transport_order(c);
    l.hybrid = c.string("crypto.handshake") == "hybrid";
    l.require_post_quantum = c.boolean("crypto.require_post_quantum");
    l.packet_loss = c.number("development.packet_loss_rate");
    l.fake_latency = std::chrono::milliseconds(c.integer("development.fake_latency_ms"));
    l.bandwidth_limit = static_cast<std::uint64_t>(c.integer("development.bandwidth_limit"));
    return l;
}

}  // namespace

namespace {

std::string value_text(const Value& v) {
    return std::visit(
        [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, bool>)
                return x ? "true" : "false";
            else if constexpr (std::is_same_v<T, std::string>)
                return x;
            else if constexpr (std::is_same_v<T, std::vector<std::string>>)
                return std::to_string(x.size()) + " entries";
            else
                return std::to_string(x);
        },
        v);
}

}  // namespace

Reload apply_reloadable(Config& running, const Config& fresh) {
    Reload r;
    for (const auto& o : options()) {
        auto name = o.name();
        if (running.get(name) == fresh.get(name)) continue;
        if (o.reloadable) {
            running.set(name, fresh.get(name));
            r.applied.push_back(name + "=" + value_text(fresh.get(name)));
        } else {
            r.restart.push_back(name);
        }
    }
    return r;
}

node::Options node_options(const Config& c) {
    node::Options o;
    o.roles.client = has_role(c, "client");
    o.roles.relay = has_role(c, "relay");
    o.roles.exit = has_role(c, "exit");
    o.roles.bootstrap = has_role(c, "bootstrap");
    o.data_dir = c.string("core.data_dir");
    o.links = link_options(c);
    o.discovery.bootstrap = configured_bootstraps(c);
    o.discovery.dht_listen = listen_at(c, "transport.dht_listen");
    o.discovery.directory_listen = listen_at(c, "transport.directory_listen");
    for (const auto& id : std::get<std::vector<std::string>>(c.get("core.family")))
        if (auto parsed = crypto::parse_node_id(id)) o.discovery.family.push_back(*parsed);
    auto& ci = o.circuit;
    ci.hops = static_cast<std::size_t>(c.integer("circuit.hops"));
    ci.relays = configured_relays(c);
    ci.guards = static_cast<std::size_t>(c.integer("circuit.guards"));
    ci.guard_rotation = std::chrono::seconds(c.integer("circuit.guard_rotation_days") * 86400);
    ci.preemptive = static_cast<std::size_t>(c.integer("circuit.preemptive_circuits"));
    ci.resume_grace = std::chrono::seconds(c.integer("circuit.resume_grace_seconds"));
    ci.max_circuits = static_cast<std::size_t>(c.integer("circuit.max_circuits"));
    ci.idle_timeout = std::chrono::seconds(c.integer("circuit.idle_timeout_seconds"));
    ci.max_lifetime = std::chrono::seconds(c.integer("circuit.max_lifetime_seconds"));
    ci.allow_private_addresses = c.boolean("circuit.allow_private_addresses");
    ci.distinct_subnets = c.boolean("circuit.distinct_subnets");
    ci.threads = static_cast<std::size_t>(c.integer("performance.worker_threads"));
    ci.weights = {c.number("circuit.weight_latency"), c.number("circuit.weight_reliability"),
                  c.number("circuit.weight_bandwidth"), c.number("circuit.weight_diversity")};
    o.exit.policy = std::get<std::vector<std::string>>(c.get("security.exit_policy"));
    o.exit.allow_private = c.boolean("security.allow_private_exit");
    o.exit.onion_proxy = exit::parse_proxy_address(c.string("exit.onion_proxy"));
    o.exit.i2p_proxy = exit::parse_proxy_address(c.string("exit.i2p_proxy"));
    o.exit.upstream = exit::parse_proxy_address(c.string("exit.upstream"));
    o.fec = fec_config(c);
    return o;
}

}  // namespace zmesh::control
