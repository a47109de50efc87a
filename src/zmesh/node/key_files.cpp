#include "zmesh/node/key_files.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

namespace zmesh::node {

std::optional<crypto::Identity> read_key_file(const std::filesystem::path& path, std::string* why) {
    errno = 0;
    auto id = crypto::read_identity_file(path);
    if (id) return std::move(*id);
    std::string p = path.string();
    std::string text;
    auto e = id.error();
    if (e == Errc::permission_denied) {
        text = "key file is readable by other users; run 'chmod 600 " + p + "'";
    } else if (e == Errc::truncated) {
        text = "key file is truncated (incomplete); restore it from a backup";
    } else if (e == Errc::auth_failed) {
        text = "key file is corrupt (checksum mismatch)";
    } else if (e == Errc::malformed || e == Errc::oversized) {
        text = "not a zmesh identity key file (expected 'zmesh-identity-v1')";
    } else {
        text = std::string("cannot read key file: ") +
               (errno != 0 ? std::strerror(errno) : "not a regular file");
    }
    if (why) *why = p + ": " + text;
    return std::nullopt;
}

std::optional<crypto::Identity> load_or_create_key(const std::filesystem::path& path,
                                                   const char* what, std::string* why) {
    if (!std::filesystem::exists(path)) {
        if (!crypto::write_identity_file(path, crypto::Identity::generate(), false)) {
            if (why) *why = "cannot create " + path.string() + ": " + std::strerror(errno);
            return std::nullopt;
        }
        spdlog::info("created a new {} in {}", what, path.string());
    }
    return read_key_file(path, why);
}

}  // namespace zmesh::node
