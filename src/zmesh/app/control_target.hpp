#pragma once
// Where a CLI command finds the running daemon's control API: --control, --token-file and
// --config, as `zmesh status` takes them.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "zmesh/control/rpc_client.hpp"

namespace zmesh::app {

struct ControlTarget {
    std::string control;     // socket path or loopback HOST:PORT
    std::string token_file;  // for HOST:PORT
    std::string config;      // find both in this node configuration
};

void add_control_target_options(CLI::App* cmd, ControlTarget& t);
// A client for the daemon; null (and why, one line on stderr) when there is none to try.
std::unique_ptr<control::ControlClient> connect_control(const ControlTarget& t);

}  // namespace zmesh::app
