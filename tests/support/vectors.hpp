#pragma once
// Loading of the test vectors in tests/vectors (copies, with their licences) for the tests.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "zmesh/core/bytes.hpp"

namespace zmesh::test {

inline nlohmann::json load_vectors(const std::string& relative) {
    std::string path = std::string(ZMESH_VECTORS) + "/" + relative;
    std::ifstream in(path);
    if (!in) throw std::runtime_error("missing test vectors: " + path);
    return nlohmann::json::parse(in);
}

inline Bytes hex(const nlohmann::json& v) {
    auto b = from_hex(v.get<std::string>());
    if (!b) throw std::runtime_error("bad hex in vectors");
    return *b;
}

inline bool has_flag(const nlohmann::json& t, const std::string& flag) {
    for (const auto& f : t.value("flags", nlohmann::json::array()))
        if (f == flag) return true;
    return false;
}

}  // namespace zmesh::test
