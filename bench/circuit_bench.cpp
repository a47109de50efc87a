// Relay cell crypto per cell and hop, and the hop handshake.
#include <benchmark/benchmark.h>

#include <memory>

#include "zmesh/circuit/ntor.hpp"
#include "zmesh/circuit/relay_crypto.hpp"

namespace {

using namespace zmesh;
using namespace zmesh::circuit;

std::vector<std::unique_ptr<LayerKey>> keys(std::size_t n) {
    std::vector<std::unique_ptr<LayerKey>> k;
    for (std::size_t i = 0; i < n; ++i)
        k.push_back(std::make_unique<LayerKey>(
            DirectionKeys{crypto::random_value<crypto::SymmetricKey>(),
                          crypto::random_value<crypto::SymmetricKey>()}));
    return k;
}

std::vector<const LayerKey*> ptrs(const std::vector<std::unique_ptr<LayerKey>>& k) {
    std::vector<const LayerKey*> p;
    for (auto& x : k) p.push_back(x.get());
    return p;
}

void seal_forward_hops(benchmark::State& state) {
    auto k = keys(static_cast<std::size_t>(state.range(0)));
    auto p = ptrs(k);
    Bytes payload(kPayloadSize, 0);
    Body body;
    std::vector<std::uint32_t> numbers(p.size(), 0);
    for (auto _ : state) {
        for (auto& n : numbers) ++n;
        benchmark::DoNotOptimize(seal_forward(p, numbers, payload, body));
    }
    state.counters["cells/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(seal_forward_hops)->Arg(1)->Arg(3)->Arg(8);

void peel_forward_one_hop(benchmark::State& state) {
    auto k = keys(1);
    auto p = ptrs(k);
    Bytes payload(kPayloadSize, 0);
    Body sealed;
    for (auto _ : state) {
        state.PauseTiming();
        static std::uint32_t seq = 0;
        std::uint32_t number[1] = {++seq};
        (void)seal_forward(p, number, payload, sealed);
        link::ReplayWindow w;
        state.ResumeTiming();
        benchmark::DoNotOptimize(peel_forward(*k[0], w, sealed));
    }
    state.counters["cells/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(peel_forward_one_hop);

void wrap_backward_one_hop(benchmark::State& state) {
    auto k = keys(1);
    Body body{};
    std::uint32_t seq = 0;
    for (auto _ : state) {
        wrap_backward(*k[0], ++seq, body);
        benchmark::DoNotOptimize(body);
    }
    state.counters["cells/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(wrap_backward_one_hop);

void open_backward_three_hops(benchmark::State& state) {
    auto k = keys(3);
    auto p = ptrs(k);
    Bytes payload(kPayloadSize, 0);
    std::uint32_t seq = 0;
    for (auto _ : state) {
        state.PauseTiming();
        Body body;
        start_backward(payload, body);
        ++seq;
        for (std::size_t h = 3; h-- > 0;) wrap_backward(*k[h], seq, body);
        std::vector<link::ReplayWindow> w(3);
        state.ResumeTiming();
        benchmark::DoNotOptimize(open_backward(p, w, body));
    }
    state.counters["cells/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(open_backward_three_hops);

void hop_handshake(benchmark::State& state, HandshakeType type) {
    auto id = crypto::Identity::generate();
    auto onion = crypto::X25519KeyPair::generate();
    for (auto _ : state) {
        NtorClient c({id.node_id(), onion.pub}, type);
        auto s = ntor_server(id.node_id(), onion, c.onionskin(), type);
        benchmark::DoNotOptimize(c.finish(s->reply));
    }
    state.counters["handshakes/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(hop_handshake, classical, HandshakeType::ntor_x25519);
BENCHMARK_CAPTURE(hop_handshake, hybrid_mlkem768, HandshakeType::ntor_x25519_mlkem768);

void relay_side_handshake(benchmark::State& state, HandshakeType type) {
    auto id = crypto::Identity::generate();
    auto onion = crypto::X25519KeyPair::generate();
    NtorClient c({id.node_id(), onion.pub}, type);
    for (auto _ : state)
        benchmark::DoNotOptimize(ntor_server(id.node_id(), onion, c.onionskin(), type));
    state.counters["handshakes/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(relay_side_handshake, classical, HandshakeType::ntor_x25519);
BENCHMARK_CAPTURE(relay_side_handshake, hybrid_mlkem768, HandshakeType::ntor_x25519_mlkem768);

}  // namespace
