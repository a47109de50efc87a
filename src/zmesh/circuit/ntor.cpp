#include "zmesh/circuit/ntor.hpp"

#include "zmesh/crypto/hash.hpp"
#include "zmesh/crypto/mlkem/mlkem.hpp"

namespace zmesh::circuit {
namespace {

struct Labels {
    std::string_view proto, key, verify, mac, expand;
};
constexpr Labels kClassical{"zmesh-ntor-x25519-sha256-2", "zmesh-ntor-x25519-sha256-2:key_extract",
                            "zmesh-ntor-x25519-sha256-2:verify", "zmesh-ntor-x25519-sha256-2:mac",
                            "zmesh-ntor-x25519-sha256-2:key_expand"};
constexpr Labels kHybrid{
    "zmesh-ntor-x25519-mlkem768-sha256-2", "zmesh-ntor-x25519-mlkem768-sha256-2:key_extract",
    "zmesh-ntor-x25519-mlkem768-sha256-2:verify", "zmesh-ntor-x25519-mlkem768-sha256-2:mac",
    "zmesh-ntor-x25519-mlkem768-sha256-2:key_expand"};
const Labels& labels(HandshakeType t) {
    return t == HandshakeType::ntor_x25519 ? kClassical : kHybrid;
}

using Digest = ByteArray<32>;

Digest h(std::string_view tweak, std::initializer_list<ByteView> parts) {
    Digest out;
    crypto::hmac(crypto::HashAlg::sha256, as_bytes(tweak), parts, out);
    return out;
}

struct Derived {
    Digest key_seed;
    Digest auth;
};

// secret_input = XY | XB | ID | B | X | Y | PROTOID, and for the hybrid handshake also
// the ML-KEM shared secret and hashes of the encapsulation key and ciphertext, so the
// keys depend on both the classical and the post-quantum exchange and on the transcript.
Derived derive(const Labels& l, const crypto::SharedSecret& xy, const crypto::SharedSecret& xb,
               const crypto::NodeId& id, const crypto::X25519Public& b,
               const crypto::X25519Public& x, const crypto::X25519Public& y, ByteView kem_secret,
               ByteView transcript) {
    std::initializer_list<ByteView> secret_input = {xy.view(), xb.view(),  kem_secret,
                                                    id.view(), b.view(),   x.view(),
                                                    y.view(),  transcript, as_bytes(l.proto)};
    Derived d;
    d.key_seed = h(l.key, secret_input);
    Digest verify = h(l.verify, secret_input);
    d.auth = h(l.mac, {verify, id.view(), b.view(), y.view(), x.view(), transcript,
                       as_bytes(l.proto), as_bytes("Server")});
    crypto::wipe(verify);
    return d;
}

Result<HopKeys> expand(const Labels& l, Digest& key_seed) {
    auto okm = crypto::hkdf_sha256(key_seed, {}, as_bytes(l.expand), 4 * 32);
    crypto::wipe(key_seed);
    if (!okm) return okm.error();
    auto part = [&](std::size_t i) {
        return *crypto::SymmetricKey::from(ByteView{okm->data() + 32 * i, 32});
    };
    return HopKeys{{part(0), part(1)}, {part(2), part(3)}};
}

// H(ek) | H(ct): binds the ML-KEM messages into the transcript.
ByteArray<64> kem_transcript(ByteView ek, ByteView ct) {
    ByteArray<64> t;
    auto he = crypto::sha3_256(ek);
    auto hc = crypto::sha3_256(ct);
    std::copy(he.begin(), he.end(), t.begin());
    std::copy(hc.begin(), hc.end(), t.begin() + 32);
    return t;
}

}  // namespace

bool known_handshake(std::uint16_t type) {
    return type == static_cast<std::uint16_t>(HandshakeType::ntor_x25519) ||
           type == static_cast<std::uint16_t>(HandshakeType::ntor_x25519_mlkem768);
}

std::size_t onionskin_size(HandshakeType type) {
    return type == HandshakeType::ntor_x25519 ? kNtorOnionskinSize : kHybridOnionskinSize;
}

std::size_t reply_size(HandshakeType type) {
    return type == HandshakeType::ntor_x25519 ? kNtorReplySize : kHybridReplySize;
}

NtorClient::NtorClient(const RelayKeys& relay, HandshakeType type)
    : relay_(relay), type_(type), x_(crypto::X25519KeyPair::generate()) {
    onionskin_.resize(onionskin_size(type));
    std::copy(relay.id.bytes.begin(), relay.id.bytes.end(), onionskin_.begin());
    std::copy(relay.onion.bytes.begin(), relay.onion.bytes.end(), onionskin_.begin() + 32);
    std::copy(x_.pub.bytes.begin(), x_.pub.bytes.end(), onionskin_.begin() + 64);
    if (type == HandshakeType::ntor_x25519_mlkem768) {
        auto kem = crypto::mlkem::keygen(crypto::mlkem::kMlKem768);
        std::copy(kem.ek.begin(), kem.ek.end(), onionskin_.begin() + kNtorOnionskinSize);
        mlkem_dk_ = std::move(kem.dk);
    }
}

Result<HopKeys> NtorClient::finish(ByteView reply) const {
    if (reply.size() != reply_size(type_)) return Errc::bad_length;
    auto y = *crypto::X25519Public::from(reply.first(32));
    auto xy = crypto::x25519(x_.secret, y);
    auto xb = crypto::x25519(x_.secret, relay_.onion);
    if (!xy || !xb) return Errc::weak_key;
    crypto::SharedSecret kem_secret;
    ByteArray<64> transcript{};
    bool hybrid = type_ == HandshakeType::ntor_x25519_mlkem768;
    if (hybrid) {
        ByteView ct = reply.subspan(kNtorReplySize);
        auto ss = crypto::mlkem::decaps(crypto::mlkem::kMlKem768,
                                        {mlkem_dk_.data(), mlkem_dk_.size()}, ct);
        if (!ss) return ss.error();
        kem_secret = *ss;
        transcript = kem_transcript(ByteView{onionskin_}.subspan(kNtorOnionskinSize), ct);
    }
    Derived d =
        derive(labels(type_), *xy, *xb, relay_.id, relay_.onion, x_.pub, y,
               hybrid ? kem_secret.view() : ByteView{}, hybrid ? ByteView{transcript} : ByteView{});
    bool ok = crypto::ct_equal(d.auth, reply.subspan(32, 32));
    if (!ok) {
        crypto::wipe(d.key_seed);
        return Errc::auth_failed;
    }
    return expand(labels(type_), d.key_seed);
}

Result<NtorServerResult> ntor_server(const crypto::NodeId& id, const crypto::X25519KeyPair& onion,
                                     ByteView onionskin, HandshakeType type) {
    if (onionskin.size() != onionskin_size(type)) return Errc::bad_length;
    // The client names the relay and key it means; anything else is not for us.
    if (!crypto::ct_equal(onionskin.first(32), id.view()) ||
        !crypto::ct_equal(onionskin.subspan(32, 32), onion.pub.view()))
        return Errc::unknown_peer;
    auto x = *crypto::X25519Public::from(onionskin.subspan(64, 32));
    auto y = crypto::X25519KeyPair::generate();
    auto xy = crypto::x25519(y.secret, x);
    auto xb = crypto::x25519(onion.secret, x);
    if (!xy || !xb) return Errc::weak_key;
    bool hybrid = type == HandshakeType::ntor_x25519_mlkem768;
    NtorServerResult r;
    r.reply.resize(reply_size(type));
    crypto::SharedSecret kem_secret;
    ByteArray<64> transcript{};
    if (hybrid) {
        ByteView ek = onionskin.subspan(kNtorOnionskinSize);
        auto enc = crypto::mlkem::encaps(crypto::mlkem::kMlKem768, ek);
        if (!enc) return enc.error();  // a malformed encapsulation key
        kem_secret = enc->key;
        std::copy(enc->ciphertext.begin(), enc->ciphertext.end(), r.reply.begin() + kNtorReplySize);
        transcript = kem_transcript(ek, enc->ciphertext);
    }
    Derived d =
        derive(labels(type), *xy, *xb, id, onion.pub, x, y.pub,
               hybrid ? kem_secret.view() : ByteView{}, hybrid ? ByteView{transcript} : ByteView{});
    std::copy(y.pub.bytes.begin(), y.pub.bytes.end(), r.reply.begin());
    std::copy(d.auth.begin(), d.auth.end(), r.reply.begin() + 32);
    auto keys = expand(labels(type), d.key_seed);
    if (!keys) return keys.error();
    r.keys = std::move(*keys);
    return r;
}

}  // namespace zmesh::circuit
