#include "zmesh/app/control_target.hpp"

#include <iostream>

#include "zmesh/control/node_config.hpp"

namespace zmesh::app {

using control::load_or_explain;
using control::read_text_file;

void add_target_options(CLI::App* cmd, Target& t) {
    cmd->add_option("--control", t.control,
                    "Daemon's control socket path, or loopback HOST:PORT (default: from --config "
                    "and ZMESH_* variables, else /var/lib/zmesh/control.sock)");
    cmd->add_option("--token-file", t.token_file, "Token for a HOST:PORT control address");
    cmd->add_option("--config,-c", t.config, "Find the daemon from this node configuration");
}

// Where the daemon listens: --control, else the configuration's control socket (or
// control_addr and token file when the socket is off), else the default data directory.
std::unique_ptr<control::ControlClient> connect(const Target& t) {
    std::string where = t.control;
    std::string token_file = t.token_file;
    if (where.empty()) {
        // The file when given, and ZMESH_* variables in any case (as the daemon reads them).
        auto cfg = load_or_explain(t.config, {});
        if (!cfg) return nullptr;
        const auto& sock = cfg->string("monitoring.control_socket");
        std::string data_dir = cfg->string("core.data_dir");
        if (sock != "off") {
            where = sock.empty() ? data_dir + "/control.sock" : sock;
        } else {
            where = cfg->string("monitoring.control_addr");
            if (token_file.empty()) {
                const auto& tf = cfg->string("monitoring.control_token_file");
                token_file = tf.empty() ? data_dir + "/control.token" : tf;
            }
        }
        if (where.empty()) {
            std::cerr << "zmesh: " << t.config
                      << " serves no control API (monitoring.control_socket"
                      << " is off and control_addr is empty)\n";
            return nullptr;
        }
    }
    std::string token;
    if (!where.starts_with("/")) {
        if (token_file.empty()) {
            std::cerr << "zmesh: a TCP control address needs --token-file\n";
            return nullptr;
        }
        auto text = read_text_file(token_file);
        if (!text) {
            std::cerr << "zmesh: cannot read the control token " << token_file << "\n";
            return nullptr;
        }
        token = text->substr(0, text->find_first_of("\r\n"));
    }
    return std::make_unique<control::ControlClient>(where, token);
}

bool report(const control::CallResult& r) {
    if (!r.ok) std::cerr << "zmesh: " << r.error << "\n";
    return r.ok;
}

}  // namespace zmesh::app
