#include "zmesh/mix/lioness.hpp"

#include <stdexcept>

#include "zmesh/crypto/hash.hpp"
#include "zmesh/crypto/stream.hpp"

namespace zmesh::mix {
namespace {

constexpr ByteArray<crypto::kChaCha20NonceSize> kZeroNonce{};

ByteView subkey(const LionessKey& key, std::size_t i) {
    return key.view().subspan(32 * i, 32);
}

// right ^= ChaCha20(left ^ k): the key is used for this one block only, so a zero nonce.
void stream_round(ByteView left, ByteView k, MutByteView right) {
    crypto::Secret<struct RoundKeyTag, 32> round_key;
    for (std::size_t i = 0; i < 32; ++i) round_key.data()[i] = left[i] ^ k[i];
    crypto::chacha20_xor(round_key.view(), kZeroNonce, right);
}

// left ^= BLAKE2b-256(key = k, right).
void hash_round(ByteView right, ByteView k, MutByteView left) {
    ByteArray<32> h;
    crypto::blake2b(h, right, k);
    for (std::size_t i = 0; i < 32; ++i) left[i] ^= h[i];
    crypto::wipe(h);
}

// Rounds 0 and 2 are stream rounds keyed by K1 and K3, rounds 1 and 3 hash rounds keyed
// by K2 and K4; decryption runs them backwards.
void rounds(const LionessKey& key, MutByteView block, bool decrypt) {
    if (block.size() <= kLionessLeftSize) throw std::invalid_argument("lioness: block too short");
    const MutByteView left = block.first(kLionessLeftSize);
    const MutByteView right = block.subspan(kLionessLeftSize);
    for (std::size_t n = 0; n < 4; ++n) {
        const std::size_t i = decrypt ? 3 - n : n;
        if (i % 2 == 0)
            stream_round(left, subkey(key, i), right);
        else
            hash_round(right, subkey(key, i), left);
    }
}

}  // namespace

void lioness_encrypt(const LionessKey& key, MutByteView block) {
    rounds(key, block, false);
}

void lioness_decrypt(const LionessKey& key, MutByteView block) {
    rounds(key, block, true);
}

}  // namespace zmesh::mix
