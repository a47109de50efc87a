#pragma once
// Internal to the crypto layer: AES-GCM for IVs longer than OpenSSL's EVP limit.

#include "zmesh/core/result.hpp"

namespace zmesh::crypto {

inline constexpr std::size_t kEvpMaxGcmIv = 128;

Status aes_gcm_long_iv(bool encrypt, ByteView key, ByteView iv, ByteView ad, ByteView in,
                       MutByteView out);

}  // namespace zmesh::crypto
