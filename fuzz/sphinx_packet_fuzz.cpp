// Arbitrary bytes as a Sphinx packet at a mix, raw and spliced onto a valid packet's header
// (so the fuzzer also reaches the routing block and payload code behind a verifying MAC,
// through a header whose group element and MAC it keeps and whose rest it changes): no
// input may crash, and whatever comes out must be well-formed.
#include <cstdlib>

#include "zmesh/mix/keyring.hpp"

using namespace zmesh;
using namespace zmesh::mix;

namespace {

void fixed_fill(MutByteView out) {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(i * 31 + 7);
}

void check(const Result<Processed>& r) {
    if (!r) return;
    if (const auto* d = std::get_if<Deliver>(&r->action))
        if (d->message.size() > kMaxMessageSize) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto mix =
        crypto::X25519KeyPair::from_secret(*crypto::X25519Secret::from(Bytes(32, 9)));
    static const Packet valid = [] {
        std::vector<Hop> path{Hop{crypto::NodeId{}, mix.pub, std::chrono::milliseconds(1)}};
        return create_packet(path, Address{}, as_bytes("fuzz"), fixed_fill)->packet;
    }();
    ByteView in{data, size};
    check(process_packet(mix.secret, in));

    // Keep the valid group element, fill the rest from the input, and exercise the keyring.
    Packet spliced = valid;
    std::copy_n(in.begin(), std::min(in.size(), kPacketSize - kGroupElementSize),
                spliced.begin() + kGroupElementSize);
    check(process_packet(mix.secret, spliced));

    static MixKeyring ring({std::chrono::seconds(60),
                            std::chrono::seconds(10),
                            std::chrono::seconds(10),
                            {1000, 1e-3}},
                           fixed_fill);
    ring.update(std::chrono::sys_seconds{std::chrono::seconds(1000)});
    check(ring.process(in));
    check(ring.process(valid));
    return 0;
}
