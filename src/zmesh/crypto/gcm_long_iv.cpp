// AES-GCM with IVs longer than 128 bytes, which OpenSSL 3's EVP interface refuses.
// zmesh itself only ever uses 96-bit IVs; this path exists so the AES-GCM interface
// accepts every IV length the standard allows (it is OpenSSL's own GCM, not ours).
// The legacy AES block function it needs is table-based, so it is not for secrets
// that an attacker can time; nothing on the wire reaches it.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/aes.h>
#include <openssl/modes.h>

#include "zmesh/crypto/aead.hpp"
#include "zmesh/crypto/gcm_long_iv.hpp"

namespace zmesh::crypto {

Status aes_gcm_long_iv(bool encrypt, ByteView key, ByteView iv, ByteView ad, ByteView in,
                       MutByteView out) {
    if (key.size() != 16 && key.size() != 24 && key.size() != 32) return Errc::bad_length;
    if (!encrypt && in.size() < kAeadTagSize) return Errc::truncated;
    std::size_t body = encrypt ? in.size() : in.size() - kAeadTagSize;
    if (out.size() < (encrypt ? body + kAeadTagSize : body)) return Errc::bad_length;
    AES_KEY aes;
    AES_set_encrypt_key(key.data(), static_cast<int>(key.size() * 8), &aes);
    GCM128_CONTEXT* ctx = CRYPTO_gcm128_new(&aes, reinterpret_cast<block128_f>(AES_encrypt));
    if (ctx == nullptr) return Errc::exhausted;
    CRYPTO_gcm128_setiv(ctx, iv.data(), iv.size());
    Status st;
    if (CRYPTO_gcm128_aad(ctx, ad.data(), ad.size()) != 0) st = Errc::malformed;
    if (st && encrypt) {
        if (CRYPTO_gcm128_encrypt(ctx, in.data(), out.data(), body) != 0) st = Errc::malformed;
        if (st) CRYPTO_gcm128_tag(ctx, out.data() + body, kAeadTagSize);
    } else if (st) {
        if (CRYPTO_gcm128_decrypt(ctx, in.data(), out.data(), body) != 0) st = Errc::malformed;
        if (st && CRYPTO_gcm128_finish(ctx, in.data() + body, kAeadTagSize) != 0) {
            wipe(out.first(body));
            st = Errc::auth_failed;
        }
    }
    CRYPTO_gcm128_release(ctx);
    wipe(&aes, sizeof aes);
    return st;
}

}  // namespace zmesh::crypto
