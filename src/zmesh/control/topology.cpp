#include "zmesh/control/topology.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <type_traits>

namespace zmesh::control {
namespace {

using ojson = nlohmann::ordered_json;

constexpr std::size_t kShortId = 12;
// Leaf clusters larger than this are laid out as a block of columns rather than one long
// column (dot puts unconnected nodes side by side in a single rank).
constexpr std::size_t kGridFrom = 6;
// Latency colours: green at or below kFastMs, red at or above kSlowMs, log scale between.
constexpr double kFastMs = 10;
constexpr double kSlowMs = 1000;
constexpr double kMinPen = 0.6;    // bandwidth unknown
constexpr double kKnownPen = 1.2;  // the slowest relay with a known figure
constexpr double kMaxPen = 5;
constexpr std::array<const char*, 10> kCircuitColours = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                         "#9467bd", "#8c564b", "#e377c2", "#17becf",
                                                         "#bcbd22", "#7f7f7f"};

std::string short_id(const std::string& id) {
    return id.size() > kShortId ? id.substr(0, kShortId) : id;
}

// Printable UTF-8 only: control characters become spaces, bytes that are not UTF-8 '?'
// (dot refuses malformed UTF-8, and a name must not break a line of the file).
std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            out.push_back(c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c));
            ++i;
            continue;
        }
        std::size_t len = c >= 0xf0 && c <= 0xf4  ? 4
                          : c >= 0xe0             ? 3
                          : c >= 0xc2 && c < 0xe0 ? 2
                                                  : 0;
        bool ok = len > 0 && i + len <= s.size();
        for (std::size_t k = 1; ok && k < len; ++k)
            ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
        if (ok) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            out.push_back('?');
            ++i;
        }
    }
    return out;
}

// The inside of a DOT double-quoted string: quotes and backslashes escaped, so a name can
// neither end the string nor become one of Graphviz's \N, \G, \l escapes.
std::string escape(std::string_view s) {
    std::string out;
    for (char c : printable(s)) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    return out;
}

std::string quote(std::string_view s) {
    return "\"" + escape(s) + "\"";
}

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string rate(double bytes_per_second) {
    const char* units[] = {"B/s", "kB/s", "MB/s", "GB/s"};
    int u = 0;
    while (bytes_per_second >= 1000 && u < 3) {
        bytes_per_second /= 1000;
        ++u;
    }
    return fixed(bytes_per_second, u == 0 ? 0 : 1) + " " + units[u];
}

std::string latency_colour(const std::optional<double>& ms) {
    if (!ms) return "#e0e0e0";
    double t =
        std::log10(std::clamp(*ms, kFastMs, kSlowMs) / kFastMs) / std::log10(kSlowMs / kFastMs);
    return fixed(0.33 * (1 - t), 3) + " 0.55 0.95";  // HSV: hue from green to red
}

// Log scale between the slowest and the fastest relay with a known figure: most relays
// are within a factor of a hundred, which a scale from zero would draw alike.
struct PenScale {
    double low = 0, high = 0;  // bytes per second
    double width(double bandwidth) const {
        if (bandwidth <= 0 || high <= 0) return kMinPen;
        double span = std::log(high) - std::log(low);
        double t = span > 1e-9 ? (std::log(bandwidth) - std::log(low)) / span : 1;
        return kKnownPen + (kMaxPen - kKnownPen) * std::clamp(t, 0.0, 1.0);
    }
};

// The relays once each, with their groups.
struct Prepared {
    std::vector<const TopologyRelay*> relays;
    std::map<std::string, std::size_t> index;  // id -> position in relays
    std::vector<std::string> subnet;           // per relay
    std::vector<std::vector<std::size_t>> families;
    std::vector<int> family;  // per relay: index into families, or -1
};

// Union-find over "names as family", either way; groups of two or more, in input order.
template <class Relays>
std::vector<std::vector<std::size_t>> groups_by_family(const Relays& relays) {
    auto at = [&](std::size_t i) -> const TopologyRelay& {
        if constexpr (std::is_pointer_v<typename Relays::value_type>)
            return *relays[i];
        else
            return relays[i];
    };
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < relays.size(); ++i) index.emplace(at(i).id, i);
    std::vector<std::size_t> parent(relays.size());
    std::iota(parent.begin(), parent.end(), 0);
    auto root = [&](std::size_t i) {
        while (parent[i] != i) i = parent[i] = parent[parent[i]];
        return i;
    };
    for (std::size_t i = 0; i < relays.size(); ++i)
        for (const auto& f : at(i).family)
            if (auto it = index.find(f); it != index.end()) {
                auto a = root(i), b = root(it->second);
                if (a != b) parent[std::max(a, b)] = std::min(a, b);
            }
    std::map<std::size_t, std::vector<std::size_t>> by_root;
    for (std::size_t i = 0; i < relays.size(); ++i) by_root[root(i)].push_back(i);
    std::vector<std::vector<std::size_t>> out;
    for (auto& [r, members] : by_root)  // a group's root is its first member: input order
        if (members.size() > 1) out.push_back(std::move(members));
    return out;
}

Prepared prepare(const Topology& t) {
    Prepared p;
    for (const auto& r : t.relays)
        if (p.index.emplace(r.id, p.relays.size()).second) p.relays.push_back(&r);
    for (const auto* r : p.relays)
        p.subnet.push_back(r->addresses.empty() ? "unknown" : subnet_of(r->addresses.front()));
    p.families = groups_by_family(p.relays);
    p.family.assign(p.relays.size(), -1);
    for (std::size_t f = 0; f < p.families.size(); ++f)
        for (auto i : p.families[f]) p.family[i] = static_cast<int>(f);
    return p;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out.append(sep);
        out.append(s);
    }
    return out;
}

// One relay's node statement.
std::string relay_node(const TopologyRelay& r, std::size_t i, const PenScale& pen) {
    std::string tags;
    if (r.exit) tags += "exit ";
    if (r.guard) tags += "guard ";
    if (r.down) tags += "down ";
    std::string label = escape(short_id(r.id));
    if (!tags.empty()) label += "\\n" + tags.substr(0, tags.size() - 1);
    double bw = r.bandwidth();
    label += "\\n" + (bw > 0 ? rate(bw) : std::string("? B/s")) + " · " +
             (r.latency_ms ? fixed(*r.latency_ms, 0) + " ms" : std::string("? ms"));

    std::string tip = escape(r.id);
    for (const auto& a : r.addresses) tip += "\\n" + escape(a);
    if (!r.flags.empty()) tip += "\\nflags: " + escape(join(r.flags, ","));
    if (!r.family.empty()) tip += "\\nfamily: " + std::to_string(r.family.size()) + " relays";
    tip += "\\nbandwidth: " + (bw > 0 ? rate(bw) : std::string("unknown")) +
           (r.measured_bandwidth ? " (measured)"
            : bw > 0             ? " (advertised)"
                                 : "");
    if (r.latency_ms) tip += "\\nlatency: " + fixed(*r.latency_ms, 1) + " ms";
    if (r.reliability) tip += "\\nreliability: " + fixed(*r.reliability * 100, 0) + "%";

    std::string style = r.down ? "\"rounded,filled,dashed\"" : "\"rounded,filled\"";
    std::string out = "r" + std::to_string(i) + " [label=\"" + label + "\", tooltip=\"" + tip +
                      "\", id=\"relay-" + escape(r.id) + "\", style=" + style + ", fillcolor=\"" +
                      latency_colour(r.latency_ms) + "\", penwidth=" + fixed(pen.width(bw), 2);
    if (r.exit) out += ", shape=hexagon, color=\"#a02020\"";
    if (r.guard)
        out += ", peripheries=2, color=\"" + std::string(r.exit ? "#a02020" : "#2050b0") + "\"";
    return out + "];\n";
}

// Invisible edges that stack a cluster's relays in columns of about twice their number.
void grid(std::string& out, const std::vector<std::size_t>& members, const std::string& indent) {
    if (members.size() <= kGridFrom) return;
    auto cols = static_cast<std::size_t>(std::ceil(std::sqrt(members.size() / 2.0)));
    std::size_t per_col = (members.size() + cols - 1) / cols;
    for (std::size_t k = 0; k + per_col < members.size(); ++k)
        out += indent + "r" + std::to_string(members[k]) + " -> r" +
               std::to_string(members[k + per_col]) + " [style=invis];\n";
}

}  // namespace

std::string subnet_of(std::string_view address) {
    if (auto sep = address.find("://"); sep != std::string_view::npos)
        address.remove_prefix(sep + 3);
    std::string host;
    if (!address.empty() && address.front() == '[') {
        auto end = address.find(']');
        if (end == std::string_view::npos) return "unknown";
        host = address.substr(1, end - 1);
    } else if (std::count(address.begin(), address.end(), ':') == 1) {
        host = address.substr(0, address.find(':'));
    } else {
        host = address;  // a bare address, IPv4 or IPv6
    }
    std::array<unsigned char, 16> b{};
    std::array<char, INET6_ADDRSTRLEN> text{};
    if (::inet_pton(AF_INET, host.c_str(), b.data()) == 1)
        return std::to_string(b[0]) + "." + std::to_string(b[1]) + ".0.0/16";
    if (::inet_pton(AF_INET6, host.c_str(), b.data()) != 1) return "unknown";
    bool mapped = std::all_of(b.begin(), b.begin() + 10, [](auto x) { return x == 0; }) &&
                  b[10] == 0xff && b[11] == 0xff;
    if (mapped) return std::to_string(b[12]) + "." + std::to_string(b[13]) + ".0.0/16";
    std::fill(b.begin() + 4, b.end(), 0);
    ::inet_ntop(AF_INET6, b.data(), text.data(), text.size());
    return std::string(text.data()) + "/32";
}

std::vector<std::vector<std::size_t>> family_groups(const std::vector<TopologyRelay>& relays) {
    return groups_by_family(relays);
}

std::string topology_dot(const Topology& t) {
    auto p = prepare(t);
    PenScale pen;
    std::size_t exits = 0, guards = 0;
    for (const auto* r : p.relays) {
        if (double bw = r->bandwidth(); bw > 0) {
            pen.low = pen.low > 0 ? std::min(pen.low, bw) : bw;
            pen.high = std::max(pen.high, bw);
        }
        exits += r->exit ? 1 : 0;
        guards += r->guard ? 1 : 0;
    }
    auto plural = [](std::size_t n, const char* one, const char* many) {
        return std::to_string(n) + " " + (n == 1 ? one : many);
    };
    std::string out = "digraph zmesh {\n";
    // Packed as an array: unconnected groups side by side rather than in one tall column
    // (and laid out each on its own, which is faster for a thousand relays).
    out +=
        "  graph [rankdir=LR, pack=true, packmode=\"array\", fontname=\"Helvetica\", fontsize=11, "
        "nodesep=0.12, "
        "ranksep=0.5, labelloc=t, labeljust=l, label=\"zmesh topology: " +
        plural(p.relays.size(), "relay", "relays") + " (" + plural(exits, "exit", "exits") + ", " +
        plural(guards, "guard", "guards") + "), " +
        plural(t.circuits.size(), "circuit", "circuits") +
        "\\lbox: relay   hexagon: exit   double border: guard   dashed: down\\l"
        "border width: bandwidth   fill: latency (green fast, red slow, grey not "
        "measured)\\l\"];\n";
    out += "  node [shape=box, fontname=\"Helvetica\", fontsize=9];\n";
    out += "  edge [fontname=\"Helvetica\", fontsize=8, arrowsize=0.6];\n";
    out +=
        "  you [label=\"you\", shape=circle, style=filled, fillcolor=\"#ffffff\", "
        "penwidth=2, tooltip=\"this node\"];\n";

    // Clusters: each family, subdivided by subnet; relays without a family by subnet.
    // DOT clusters nest strictly, so a subnet shared by a family and other relays shows
    // as a box inside the family and another outside it.
    auto subnet_boxes = [&](const std::vector<std::size_t>& members, const std::string& prefix,
                            const std::string& indent) {
        std::vector<std::string> order;
        std::map<std::string, std::vector<std::size_t>> by_subnet;
        for (auto i : members) {
            if (!by_subnet.contains(p.subnet[i])) order.push_back(p.subnet[i]);
            by_subnet[p.subnet[i]].push_back(i);
        }
        std::string s;
        for (std::size_t k = 0; k < order.size(); ++k) {
            const auto& m = by_subnet[order[k]];
            s += indent + "subgraph cluster_" + prefix + "s" + std::to_string(k) + " {\n";
            s += indent + "  label=" + quote(order[k] + " (" + std::to_string(m.size()) + ")") +
                 "; style=rounded; color=\"#999999\"; fontsize=9;\n";
            for (auto i : m) s += indent + "  " + relay_node(*p.relays[i], i, pen);
            grid(s, m, indent + "  ");
            s += indent + "}\n";
        }
        return s;
    };
    for (std::size_t f = 0; f < p.families.size(); ++f) {
        out += "  subgraph cluster_f" + std::to_string(f) + " {\n";
        out += "    label=" +
               quote("family of " + short_id(p.relays[p.families[f].front()]->id) + " (" +
                     std::to_string(p.families[f].size()) + " relays)") +
               "; style=dashed; color=\"#7a50c0\"; fontcolor=\"#7a50c0\";\n";
        out += subnet_boxes(p.families[f], "f" + std::to_string(f), "    ");
        out += "  }\n";
    }
    std::vector<std::size_t> loose;
    for (std::size_t i = 0; i < p.relays.size(); ++i)
        if (p.family[i] < 0) loose.push_back(i);
    out += subnet_boxes(loose, "", "  ");

    // Circuits: you -> first hop -> ... -> last hop, one colour each. A hop this node
    // does not know (its descriptor expired meanwhile) still gets a node.
    std::map<std::string, std::string> unknown;
    for (std::size_t c = 0; c < t.circuits.size(); ++c) {
        const auto& circuit = t.circuits[c];
        const std::string colour = kCircuitColours[c % kCircuitColours.size()];
        std::string prev = "you";
        for (std::size_t h = 0; h < circuit.path.size(); ++h) {
            const auto& id = circuit.path[h];
            std::string name;
            if (auto it = p.index.find(id); it != p.index.end()) {
                name = "r" + std::to_string(it->second);
            } else if (auto u = unknown.find(id); u != unknown.end()) {
                name = u->second;
            } else {
                name = "u" + std::to_string(unknown.size());
                unknown.emplace(id, name);
                out += "  " + name + " [label=" + quote(short_id(id) + "\n(not known)") +
                       ", tooltip=" + quote(id) + ", id=" + quote("relay-" + id) +
                       ", style=\"rounded,dashed\"];\n";
            }
            out += "  " + prev + " -> " + name + " [color=\"" + colour +
                   "\", penwidth=2.5, style=" + (circuit.built ? "solid" : "dashed") +
                   ", tooltip=\"circuit " + std::to_string(circuit.id) + ", hop " +
                   std::to_string(h + 1) + "\"";
            if (h == 0)
                out += ", label=\"circuit " + std::to_string(circuit.id) +
                       (circuit.built ? "" : " (building)") + "\", fontcolor=\"" + colour + "\"";
            out += "];\n";
            prev = name;
        }
    }
    return out + "}\n";
}

std::string topology_json(const Topology& t) {
    auto p = prepare(t);
    auto optional = [](const std::optional<double>& v) { return v ? ojson(*v) : ojson(nullptr); };
    ojson doc;
    doc["format"] = "zmesh-topology-1";
    ojson relays = ojson::array();
    for (std::size_t i = 0; i < p.relays.size(); ++i) {
        const auto& r = *p.relays[i];
        relays.push_back({{"id", r.id},
                          {"addresses", r.addresses},
                          {"subnet", p.subnet[i]},
                          {"family", r.family},
                          {"family_group", p.family[i] < 0 ? ojson(nullptr) : ojson(p.family[i])},
                          {"flags", r.flags},
                          {"exit", r.exit},
                          {"guard", r.guard},
                          {"configured", r.configured},
                          {"down", r.down},
                          {"advertised_bandwidth", r.advertised_bandwidth},
                          {"measured_bandwidth", optional(r.measured_bandwidth)},
                          {"latency_ms", optional(r.latency_ms)},
                          {"reliability", optional(r.reliability)}});
    }
    doc["relays"] = std::move(relays);
    std::vector<std::string> order;
    std::map<std::string, std::vector<std::string>> subnets;
    for (std::size_t i = 0; i < p.relays.size(); ++i) {
        if (!subnets.contains(p.subnet[i])) order.push_back(p.subnet[i]);
        subnets[p.subnet[i]].push_back(p.relays[i]->id);
    }
    doc["subnets"] = ojson::array();
    for (const auto& s : order) doc["subnets"].push_back({{"subnet", s}, {"relays", subnets[s]}});
    doc["families"] = ojson::array();
    for (const auto& f : p.families) {
        ojson ids = ojson::array();
        for (auto i : f) ids.push_back(p.relays[i]->id);
        doc["families"].push_back({{"relays", std::move(ids)}});
    }
    doc["circuits"] = ojson::array();
    for (const auto& c : t.circuits)
        doc["circuits"].push_back(
            {{"id", c.id}, {"state", c.built ? "built" : "building"}, {"path", c.path}});
    // Names that are not UTF-8 are written with U+FFFD rather than failing the document.
    return doc.dump(2, ' ', false, ojson::error_handler_t::replace) + "\n";
}

std::optional<Topology> parse_topology_json(std::string_view text, std::string* why) {
    auto fail = [&](std::string reason) -> std::optional<Topology> {
        if (why) *why = std::move(reason);
        return std::nullopt;
    };
    auto doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded()) return fail("not JSON");
    if (!doc.is_object() || !doc.contains("relays") || !doc["relays"].is_array())
        return fail("no \"relays\" list");
    if (doc["relays"].size() > kMaxTopologyRelays)
        return fail("more than " + std::to_string(kMaxTopologyRelays) + " relays");
    Topology t;
    try {
        auto number = [](const nlohmann::json& j, const char* key) -> std::optional<double> {
            if (!j.contains(key) || j[key].is_null()) return std::nullopt;
            return j[key].get<double>();
        };
        auto strings = [](const nlohmann::json& j, const char* key) {
            return j.contains(key) ? j[key].get<std::vector<std::string>>()
                                   : std::vector<std::string>{};
        };
        for (const auto& j : doc["relays"]) {
            TopologyRelay r;
            r.id = j.at("id").get<std::string>();
            if (r.id.empty()) return fail("a relay without an id");
            r.addresses = strings(j, "addresses");
            r.family = strings(j, "family");
            r.flags = strings(j, "flags");
            r.exit = j.value("exit", false);
            r.guard = j.value("guard", false);
            r.configured = j.value("configured", false);
            r.down = j.value("down", false);
            r.advertised_bandwidth = number(j, "advertised_bandwidth").value_or(0);
            r.measured_bandwidth = number(j, "measured_bandwidth");
            r.latency_ms = number(j, "latency_ms");
            r.reliability = number(j, "reliability");
            t.relays.push_back(std::move(r));
        }
        if (doc.contains("circuits")) {
            if (!doc["circuits"].is_array() || doc["circuits"].size() > kMaxTopologyCircuits)
                return fail("\"circuits\" is not a list of at most " +
                            std::to_string(kMaxTopologyCircuits));
            for (const auto& j : doc["circuits"]) {
                TopologyCircuit c;
                c.id = j.at("id").get<std::uint64_t>();
                c.built = j.value("state", std::string("built")) == "built";
                c.path = strings(j, "path");
                t.circuits.push_back(std::move(c));
            }
        }
    } catch (const nlohmann::json::exception& e) {
        // The library's message names the field's type problem ("type must be string").
        return fail(std::string("malformed topology: ") + e.what());
    }
    return t;
}

}  // namespace zmesh::control
