// Arbitrary bytes into the link packet parser and into a live endpoint that holds an
// established session, so that data, handshake and cookie paths all see hostile input.
#include <cstdint>
#include <cstring>

#include "zmesh/link/endpoint.hpp"

using namespace zmesh;
using namespace zmesh::link;

namespace {

struct Pair {
    Endpoint a{
        {crypto::X25519KeyPair::from_secret(*crypto::X25519Secret::from(Bytes(32, 1))), {}, {}}};
    Endpoint b{
        {crypto::X25519KeyPair::from_secret(*crypto::X25519Secret::from(Bytes(32, 2))), {}, {}}};
    PeerAddress addr_a{};
    PeerAddress addr_b{};
    TimePoint now{std::chrono::seconds(100)};

    Pair() {
        addr_b.bytes[0] = 1;
        Output out;
        auto id = a.connect(addr_b, b.static_public(), noise::Pattern::IK, now, out);
        // Shuttle packets until both sides are quiet.
        for (int round = 0; round < 8; ++round) {
            Output next;
            for (auto& p : out.packets) {
                Endpoint& to = p.to == addr_b ? b : a;
                to.on_packet(p.to == addr_b ? addr_a : addr_b, p.packet, now, next);
            }
            if (next.packets.empty()) break;
            out = std::move(next);
        }
        (void)id;
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Pair pair;
    ByteView in{data, size};
    (void)parse_packet(in);
    // Also try the input padded or cut to packet size, so the deeper paths are reached.
    Packet p{};
    std::memcpy(p.data(), data, std::min(size, p.size()));
    Output out;
    pair.b.on_packet(pair.addr_a, in, pair.now, out);
    pair.b.on_packet(pair.addr_a, p, pair.now, out);
    pair.a.on_packet(pair.addr_b, p, pair.now, out);
    pair.now += std::chrono::milliseconds(1);
    pair.b.on_tick(pair.now, out);
    return 0;
}
