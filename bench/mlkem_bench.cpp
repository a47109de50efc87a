// ML-KEM and X-Wing operations per second on one core.
#include <benchmark/benchmark.h>

#include "zmesh/crypto/mlkem/mlkem.hpp"
#include "zmesh/crypto/mlkem/xwing.hpp"

namespace {

using namespace zmesh;
using namespace zmesh::crypto;

const mlkem::Params& params(std::int64_t k) {
    return k == 3 ? mlkem::kMlKem768 : mlkem::kMlKem1024;
}

void rate(benchmark::State& state) {
    state.counters["ops/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void mlkem_keygen(benchmark::State& state) {
    const auto& p = params(state.range(0));
    for (auto _ : state) benchmark::DoNotOptimize(mlkem::keygen(p));
    rate(state);
}
BENCHMARK(mlkem_keygen)->Arg(3)->Arg(4);

void mlkem_encaps(benchmark::State& state) {
    const auto& p = params(state.range(0));
    auto kp = mlkem::keygen(p);
    for (auto _ : state) benchmark::DoNotOptimize(mlkem::encaps(p, kp.ek));
    rate(state);
}
BENCHMARK(mlkem_encaps)->Arg(3)->Arg(4);

void mlkem_decaps(benchmark::State& state) {
    const auto& p = params(state.range(0));
    auto kp = mlkem::keygen(p);
    auto e = mlkem::encaps(p, kp.ek);
    for (auto _ : state)
        benchmark::DoNotOptimize(mlkem::decaps(p, {kp.dk.data(), kp.dk.size()}, e->ciphertext));
    rate(state);
}
BENCHMARK(mlkem_decaps)->Arg(3)->Arg(4);

void mlkem_encaps_plus_decaps(benchmark::State& state) {
    const auto& p = params(state.range(0));
    auto kp = mlkem::keygen(p);
    for (auto _ : state) {
        auto e = mlkem::encaps(p, kp.ek);
        benchmark::DoNotOptimize(mlkem::decaps(p, {kp.dk.data(), kp.dk.size()}, e->ciphertext));
    }
    rate(state);
}
BENCHMARK(mlkem_encaps_plus_decaps)->Arg(3)->Arg(4);

void xwing_encaps_plus_decaps(benchmark::State& state) {
    auto kp = xwing::keygen();
    for (auto _ : state) {
        auto e = xwing::encaps(kp.pk);
        benchmark::DoNotOptimize(xwing::decaps({kp.sk.data(), kp.sk.size()}, e->ciphertext));
    }
    rate(state);
}
BENCHMARK(xwing_encaps_plus_decaps);

}  // namespace
