// AEAD on one cell and in bulk (the CPU's raw limit), and Noise handshakes.
#include <benchmark/benchmark.h>

#include "zmesh/crypto/aead.hpp"
#include "zmesh/link/noise/handshake.hpp"
#include "zmesh/wire/cell.hpp"

namespace {

using namespace zmesh;

void aead_seal(benchmark::State& state, crypto::AeadAlg alg, std::size_t size) {
    crypto::AeadKey key(alg, crypto::random_value<crypto::SymmetricKey>());
    Bytes buf(size + crypto::kAeadTagSize, 0x5a);
    Bytes ad(16, 1);
    crypto::AeadNonce nonce{};
    std::uint64_t n = 0;
    for (auto _ : state) {
        store_u64_le(nonce.data() + 4, n++);
        benchmark::DoNotOptimize(key.seal(nonce, ad, ByteView{buf}.first(size), buf));
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
    state.counters["ops/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void aead_open(benchmark::State& state, crypto::AeadAlg alg, std::size_t size) {
    crypto::AeadKey key(alg, crypto::random_value<crypto::SymmetricKey>());
    Bytes plain(size, 0x5a);
    Bytes sealed(size + crypto::kAeadTagSize);
    Bytes out(size);
    Bytes ad(16, 1);
    crypto::AeadNonce nonce{};
    (void)key.seal(nonce, ad, plain, sealed);
    for (auto _ : state) benchmark::DoNotOptimize(key.open(nonce, ad, sealed, out));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
    state.counters["ops/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

constexpr auto kChaCha = crypto::AeadAlg::chacha20_poly1305;
constexpr auto kGcm = crypto::AeadAlg::aes256_gcm;
BENCHMARK_CAPTURE(aead_seal, chacha20poly1305_cell, kChaCha, wire::kCellSize);
BENCHMARK_CAPTURE(aead_open, chacha20poly1305_cell, kChaCha, wire::kCellSize);
BENCHMARK_CAPTURE(aead_seal, aes256gcm_cell, kGcm, wire::kCellSize);
BENCHMARK_CAPTURE(aead_open, aes256gcm_cell, kGcm, wire::kCellSize);
BENCHMARK_CAPTURE(aead_seal, chacha20poly1305_16k_raw, kChaCha, 16384);
BENCHMARK_CAPTURE(aead_seal, aes256gcm_16k_raw, kGcm, 16384);

void noise_handshake(benchmark::State& state, link::noise::Pattern pattern, bool hybrid) {
    using namespace link::noise;
    auto responder = crypto::X25519KeyPair::generate();
    auto initiator = crypto::X25519KeyPair::generate();
    for (auto _ : state) {
        HandshakeConfig ic;
        ic.pattern = pattern;
        ic.hybrid = hybrid;
        ic.role = Role::initiator;
        ic.remote_static = responder.pub;
        if (pattern != Pattern::NK) ic.local_static = initiator;
        HandshakeConfig rc;
        rc.pattern = pattern;
        rc.hybrid = hybrid;
        rc.role = Role::responder;
        rc.local_static = responder;
        auto i = HandshakeState::create(ic);
        auto r = HandshakeState::create(rc);
        while (!i->complete()) {
            auto& w = i->my_turn() ? *i : *r;
            auto& rd = i->my_turn() ? *r : *i;
            auto m = w.write_message({});
            benchmark::DoNotOptimize(rd.read_message(*m));
        }
        benchmark::DoNotOptimize(i->split());
    }
    state.counters["handshakes/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(noise_handshake, NK, link::noise::Pattern::NK, false);
BENCHMARK_CAPTURE(noise_handshake, IK, link::noise::Pattern::IK, false);
BENCHMARK_CAPTURE(noise_handshake, XK, link::noise::Pattern::XK, false);
BENCHMARK_CAPTURE(noise_handshake, NKhfs, link::noise::Pattern::NK, true);
BENCHMARK_CAPTURE(noise_handshake, IKhfs, link::noise::Pattern::IK, true);
BENCHMARK_CAPTURE(noise_handshake, XKhfs, link::noise::Pattern::XK, true);

}  // namespace
