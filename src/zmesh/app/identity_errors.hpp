#pragma once
// Loads an identity file and, on failure, tells the user what is wrong and what to do.

#include <optional>
#include <string>

#include "zmesh/crypto/identity.hpp"

namespace zmesh::app {

std::optional<crypto::Identity> load_identity_or_explain(const std::string& path,
                                                         const std::string& who);

}  // namespace zmesh::app
