// Writes the Sphinx vectors (tests/vectors/sphinx/sphinx.json) from fixed seeds:
//   build/tests/mix/zmesh_mix_vectors > tests/vectors/sphinx/sphinx.json
#include <iostream>

#include "mix/vector_builder.hpp"

using namespace zmesh;
using namespace zmesh::mix;

int main() {
    test::StreamRng keys("zmesh sphinx vectors v1: keys");
    nlohmann::json out;
    out["note"] =
        "Sphinx packets of zmesh (docs/mix.md), made by tests/mix/make_vectors.cpp; "
        "'rng' lists every draw of randomness in order. Checked by tests/mix/vectors_test.cpp "
        "(C++) and tests/mix/sphinx_crosscheck.py (independent Python).";
    struct Spec {
        const char* name;
        std::size_t hops;
        bool surb;
        std::size_t message;
    };
    const Spec specs[] = {{"forward-1-hop", 1, false, 0},
                          {"forward-2-hops", 2, false, 31},
                          {"forward-3-hops", 3, false, 200},
                          {"forward-4-hops", 4, false, 500},
                          {"forward-5-hops", 5, false, kMaxMessageSize},
                          {"surb-3-hops", 3, true, 77},
                          {"surb-5-hops", 5, true, kMaxMessageSize}};
    for (const auto& s : specs) {
        test::VectorInput in;
        in.name = s.name;
        in.surb = s.surb;
        for (std::size_t i = 0; i < s.hops; ++i) {
            crypto::NodeId id;
            keys(MutByteView{id.data(), id.size()});
            crypto::X25519Secret secret;
            keys(secret.mut_view());
            in.nodes.push_back(id);
            in.secrets.push_back(secret);
            in.delays_ms.push_back(static_cast<std::uint32_t>(1000 * i + 250 + s.hops));
        }
        keys(MutByteView{in.destination.data(), in.destination.size()});
        SurbId unused_id;  // kept so that the messages stay those of the v1 file
        keys(MutByteView{unused_id.data(), unused_id.size()});
        in.message.resize(s.message);
        keys(in.message);
        std::vector<Bytes> draws;
        test::StreamRng rng(std::string("zmesh sphinx vectors v1: ") + s.name);
        rng.record_into(&draws);
        auto v = test::build_vector(in, rng.fill(), draws);
        out["vectors"].push_back(v);
    }
    std::cout << out.dump(1) << "\n";
}
