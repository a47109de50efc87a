#include "zmesh/app/identity_errors.hpp"

#include <cerrno>
#include <cstring>
#include <iostream>

namespace zmesh::app {

std::optional<crypto::Identity> load_identity_or_explain(const std::string& path,
                                                         const std::string& who) {
    errno = 0;
    auto id = crypto::read_identity_file(path);
    if (id) return std::move(*id);
    std::cerr << who << ": " << path << ": ";
    auto e = id.error();
    if (e == Errc::permission_denied) {
        std::cerr << "key file is readable by other users; run 'chmod 600 " << path << "'\n";
    } else if (e == Errc::truncated) {
        std::cerr << "key file is truncated (incomplete); restore it from a backup\n";
    } else if (e == Errc::auth_failed) {
        std::cerr << "key file is corrupt (checksum mismatch)\n";
    } else if (e == Errc::malformed || e == Errc::oversized) {
        std::cerr << "not a zmesh identity key file (expected 'zmesh-identity-v1')\n";
    } else {
        std::cerr << "cannot read key file: "
                  << (errno != 0 ? std::strerror(errno) : "not a regular file") << "\n";
    }
    return std::nullopt;
}

}  // namespace zmesh::app
