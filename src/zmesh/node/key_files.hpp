#pragma once
// A node's key files (identity.key, onion.key): read with a sentence that says what is
// wrong and what to do about it, or created 0600 on first start.

#include <filesystem>
#include <optional>
#include <string>

#include "zmesh/crypto/identity.hpp"

namespace zmesh::node {

// nullopt and `why` ("PATH: key file is readable by other users; run 'chmod 600 PATH'").
std::optional<crypto::Identity> read_key_file(const std::filesystem::path& path, std::string* why);
// As above, creating a fresh key there first when there is none (`what` names it in the
// log: "identity key").
std::optional<crypto::Identity> load_or_create_key(const std::filesystem::path& path,
                                                   const char* what, std::string* why);

}  // namespace zmesh::node
