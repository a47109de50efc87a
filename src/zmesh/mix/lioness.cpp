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
}

void split(MutByteView block, MutByteView& left, MutByteView& right) {
    if (block.size() <= kLionessLeftSize) throw std::invalid_argument("lioness: block too short");
    left = block.first(kLionessLeftSize);
    right = block.subspan(kLionessLeftSize);
}

}  // namespace

void lioness_encrypt(const LionessKey& key, MutByteView block) {
    MutByteView l, r;
    split(block, l, r);
    stream_round(l, subkey(key, 0), r);
    hash_round(r, subkey(key, 1), l);
    stream_round(l, subkey(key, 2), r);
    hash_round(r, subkey(key, 3), l);
}

void lioness_decrypt(const LionessKey& key, MutByteView block) {
    MutByteView l, r;
    split(block, l, r);
    hash_round(r, subkey(key, 3), l);
    stream_round(l, subkey(key, 2), r);
    hash_round(r, subkey(key, 1), l);
    stream_round(l, subkey(key, 0), r);
}

}  // namespace zmesh::mix
