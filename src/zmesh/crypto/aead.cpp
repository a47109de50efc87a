#include "zmesh/crypto/aead.hpp"
#include "zmesh/crypto/gcm_long_iv.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <climits>

namespace zmesh::crypto {
namespace {

Status check_sizes(ByteView in, MutByteView out, std::size_t expected_out) {
    if (out.size() < expected_out) return Errc::bad_length;
    if (in.size() > INT_MAX / 2) return Errc::oversized;
    return {};
}

using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const EVP_CIPHER* gcm_cipher(std::size_t key_size) {
    switch (key_size) {
        case 16:
            return EVP_aes_128_gcm();
        case 24:
            return EVP_aes_192_gcm();
        case 32:
            return EVP_aes_256_gcm();
        default:
            return nullptr;
    }
}

// One GCM operation on a context that already holds the key.
Status gcm_run(EVP_CIPHER_CTX* ctx, bool encrypt, ByteView iv, ByteView ad, ByteView in,
               MutByteView out) {
    if (iv.empty() || iv.size() > kEvpMaxGcmIv) return Errc::bad_length;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()), nullptr) != 1)
        return Errc::bad_length;
    if (EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, iv.data(), encrypt ? 1 : 0) != 1)
        return Errc::malformed;
    int len = 0;
    if (!ad.empty() &&
        EVP_CipherUpdate(ctx, nullptr, &len, ad.data(), static_cast<int>(ad.size())) != 1)
        return Errc::malformed;
    std::size_t body = encrypt ? in.size() : in.size() - kAeadTagSize;
    if (body > 0 && EVP_CipherUpdate(ctx, out.data(), &len, in.data(), static_cast<int>(body)) != 1)
        return Errc::malformed;
    if (encrypt) {
        if (EVP_CipherFinal_ex(ctx, out.data() + body, &len) != 1) return Errc::malformed;
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kAeadTagSize, out.data() + body) != 1)
            return Errc::malformed;
        return {};
    }
    ByteArray<kAeadTagSize> tag;
    std::copy(in.end() - kAeadTagSize, in.end(), tag.begin());
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kAeadTagSize, tag.data()) != 1)
        return Errc::malformed;
    if (EVP_CipherFinal_ex(ctx, out.data() + body, &len) != 1) {
        wipe(out.first(body));
        return Errc::auth_failed;
    }
    return {};
}

Status gcm_oneshot(bool encrypt, ByteView key, ByteView iv, ByteView ad, ByteView in,
                   MutByteView out) {
    if (iv.size() > kEvpMaxGcmIv) return aes_gcm_long_iv(encrypt, key, iv, ad, in, out);
    const EVP_CIPHER* cipher = gcm_cipher(key.size());
    if (cipher == nullptr) return Errc::bad_length;
    if (!encrypt && in.size() < kAeadTagSize) return Errc::truncated;
    auto st = check_sizes(in, out, encrypt ? in.size() + kAeadTagSize : in.size() - kAeadTagSize);
    if (!st) return st;
    CtxPtr ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
    if (!ctx) return Errc::exhausted;
    if (EVP_CipherInit_ex(ctx.get(), cipher, nullptr, key.data(), nullptr, encrypt ? 1 : 0) != 1)
        return Errc::malformed;
    return gcm_run(ctx.get(), encrypt, iv, ad, in, out);
}

}  // namespace

Status chacha20poly1305_seal(ByteView key, ByteView nonce, ByteView ad, ByteView plaintext,
                             MutByteView out) {
    ensure_init();
    if (key.size() != crypto_aead_chacha20poly1305_ietf_KEYBYTES ||
        nonce.size() != crypto_aead_chacha20poly1305_ietf_NPUBBYTES)
        return Errc::bad_length;
    if (auto st = check_sizes(plaintext, out, plaintext.size() + kAeadTagSize); !st) return st;
    crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), nullptr, plaintext.data(),
                                              plaintext.size(), ad.data(), ad.size(), nullptr,
                                              nonce.data(), key.data());
    return {};
}

Status chacha20poly1305_open(ByteView key, ByteView nonce, ByteView ad, ByteView ciphertext,
                             MutByteView out) {
    ensure_init();
    if (key.size() != crypto_aead_chacha20poly1305_ietf_KEYBYTES ||
        nonce.size() != crypto_aead_chacha20poly1305_ietf_NPUBBYTES)
        return Errc::bad_length;
    if (ciphertext.size() < kAeadTagSize) return Errc::truncated;
    if (auto st = check_sizes(ciphertext, out, ciphertext.size() - kAeadTagSize); !st) return st;
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), nullptr, nullptr, ciphertext.data(),
                                                  ciphertext.size(), ad.data(), ad.size(),
                                                  nonce.data(), key.data()) != 0)
        return Errc::auth_failed;
    return {};
}

Status xchacha20poly1305_seal(ByteView key, ByteView nonce, ByteView ad, ByteView plaintext,
                              MutByteView out) {
    ensure_init();
    if (key.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES ||
        nonce.size() != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
        return Errc::bad_length;
    if (auto st = check_sizes(plaintext, out, plaintext.size() + kAeadTagSize); !st) return st;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), nullptr, plaintext.data(),
                                               plaintext.size(), ad.data(), ad.size(), nullptr,
                                               nonce.data(), key.data());
    return {};
}

Status xchacha20poly1305_open(ByteView key, ByteView nonce, ByteView ad, ByteView ciphertext,
                              MutByteView out) {
    ensure_init();
    if (key.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES ||
        nonce.size() != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
        return Errc::bad_length;
    if (ciphertext.size() < kAeadTagSize) return Errc::truncated;
    if (auto st = check_sizes(ciphertext, out, ciphertext.size() - kAeadTagSize); !st) return st;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), nullptr, nullptr, ciphertext.data(),
                                                   ciphertext.size(), ad.data(), ad.size(),
                                                   nonce.data(), key.data()) != 0)
        return Errc::auth_failed;
    return {};
}

Status aes_gcm_seal(ByteView key, ByteView iv, ByteView ad, ByteView plaintext, MutByteView out) {
    return gcm_oneshot(true, key, iv, ad, plaintext, out);
}

Status aes_gcm_open(ByteView key, ByteView iv, ByteView ad, ByteView ciphertext, MutByteView out) {
    return gcm_oneshot(false, key, iv, ad, ciphertext, out);
}

bool aes_gcm_hardware_available() {
    ensure_init();
    return crypto_aead_aes256gcm_is_available() == 1;
}

struct AeadKey::Gcm {
    CtxPtr enc{EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free};
    CtxPtr dec{EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free};
};

AeadKey::AeadKey(AeadAlg alg, const SymmetricKey& key) : alg_(alg), key_(key) {
    if (alg_ == AeadAlg::aes256_gcm) {
        gcm_ = std::make_unique<Gcm>();
        if (!gcm_->enc || !gcm_->dec ||
            EVP_CipherInit_ex(gcm_->enc.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nullptr,
                              1) != 1 ||
            EVP_CipherInit_ex(gcm_->dec.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nullptr,
                              0) != 1)
            throw std::runtime_error("AES-256-GCM context setup failed");
    }
}

AeadKey::~AeadKey() = default;
AeadKey::AeadKey(AeadKey&&) noexcept = default;
AeadKey& AeadKey::operator=(AeadKey&&) noexcept = default;

Status AeadKey::seal(const AeadNonce& nonce, ByteView ad, ByteView plaintext,
                     MutByteView out) const {
    if (alg_ == AeadAlg::chacha20_poly1305)
        return chacha20poly1305_seal(key_.view(), nonce.view(), ad, plaintext, out);
    if (auto st = check_sizes(plaintext, out, plaintext.size() + kAeadTagSize); !st) return st;
    return gcm_run(gcm_->enc.get(), true, nonce.view(), ad, plaintext, out);
}

Status AeadKey::open(const AeadNonce& nonce, ByteView ad, ByteView ciphertext,
                     MutByteView out) const {
    if (alg_ == AeadAlg::chacha20_poly1305)
        return chacha20poly1305_open(key_.view(), nonce.view(), ad, ciphertext, out);
    if (ciphertext.size() < kAeadTagSize) return Errc::truncated;
    if (auto st = check_sizes(ciphertext, out, ciphertext.size() - kAeadTagSize); !st) return st;
    return gcm_run(gcm_->dec.get(), false, nonce.view(), ad, ciphertext, out);
}

}  // namespace zmesh::crypto
