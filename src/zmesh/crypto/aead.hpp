#pragma once
// Authenticated encryption: ChaCha20-Poly1305 (IETF), XChaCha20-Poly1305, AES-GCM.
// Every function accepts in-place use (out aliases the input).

#include <memory>

#include "zmesh/core/result.hpp"
#include "zmesh/crypto/secure.hpp"

namespace zmesh::crypto {

inline constexpr std::size_t kAeadTagSize = 16;

// Raw span interfaces: sizes are checked and a wrong key or nonce size is an error value.
// Seal writes plaintext.size() + 16 bytes; open writes ciphertext.size() - 16 bytes.
Status chacha20poly1305_seal(ByteView key, ByteView nonce, ByteView ad, ByteView plaintext,
                             MutByteView out);
Status chacha20poly1305_open(ByteView key, ByteView nonce, ByteView ad, ByteView ciphertext,
                             MutByteView out);
Status xchacha20poly1305_seal(ByteView key, ByteView nonce, ByteView ad, ByteView plaintext,
                              MutByteView out);
Status xchacha20poly1305_open(ByteView key, ByteView nonce, ByteView ad, ByteView ciphertext,
                              MutByteView out);
// AES-GCM with a 128, 192 or 256-bit key and any non-empty IV (OpenSSL; AES-NI when present).
Status aes_gcm_seal(ByteView key, ByteView iv, ByteView ad, ByteView plaintext, MutByteView out);
Status aes_gcm_open(ByteView key, ByteView iv, ByteView ad, ByteView ciphertext, MutByteView out);

// True when the CPU has AES-NI and PCLMULQDQ, so AES-GCM is fast and constant-time.
bool aes_gcm_hardware_available();

enum class AeadAlg : std::uint8_t { chacha20_poly1305 = 1, aes256_gcm = 2 };

// A keyed AEAD for the data path: the key schedule is computed once.
class AeadKey {
  public:
    AeadKey(AeadAlg alg, const SymmetricKey& key);
    ~AeadKey();
    AeadKey(AeadKey&&) noexcept;
    AeadKey& operator=(AeadKey&&) noexcept;
    AeadKey(const AeadKey&) = delete;
    AeadKey& operator=(const AeadKey&) = delete;

    AeadAlg alg() const { return alg_; }
    Status seal(const AeadNonce& nonce, ByteView ad, ByteView plaintext, MutByteView out) const;
    Status open(const AeadNonce& nonce, ByteView ad, ByteView ciphertext, MutByteView out) const;

  private:
    struct Gcm;
    AeadAlg alg_;
    SymmetricKey key_;
    std::unique_ptr<Gcm> gcm_;
};

}  // namespace zmesh::crypto
