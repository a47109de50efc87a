#pragma once
// Subcommands of the zmesh binary. Each registers itself on the CLI11 app and returns
// the process exit code through the `exit_code` it is handed.

#include <CLI/CLI.hpp>

namespace zmesh::app {

void add_identity_commands(CLI::App& app, int& exit_code);
void add_crypto_commands(CLI::App& app, int& exit_code);
// Runs the crypto known-answer tests; prints why and returns false if one fails.
bool startup_selftest(const char* who);
void add_link_commands(CLI::App& app, int& exit_code);
void add_demo_command(CLI::App& app, int& exit_code);
void add_testnet_command(CLI::App& app, int& exit_code);
void add_config_commands(CLI::App& app, int& exit_code);
void add_node_command(CLI::App& app, int& exit_code);
void add_control_commands(CLI::App& app, int& exit_code);
void add_topology_command(CLI::App& app, int& exit_code);
void add_bench_commands(CLI::App& app, int& exit_code);

}  // namespace zmesh::app
