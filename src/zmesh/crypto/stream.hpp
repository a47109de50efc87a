#pragma once
// The ChaCha20 stream cipher alone (IETF variant, RFC 8439: 32-byte key, 12-byte nonce,
// block counter from 0), for constructions that bring their own integrity (Sphinx's
// header and LIONESS in src/zmesh/mix). Everything else wants an AEAD (aead.hpp).

#include "zmesh/crypto/secure.hpp"

namespace zmesh::crypto {

inline constexpr std::size_t kChaCha20KeySize = 32;
inline constexpr std::size_t kChaCha20NonceSize = 12;

// data ^= ChaCha20(key, nonce) from block 0, in place. A key or nonce of the wrong size is
// a programming error (std::invalid_argument), never a property of input.
void chacha20_xor(ByteView key, ByteView nonce, MutByteView data);

}  // namespace zmesh::crypto
