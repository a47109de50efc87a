// Tetrys and Reed-Solomon throughput: 1 KiB symbols, window 64, 10% repair.
#include <benchmark/benchmark.h>

#include <random>

#include "zmesh/fec/reed_solomon.hpp"
#include "zmesh/fec/tetrys.hpp"

namespace {

using namespace zmesh;
using namespace zmesh::fec;

constexpr std::size_t kSymbol = 1024;

TetrysConfig bench_config() {
    TetrysConfig c;
    c.window_size = 64;
    c.repair_rate = 0.10;
    return c;
}

Bytes payload(std::uint32_t id) {
    Bytes p(kSymbol);
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(id * 7 + i);
    return p;
}

// Source symbols in, repair symbols out, the window kept at 64 by acknowledgements.
void tetrys_encode(benchmark::State& state) {
    TetrysEncoder enc(bench_config());
    Bytes p = payload(1);
    std::uint32_t id = 0;
    std::size_t repairs = 0;
    for (auto _ : state) {
        (void)enc.add_source(id, p);
        auto r = enc.take_repairs();
        repairs += r.size();
        benchmark::DoNotOptimize(r);
        ++id;
        if (id > 64) enc.acknowledge(id - 64);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kSymbol));
    state.counters["repairs/source"] = static_cast<double>(repairs) / static_cast<double>(id);
}
BENCHMARK(tetrys_encode);

// What a receiver does with that stream at 5% random loss: every source symbol kept,
// every repair symbol eliminated against them, lost symbols rebuilt.
void tetrys_decode(benchmark::State& state) {
    constexpr std::uint32_t kCount = 4096;
    struct Packet {
        bool repair;
        std::uint32_t id;
        Bytes data;
    };
    std::vector<Packet> packets;
    TetrysEncoder enc(bench_config());
    std::mt19937 rng(1);
    std::bernoulli_distribution lose(0.05);
    for (std::uint32_t id = 0; id < kCount; ++id) {
        Bytes p = payload(id);
        (void)enc.add_source(id, p);
        if (!lose(rng)) packets.push_back({false, id, p});
        for (auto& r : enc.take_repairs())
            if (!lose(rng)) packets.push_back({true, 0, std::move(r)});
        if (id > 64) enc.acknowledge(id - 64);
    }
    std::size_t rebuilt = 0;
    for (auto _ : state) {
        TetrysDecoder dec(256);
        for (const auto& pk : packets) {
            if (pk.repair) {
                auto r = dec.add_repair(pk.data);
                rebuilt += r ? r->size() : 0;
            } else {
                rebuilt += dec.add_source(pk.id, pk.data).size();
            }
        }
        benchmark::DoNotOptimize(dec);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kCount * kSymbol));
    state.counters["rebuilt/run"] =
        static_cast<double>(rebuilt) / static_cast<double>(state.iterations());
}
BENCHMARK(tetrys_decode)->Unit(benchmark::kMillisecond);

void reed_solomon_encode(benchmark::State& state) {
    auto rs = *make_reed_solomon(10, 4);
    std::vector<Bytes> data(10, payload(3));
    std::vector<Bytes> parity(4, Bytes(kSymbol));
    std::vector<ByteView> in(data.begin(), data.end());
    std::vector<MutByteView> out(parity.begin(), parity.end());
    for (auto _ : state) {
        (void)rs.encode(in, out);
        benchmark::DoNotOptimize(parity);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * 10 * kSymbol));
}
BENCHMARK(reed_solomon_encode);

void reed_solomon_rebuild_four(benchmark::State& state) {
    auto rs = *make_reed_solomon(10, 4);
    std::vector<Bytes> data(10, payload(4));
    std::vector<Bytes> parity(4, Bytes(kSymbol));
    std::vector<ByteView> in(data.begin(), data.end());
    std::vector<MutByteView> out(parity.begin(), parity.end());
    (void)rs.encode(in, out);
    for (auto _ : state) {
        std::vector<std::optional<Bytes>> shards;
        for (std::size_t i = 0; i < 10; ++i)
            shards.emplace_back(i < 4 ? std::nullopt : std::optional<Bytes>(data[i]));
        for (auto& p : parity) shards.emplace_back(p);
        (void)rs.reconstruct(shards);
        benchmark::DoNotOptimize(shards);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * 10 * kSymbol));
}
BENCHMARK(reed_solomon_rebuild_four);

}  // namespace
