#include "zmesh/control/config.hpp"

#include "zmesh/crypto/identity.hpp"

#include <toml++/toml.h>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "zmesh/exit/upstream.hpp"

extern char** environ;

namespace zmesh::control {
namespace {

using Check = std::function<std::optional<std::string>(const Value&)>;

Check int_range(std::int64_t lo, std::int64_t hi) {
    return [lo, hi](const Value& v) -> std::optional<std::string> {
        auto x = std::get<std::int64_t>(v);
        if (x < lo || x > hi)
            return "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
        return std::nullopt;
    };
}

Check number_range(double lo, double hi, bool hi_open = false) {
    return [=](const Value& v) -> std::optional<std::string> {
        auto x = std::get<double>(v);
        if (x < lo || x > hi || (hi_open && x >= hi)) {
            std::ostringstream s;
            s << "a number from " << lo << (hi_open ? " up to (not including) " : " to ") << hi;
            return s.str();
        }
        return std::nullopt;
    };
}

Check one_of(std::vector<std::string> allowed) {
    return [allowed](const Value& v) -> std::optional<std::string> {
        if (std::find(allowed.begin(), allowed.end(), std::get<std::string>(v)) != allowed.end())
            return std::nullopt;
        std::string s = "one of";
        for (const auto& a : allowed) s += " " + a;
        return s;
    };
}

Check subset_of(std::vector<std::string> allowed) {
    return [allowed](const Value& v) -> std::optional<std::string> {
        for (const auto& x : std::get<std::vector<std::string>>(v))
            if (std::find(allowed.begin(), allowed.end(), x) == allowed.end()) {
                std::string s = "a list of";
                for (const auto& a : allowed) s += " " + a;
                return s;
            }
        return std::nullopt;
    };
}

// Node ids, as `zmesh id` prints them (base32) or as contact lines write them (hex).
Check node_ids(std::size_t most) {
    return [most](const Value& v) -> std::optional<std::string> {
        const auto& ids = std::get<std::vector<std::string>>(v);
        if (ids.size() > most) return "at most " + std::to_string(most) + " node ids";
        for (const auto& id : ids)
            if (!crypto::parse_node_id(id))
                return "node ids as 'zmesh id' prints them (52 base32 characters) or 64 hex "
                       "digits; '" +
                       id.substr(0, 64) + "' is neither";
        return std::nullopt;
    };
}

Check address() {
    return [](const Value& v) -> std::optional<std::string> {
        const auto& s = std::get<std::string>(v);
        auto colon = s.rfind(':');
        unsigned port = 0;
        if (s.empty()) return std::nullopt;  // off
        if (colon == std::string::npos || colon == 0 ||
            std::from_chars(s.data() + colon + 1, s.data() + s.size(), port).ec != std::errc{} ||
            port > 65535)
            return "HOST:PORT such as 127.0.0.1:9050, or empty for off";
        return std::nullopt;
    };
}

Check proxy_url() {
    return [](const Value& v) -> std::optional<std::string> {
        const auto& s = std::get<std::string>(v);
        std::string why;
        if (s.empty() || exit::parse_proxy_address(s, &why)) return std::nullopt;
        return why +
               " (socks5://IP:PORT, socks5://USER:PASSWORD@IP:PORT, http://IP:PORT, or "
               "empty for none)";
    };
}

Check any() {
    return [](const Value&) { return std::optional<std::string>{}; };
}

}  // namespace

const std::vector<Option>& options() {
    using T = OptionType;
    using S = std::vector<std::string>;
    static const std::vector<Option> all = {
        {"core", "roles", T::string_list, S{"client"},
         "What this node does: client, relay, exit, bootstrap.",
         subset_of({"client", "relay", "exit", "bootstrap"})},
        {"core", "data_dir", T::string, std::string("/var/lib/zmesh"),
         "Identity key, peer store and state.", any()},
        {"core", "bootstrap", T::string_list, S{},
         "Bootstrap nodes, the line each prints at start: 'HOST:PORT KEY [dht=HOST:PORT] "
         "[link=TRANSPORT://HOST:PORT[,...] linkkey=HEX onion=HEX]' (directory address, "
         "identity key, DHT node, zmesh links).",
         any()},
        {"core", "family", T::string_list, S{},
         "Relays: the node ids of the other relays you run ('zmesh id' prints them), "
         "published so that no circuit goes through two of them. List the same family on "
         "each of them.",
         node_ids(16)},
        {"core", "log_level", T::string, std::string("info"),
         "trace, debug, info, warn, error or off.",
         one_of({"trace", "debug", "info", "warn", "error", "off"}), true},
        {"transport", "udp_listen", T::string, std::string("0.0.0.0:7000"),
         "UDP link address (empty: no UDP).", address()},
        {"transport", "tcp_listen", T::string, std::string(""), "TCP link address (empty: no TCP).",
         address()},
        {"transport", "ws_listen", T::string, std::string(""),
         "WebSocket link address (empty: none); looks like HTTPS WebSocket traffic with "
         "transport.ws_tls.",
         address()},
        {"transport", "ws_tls", T::boolean, false,
         "WebSocket links inside TLS (wss://), listening and connecting.", any()},
        {"transport", "ws_path", T::string, std::string("/zmesh"),
         "The WebSocket path: the listener answers only there (404 elsewhere).", any()},
        {"transport", "ws_host", T::string, std::string(""),
         "Host header (and TLS name) sent when connecting (empty: the peer's address).", any()},
        {"transport", "tls_cert", T::string, std::string(""),
         "PEM certificate (chain) for wss:// (empty: a self-signed one).", any()},
        {"transport", "tls_key", T::string, std::string(""), "PEM key for transport.tls_cert.",
         any()},
        {"transport", "webrtc_listen", T::string, std::string(""),
         "WebRTC data channel links: the signaling (WebSocket) address peers send offers to "
         "(empty: none). Looks like a browser's WebRTC traffic.",
         address()},
        {"transport", "webrtc_path", T::string, std::string("/zmesh-rtc"),
         "The signaling path (404 elsewhere).", any()},
        {"transport", "webrtc_tls", T::boolean, false,
         "WebRTC signaling inside TLS (wss://, certificate from tls_cert/tls_key or "
         "self-signed), listening and connecting: the transport is then webrtc-tls.",
         any()},
        {"transport", "webrtc_local_addresses", T::string_list, S{},
         "IP addresses to offer ICE candidates on (empty: every interface but loopback; "
         "[\"127.0.0.1\"] for a loopback network).",
         any()},
        {"transport", "stun_server", T::string, std::string(""),
         "STUN server IP:PORT for server-reflexive ICE candidates (empty: none).", address()},
        {"transport", "turn_servers", T::string_list, S{},
         "TURN relays, each 'USER:PASSWORD@IP:PORT' (UDP), for peers behind strict NATs.", any()},
        {"transport", "socks_listen", T::string, std::string("127.0.0.1:9050"),
         "SOCKS5 entry (client role).", address()},
        {"transport", "http_connect_listen", T::string, std::string(""),
         "HTTP CONNECT entry (empty: off).", address()},
        {"transport", "dht_listen", T::string, std::string(""),
         "Run a DHT node here (UDP) to publish and find relay descriptors (empty: no DHT).",
         address()},
        {"transport", "directory_listen", T::string, std::string(""),
         "Bootstrap role: serve descriptors over HTTP here.", address()},
        {"transport", "advertise", T::string, std::string(""),
         "HOST:PORT others reach this relay at (empty: the listen addresses). With several "
         "links only its IP is used, each with its link's listen port.",
         address()},
        {"transport", "order", T::string_list, S{"webrtc-tls", "webrtc", "wss", "ws", "udp", "tcp"},
         "Transports to reach peers over, best first: a peer's address on the first one this "
         "node runs is tried, then the next if the link does not open. Left out: never used "
         "for outgoing links.",
         subset_of({"webrtc-tls", "webrtc", "wss", "ws", "udp", "tcp"}), true},
        {"crypto", "handshake", T::string, std::string("hybrid"),
         "hybrid (X25519 + ML-KEM-768) or classical handshakes.", one_of({"hybrid", "classical"})},
        {"crypto", "require_post_quantum", T::boolean, false,
         "Refuse peers whose handshakes are classical only.", any(), true},
        {"circuit", "hops", T::integer, std::int64_t{3}, "Relays per circuit.", int_range(2, 8),
         true},
        {"circuit", "relays", T::string_list, S{},
         "Relays for this client's circuits: contact lines ('zmesh status' on a relay prints "
         "its own).",
         any(), true},
        {"circuit", "guards", T::integer, std::int64_t{3},
         "Guards: the few relays this client uses as first hops.", int_range(1, 10), true},
        {"circuit", "guard_rotation_days", T::integer, std::int64_t{60},
         "A guard is replaced after this many days.", int_range(1, 365), true},
        {"circuit", "preemptive_circuits", T::integer, std::int64_t{2},
         "Client: circuits kept built ahead of need, so new streams start at once.",
         int_range(0, 16), true},
        {"circuit", "resume_grace_seconds", T::integer, std::int64_t{30},
         "Streams outlive the death of a relay: for this long the exit keeps the streams of a "
         "dead circuit and the client tries to move them to a new circuit to the same exit (0: "
         "streams end with their circuit).",
         int_range(0, 600)},
        {"circuit", "max_lifetime_seconds", T::integer, std::int64_t{3600},
         "Client: a circuit built this long ago is replaced; its streams move to a fresh circuit "
         "to the "
         "same exit (needs resume_grace_seconds > 0, else they end with it).",
         int_range(1, 86400)},
        {"circuit", "max_circuits", T::integer, std::int64_t{65536},
         "Circuits this relay carries at most.", int_range(1, 1 << 20)},
        {"circuit", "idle_timeout_seconds", T::integer, std::int64_t{600},
         "Idle circuits are closed after this.", int_range(10, 86400), true},
        {"circuit", "allow_private_addresses", T::boolean, false,
         "Relay: extend circuits to loopback, private and link-local addresses (a test "
         "network on one machine or a LAN; off on the Internet).",
         any()},
        {"circuit", "distinct_subnets", T::boolean, true,
         "Client: never two relays of one /16 (IPv4) or /32 (IPv6) on a circuit. Turn it off "
         "only where every relay shares one subnet (a container network, a cluster, a LAN).",
         any()},
        {"circuit", "weight_latency", T::number, 0.4, "Path selection weight of latency.",
         number_range(0, 1), true},
        {"circuit", "weight_reliability", T::number, 0.3, "Path selection weight of reliability.",
         number_range(0, 1), true},
        {"circuit", "weight_bandwidth", T::number, 0.2, "Path selection weight of bandwidth.",
         number_range(0, 1), true},
        {"circuit", "weight_diversity", T::number, 0.1, "Path selection weight of diversity.",
         number_range(0, 1), true},
        {"fec", "enabled", T::boolean, true,
         "Tetrys forward erasure coding of the stream data this node sends (a client's uploads, "
         "an exit's downloads): lost cells are rebuilt from repair cells instead of resent.",
         any()},
        {"fec", "window_size", T::integer, std::int64_t{64},
         "Unacknowledged cells one repair cell covers at most.", int_range(1, 255)},
        {"fec", "repair_rate", T::number, 0.1, "Repair cells per data cell at the start.",
         number_range(0, 1)},
        {"fec", "adaptive", T::boolean, true,
         "Set the repair rate from the loss the receiver reports.", any()},
        {"fec", "loss_threshold", T::number, 0.005,
         "Below this loss the minimum repair rate is used.", number_range(0, 1, true)},
        {"fec", "min_repair_rate", T::number, 0.0, "The adaptive rate's floor.",
         number_range(0, 1)},
        {"fec", "max_repair_rate", T::number, 0.5, "The adaptive rate's ceiling.",
         number_range(0, 1)},
        {"mix", "enabled", T::boolean, false, "Mix-network mode for messages.", any()},
        {"mix", "cover_rate", T::number, 1.0, "Cover packets per second (Poisson).",
         number_range(0, 1000), true},
        {"mix", "mean_delay_ms", T::integer, std::int64_t{50}, "Mean per-hop delay.",
         int_range(0, 60000), true},
        {"performance", "worker_threads", T::integer, std::int64_t{0},
         "A relay's threads: the event loop and CREATE handshake workers (0: one per core).",
         int_range(0, 256)},
        {"security", "enable_seccomp", T::boolean, false, "Restrict system calls after start-up.",
         any()},
        {"security", "user", T::string, std::string(""), "Drop to this user when started as root.",
         any()},
        {"security", "allow_private_exit", T::boolean, false,
         "Let the exit reach private and loopback ranges.", any(), true},
        {"security", "exit_policy", T::string_list, S{"reject *:25", "accept *:*"},
         "Exit policy rules, first match wins (exit role).", any(), true},
        {"exit", "onion_proxy", T::string, std::string(""),
         "Exit: send .onion names to this Tor client's SOCKS port, such as "
         "socks5://127.0.0.1:9050 (empty: such names are refused, never resolved).",
         proxy_url()},
        {"exit", "i2p_proxy", T::string, std::string(""),
         "Exit: send .i2p names to this I2P router's proxy, such as socks5://127.0.0.1:4447 "
         "(empty: such names are refused, never resolved).",
         proxy_url()},
        {"exit", "upstream", T::string, std::string(""),
         "Exit: send every other stream through this SOCKS5 or HTTP CONNECT proxy, which "
         "resolves the names (empty: connect directly).",
         proxy_url()},
        {"monitoring", "prometheus_addr", T::string, std::string("127.0.0.1:9090"),
         "Metrics endpoint (empty: off).", address()},
        {"monitoring", "control_socket", T::string, std::string(""),
         "Control API Unix socket, mode 0600 (empty: DATA_DIR/control.sock; 'off': none).", any()},
        {"monitoring", "control_addr", T::string, std::string(""),
         "Control API on loopback TCP with a token (empty: off).", address()},
        {"monitoring", "control_token_file", T::string, std::string(""),
         "Token for control_addr, created 0600 if missing (empty: DATA_DIR/control.token).", any()},
        {"monitoring", "dashboard_addr", T::string, std::string(""),
         "Live dashboard page (docs/dashboard.md; empty: off). Off loopback it needs "
         "dashboard_token_file.",
         address()},
        {"monitoring", "dashboard_token_file", T::string, std::string(""),
         "Token the dashboard requires, created 0600 if missing (empty: no token, loopback "
         "only).",
         any()},
        {"development", "fake_latency_ms", T::integer, std::int64_t{0},
         "Testing: delay every packet this much.", int_range(0, 10000), true},
        {"development", "packet_loss_rate", T::number, 0.0,
         "Testing: drop this fraction of datagrams.", number_range(0, 1, true), true},
        {"development", "bandwidth_limit", T::integer, std::int64_t{0},
         "Testing: bytes per second (0: none).", int_range(0, std::int64_t{1} << 40), true},
    };
    return all;
}

const Option* find_option(const std::string& name) {
    for (const auto& o : options())
        if (o.name() == name) return &o;
    return nullptr;
}

const Value& Config::get(const std::string& name) const {
    auto it = values_.find(name);
    if (it != values_.end()) return it->second;
    const Option* o = find_option(name);
    if (o == nullptr) throw std::out_of_range("no such option: " + name);
    return o->fallback;
}

namespace {

const char* type_name(OptionType t) {
    switch (t) {
        case OptionType::boolean:
            return "true or false";
        case OptionType::integer:
            return "an integer";
        case OptionType::number:
            return "a number";
        case OptionType::string:
            return "a string";
        case OptionType::string_list:
            return "a list of strings";
    }
    return "?";
}

std::optional<Value> from_toml(const toml::node& n, OptionType t) {
    switch (t) {
        case OptionType::boolean:
            if (auto v = n.value<bool>(); v && n.is_boolean()) return Value{*v};
            return std::nullopt;
        case OptionType::integer:
            if (n.is_integer()) return Value{*n.value<std::int64_t>()};
            return std::nullopt;
        case OptionType::number:
            if (n.is_floating_point() || n.is_integer()) return Value{*n.value<double>()};
            return std::nullopt;
        case OptionType::string:
            if (n.is_string()) return Value{*n.value<std::string>()};
            return std::nullopt;
        case OptionType::string_list: {
            const auto* arr = n.as_array();
            if (arr == nullptr) return std::nullopt;
            std::vector<std::string> out;
            for (const auto& e : *arr) {
                if (!e.is_string()) return std::nullopt;
                out.push_back(*e.value<std::string>());
            }
            return Value{out};
        }
    }
    return std::nullopt;
}

std::optional<Value> from_text(const std::string& s, OptionType t) {
    switch (t) {
        case OptionType::boolean:
            if (s == "true" || s == "1") return Value{true};
            if (s == "false" || s == "0") return Value{false};
            return std::nullopt;
        case OptionType::integer: {
            std::int64_t v = 0;
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
            return Value{v};
        }
        case OptionType::number: {
            try {
                std::size_t used = 0;
                double v = std::stod(s, &used);
                if (used != s.size() || !std::isfinite(v)) return std::nullopt;
                return Value{v};
            } catch (...) {
                return std::nullopt;
            }
        }
        case OptionType::string:
            return Value{s};
        case OptionType::string_list: {
            std::vector<std::string> out;
            std::stringstream ss(s);
            for (std::string item; std::getline(ss, item, ',');)
                if (!item.empty()) out.push_back(item);
            return Value{out};
        }
    }
    return std::nullopt;
}

void apply(Loaded& l, const Option& o, Value v, int line, const std::string& origin) {
    if (auto why = o.check(v)) {
        l.errors.push_back({o.name(), line, origin + "must be " + *why});
        return;
    }
    l.config.set(o.name(), std::move(v));
}

}  // namespace

Loaded load_config(std::string_view text, const Environment& env,
                   const std::vector<std::string>& overrides) {
    Loaded l;
    toml::table root;
    try {
        root = toml::parse(text);
    } catch (const toml::parse_error& e) {
        l.errors.push_back({"", static_cast<int>(e.source().begin.line),
                            std::string("not valid TOML: ") + std::string(e.description())});
        return l;
    }
    for (const auto& [section_key, section_node] : root) {
        std::string section(section_key.str());
        const auto* table = section_node.as_table();
        if (table == nullptr) {
            l.errors.push_back({section, static_cast<int>(section_node.source().begin.line),
                                "expected a [" + section + "] section"});
            continue;
        }
        for (const auto& [key, node] : *table) {
            std::string name = section + "." + std::string(key.str());
            int line = static_cast<int>(node.source().begin.line);
            const Option* o = find_option(name);
            if (o == nullptr) {
                l.errors.push_back({name, line, "unknown option"});
                continue;
            }
            auto v = from_toml(node, o->type);
            if (!v) {
                l.errors.push_back({name, line, std::string("must be ") + type_name(o->type)});
                continue;
            }
            apply(l, *o, std::move(*v), line, "");
        }
    }
    for (const auto& o : options()) {
        std::string var = "ZMESH_" + o.section + "_" + o.key;
        std::transform(var.begin(), var.end(), var.begin(), ::toupper);
        auto it = env.find(var);
        if (it == env.end()) continue;
        auto v = from_text(it->second, o.type);
        if (!v) {
            l.errors.push_back({o.name(), 0, var + " must be " + type_name(o.type)});
            continue;
        }
        apply(l, o, std::move(*v), 0, var + ": ");
    }
    for (const auto& set : overrides) {
        auto eq = set.find('=');
        std::string name = set.substr(0, eq);
        const Option* o = find_option(name);
        if (eq == std::string::npos || o == nullptr) {
            l.errors.push_back({name, 0, "--set takes section.key=value for a known option"});
            continue;
        }
        auto v = from_text(set.substr(eq + 1), o->type);
        if (!v) {
            l.errors.push_back({name, 0, std::string("--set value must be ") + type_name(o->type)});
            continue;
        }
        apply(l, *o, std::move(*v), 0, "--set: ");
    }
    // Cross-option rule: the path weights are shares of one whole.
    double sum =
        l.config.number("circuit.weight_latency") + l.config.number("circuit.weight_reliability") +
        l.config.number("circuit.weight_bandwidth") + l.config.number("circuit.weight_diversity");
    if (std::fabs(sum - 1.0) > 1e-6) {
        std::ostringstream s;
        s << "the four circuit.weight_* options must add up to 1 (they add up to " << sum << ")";
        l.errors.push_back({"circuit.weight_*", 0, s.str()});
    }
    return l;
}

Environment process_environment() {
    Environment env;
    for (char** e = environ; e && *e; ++e) {
        std::string kv(*e);
        if (!kv.starts_with("ZMESH_")) continue;
        auto eq = kv.find('=');
        if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    return env;
}

namespace {

std::string toml_value(const Value& v) {
    std::ostringstream s;
    std::visit(
        [&](const auto& x) {
            using X = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<X, bool>)
                s << (x ? "true" : "false");
            else if constexpr (std::is_same_v<X, std::int64_t>)
                s << x;
            else if constexpr (std::is_same_v<X, double>) {
                s << toml::value<double>(x);
            } else if constexpr (std::is_same_v<X, std::string>) {
                s << toml::value<std::string>(x);
            } else {
                s << "[";
                for (std::size_t i = 0; i < x.size(); ++i)
                    s << (i ? ", " : "") << toml::value<std::string>(x[i]);
                s << "]";
            }
        },
        v);
    return s.str();
}

// A proxy URL's password ("socks5://user:secret@ip:port") is not shown back.
Value without_password(const Value& v) {
    const auto* s = std::get_if<std::string>(&v);
    if (!s) return v;
    auto scheme = s->find("://");
    auto at = s->rfind('@');
    if (scheme == std::string::npos || at == std::string::npos || at < scheme) return v;
    auto colon = s->find(':', scheme + 3);
    if (colon == std::string::npos || colon > at) return v;
    return s->substr(0, colon + 1) + "***" + s->substr(at);
}

std::string render(const Config* c, bool commented_defaults) {
    std::string out;
    std::string section;
    auto explicit_values = c ? c->explicit_values() : std::map<std::string, Value>{};
    for (const auto& o : options()) {
        bool set = explicit_values.contains(o.name());
        if (c && !commented_defaults && !set) continue;
        if (o.section != section) {
            out += (section.empty() ? "" : "\n") + std::string("[") + o.section + "]\n";
            section = o.section;
        }
        out += "# " + o.comment + (o.reloadable ? " (reloads on SIGHUP)" : "") + "\n";
        out +=
            o.key + " = " + toml_value(without_password(c ? c->get(o.name()) : o.fallback)) + "\n";
    }
    return out;
}

}  // namespace

std::string render_config(const Config& c, bool with_defaults) {
    return render(&c, with_defaults);
}

std::string default_config_file() {
    return "# zmesh node configuration. Every option is shown at its default.\n"
           "# Environment variables ZMESH_<SECTION>_<KEY> override this file;\n"
           "# `zmesh node --set section.key=value` overrides both.\n\n" +
           render(nullptr, true);
}

}  // namespace zmesh::control
