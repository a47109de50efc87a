#pragma once
// ML-KEM (FIPS 203), parameter sets ML-KEM-768 and ML-KEM-1024, written from the
// standard in portable C++. Secret-dependent code has no branches and no secret memory
// indices (checked under valgrind, tests/crypto/mlkem_ct_check.cpp); SHA3 and SHAKE come
// from OpenSSL.

#include <utility>

#include "zmesh/core/result.hpp"
#include "zmesh/crypto/secure.hpp"

namespace zmesh::crypto::mlkem {

struct Params {
    const char* name;
    int k;
    int eta1;
    int eta2;
    int du;
    int dv;
    std::size_t ek_size() const { return 384 * static_cast<std::size_t>(k) + 32; }
    std::size_t dk_size() const { return 768 * static_cast<std::size_t>(k) + 96; }
    std::size_t ct_size() const { return 32 * static_cast<std::size_t>(du * k + dv); }
};

inline constexpr Params kMlKem768{"ML-KEM-768", 3, 2, 2, 10, 4};
inline constexpr Params kMlKem1024{"ML-KEM-1024", 4, 2, 2, 11, 5};

inline constexpr std::size_t kSeedSize = 32;  // d, z and m are 32 bytes each
inline constexpr std::size_t kSharedSecretSize = 32;

struct KeyPair {
    Bytes ek;        // encapsulation key (public)
    SecureBytes dk;  // decapsulation key (secret)
};

struct Encapsulation {
    Bytes ciphertext;
    SharedSecret key;
};

// ML-KEM.KeyGen with fresh randomness, and from the seeds d and z (Algorithm 16).
KeyPair keygen(const Params& p);
Result<KeyPair> keygen_from_seed(const Params& p, ByteView d, ByteView z);

// ML-KEM.Encaps: checks the encapsulation key (length and modulus, FIPS 203 7.2).
Result<Encapsulation> encaps(const Params& p, ByteView ek);
Result<Encapsulation> encaps_derand(const Params& p, ByteView ek, ByteView m);

// ML-KEM.Decaps with implicit rejection: checks lengths and the hash in dk (7.3); a
// ciphertext that does not re-encrypt gives a pseudorandom key, not an error.
Result<SharedSecret> decaps(const Params& p, ByteView dk, ByteView ciphertext);

}  // namespace zmesh::crypto::mlkem
