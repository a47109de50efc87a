// zmesh topology: the relays a node knows and its circuits, as Graphviz DOT, SVG or JSON
// (docs/daemon.md, "The topology picture").
#include <iostream>

#include "zmesh/app/commands.hpp"
#include "zmesh/app/control_target.hpp"
#include "zmesh/app/topology_output.hpp"
#include "zmesh/control/node_config.hpp"
#include "zmesh/control/topology.hpp"

namespace zmesh::app {
namespace {

namespace v1 = control::v1;

// What the daemon answers, as the picture's input: relays and circuits, nothing else (no
// status, listeners or streams, so no address of this node and no destination).
std::optional<control::Topology> from_daemon(const Target& t) {
    auto client = connect(t);
    if (!client) return std::nullopt;
    v1::ListRelaysResponse relays;
    v1::ListCircuitsResponse circuits;
    if (!report(client->relays(relays)) || !report(client->circuits(circuits))) return std::nullopt;
    control::Topology topo;
    for (const auto& r : relays.relays()) {
        control::TopologyRelay out;
        out.id = r.id();
        out.addresses.assign(r.addresses().begin(), r.addresses().end());
        out.family.assign(r.family().begin(), r.family().end());
        out.flags.assign(r.flags().begin(), r.flags().end());
        out.exit = r.exit();
        out.guard = r.guard();
        out.configured = r.configured();
        out.down = r.down();
        out.advertised_bandwidth = r.advertised_bandwidth();
        if (r.has_measured_bandwidth()) out.measured_bandwidth = r.measured_bandwidth();
        if (r.has_latency_ms()) out.latency_ms = r.latency_ms();
        if (r.has_reliability()) out.reliability = r.reliability();
        topo.relays.push_back(std::move(out));
    }
    for (const auto& c : circuits.circuits()) {
        control::TopologyCircuit out;
        out.id = c.id();
        out.built = c.state() == "built";
        out.path.assign(c.path().begin(), c.path().end());
        topo.circuits.push_back(std::move(out));
    }
    return topo;
}

std::optional<control::Topology> from_file(const std::string& path) {
    auto text = control::read_text_file(path);
    if (!text) {
        std::cerr << "zmesh: cannot read " << path << "\n";
        return std::nullopt;
    }
    std::string why;
    auto topo = control::parse_topology_json(*text, &why);
    if (!topo) std::cerr << "zmesh: " << path << ": " << why << "\n";
    return topo;
}

// The format a file name asks for (net.svg, net.dot, net.gv, net.json); empty: none.
std::string format_of(const std::string& path) {
    for (auto [ext, format] :
         {std::pair{".svg", "svg"}, {".dot", "dot"}, {".gv", "dot"}, {".json", "json"}})
        if (path.ends_with(ext)) return format;
    return {};
}

}  // namespace

void add_topology_command(CLI::App& app, int& exit_code) {
    static Target t;
    static std::string format = "svg";
    static std::string out_path;
    static std::string saved;

    auto* cmd = app.add_subcommand(
        "topology", "Draw the relays the node knows and its circuits (DOT, SVG or JSON)");
    add_target_options(cmd, t);
    auto* format_opt = cmd->add_option("--format", format,
                                       "dot, svg (rendered by Graphviz's dot) or json; default: "
                                       "from --out's extension, else svg")
                           ->check(CLI::IsMember({"dot", "svg", "json"}));
    cmd->add_option("--out,-o", out_path,
                    "Write here (replaced atomically, mode 0644) instead of standard output");
    cmd->add_option("--from-json", saved,
                    "Draw a topology saved with --format json instead of asking a daemon")
        ->excludes("--control")
        ->excludes("--config")
        ->excludes("--token-file");
    cmd->footer(
        "Relays are grouped by family and by /16 (IPv4) or /32 (IPv6); exits are hexagons,\n"
        "guards have a double border; border width is bandwidth, fill colour latency; each\n"
        "circuit is a coloured path from 'you'. This node appears only as 'you': no address.\n"
        "Examples:\n"
        "  zmesh topology --out network.svg\n"
        "  zmesh topology --format json > network.json\n"
        "  zmesh topology --from-json network.json --format dot | dot -Tpng > network.png");
    cmd->callback([&exit_code, format_opt] {
        exit_code = 1;
        if (format_opt->count() == 0 && !format_of(out_path).empty()) format = format_of(out_path);
        auto topo = saved.empty() ? from_daemon(t) : from_file(saved);
        if (!topo) return;
        std::string text;
        if (format == "json") {
            text = control::topology_json(*topo);
        } else {
            text = control::topology_dot(*topo);
            if (format == "svg") {
                auto svg = render_svg(text);
                if (!svg.error.empty()) {
                    std::cerr << "zmesh: " << svg.error << "\n";
                    return;
                }
                text = std::move(svg.svg);
            }
        }
        if (out_path.empty()) {
            std::cout << text << std::flush;
            if (!std::cout) {
                std::cerr << "zmesh: cannot write to standard output\n";
                return;
            }
        } else if (auto why = write_file_atomically(out_path, text); !why.empty()) {
            std::cerr << "zmesh: " << why << "\n";
            return;
        }
        exit_code = 0;
    });
}

}  // namespace zmesh::app
