// zmesh config validate / show / init
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "zmesh/app/commands.hpp"
#include "zmesh/control/node_config.hpp"

namespace zmesh::app {

using control::load_or_explain;
using control::node_config_problems;
using control::node_config_warnings;
void add_config_commands(CLI::App& app, int& exit_code) {
    auto* cfg = app.add_subcommand("config", "Check and write node configuration files");
    cfg->require_subcommand(1);
    static std::string file;
    static std::vector<std::string> sets;
    static bool with_defaults = false;
    static std::string out;
    static bool force = false;

    auto* validate = cfg->add_subcommand("validate", "Check a configuration file");
    validate->add_option("FILE", file, "TOML file")->required();
    validate->add_option("--set", sets, "Override: section.key=value (repeatable)");
    validate->footer(
        "Each error names the line, the key and what is allowed; exit code 1.\n"
        "Example:\n  zmesh config validate /etc/zmesh/zmesh.toml");
    validate->callback([&] {
        auto c = load_or_explain(file, sets);
        if (!c) {
            exit_code = 1;
            return;
        }
        auto problems = node_config_problems(*c);
        for (const auto& p : problems) std::cerr << file << ": " << p << "\n";
        for (const auto& w : node_config_warnings(*c))
            std::cerr << file << ": warning: " << w << "\n";
        if (problems.empty()) std::cout << file << ": valid\n";
        exit_code = problems.empty() ? 0 : 1;
    });

    auto* show = cfg->add_subcommand("show", "Print the effective configuration");
    show->add_option("FILE", file, "TOML file (default: none, only environment and --set)");
    show->add_option("--set", sets, "Override: section.key=value (repeatable)");
    show->add_flag("--with-defaults", with_defaults, "Also print options left at their defaults");
    show->footer("Example:\n  ZMESH_CIRCUIT_HOPS=4 zmesh config show zmesh.toml --with-defaults");
    show->callback([&] {
        auto c = load_or_explain(file, sets);
        if (c) std::cout << control::render_config(*c, with_defaults);
        exit_code = c ? 0 : 1;
    });

    auto* init = cfg->add_subcommand("init", "Write a commented default configuration");
    init->add_option("--out", out, "File to write (default: standard output)");
    init->add_flag("--force", force, "Overwrite an existing file");
    init->footer("Example:\n  zmesh config init --out zmesh.toml");
    init->callback([&] {
        std::string text = control::default_config_file();
        if (out.empty()) {
            std::cout << text;
            return;
        }
        if (!force && std::ifstream(out)) {
            std::cerr << "zmesh config init: " << out << " exists; pass --force to replace it\n";
            exit_code = 1;
            return;
        }
        std::ofstream f(out);
        f << text;
        if (!f) {
            std::cerr << "zmesh config init: cannot write " << out << "\n";
            exit_code = 1;
            return;
        }
        std::cout << "wrote " << out << "\n";
    });
}

}  // namespace zmesh::app
