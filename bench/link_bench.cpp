// The link endpoint without sockets: one cell sealed by one endpoint and opened by the
// other, i.e. the per-cell CPU cost of the link layer itself; and a responder's cost of
// answering one first message.
#include <benchmark/benchmark.h>

#include <memory>

#include "zmesh/link/endpoint.hpp"

namespace {

using namespace zmesh;
using namespace zmesh::link;

void endpoint_cell(benchmark::State& state, crypto::AeadAlg alg) {
    EndpointConfig ca{crypto::X25519KeyPair::generate(), {alg, crypto::HashAlg::blake2b}, {}};
    EndpointConfig cb{crypto::X25519KeyPair::generate(), {alg, crypto::HashAlg::blake2b}, {}};
    Endpoint a(ca);
    Endpoint b(cb);
    PeerAddress pa{};
    PeerAddress pb{};
    pb.bytes[0] = 1;
    auto now = Clock::now();
    Output out;
    auto id = a.connect(pb, b.static_public(), noise::Pattern::IK, now, out);
    for (int round = 0; round < 6 && !out.packets.empty(); ++round) {
        Output next;
        for (auto& p : out.packets)
            (p.to == pb ? b : a).on_packet(p.to == pb ? pa : pb, p.packet, now, next);
        out = std::move(next);
    }
    wire::Cell cell{};
    wire::set_cell_header(cell, 1, wire::CellCommand::data);
    Output tx;
    Output rx;
    for (auto _ : state) {
        (void)a.send_cell(*id, cell, now, tx);
        b.on_packet(pa, tx.packets.back().packet, now, rx);
        tx.clear();
        rx.clear();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire::kCellSize));
    state.counters["cells/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(endpoint_cell, chacha20poly1305, crypto::AeadAlg::chacha20_poly1305);
BENCHMARK_CAPTURE(endpoint_cell, aes256gcm, crypto::AeadAlg::aes256_gcm);

// What a responder spends on one valid first message: the mac1 check of every fragment,
// reassembly, the Noise work (X25519 and, when hybrid, the ML-KEM-768 encapsulation) and
// the answer. A flood of valid initiations costs this much per message; the default
// handshake_load_threshold is derived from it (bench/RESULTS.md, docs/link.md).
void responder_initiation(benchmark::State& state, noise::Pattern pattern, bool hybrid) {
    LinkLimits limits;
    limits.handshake_load_threshold = UINT32_MAX;  // never ask for cookies: measure the work
    noise::Suite suite{crypto::AeadAlg::aes256_gcm, crypto::HashAlg::blake2b};
    auto responder_key = crypto::X25519KeyPair::generate();
    PeerAddress responder_addr{};
    responder_addr.bytes[0] = 1;
    PeerAddress initiator_addr{};
    auto now = Clock::now();
    // First messages of distinct initiators, made before the timing starts.
    constexpr std::size_t kBatch = 256;
    std::vector<std::vector<Packet>> firsts;
    for (std::size_t i = 0; i < kBatch; ++i) {
        Endpoint initiator({crypto::X25519KeyPair::generate(), suite, limits, hybrid});
        Output out;
        (void)initiator.connect(responder_addr, responder_key.pub, pattern, now, out);
        auto& packets = firsts.emplace_back();
        for (auto& p : out.packets) packets.push_back(p.packet);
    }
    std::unique_ptr<Endpoint> responder;
    std::size_t i = 0;
    Output out;
    for (auto _ : state) {
        if (i % kBatch == 0) {  // a fresh responder, so half-open sessions never pile up
            state.PauseTiming();
            responder = std::make_unique<Endpoint>(EndpointConfig{responder_key, suite, limits});
            state.ResumeTiming();
        }
        for (const auto& p : firsts[i % kBatch]) responder->on_packet(initiator_addr, p, now, out);
        ++i;
        if (out.packets.size() != 1) state.SkipWithError("no answer");
        out.clear();
    }
    state.counters["initiations/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(responder_initiation, NK_hybrid, noise::Pattern::NK, true);
BENCHMARK_CAPTURE(responder_initiation, IK_hybrid, noise::Pattern::IK, true);
BENCHMARK_CAPTURE(responder_initiation, XK_hybrid, noise::Pattern::XK, true);
BENCHMARK_CAPTURE(responder_initiation, IK_classical, noise::Pattern::IK, false);

}  // namespace
