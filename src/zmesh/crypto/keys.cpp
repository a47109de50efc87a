#include "zmesh/crypto/keys.hpp"

#include <sodium.h>

namespace zmesh::crypto {
Ed25519KeyPair Ed25519KeyPair::generate() {
    return from_seed(random_value<Ed25519Seed>());
}

Ed25519KeyPair Ed25519KeyPair::from_seed(const Ed25519Seed& seed) {
    ensure_init();
    Ed25519KeyPair kp;
    kp.seed = seed;
    crypto_sign_seed_keypair(kp.pub.data(), kp.expanded.data(), seed.data());
    return kp;
}

Ed25519Signature Ed25519KeyPair::sign(ByteView message) const {
    Ed25519Signature sig;
    crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), expanded.data());
    return sig;
}

bool ed25519_verify(const Ed25519Public& pub, ByteView message, const Ed25519Signature& sig) {
    ensure_init();
    return crypto_sign_verify_detached(sig.data(), message.data(), message.size(), pub.data()) == 0;
}

X25519KeyPair X25519KeyPair::generate() {
    return from_secret(random_value<X25519Secret>());
}

X25519KeyPair X25519KeyPair::from_secret(const X25519Secret& secret) {
    ensure_init();
    X25519KeyPair kp;
    kp.secret = secret;
    crypto_scalarmult_base(kp.pub.data(), secret.data());
    return kp;
}

Result<SharedSecret> x25519(const X25519Secret& secret, const X25519Public& pub) {
    ensure_init();
    SharedSecret out;
    if (crypto_scalarmult(out.data(), secret.data(), pub.data()) != 0) return Errc::weak_key;
    return out;
}

}  // namespace zmesh::crypto
