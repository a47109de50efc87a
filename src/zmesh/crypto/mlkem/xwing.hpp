#pragma once
// X-Wing: the hybrid KEM of ML-KEM-768 and X25519 with a SHA3-256 combiner
// (draft-connolly-cfrg-xwing-kem). Secure if either component is.

#include "zmesh/crypto/mlkem/mlkem.hpp"

namespace zmesh::crypto::xwing {

inline constexpr std::size_t kSecretKeySize = 32;
inline constexpr std::size_t kPublicKeySize = 1184 + 32;
inline constexpr std::size_t kCiphertextSize = 1088 + 32;
inline constexpr std::size_t kEncapsSeedSize = 64;

struct KeyPair {
    Bytes pk;
    SecureBytes sk;  // the 32-byte seed; expanded on use
};

KeyPair keygen();
Result<KeyPair> keygen_from_seed(ByteView seed);
Result<mlkem::Encapsulation> encaps(ByteView pk);
Result<mlkem::Encapsulation> encaps_derand(ByteView pk, ByteView eseed);
Result<SharedSecret> decaps(ByteView sk, ByteView ct);

}  // namespace zmesh::crypto::xwing
