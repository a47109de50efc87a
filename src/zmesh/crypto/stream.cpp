#include "zmesh/crypto/stream.hpp"

#include <sodium.h>

#include <stdexcept>

namespace zmesh::crypto {

void chacha20_xor(ByteView key, ByteView nonce, MutByteView data) {
    static_assert(crypto_stream_chacha20_ietf_KEYBYTES == kChaCha20KeySize);
    static_assert(crypto_stream_chacha20_ietf_NONCEBYTES == kChaCha20NonceSize);
    if (key.size() != kChaCha20KeySize || nonce.size() != kChaCha20NonceSize)
        throw std::invalid_argument("chacha20_xor: wrong key or nonce size");
    if (data.empty()) return;
    ensure_init();
    crypto_stream_chacha20_ietf_xor(data.data(), data.data(), data.size(), nonce.data(),
                                    key.data());
}

}  // namespace zmesh::crypto
