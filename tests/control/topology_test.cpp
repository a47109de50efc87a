#include "zmesh/control/topology.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>

namespace zmesh::control {
namespace {

std::string id_of(char c) {
    return std::string(64, c);
}

TopologyRelay relay(char c, std::string address, bool exit = false, bool guard = false) {
    TopologyRelay r;
    r.id = id_of(c);
    r.addresses = {std::move(address)};
    r.flags = exit ? std::vector<std::string>{"relay", "exit"} : std::vector<std::string>{"relay"};
    r.exit = exit;
    r.guard = guard;
    return r;
}

// The lines of the cluster whose label starts with `label`, up to its closing brace.
std::string cluster(const std::string& dot, const std::string& label) {
    auto at = dot.find("label=\"" + label);
    if (at == std::string::npos) return {};
    auto open = dot.rfind("subgraph cluster_", at);
    int depth = 0;
    for (auto i = dot.find('{', open); i < dot.size(); ++i) {
        if (dot[i] == '{') ++depth;
        if (dot[i] == '}' && --depth == 0) return dot.substr(open, i - open + 1);
    }
    return {};
}

// The statement of node `name` ("r0 [...];").
std::string node_line(const std::string& dot, const std::string& name) {
    std::regex re("(^|\\n)\\s*" + name + " \\[([^\\n]*)\\];");
    std::smatch m;
    return std::regex_search(dot, m, re) ? m[2].str() : std::string();
}

double attribute(const std::string& line, const std::string& key) {
    std::smatch m;
    std::regex re(key + "=\"?([0-9.]+)");
    return std::regex_search(line, m, re) ? std::stod(m[1].str()) : -1;
}

Topology small_network() {
    Topology t;
    t.relays.push_back(relay('a', "udp://10.1.2.3:7000", false, true));
    t.relays.push_back(relay('b', "udp://10.1.9.9:7000"));
    t.relays.push_back(relay('c', "tcp://10.2.0.1:443", true));
    auto d = relay('d', "udp://[2001:db8:1:2::5]:7000");
    auto e = relay('e', "udp://[2001:db8:ffff::6]:7000", true, true);
    d.family = {id_of('e')};
    t.relays.push_back(d);
    t.relays.push_back(e);
    return t;
}

TEST(Topology, subnets_are_slash_16_for_ipv4_and_slash_32_for_ipv6) {
    EXPECT_EQ(subnet_of("udp://10.1.2.3:7000"), "10.1.0.0/16");
    EXPECT_EQ(subnet_of("192.0.2.7:1"), "192.0.0.0/16");
    EXPECT_EQ(subnet_of("10.1.2.3"), "10.1.0.0/16");
    EXPECT_EQ(subnet_of("wss://[2001:db8:1:2::5]:443"), "2001:db8::/32");
    EXPECT_EQ(subnet_of("2001:db8:77::1"), "2001:db8::/32");
    EXPECT_EQ(subnet_of("udp://[::ffff:198.51.100.4]:9"), "198.51.0.0/16");
    EXPECT_EQ(subnet_of("udp://example.org:9"), "unknown");
    EXPECT_EQ(subnet_of(""), "unknown");
    EXPECT_EQ(subnet_of("udp://[2001:db8::1:9"), "unknown");
}

TEST(Topology, families_join_relays_naming_each_other_either_way) {
    std::vector<TopologyRelay> r;
    for (char c : std::string("abcdef")) r.push_back(relay(c, "10.0.0.1:1"));
    r[1].family = {id_of('a')};            // b names a
    r[2].family = {id_of('d')};            // c names d ...
    r[4].family = {id_of('d')};            // ... and e names d: c, d, e together
    r[5].family = {std::string(64, '9')};  // f names a relay nobody knows
    auto groups = family_groups(r);
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[0], (std::vector<std::size_t>{0, 1}));
    EXPECT_EQ(groups[1], (std::vector<std::size_t>{2, 3, 4}));
}

TEST(Topology, dot_groups_relays_by_family_then_subnet) {
    auto dot = topology_dot(small_network());
    auto ten_one = cluster(dot, "10.1.0.0/16 (2)");
    ASSERT_FALSE(ten_one.empty()) << dot;
    EXPECT_NE(ten_one.find("r0 ["), std::string::npos);
    EXPECT_NE(ten_one.find("r1 ["), std::string::npos);
    EXPECT_EQ(ten_one.find("r2 ["), std::string::npos);
    auto ten_two = cluster(dot, "10.2.0.0/16 (1)");
    EXPECT_NE(ten_two.find("r2 ["), std::string::npos);
    // d and e are one family, and inside it one /32.
    auto family = cluster(dot, "family of " + id_of('d').substr(0, 12) + " (2 relays)");
    ASSERT_FALSE(family.empty()) << dot;
    auto v6 = cluster(family, "2001:db8::/32 (2)");
    EXPECT_NE(v6.find("r3 ["), std::string::npos);
    EXPECT_NE(v6.find("r4 ["), std::string::npos);
    EXPECT_EQ(family.find("r0 ["), std::string::npos);
    // Every relay is drawn exactly once.
    for (int i = 0; i < 5; ++i) {
        std::string name = "  r" + std::to_string(i) + " [";
        auto first = dot.find(name);
        ASSERT_NE(first, std::string::npos) << name;
        EXPECT_EQ(dot.find(name, first + 1), std::string::npos) << name;
    }
}

TEST(Topology, exits_and_guards_are_marked) {
    auto dot = topology_dot(small_network());
    auto guard = node_line(dot, "r0");
    auto plain = node_line(dot, "r1");
    auto exit = node_line(dot, "r2");
    auto both = node_line(dot, "r4");
    EXPECT_NE(guard.find("peripheries=2"), std::string::npos) << guard;
    EXPECT_EQ(guard.find("hexagon"), std::string::npos);
    EXPECT_EQ(plain.find("peripheries"), std::string::npos) << plain;
    EXPECT_EQ(plain.find("hexagon"), std::string::npos);
    EXPECT_NE(exit.find("shape=hexagon"), std::string::npos) << exit;
    EXPECT_EQ(exit.find("peripheries"), std::string::npos);
    EXPECT_NE(both.find("shape=hexagon"), std::string::npos);
    EXPECT_NE(both.find("peripheries=2"), std::string::npos);
    EXPECT_NE(guard.find("\\nguard"), std::string::npos) << "labels say it too";
    EXPECT_NE(exit.find("\\nexit"), std::string::npos);
}

TEST(Topology, bandwidth_is_pen_width_and_latency_is_colour) {
    Topology t;
    t.relays = {relay('a', "10.1.0.1:1"), relay('b', "10.2.0.1:1"), relay('c', "10.3.0.1:1"),
                relay('d', "10.4.0.1:1")};
    t.relays[0].advertised_bandwidth = 100e6;
    t.relays[0].latency_ms = 12;
    t.relays[1].advertised_bandwidth = 5e6;
    t.relays[1].measured_bandwidth = 20e3;  // measured beats advertised
    t.relays[1].latency_ms = 800;
    t.relays[2].advertised_bandwidth = 1e6;
    t.relays[3].down = true;
    auto dot = topology_dot(t);
    auto fast = node_line(dot, "r0"), slow = node_line(dot, "r1"), mid = node_line(dot, "r2");
    EXPECT_GT(attribute(fast, "penwidth"), attribute(mid, "penwidth"));
    EXPECT_GT(attribute(mid, "penwidth"), attribute(slow, "penwidth"));
    EXPECT_NEAR(attribute(fast, "penwidth"), 5, 1e-6);            // the widest is the fastest
    EXPECT_NEAR(attribute(slow, "penwidth"), 1.2, 1e-6);          // the thinnest known the slowest
    EXPECT_LT(attribute(node_line(dot, "r3"), "penwidth"), 1.2);  // unknown: thinner still
    // Hue: green (0.33) for fast, towards red (0) for slow; grey when never measured.
    EXPECT_GT(attribute(fast, "fillcolor"), 0.3);
    EXPECT_LT(attribute(slow, "fillcolor"), 0.1);
    EXPECT_NE(mid.find("fillcolor=\"#e0e0e0\""), std::string::npos) << mid;
    EXPECT_NE(slow.find("20.0 kB/s"), std::string::npos) << slow;
    EXPECT_NE(slow.find("800 ms"), std::string::npos);
    EXPECT_NE(node_line(dot, "r3").find("dashed"), std::string::npos);
}

TEST(Topology, circuits_are_coloured_paths_from_you) {
    auto t = small_network();
    t.circuits.push_back({7, true, {id_of('a'), id_of('b'), id_of('c')}});
    t.circuits.push_back({9, false, {id_of('e'), std::string(64, '7')}});  // one hop unknown
    auto dot = topology_dot(t);
    std::regex edge("\\n  (\\w+) -> (\\w+) \\[color=\"(#[0-9a-f]{6})\"[^\\n]*style=(\\w+)");
    std::vector<std::tuple<std::string, std::string, std::string, std::string>> edges;
    for (std::sregex_iterator it(dot.begin(), dot.end(), edge), end; it != end; ++it)
        edges.emplace_back((*it)[1], (*it)[2], (*it)[3], (*it)[4]);
    ASSERT_EQ(edges.size(), 5u) << dot;
    using E = std::tuple<std::string, std::string>;
    EXPECT_EQ(E(std::get<0>(edges[0]), std::get<1>(edges[0])), E("you", "r0"));
    EXPECT_EQ(E(std::get<0>(edges[1]), std::get<1>(edges[1])), E("r0", "r1"));
    EXPECT_EQ(E(std::get<0>(edges[2]), std::get<1>(edges[2])), E("r1", "r2"));
    EXPECT_EQ(E(std::get<0>(edges[3]), std::get<1>(edges[3])), E("you", "r4"));
    EXPECT_EQ(E(std::get<0>(edges[4]), std::get<1>(edges[4])), E("r4", "u0"));
    EXPECT_EQ(std::get<2>(edges[0]), std::get<2>(edges[2]));  // one colour per circuit
    EXPECT_NE(std::get<2>(edges[0]), std::get<2>(edges[3]));
    EXPECT_EQ(std::get<3>(edges[0]), "solid");
    EXPECT_EQ(std::get<3>(edges[3]), "dashed");  // still building
    EXPECT_NE(dot.find("label=\"circuit 7\""), std::string::npos);
    EXPECT_NE(dot.find("label=\"circuit 9 (building)\""), std::string::npos);
    EXPECT_NE(node_line(dot, "u0").find("(not known)"), std::string::npos);
}

// Every "..." string in a DOT text, with its escapes applied; false when one is unclosed
// or a line holds a raw control character.
// `outside` gets the rest of the text.
bool dot_strings(const std::string& dot, std::vector<std::string>& out, std::string& outside) {
    bool in = false;
    std::string cur;
    for (std::size_t i = 0; i < dot.size(); ++i) {
        char c = dot[i];
        if (!in) {
            if (c == '"') in = true;
            outside.push_back(c);
            continue;
        }
        if (c == '\n' || c == '\r') return false;  // a name broke the line
        if (c == '\\' && i + 1 < dot.size()) {
            cur.push_back(dot[++i]);
        } else if (c == '"') {
            out.push_back(cur);
            cur.clear();
            in = false;
        } else {
            cur.push_back(c);
        }
    }
    return !in;
}

TEST(Topology, odd_names_are_escaped) {
    Topology t;
    const std::string odd = "evil\"]; x -> y [label=\"\\N\n<b>&amp;</b>\x01\xff";
    auto r = relay('a', "udp://10.1.0.1:1");
    r.id = odd;
    r.flags = {"relay\"", "exit\\"};
    t.relays.push_back(r);
    t.relays.push_back(relay('b', "udp://10.1.0.2:1\"]; evil"));
    t.circuits.push_back({1, true, {odd, id_of('b')}});
    auto dot = topology_dot(t);
    std::vector<std::string> strings;
    std::string outside;
    ASSERT_TRUE(dot_strings(dot, strings, outside)) << dot;
    // The only statements are ours: the circuit's two edges, no edge the name tried to add.
    std::size_t edges = 0;
    for (auto at = outside.find("->"); at != std::string::npos; at = outside.find("->", at + 2))
        ++edges;
    EXPECT_EQ(edges, 2u) << outside;
    // The name comes back intact apart from the control character and the bad byte.
    const std::string shown = "evil\"]; x -> y [label=\"\\N <b>&amp;</b> ?";
    bool found = false;
    for (const auto& s : strings) found = found || s.find(shown) != std::string::npos;
    EXPECT_TRUE(found) << dot;
    // JSON keeps it as data too.
    auto j = nlohmann::json::parse(topology_json(t));
    EXPECT_EQ(j["relays"][0]["id"].get<std::string>().substr(0, 10), "evil\"]; x ");
    EXPECT_EQ(j["circuits"][0]["path"][1], id_of('b'));
}

TEST(Topology, nothing_but_relay_addresses_appears) {
    auto t = small_network();
    t.circuits.push_back({3, true, {id_of('a'), id_of('b'), id_of('c')}});
    std::set<std::string> allowed;
    for (const auto& r : t.relays)
        for (const auto& a : r.addresses) {
            std::smatch m;
            if (std::regex_search(a, m, std::regex("\\d+\\.\\d+\\.\\d+\\.\\d+")))
                allowed.insert(m[0]);
        }
    for (const auto& text : {topology_dot(t), topology_json(t)}) {
        std::regex ip("\\b\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\b");
        for (std::sregex_iterator it(text.begin(), text.end(), ip), end; it != end; ++it) {
            std::string s = (*it)[0];
            // Subnet names ("10.1.0.0") are derived from relays' addresses, not new ones.
            if (s.ends_with(".0.0")) continue;
            EXPECT_TRUE(allowed.contains(s)) << s << " is no relay's address";
        }
    }
    // "you" is a bare label: no id, no address attached to it.
    auto dot = topology_dot(t);
    EXPECT_NE(dot.find("  you [label=\"you\", shape=circle"), std::string::npos);
    EXPECT_EQ(node_line(dot, "you").find(':'), std::string::npos);
}

TEST(Topology, json_lists_relays_groups_and_circuits_and_reads_back) {
    auto t = small_network();
    t.relays[1].measured_bandwidth = 1234.5;
    t.relays[1].latency_ms = 42;
    t.relays[1].reliability = 0.75;
    t.relays.push_back(t.relays[0]);  // a duplicate is listed once
    t.circuits.push_back({7, true, {id_of('a'), id_of('b'), id_of('c')}});
    auto j = nlohmann::json::parse(topology_json(t));
    EXPECT_EQ(j["format"], "zmesh-topology-1");
    ASSERT_EQ(j["relays"].size(), 5u);
    EXPECT_EQ(j["relays"][0]["subnet"], "10.1.0.0/16");
    EXPECT_EQ(j["relays"][0]["guard"], true);
    EXPECT_EQ(j["relays"][2]["exit"], true);
    EXPECT_TRUE(j["relays"][0]["latency_ms"].is_null());
    EXPECT_EQ(j["relays"][1]["latency_ms"], 42.0);
    EXPECT_EQ(j["relays"][3]["family_group"], 0);
    EXPECT_TRUE(j["relays"][0]["family_group"].is_null());
    EXPECT_EQ(j["subnets"][0]["relays"], (nlohmann::json{id_of('a'), id_of('b')}));
    EXPECT_EQ(j["families"][0]["relays"], (nlohmann::json{id_of('d'), id_of('e')}));
    EXPECT_EQ(j["circuits"][0]["path"], (nlohmann::json{id_of('a'), id_of('b'), id_of('c')}));
    EXPECT_EQ(j["circuits"][0]["state"], "built");

    std::string why;
    auto back = parse_topology_json(topology_json(t), &why);
    ASSERT_TRUE(back) << why;
    EXPECT_EQ(topology_json(*back), topology_json(t));
    EXPECT_EQ(topology_dot(*back), topology_dot(t));
    ASSERT_EQ(back->relays.size(), 5u);
    EXPECT_EQ(back->relays[1].measured_bandwidth, 1234.5);
    EXPECT_EQ(back->relays[1].reliability, 0.75);
    EXPECT_FALSE(back->relays[0].latency_ms);
}

TEST(Topology, malformed_json_is_refused_with_a_reason) {
    std::string why;
    EXPECT_FALSE(parse_topology_json("not json", &why));
    EXPECT_EQ(why, "not JSON");
    EXPECT_FALSE(parse_topology_json("{\"circuits\": []}", &why));
    EXPECT_EQ(why, "no \"relays\" list");
    EXPECT_FALSE(parse_topology_json("{\"relays\": [{\"id\": 5}]}", &why));
    EXPECT_NE(why.find("malformed topology"), std::string::npos) << why;
    EXPECT_FALSE(parse_topology_json("{\"relays\": [{\"id\": \"\"}]}", &why));
    EXPECT_FALSE(parse_topology_json("{\"relays\": [], \"circuits\": [{\"path\": []}]}", &why));
    EXPECT_TRUE(parse_topology_json("{\"relays\": [{\"id\": \"x\"}]}", &why)) << why;
}

TEST(Topology, large_clusters_are_laid_out_in_columns) {
    Topology t;
    for (int i = 0; i < 50; ++i) {
        auto r = relay('a', "10.9.0." + std::to_string(i + 1) + ":1");
        r.id = std::to_string(i);
        t.relays.push_back(r);
    }
    auto dot = topology_dot(t);
    // 50 relays: 5 columns of 10, chained by invisible edges r0->r10 ... r39->r49.
    EXPECT_NE(dot.find("r0 -> r10 [style=invis]"), std::string::npos) << dot;
    EXPECT_NE(dot.find("r39 -> r49 [style=invis]"), std::string::npos);
    EXPECT_EQ(dot.find("r40 -> r50"), std::string::npos);
}

}  // namespace
}  // namespace zmesh::control
