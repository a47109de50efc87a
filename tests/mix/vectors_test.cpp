#include <gtest/gtest.h>

#include <fstream>

#include "mix/vector_builder.hpp"

namespace zmesh::mix {
namespace {

nlohmann::json load() {
    std::ifstream f(ZMESH_VECTORS "/sphinx/sphinx.json");
    return nlohmann::json::parse(f);
}

// The code today makes exactly the checked-in bytes from the same inputs and draws, so a
// format change cannot pass unnoticed (and the Python cross-check keeps checking the file).
TEST(SphinxVectors, code_reproduces_every_vector) {
    const auto file = load();
    ASSERT_GE(file.at("vectors").size(), 7u);
    for (const auto& v : file.at("vectors")) {
        std::vector<Bytes> draws;
        for (const auto& d : v.at("rng")) draws.push_back(test::unhex(d));
        test::ReplayRng rng(draws);
        auto rebuilt = test::build_vector(test::input_of(v), rng.fill(), draws);
        EXPECT_EQ(rng.used(), draws.size()) << v.at("name");
        EXPECT_EQ(rebuilt, v) << v.at("name");
    }
}

}  // namespace
}  // namespace zmesh::mix
