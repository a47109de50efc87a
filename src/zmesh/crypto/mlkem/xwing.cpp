#include "zmesh/crypto/mlkem/xwing.hpp"

#include <cstring>

#include "zmesh/crypto/hash.hpp"
#include "zmesh/crypto/keys.hpp"

namespace zmesh::crypto::xwing {
namespace {

// The label "\./" "/^\" (hex 5c2e2f2f5e5c).
constexpr std::uint8_t kLabel[6] = {0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c};

struct Expanded {
    Secret<struct ExpandedTag, 96> bytes;  // d | z | X25519 secret
    ByteView d() const { return bytes.view().first(32); }
    ByteView z() const { return bytes.view().subspan(32, 32); }
    X25519Secret x() const { return *X25519Secret::from(bytes.view().subspan(64, 32)); }
};

Expanded expand(ByteView sk) {
    Expanded e;
    shake256(sk, e.bytes.mut_view());
    return e;
}

SharedSecret combine(const SharedSecret& ss_m, ByteView ss_x, ByteView ct_x, ByteView pk_x) {
    SecureBytes in;
    in.reserve(32 * 4 + sizeof kLabel);
    for (ByteView v : {ss_m.view(), ss_x, ct_x, pk_x, ByteView{kLabel, sizeof kLabel}})
        in.insert(in.end(), v.begin(), v.end());
    auto h = sha3_256({in.data(), in.size()});
    SharedSecret out = *SharedSecret::from(h);
    wipe(h);
    return out;
}

// X25519 as X-Wing uses it: no check for the all-zero result.
SharedSecret dh(const X25519Secret& s, ByteView pub) {
    SharedSecret out;
    auto p = *X25519Public::from(pub);
    if (auto r = x25519(s, p)) out = *r;  // a zero result stays zero
    return out;
}

}  // namespace

Result<KeyPair> keygen_from_seed(ByteView seed) {
    if (seed.size() != kSecretKeySize) return Errc::bad_length;
    auto e = expand(seed);
    auto m = mlkem::keygen_from_seed(mlkem::kMlKem768, e.d(), e.z());
    if (!m) return m.error();
    auto x = X25519KeyPair::from_secret(e.x());
    KeyPair kp;
    kp.pk = m->ek;
    kp.pk.insert(kp.pk.end(), x.pub.bytes.begin(), x.pub.bytes.end());
    kp.sk.assign(seed.begin(), seed.end());
    return kp;
}

KeyPair keygen() {
    Secret<struct SeedTag, kSecretKeySize> seed;
    random_bytes(seed.mut_view());
    return *keygen_from_seed(seed.view());
}

Result<mlkem::Encapsulation> encaps_derand(ByteView pk, ByteView eseed) {
    if (pk.size() != kPublicKeySize || eseed.size() != kEncapsSeedSize) return Errc::bad_length;
    ByteView pk_m = pk.first(1184);
    ByteView pk_x = pk.subspan(1184);
    auto m = mlkem::encaps_derand(mlkem::kMlKem768, pk_m, eseed.first(32));
    if (!m) return m.error();
    auto ek_x = X25519KeyPair::from_secret(*X25519Secret::from(eseed.subspan(32)));
    SharedSecret ss_x = dh(ek_x.secret, pk_x);
    mlkem::Encapsulation out;
    out.ciphertext = m->ciphertext;
    out.ciphertext.insert(out.ciphertext.end(), ek_x.pub.bytes.begin(), ek_x.pub.bytes.end());
    out.key = combine(m->key, ss_x.view(), ek_x.pub.view(), pk_x);
    return out;
}

Result<mlkem::Encapsulation> encaps(ByteView pk) {
    Secret<struct ESeedTag, kEncapsSeedSize> eseed;
    random_bytes(eseed.mut_view());
    return encaps_derand(pk, eseed.view());
}

Result<SharedSecret> decaps(ByteView sk, ByteView ct) {
    if (sk.size() != kSecretKeySize || ct.size() != kCiphertextSize) return Errc::bad_length;
    auto e = expand(sk);
    auto m = mlkem::keygen_from_seed(mlkem::kMlKem768, e.d(), e.z());
    if (!m) return m.error();
    auto ss_m = mlkem::decaps(mlkem::kMlKem768, {m->dk.data(), m->dk.size()}, ct.first(1088));
    if (!ss_m) return ss_m.error();
    auto x = X25519KeyPair::from_secret(e.x());
    ByteView ct_x = ct.subspan(1088);
    SharedSecret ss_x = dh(x.secret, ct_x);
    return combine(*ss_m, ss_x.view(), ct_x, x.pub.view());
}

}  // namespace zmesh::crypto::xwing
