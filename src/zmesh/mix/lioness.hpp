#pragma once
// LIONESS (Anderson and Biham, 1996): a wide-block cipher over the whole Sphinx payload
// from a stream cipher (ChaCha20) and a keyed hash (BLAKE2b-256), both libsodium's.
// Four unbalanced Feistel rounds make it a strong pseudorandom permutation: changing any
// bit of a ciphertext changes every bit of its decryption with probability 1/2.

#include "zmesh/crypto/secure.hpp"
#include "zmesh/mix/limits.hpp"

namespace zmesh::mix {

// K1 and K3 key the stream-cipher rounds, K2 and K4 the hash rounds.
using LionessKey = crypto::Secret<struct LionessKeyTag, 4 * 32>;

// In place; block.size() must exceed kLionessLeftSize (std::invalid_argument otherwise).
void lioness_encrypt(const LionessKey& key, MutByteView block);
void lioness_decrypt(const LionessKey& key, MutByteView block);

}  // namespace zmesh::mix
