#include "zmesh/crypto/selftest.hpp"

#include <functional>

#include "zmesh/crypto/aead.hpp"
#include "zmesh/crypto/hash.hpp"
#include "zmesh/crypto/keys.hpp"
#include "zmesh/crypto/mlkem/mlkem.hpp"
#include "zmesh/crypto/mlkem/xwing.hpp"

namespace zmesh::crypto {
namespace {

Bytes h(std::string_view hex) {
    return *from_hex(hex);
}

bool sha3() {
    return to_hex(sha3_256(as_bytes("abc"))) ==
           "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532";
}

bool shake() {
    ByteArray<32> out;
    shake128(as_bytes(""), out);
    return to_hex(out) == "7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26";
}

bool blake() {
    ByteArray<64> out;
    blake2b(out, as_bytes("abc"));
    return to_hex(out).starts_with(
        "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1");
}

bool hkdf() {  // RFC 5869, test case 1
    auto okm = hkdf_sha256(h("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
                           h("000102030405060708090a0b0c"), h("f0f1f2f3f4f5f6f7f8f9"), 42);
    return okm && to_hex(ByteView{okm->data(), okm->size()}) ==
                      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b8"
                      "87185865";
}

bool chacha() {  // RFC 8439, 2.8.2 (first 16 bytes of the message)
    Bytes key = h("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    Bytes msg =
        h("4c616469657320616e642047656e746c656d656e206f662074686520636c617373206f66202739393a"
          "204966204920636f756c64206f6666657220796f75206f6e6c79206f6e652074697020666f72207468"
          "65206675747572652c2073756e73637265656e20776f756c642062652069742e");
    Bytes out(msg.size() + kAeadTagSize);
    if (!chacha20poly1305_seal(key, h("070000004041424344454647"), h("50515253c0c1c2c3c4c5c6c7"),
                               msg, out))
        return false;
    Bytes back(msg.size());
    return to_hex(ByteView{out}.last(16)) == "1ae10b594f09e26a7e902ecbd0600691" &&
           chacha20poly1305_open(key, h("070000004041424344454647"), h("50515253c0c1c2c3c4c5c6c7"),
                                 out, back) &&
           back == msg;
}

bool gcm() {  // Wycheproof aes_gcm_test.json, tcId 100
    Bytes out(20 + kAeadTagSize);
    bool ok = !!aes_gcm_seal(h("b279f57e19c8f53f2f963f5f2519fdb7c1779be2ca2b3ae8e1128b7d6c627fc4"),
                             h("98bc2c7438d5cd7665d76f6e"), h("c0"),
                             h("fcc515b294408c8645c9183e3f4ecee5127846d1"), out);
    return ok && to_hex(out) ==
                     "eb5500e3825952866d911253f8de860c00831c81ecb660e1fb0541ec41e8d68a64141b3a";
}

bool x25519_kat() {  // RFC 7748, 6.1
    auto kp = X25519KeyPair::from_secret(
        *X25519Secret::from(h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")));
    return to_hex(kp.pub.view()) ==
           "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
}

bool ed25519_kat() {  // RFC 8032, 7.1 test 1
    auto kp = Ed25519KeyPair::from_seed(
        *Ed25519Seed::from(h("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")));
    auto sig = kp.sign({});
    return to_hex(kp.pub.view()) ==
               "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a" &&
           to_hex(sig.view()) ==
               "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61"
               "e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" &&
           ed25519_verify(kp.pub, {}, sig);
}

// Fixed seeds (bytes 0..31, 32..63, 64..95); the digest covers ek, dk, ciphertext and key.
// The implementation that produced these passes every Wycheproof ML-KEM vector.
bool mlkem_kat(const mlkem::Params& p, std::string_view digest) {
    Bytes d(32), z(32), m(32);
    for (int i = 0; i < 32; ++i) {
        d[i] = static_cast<std::uint8_t>(i);
        z[i] = static_cast<std::uint8_t>(32 + i);
        m[i] = static_cast<std::uint8_t>(64 + i);
    }
    auto kp = mlkem::keygen_from_seed(p, d, z);
    if (!kp) return false;
    auto e = mlkem::encaps_derand(p, kp->ek, m);
    if (!e) return false;
    auto k = mlkem::decaps(p, {kp->dk.data(), kp->dk.size()}, e->ciphertext);
    Bytes all = kp->ek;
    all.insert(all.end(), kp->dk.begin(), kp->dk.end());
    all.insert(all.end(), e->ciphertext.begin(), e->ciphertext.end());
    all.insert(all.end(), e->key.view().begin(), e->key.view().end());
    return k && k->ct_equals(e->key) && to_hex(sha3_256(all)) == digest;
}

bool xwing_kat() {
    auto kp = xwing::keygen();
    auto e = xwing::encaps(kp.pk);
    auto k = e ? xwing::decaps({kp.sk.data(), kp.sk.size()}, e->ciphertext)
               : Result<SharedSecret>(Errc::bad_state);
    return e && k && k->ct_equals(e->key);
}

}  // namespace

std::vector<SelftestResult> run_selftest() {
    ensure_init();
    const std::pair<const char*, std::function<bool()>> checks[] = {
        {"SHA3-256", sha3},
        {"SHAKE128", shake},
        {"BLAKE2b-512", blake},
        {"HKDF-SHA256 (RFC 5869)", hkdf},
        {"ChaCha20-Poly1305 (RFC 8439)", chacha},
        {"AES-256-GCM", gcm},
        {"X25519 (RFC 7748)", x25519_kat},
        {"Ed25519 (RFC 8032)", ed25519_kat},
        {"ML-KEM-768",
         [] {
             return mlkem_kat(mlkem::kMlKem768,
                              "04182bace5128633e0238b75c770fff441992a875058fec5b1c75a2bc9d0ca00");
         }},
        {"ML-KEM-1024",
         [] {
             return mlkem_kat(mlkem::kMlKem1024,
                              "c65104220bac53e5f1e819d29048ce747e19bb5e30390a1732aa124faf71f725");
         }},
        {"X-Wing round trip", xwing_kat},
    };
    std::vector<SelftestResult> out;
    for (const auto& [name, fn] : checks) {
        bool ok = false;
        try {
            ok = fn();
        } catch (...) {
            ok = false;
        }
        out.push_back({name, ok});
    }
    return out;
}

bool selftest_passes() {
    for (const auto& r : run_selftest())
        if (!r.ok) return false;
    return true;
}

}  // namespace zmesh::crypto
