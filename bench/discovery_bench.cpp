// Discovery costs: verifying a relay descriptor (what a client pays per relay it learns,
// and a bootstrap node per upload) and choosing a 3-hop path among many relays.
#include <benchmark/benchmark.h>

#include "zmesh/discovery/directory.hpp"
#include "zmesh/discovery/path_select.hpp"

using namespace zmesh;

namespace {

Bytes sample_descriptor() {
    auto id = crypto::Identity::generate();
    discovery::Descriptor d;
    d.link_key = crypto::X25519KeyPair::generate().pub;
    d.onion_key = crypto::X25519KeyPair::generate().pub;
    d.flags = discovery::kFlagRelay | discovery::kFlagExit;
    d.published = 1'800'000'000;
    d.expires = d.published + 86400;
    discovery::Address a;
    a.port = 7000;
    d.addresses.push_back(a);
    d.exit_policy = {"reject *:25", "accept *:*"};
    return discovery::sign_descriptor(d, id);
}

void verify_descriptor(benchmark::State& state) {
    Bytes enc = sample_descriptor();
    for (auto _ : state) benchmark::DoNotOptimize(discovery::verify_descriptor(enc, 1'800'000'010));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(verify_descriptor);

void select_path(benchmark::State& state) {
    std::vector<discovery::Candidate> cands;
    for (int i = 0; i < state.range(0); ++i) {
        discovery::Candidate c;
        c.id.bytes[0] = static_cast<std::uint8_t>(i);
        c.id.bytes[1] = static_cast<std::uint8_t>(i >> 8);
        c.ip[10] = c.ip[11] = 0xff;
        c.ip[12] = static_cast<std::uint8_t>(1 + i % 200);
        c.ip[13] = static_cast<std::uint8_t>(i / 200);
        c.exit_ok = i % 5 == 0;
        c.advertised_bandwidth = 1e6 * (1 + i % 7);
        cands.push_back(c);
    }
    discovery::PeerStore peers;
    std::mt19937_64 rng(1);
    discovery::maintain_guards(peers, cands, 1'800'000'000, {}, 3, 86400 * 60, rng);
    for (auto _ : state)
        benchmark::DoNotOptimize(discovery::select_path(cands, peers, 1'800'000'000, {}, 3, rng));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(select_path)->Arg(100)->Arg(1000)->Arg(5000);

}  // namespace
