// Sphinx packet creation and unwrap per core, and the parts an unwrap is made of: two
// X25519 scalar multiplications (the floor), LIONESS over the payload, the replay cache.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include "zmesh/crypto/keys.hpp"
#include "zmesh/mix/keyring.hpp"
#include "zmesh/mix/sphinx.hpp"

namespace {

using namespace zmesh;
using namespace zmesh::mix;

void rate(benchmark::State& state) {
    state.counters["ops/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

struct Path {
    std::vector<crypto::X25519KeyPair> keys;
    std::vector<Hop> hops;
    explicit Path(std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            keys.push_back(crypto::X25519KeyPair::generate());
            hops.push_back(Hop{crypto::random_value<crypto::NodeId>(), keys.back().pub,
                               std::chrono::milliseconds(50)});
        }
    }
};

void x25519_libsodium(benchmark::State& state) {
    const auto a = crypto::X25519KeyPair::generate();
    const auto b = crypto::X25519KeyPair::generate();
    for (auto _ : state) benchmark::DoNotOptimize(crypto::x25519(a.secret, b.pub));
    rate(state);
}
BENCHMARK(x25519_libsodium);

// OpenSSL's X25519 through EVP, for comparison (key objects made once, derive per op).
void x25519_openssl(benchmark::State& state) {
    const auto a = crypto::X25519KeyPair::generate();
    const auto b = crypto::X25519KeyPair::generate();
    EVP_PKEY* priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, a.secret.data(), 32);
    EVP_PKEY* pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, b.pub.data(), 32);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(priv, nullptr);
    EVP_PKEY_derive_init(ctx);
    EVP_PKEY_derive_set_peer(ctx, pub);
    ByteArray<32> out;
    for (auto _ : state) {
        std::size_t len = out.size();
        benchmark::DoNotOptimize(EVP_PKEY_derive(ctx, out.data(), &len));
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(priv);
    rate(state);
}
BENCHMARK(x25519_openssl);

void lioness_882(benchmark::State& state) {
    LionessKey key;
    crypto::random_bytes(key.mut_view());
    ByteArray<kPayloadSize> block{};
    for (auto _ : state) {
        lioness_decrypt(key, block);
        benchmark::ClobberMemory();
    }
    rate(state);
}
BENCHMARK(lioness_882);

void sphinx_create(benchmark::State& state) {
    const Path path(static_cast<std::size_t>(state.range(0)));
    const Bytes message(kMaxMessageSize, 0x42);
    const RandomFill rng = [](MutByteView out) { crypto::random_bytes(out); };
    for (auto _ : state)
        benchmark::DoNotOptimize(create_packet(path.hops, Address{}, message, rng));
    rate(state);
}
BENCHMARK(sphinx_create)->Arg(1)->Arg(3)->Arg(5);

// A relay's unwrap of the first hop of a 5-hop packet: MAC check, routing, LIONESS and the
// blinded group element of the next hop. (The same packet each time: no replay cache.)
void sphinx_unwrap_forward(benchmark::State& state) {
    const Path path(5);
    const RandomFill rng = [](MutByteView out) { crypto::random_bytes(out); };
    const auto c = create_packet(path.hops, Address{}, Bytes(100, 1), rng);
    for (auto _ : state)
        benchmark::DoNotOptimize(
            process_packet(path.keys[0].secret, c->packet, detail::no_replay_check));
    rate(state);
}
BENCHMARK(sphinx_unwrap_forward);

// The last hop: no blinding, the payload check and copy instead.
void sphinx_unwrap_deliver(benchmark::State& state) {
    const Path path(1);
    const RandomFill rng = [](MutByteView out) { crypto::random_bytes(out); };
    const auto c = create_packet(path.hops, Address{}, Bytes(kMaxMessageSize, 1), rng);
    for (auto _ : state)
        benchmark::DoNotOptimize(
            process_packet(path.keys[0].secret, c->packet, detail::no_replay_check));
    rate(state);
}
BENCHMARK(sphinx_unwrap_deliver);

// What a mix node calls: MixKeyring::process on fresh packets (first hop of 2-hop paths),
// so the replay cache check and insert are included. Packets are made before the loop.
void keyring_unwrap_forward(benchmark::State& state) {
    const RandomFill rng = [](MutByteView out) { crypto::random_bytes(out); };
    MixKeyring ring({}, rng);
    const std::chrono::sys_seconds now{std::chrono::hours(1000)};
    ring.update(now);
    Path path(2);
    path.hops[0].mix_key = ring.current()->key;
    std::vector<Packet> packets;
    for (std::int64_t i = 0; i < state.max_iterations; ++i)
        packets.push_back(create_packet(path.hops, Address{}, Bytes(100, 1), rng)->packet);
    std::size_t next = 0;
    for (auto _ : state) {
        auto r = ring.process(packets[next++], now);
        if (!r) state.SkipWithError("unwrap failed");
    }
    rate(state);
}
BENCHMARK(keyring_unwrap_forward)->Iterations(3000);

// A replay: rejected by the cache right after the MAC (one X25519, no LIONESS, no blinding).
void keyring_reject_replay(benchmark::State& state) {
    const RandomFill rng = [](MutByteView out) { crypto::random_bytes(out); };
    MixKeyring ring({}, rng);
    const std::chrono::sys_seconds now{std::chrono::hours(1000)};
    ring.update(now);
    Path path(2);
    path.hops[0].mix_key = ring.current()->key;
    const auto packet = create_packet(path.hops, Address{}, Bytes(100, 1), rng)->packet;
    (void)ring.process(packet, now);
    for (auto _ : state) benchmark::DoNotOptimize(ring.process(packet, now));
    rate(state);
}
BENCHMARK(keyring_reject_replay);

// check_and_insert of fresh tags into a default-size cache (4.2 M tags, 1e-6).
void replay_cache_insert(benchmark::State& state) {
    const RandomFill rng = [](MutByteView out) { crypto::random_bytes(out); };
    ReplayCache cache({}, rng);
    ReplayTag tag{};
    std::uint64_t n = 0;
    for (auto _ : state) {
        store_u64_le(tag.data(), n++);
        if (cache.size() == cache.capacity()) state.SkipWithError("cache full");
        benchmark::DoNotOptimize(cache.check_and_insert(tag));
    }
    rate(state);
}
BENCHMARK(replay_cache_insert)->Iterations(1000000);

}  // namespace
