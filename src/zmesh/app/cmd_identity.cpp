// zmesh keygen / zmesh id
#include <iostream>

#include "zmesh/app/commands.hpp"
#include "zmesh/app/identity_errors.hpp"
#include "zmesh/crypto/identity.hpp"
#include "zmesh/crypto/selftest.hpp"

namespace zmesh::app {

bool startup_selftest(const char* who) {
    for (const auto& r : crypto::run_selftest()) {
        if (!r.ok) {
            std::cerr << who << ": cryptographic self-test failed (" << r.name
                      << "); refusing to start. Run 'zmesh crypto selftest'.\n";
            return false;
        }
    }
    return true;
}

void add_crypto_commands(CLI::App& app, int& exit_code) {
    auto* crypto_cmd = app.add_subcommand("crypto", "Cryptography checks");
    crypto_cmd->require_subcommand(1);
    auto* selftest = crypto_cmd->add_subcommand(
        "selftest", "Run the known-answer tests of every primitive (nodes run them at start-up)");
    selftest->footer("Example:\n  zmesh crypto selftest");
    selftest->callback([&] {
        bool all = true;
        for (const auto& r : crypto::run_selftest()) {
            std::cout << (r.ok ? "ok    " : "FAIL  ") << r.name << "\n";
            all = all && r.ok;
        }
        std::cout << (all ? "all known-answer tests passed" : "SELFTEST FAILED") << std::endl;
        exit_code = all ? 0 : 1;
    });
}

void add_identity_commands(CLI::App& app, int& exit_code) {
    auto* keygen = app.add_subcommand("keygen", "Create a node identity key file (mode 0600)");
    static std::string out_path;
    static bool force = false;
    keygen->add_option("--out", out_path, "Where to write the key file")->required();
    keygen->add_flag("--force", force, "Overwrite an existing file");
    keygen->footer("Example:\n  zmesh keygen --out /var/lib/zmesh/identity.key");
    keygen->callback([&] {
        auto id = crypto::Identity::generate();
        auto st = crypto::write_identity_file(out_path, id, force);
        if (!st) {
            if (st.error() == Errc::bad_state) {
                std::cerr << "zmesh keygen: " << out_path
                          << " already exists; pass --force to replace it\n";
            } else {
                std::cerr << "zmesh keygen: cannot write " << out_path << ": "
                          << std::strerror(errno) << "\n";
            }
            exit_code = 1;
            return;
        }
        std::cout << "wrote " << out_path << "\nnode-id " << node_id_string(id.node_id()) << "\n";
    });

    auto* show = app.add_subcommand("id", "Print the node id and public keys of a key file");
    static std::string in_path;
    show->add_option("FILE", in_path, "Identity key file")->required();
    show->footer("Example:\n  zmesh id node.key");
    show->callback([&] {
        auto id = load_identity_or_explain(in_path, "zmesh id");
        if (!id) {
            exit_code = 1;
            return;
        }
        std::cout << "node-id        " << node_id_string(id->node_id()) << "\n"
                  << "ed25519-public " << to_hex(id->signing.pub.view()) << "\n"
                  << "x25519-public  " << to_hex(id->link.pub.view()) << "\n";
    });
}

}  // namespace zmesh::app
