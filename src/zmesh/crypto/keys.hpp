#pragma once
// Ed25519 signatures and X25519 key agreement (libsodium).

#include "zmesh/core/result.hpp"
#include "zmesh/crypto/secure.hpp"

namespace zmesh::crypto {

using Ed25519Expanded = Secret<struct Ed25519ExpandedTag, 64>;

struct Ed25519KeyPair {
    Ed25519Seed seed;
    Ed25519Public pub;
    Ed25519Expanded expanded;  // libsodium's signing key: seed || public key

    static Ed25519KeyPair generate();
    static Ed25519KeyPair from_seed(const Ed25519Seed& seed);
    Ed25519Signature sign(ByteView message) const;
};

bool ed25519_verify(const Ed25519Public& pub, ByteView message, const Ed25519Signature& sig);

struct X25519KeyPair {
    X25519Secret secret;
    X25519Public pub;

    static X25519KeyPair generate();
    static X25519KeyPair from_secret(const X25519Secret& secret);
};

// X25519(secret, public). An all-zero result (a low-order public key) is an error.
Result<SharedSecret> x25519(const X25519Secret& secret, const X25519Public& pub);

}  // namespace zmesh::crypto
