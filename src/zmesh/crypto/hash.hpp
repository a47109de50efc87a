#pragma once
// Hashes, MACs and key derivation: SHA-256, SHA3/SHAKE (OpenSSL), BLAKE2b (libsodium),
// HMAC over SHA-256 or BLAKE2b-512, HKDF-SHA256 (RFC 5869).

#include "zmesh/core/result.hpp"
#include "zmesh/crypto/secure.hpp"

namespace zmesh::crypto {

ByteArray<32> sha256(ByteView data);
ByteArray<32> sha3_256(ByteView data);
ByteArray<64> sha3_512(ByteView data);
// SHAKE output of out.size() bytes in one squeeze.
void shake128(ByteView data, MutByteView out);
void shake256(ByteView data, MutByteView out);

// BLAKE2b with an output of 1..64 bytes and an optional key of up to 64 bytes.
void blake2b(MutByteView out, ByteView data, ByteView key = {});

enum class HashAlg : std::uint8_t { sha256 = 1, blake2b = 2 };
std::size_t hash_len(HashAlg alg);
// HASH(data) with the algorithm's full output length (32 or 64 bytes) written to out.
void hash(HashAlg alg, ByteView data, MutByteView out);
// HMAC with the algorithm's full output length written to out.
void hmac(HashAlg alg, ByteView key, std::initializer_list<ByteView> parts, MutByteView out);

// RFC 5869 HKDF-SHA256; fails when size exceeds 255 * 32.
Result<SecureBytes> hkdf_sha256(ByteView ikm, ByteView salt, ByteView info, std::size_t size);

}  // namespace zmesh::crypto
