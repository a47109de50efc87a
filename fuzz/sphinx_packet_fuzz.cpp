// Arbitrary bytes as a Sphinx packet at a mix, and as a malicious sender's choices: the
// last routing block's flag, address and last field and the payload plaintext of a packet
// whose MACs all verify, so that the decoders behind the MAC see arbitrary input too. No
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

struct Mixes {
    std::vector<crypto::X25519KeyPair> keys;
    std::vector<Hop> path;
    Mixes() {
        for (std::uint8_t i = 0; i < kMaxHops; ++i) {
            keys.push_back(
                crypto::X25519KeyPair::from_secret(*crypto::X25519Secret::from(Bytes(32, i + 1))));
            path.push_back(Hop{crypto::NodeId{}, keys.back().pub, std::chrono::milliseconds(i)});
        }
    }
};

// The input's first bytes choose the path length and the last block; the rest is the
// payload plaintext. The packet then goes through every hop.
void malicious_sender(const Mixes& mixes, ByteView in) {
    constexpr std::size_t kChoices = 2 + kAddressSize + kMacSize;
    if (in.size() < kChoices) return;
    const std::size_t hops = 1 + in[0] % kMaxHops;
    const auto address = *Address::from(in.subspan(2, kAddressSize));
    auto header = detail::build_header(std::span(mixes.path).first(hops), in[1], address,
                                       in.subspan(2 + kAddressSize, kMacSize), fixed_fill);
    if (!header) std::abort();
    ByteArray<kPayloadSize> plain{};
    const auto rest = in.subspan(kChoices);
    std::copy_n(rest.begin(), std::min(rest.size(), plain.size()), plain.begin());
    Packet packet = detail::seal(*header, plain);
    for (std::size_t i = 0; i < hops; ++i) {
        auto r = process_packet(mixes.keys[i].secret, packet, detail::no_replay_check);
        check(r);
        if (!r) return;
        const auto* f = std::get_if<Forward>(&r->action);
        if (!f) return;
        packet = f->packet;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Mixes mixes;
    ByteView in{data, size};
    check(process_packet(mixes.keys[0].secret, in, detail::no_replay_check));
    malicious_sender(mixes, in);

    static MixKeyring ring(
        [] {
            KeyringConfig c;
            c.epoch = std::chrono::seconds(60);
            c.overlap = c.skew = c.lead = std::chrono::seconds(10);
            c.max_rate = 10;
            c.false_positive_rate = 1e-3;
            return c;
        }(),
        fixed_fill);
    check(ring.process(in, std::chrono::sys_seconds{std::chrono::seconds(1000)}));
    return 0;
}
