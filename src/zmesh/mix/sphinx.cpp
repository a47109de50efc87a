#include "zmesh/mix/sphinx.hpp"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "zmesh/crypto/hash.hpp"
#include "zmesh/crypto/stream.hpp"

namespace zmesh::mix {
namespace {

using crypto::SharedSecret;
using crypto::SymmetricKey;
using crypto::X25519Public;
using crypto::X25519Secret;

// The routing-info stream covers beta and one more block: (kMaxHops + 1) * c bytes.
constexpr std::size_t kStreamSize = kBetaSize + kRoutingBlockSize;
constexpr std::size_t kAlphaOffset = 0;
constexpr std::size_t kBetaOffset = kGroupElementSize;
constexpr std::size_t kGammaOffset = kBetaOffset + kBetaSize;
constexpr std::size_t kDelayOffset = 1 + kAddressSize;
constexpr std::size_t kLastFieldOffset = kDelayOffset + 4;
constexpr ByteArray<crypto::kChaCha20NonceSize> kZeroNonce{};
constexpr ByteArray<kAuthSize> kZeroAuth{};

using Keystream = crypto::Secret<struct KeystreamTag, kStreamSize>;
using Mac = ByteArray<kMacSize>;

struct HopKeys {
    SymmetricKey rho;    // stream key for the routing information
    SymmetricKey mu;     // header MAC key
    LionessKey pi;       // payload layer
    X25519Secret blind;  // blinding factor for the next group element
    ReplayTag tag;
};

// BLAKE2b keyed with the shared secret over a label unique to each use (and, for the
// blinding factor, the group element, as in the Sphinx paper).
constexpr std::size_t kKdfInputSize = 64;
constexpr std::size_t kLongestLabel = std::string_view{"zmesh-sphinx-v1 blind"}.size();
static_assert(kLongestLabel + kGroupElementSize <= kKdfInputSize);

void kdf(const SharedSecret& s, std::string_view label, ByteView extra, MutByteView out) {
    // Labels are the literals of derive(), the extra input at most a group element.
    if (label.size() + extra.size() > kKdfInputSize) std::abort();
    ByteArray<kKdfInputSize> msg{};
    std::copy(label.begin(), label.end(), msg.begin());
    std::copy(extra.begin(), extra.end(), msg.begin() + static_cast<std::ptrdiff_t>(label.size()));
    crypto::blake2b(out, ByteView{msg.data(), label.size() + extra.size()}, s.view());
}

HopKeys derive(const SharedSecret& s, const X25519Public& alpha) {
    HopKeys k;
    kdf(s, "zmesh-sphinx-v1 rho", {}, k.rho.mut_view());
    kdf(s, "zmesh-sphinx-v1 mu", {}, k.mu.mut_view());
    kdf(s, "zmesh-sphinx-v1 pi1", {}, k.pi.mut_view().first(64));
    kdf(s, "zmesh-sphinx-v1 pi2", {}, k.pi.mut_view().subspan(64));
    kdf(s, "zmesh-sphinx-v1 tag", {}, MutByteView{k.tag.data(), k.tag.size()});
    kdf(s, "zmesh-sphinx-v1 blind", alpha.view(), k.blind.mut_view());
    return k;
}

X25519Public as_public(const SharedSecret& s) {
    X25519Public p;
    std::copy(s.view().begin(), s.view().end(), p.bytes.begin());
    return p;
}

// X25519(b, s) for a point s that is itself secret (the sender's partial shared secrets):
// the copy in a public-key type is wiped after use.
Result<SharedSecret> blind_secret(const X25519Secret& b, const SharedSecret& s) {
    X25519Public point = as_public(s);
    auto out = crypto::x25519(b, point);
    crypto::wipe(MutByteView{point.data(), point.size()});
    return out;
}

void keystream(const SymmetricKey& rho, Keystream& out) {
    std::fill_n(out.data(), kStreamSize, std::uint8_t{0});
    crypto::chacha20_xor(rho.view(), kZeroNonce, out.mut_view());
}

// gamma = BLAKE2b-128(key = mu, alpha || beta): the whole header but the MAC itself.
Mac header_mac(const SymmetricKey& mu, ByteView alpha, ByteView beta) {
    ByteArray<kGroupElementSize + kBetaSize> msg;
    std::copy(alpha.begin(), alpha.end(), msg.begin());
    std::copy(beta.begin(), beta.end(), msg.begin() + kGroupElementSize);
    Mac m;
    crypto::blake2b(m, msg, mu.view());
    return m;
}

void put_block(std::uint8_t* p, RoutingFlag flag, ByteView address, std::uint32_t delay_ms,
               ByteView last) {
    p[0] = static_cast<std::uint8_t>(flag);
    std::copy(address.begin(), address.end(), p + 1);
    store_u32_be(p + kDelayOffset, delay_ms);
    std::copy(last.begin(), last.end(), p + kLastFieldOffset);
}

// What the header can carry at all: detail::build_header's only check, so that tests can
// play a sender who asks for delays above the protocol maximum.
Status check_encodable(std::span<const Hop> path) {
    if (path.empty() || path.size() > kMaxHops) return MixErrc::bad_path;
    for (const auto& h : path)
        if (h.delay.count() < 0 || h.delay.count() > std::int64_t{0xffffffff})
            return MixErrc::bad_path;
    return {};
}

// What an honest sender may ask for.
Status check_path(std::span<const Hop> path) {
    if (auto ok = check_encodable(path); !ok) return ok;
    for (const auto& h : path)
        if (h.delay > kMaxDelay) return MixErrc::bad_path;
    return {};
}

Result<ByteArray<kPayloadSize>> encode_message(ByteView message) {
    if (message.size() > kMaxMessageSize) return MixErrc::message_too_long;
    ByteArray<kPayloadSize> p{};
    store_u16_be(p.data() + kAuthSize, static_cast<std::uint16_t>(message.size()));
    std::copy(message.begin(), message.end(), p.begin() + kAuthSize + 2);
    return p;
}

// Strict: the zero prefix (the authenticator), a length in range and zero padding.
Result<Bytes> decode_message(ByteView p) {
    if (!crypto::ct_equal(p.first(kAuthSize), kZeroAuth)) return MixErrc::bad_payload;
    const std::size_t len = load_u16_be(p.data() + kAuthSize);
    if (len > kMaxMessageSize) return MixErrc::bad_payload;
    const auto body = p.subspan(kAuthSize + 2);
    if (std::any_of(body.begin() + static_cast<std::ptrdiff_t>(len), body.end(),
                    [](std::uint8_t b) { return b != 0; }))
        return MixErrc::bad_payload;
    return Bytes(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(len));
}

Packet assemble(ByteView header, ByteView payload) {
    Packet p;
    std::copy(header.begin(), header.end(), p.begin());
    std::copy(payload.begin(), payload.end(), p.begin() + kHeaderSize);
    return p;
}

std::vector<std::chrono::milliseconds> delays_of(std::span<const Hop> path) {
    std::vector<std::chrono::milliseconds> d;
    for (const auto& h : path) d.push_back(h.delay);
    return d;
}

}  // namespace

namespace detail {

// The sender's side of the header: group elements and secrets per hop, the filler, then
// the routing information from the last hop back to the first, each layer MACed.
Result<Header> build_header(std::span<const Hop> path, std::uint8_t last_flag,
                            const Address& destination, ByteView last_field,
                            const RandomFill& rng) {
    if (auto ok = check_encodable(path); !ok) return ok.error();
    if (last_field.size() != kMacSize) return MixErrc::bad_path;
    const std::size_t n = path.size();

    X25519Secret x;
    rng(x.mut_view());
    std::vector<X25519Public> alphas(n);
    std::vector<HopKeys> keys(n);
    alphas[0] = crypto::X25519KeyPair::from_secret(x).pub;
    for (std::size_t i = 0; i < n; ++i) {
        // s_i = b_{i-1} * ... * b_0 * x * Y_i, each factor clamped by X25519 (docs/mix.md).
        auto s = crypto::x25519(x, path[i].mix_key);
        if (!s) return MixErrc::weak_key;
        for (std::size_t j = 0; j < i; ++j) {
            s = blind_secret(keys[j].blind, *s);
            if (!s) return MixErrc::weak_key;
        }
        keys[i] = derive(*s, alphas[i]);
        if (i + 1 < n) {
            auto next = crypto::x25519(keys[i].blind, alphas[i]);
            if (!next) return MixErrc::weak_key;
            alphas[i + 1] = as_public(*next);
        }
    }

    // Filler: what hops 0..n-2 append (their stream over the zero block they shift in), so
    // that the last hops' MACs can cover the whole beta they will receive.
    Keystream ks;
    Bytes filler;
    for (std::size_t i = 0; i + 1 < n; ++i) {
        keystream(keys[i].rho, ks);
        filler.resize(filler.size() + kRoutingBlockSize, 0);
        const std::size_t off = kStreamSize - filler.size();
        for (std::size_t j = 0; j < filler.size(); ++j) filler[j] ^= ks.data()[off + j];
    }

    ByteArray<kBetaSize> beta{};
    put_block(beta.data(), static_cast<RoutingFlag>(last_flag), destination.view(),
              static_cast<std::uint32_t>(path[n - 1].delay.count()), last_field);
    // Random, not zero, padding: the last hop sees no boundary that would tell it the path
    // length (the zero padding of the original paper does).
    const std::size_t pad = (kMaxHops - n) * kRoutingBlockSize;
    if (pad > 0) rng(MutByteView{beta.data() + kRoutingBlockSize, pad});
    keystream(keys[n - 1].rho, ks);
    for (std::size_t j = 0; j < kBetaSize - filler.size(); ++j) beta[j] ^= ks.data()[j];
    std::copy(filler.begin(), filler.end(),
              beta.end() - static_cast<std::ptrdiff_t>(filler.size()));
    Mac gamma = header_mac(keys[n - 1].mu, alphas[n - 1].view(), beta);

    for (std::size_t i = n - 1; i-- > 0;) {
        ByteArray<kBetaSize> outer;
        put_block(outer.data(), RoutingFlag::relay, path[i + 1].node.view(),
                  static_cast<std::uint32_t>(path[i].delay.count()), gamma);
        std::copy(beta.begin(), beta.end() - kRoutingBlockSize, outer.begin() + kRoutingBlockSize);
        keystream(keys[i].rho, ks);
        for (std::size_t j = 0; j < kBetaSize; ++j) outer[j] ^= ks.data()[j];
        beta = outer;
        gamma = header_mac(keys[i].mu, alphas[i].view(), beta);
    }

    Header h;
    std::copy(alphas[0].bytes.begin(), alphas[0].bytes.end(), h.bytes.begin() + kAlphaOffset);
    std::copy(beta.begin(), beta.end(), h.bytes.begin() + kBetaOffset);
    std::copy(gamma.begin(), gamma.end(), h.bytes.begin() + kGammaOffset);
    h.payload_keys.reserve(n);
    for (const auto& k : keys) h.payload_keys.push_back(k.pi);
    return h;
}

Packet seal(const Header& header, ByteArray<kPayloadSize> plain) {
    for (std::size_t i = header.payload_keys.size(); i-- > 0;)
        lioness_encrypt(header.payload_keys[i], plain);
    return assemble(header.bytes, plain);
}

Status no_replay_check(const ReplayTag&) {
    return {};
}

}  // namespace detail

Result<Created> create_packet(std::span<const Hop> path, const Address& destination,
                              ByteView message, const RandomFill& rng) {
    if (auto ok = check_path(path); !ok) return ok.error();
    auto payload = encode_message(message);
    if (!payload) return payload.error();
    const ByteArray<kSurbIdSize> no_surb{};
    auto header = detail::build_header(path, static_cast<std::uint8_t>(RoutingFlag::deliver),
                                       destination, no_surb, rng);
    if (!header) return header.error();
    return Created{path[0].node, detail::seal(*header, *payload), delays_of(path)};
}

Result<Processed> process_packet(const X25519Secret& mix_key, ByteView packet,
                                 const AdmitTag& admit) {
    if (packet.size() < kPacketSize) return MixErrc::truncated;
    if (packet.size() > kPacketSize) return MixErrc::oversized;
    const auto alpha = *X25519Public::from(packet.subspan(kAlphaOffset, kGroupElementSize));
    const auto beta = packet.subspan(kBetaOffset, kBetaSize);
    const auto gamma = packet.subspan(kGammaOffset, kMacSize);

    auto s = crypto::x25519(mix_key, alpha);
    if (!s) return MixErrc::weak_key;
    const HopKeys k = derive(*s, alpha);
    if (!crypto::ct_equal(header_mac(k.mu, alpha.view(), beta), gamma)) return MixErrc::bad_mac;
    if (!admit) return MixErrc::bad_config;
    if (auto ok = admit(k.tag); !ok) return ok.error();

    Keystream routing;
    std::copy(beta.begin(), beta.end(), routing.data());
    std::fill_n(routing.data() + kBetaSize, kRoutingBlockSize, std::uint8_t{0});
    crypto::chacha20_xor(k.rho.view(), kZeroNonce, routing.mut_view());
    const std::uint8_t* block = routing.data();
    const auto address = ByteView{block + 1, kAddressSize};
    const std::chrono::milliseconds delay{load_u32_be(block + kDelayOffset)};
    const auto last = ByteView{block + kLastFieldOffset, kMacSize};
    // After the tag is recorded: a replay of this packet is refused as a replay, cheaply.
    if (delay > kMaxDelay) return MixErrc::bad_delay;

    ByteArray<kPayloadSize> payload;
    std::copy(packet.begin() + kHeaderSize, packet.end(), payload.begin());
    lioness_decrypt(k.pi, payload);

    Processed out{k.tag, Forward{}};
    switch (static_cast<RoutingFlag>(block[0])) {
        case RoutingFlag::relay: {
            auto next_alpha = crypto::x25519(k.blind, alpha);
            if (!next_alpha) return MixErrc::weak_key;
            Forward f{*crypto::NodeId::from(address), delay, {}};
            std::copy(next_alpha->view().begin(), next_alpha->view().end(), f.packet.begin());
            std::copy(block + kRoutingBlockSize, block + kStreamSize,
                      f.packet.begin() + kBetaOffset);
            std::copy(last.begin(), last.end(), f.packet.begin() + kGammaOffset);
            std::copy(payload.begin(), payload.end(), f.packet.begin() + kHeaderSize);
            out.action = std::move(f);
            return out;
        }
        case RoutingFlag::deliver: {
            if (std::any_of(last.begin(), last.end(), [](std::uint8_t b) { return b != 0; }))
                return MixErrc::bad_routing;
            auto message = decode_message(payload);
            if (!message) return message.error();
            out.action = Deliver{*Address::from(address), delay, std::move(*message)};
            return out;
        }
        case RoutingFlag::deliver_reply:
            out.action = DeliverReply{*Address::from(address), delay, *SurbId::from(last), payload};
            return out;
    }
    return MixErrc::bad_routing;
}

Result<CreatedSurb> create_surb(std::span<const Hop> path, const Address& destination,
                                const RandomFill& rng) {
    if (auto ok = check_path(path); !ok) return ok.error();
    SurbId id;
    rng(MutByteView{id.data(), id.size()});
    auto header = detail::build_header(path, static_cast<std::uint8_t>(RoutingFlag::deliver_reply),
                                       destination, id.view(), rng);
    if (!header) return header.error();
    CreatedSurb c;
    rng(c.secrets.payload_key.mut_view());
    c.secrets.id = id;
    c.secrets.hop_keys = std::move(header->payload_keys);
    c.surb = Surb{path[0].node, header->bytes, c.secrets.payload_key};
    c.delays = delays_of(path);
    return c;
}

Result<Created> use_surb(const Surb& surb, ByteView message) {
    auto payload = encode_message(message);
    if (!payload) return payload.error();
    lioness_encrypt(surb.payload_key, *payload);
    return Created{surb.first_hop, assemble(surb.header, *payload), {}};
}

Result<Bytes> open_surb_reply(SurbSecrets& secrets, ByteView payload) {
    if (payload.size() != kPayloadSize) return MixErrc::bad_payload;
    if (secrets.hop_keys.empty()) return MixErrc::surb_used;
    ByteArray<kPayloadSize> p;
    std::copy(payload.begin(), payload.end(), p.begin());
    // The hops each removed a layer (decrypted); put them back, last hop first.
    for (std::size_t i = secrets.hop_keys.size(); i-- > 0;) lioness_encrypt(secrets.hop_keys[i], p);
    lioness_decrypt(secrets.payload_key, p);
    // Single use: the keys go (each LionessKey wipes itself), so no second reply opens.
    secrets.hop_keys.clear();
    crypto::wipe(secrets.payload_key.mut_view());
    auto message = decode_message(p);
    crypto::wipe(MutByteView{p.data(), p.size()});
    return message;
}

}  // namespace zmesh::mix
