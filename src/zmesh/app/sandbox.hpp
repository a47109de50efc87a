#pragma once
// Process hardening for the daemon: a seccomp-bpf allowlist installed after start-up, and
// dropping root to a configured user once the listening sockets are open.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace zmesh::app {

// Installs the allowlist on every thread of the process (TSYNC) and sets no_new_privs.
// A call outside the list fails with EPERM (the node keeps running; nothing can exec,
// fork, ptrace, mount or change identity). Returns an error sentence, or empty on success.
std::string install_seccomp();

// When running as root with a non-empty `user`: gives `owned` paths to that user, then
// switches group and user for good (verified: regaining root must fail). Not root: does
// nothing. Returns an error sentence, or empty on success.
std::string drop_privileges(const std::string& user,
                            const std::vector<std::filesystem::path>& owned);

// Raises the soft limit on open files to the hard limit (every stream is a socket at the
// client and at the exit), and says what it is; warns when it is low. Returns the limit.
std::uint64_t raise_file_limit();

}  // namespace zmesh::app
