#include "zmesh/circuit/ntor.hpp"

#include "zmesh/crypto/hash.hpp"

namespace zmesh::circuit {
namespace {

constexpr std::string_view kProtoId = "zmesh-ntor-x25519-sha256-1";
constexpr std::string_view kTagKey = "zmesh-ntor-x25519-sha256-1:key_extract";
constexpr std::string_view kTagVerify = "zmesh-ntor-x25519-sha256-1:verify";
constexpr std::string_view kTagMac = "zmesh-ntor-x25519-sha256-1:mac";
constexpr std::string_view kExpand = "zmesh-ntor-x25519-sha256-1:key_expand";

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

// secret_input = XY | XB | ID | B | X | Y | PROTOID
Derived derive(const crypto::SharedSecret& xy, const crypto::SharedSecret& xb,
               const crypto::NodeId& id, const crypto::X25519Public& b,
               const crypto::X25519Public& x, const crypto::X25519Public& y) {
    std::initializer_list<ByteView> secret_input = {
        xy.view(), xb.view(), id.view(), b.view(), x.view(), y.view(), as_bytes(kProtoId)};
    Derived d;
    d.key_seed = h(kTagKey, secret_input);
    Digest verify = h(kTagVerify, secret_input);
    d.auth = h(kTagMac, {verify, id.view(), b.view(), y.view(), x.view(), as_bytes(kProtoId),
                         as_bytes("Server")});
    crypto::wipe(verify);
    return d;
}

Result<HopKeys> expand(Digest& key_seed) {
    auto okm = crypto::hkdf_sha256(key_seed, {}, as_bytes(kExpand), 4 * 32);
    crypto::wipe(key_seed);
    if (!okm) return okm.error();
    auto part = [&](std::size_t i) {
        return *crypto::SymmetricKey::from(ByteView{okm->data() + 32 * i, 32});
    };
    return HopKeys{{part(0), part(1)}, {part(2), part(3)}};
}

}  // namespace

NtorClient::NtorClient(const RelayKeys& relay)
    : relay_(relay), x_(crypto::X25519KeyPair::generate()) {
    onionskin_.resize(kNtorOnionskinSize);
    std::copy(relay.id.bytes.begin(), relay.id.bytes.end(), onionskin_.begin());
    std::copy(relay.onion.bytes.begin(), relay.onion.bytes.end(), onionskin_.begin() + 32);
    std::copy(x_.pub.bytes.begin(), x_.pub.bytes.end(), onionskin_.begin() + 64);
}

Result<HopKeys> NtorClient::finish(ByteView reply) const {
    if (reply.size() != kNtorReplySize) return Errc::bad_length;
    auto y = *crypto::X25519Public::from(reply.first(32));
    auto xy = crypto::x25519(x_.secret, y);
    auto xb = crypto::x25519(x_.secret, relay_.onion);
    if (!xy || !xb) return Errc::weak_key;
    Derived d = derive(*xy, *xb, relay_.id, relay_.onion, x_.pub, y);
    bool ok = crypto::ct_equal(d.auth, reply.subspan(32));
    if (!ok) {
        crypto::wipe(d.key_seed);
        return Errc::auth_failed;
    }
    return expand(d.key_seed);
}

Result<NtorServerResult> ntor_server(const crypto::NodeId& id, const crypto::X25519KeyPair& onion,
                                     ByteView onionskin) {
    if (onionskin.size() != kNtorOnionskinSize) return Errc::bad_length;
    // The client names the relay and key it means; anything else is not for us.
    if (!crypto::ct_equal(onionskin.first(32), id.view()) ||
        !crypto::ct_equal(onionskin.subspan(32, 32), onion.pub.view()))
        return Errc::unknown_peer;
    auto x = *crypto::X25519Public::from(onionskin.subspan(64, 32));
    auto y = crypto::X25519KeyPair::generate();
    auto xy = crypto::x25519(y.secret, x);
    auto xb = crypto::x25519(onion.secret, x);
    if (!xy || !xb) return Errc::weak_key;
    Derived d = derive(*xy, *xb, id, onion.pub, x, y.pub);
    NtorServerResult r;
    r.reply.resize(kNtorReplySize);
    std::copy(y.pub.bytes.begin(), y.pub.bytes.end(), r.reply.begin());
    std::copy(d.auth.begin(), d.auth.end(), r.reply.begin() + 32);
    auto keys = expand(d.key_seed);
    if (!keys) return keys.error();
    r.keys = std::move(*keys);
    return r;
}

}  // namespace zmesh::circuit
