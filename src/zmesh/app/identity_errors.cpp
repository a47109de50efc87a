#include "zmesh/app/identity_errors.hpp"

#include <iostream>

#include "zmesh/node/key_files.hpp"

namespace zmesh::app {

std::optional<crypto::Identity> load_identity_or_explain(const std::string& path,
                                                         const std::string& who) {
    std::string why;
    auto id = node::read_key_file(path, &why);
    if (!id) std::cerr << who << ": " << why << "\n";
    return id;
}

}  // namespace zmesh::app
