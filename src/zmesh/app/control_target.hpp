#pragma once
// How the control commands (status, circuits, topology, ...) find the daemon: --control,
// --token-file and --config, shared by every one of them.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "zmesh/control/rpc_client.hpp"

namespace zmesh::app {

struct Target {
    std::string control;     // socket path or loopback HOST:PORT
    std::string token_file;  // for HOST:PORT
    std::string config;      // find both in this node configuration
};

void add_target_options(CLI::App* cmd, Target& t);
// A client for the daemon `t` names; null after saying on stderr why there is none.
std::unique_ptr<control::ControlClient> connect(const Target& t);
// Prints a failed call's error as one line; returns whether the call succeeded.
bool report(const control::CallResult& r);

}  // namespace zmesh::app
