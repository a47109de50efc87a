#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "zmesh/app/commands.hpp"
#include "zmesh/crypto/secure.hpp"

int main(int argc, char** argv) {
    CLI::App app{"zmesh: an anonymity overlay network"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "zmesh 0.1.0");
    std::string log_level = "info";
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
    app.footer(
        "Examples:\n"
        "  zmesh keygen --out node.key\n"
        "  zmesh id node.key\n"
        "  zmesh demo\n"
        "Run 'zmesh SUBCOMMAND --help' for the options of each.");

    int exit_code = 0;
    zmesh::app::add_identity_commands(app, exit_code);
    zmesh::app::add_crypto_commands(app, exit_code);
    zmesh::app::add_link_commands(app, exit_code);
    zmesh::app::add_demo_command(app, exit_code);
    zmesh::app::add_testnet_command(app, exit_code);
    zmesh::app::add_config_commands(app, exit_code);
    zmesh::app::add_node_command(app, exit_code);
    zmesh::app::add_control_commands(app, exit_code);
    zmesh::app::add_topology_command(app, exit_code);
    zmesh::app::add_bench_commands(app, exit_code);
    app.parse_complete_callback([&] {
        // Logs go to stderr; stdout carries what scripts read (ready lines, stats, ids).
        spdlog::set_default_logger(spdlog::stderr_color_mt("zmesh"));
        spdlog::set_level(spdlog::level::from_str(log_level));
        spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    });

    try {
        zmesh::crypto::ensure_init();
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const std::exception& e) {
        std::cerr << "zmesh: " << e.what() << "\n";
        return 1;
    }
    return exit_code;
}
