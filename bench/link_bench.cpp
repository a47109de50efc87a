// The link endpoint without sockets: one cell sealed by one endpoint and opened by the
// other, i.e. the per-cell CPU cost of the link layer itself.
#include <benchmark/benchmark.h>

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

}  // namespace
