#include "zmesh/crypto/hash.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include <stdexcept>

namespace zmesh::crypto {
namespace {

using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

void digest(const EVP_MD* md, ByteView data, MutByteView out, bool xof) {
    MdCtx ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    unsigned int len = 0;
    bool ok = ctx && EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1 &&
              EVP_DigestUpdate(ctx.get(), data.data(), data.size()) == 1 &&
              (xof ? EVP_DigestFinalXOF(ctx.get(), out.data(), out.size()) == 1
                   : EVP_DigestFinal_ex(ctx.get(), out.data(), &len) == 1);
    if (!ok) throw std::runtime_error("OpenSSL digest failed");
}

}  // namespace

ByteArray<32> sha256(ByteView data) {
    ByteArray<32> out;
    digest(EVP_sha256(), data, out, false);
    return out;
}

ByteArray<32> sha3_256(ByteView data) {
    ByteArray<32> out;
    digest(EVP_sha3_256(), data, out, false);
    return out;
}

ByteArray<64> sha3_512(ByteView data) {
    ByteArray<64> out;
    digest(EVP_sha3_512(), data, out, false);
    return out;
}

void shake128(ByteView data, MutByteView out) {
    digest(EVP_shake128(), data, out, true);
}
void shake256(ByteView data, MutByteView out) {
    digest(EVP_shake256(), data, out, true);
}

void blake2b(MutByteView out, ByteView data, ByteView key) {
    ensure_init();
    if (out.size() < crypto_generichash_BYTES_MIN || out.size() > crypto_generichash_BYTES_MAX ||
        key.size() > crypto_generichash_KEYBYTES_MAX)
        throw std::invalid_argument("blake2b: output or key size out of range");
    crypto_generichash(out.data(), out.size(), data.data(), data.size(),
                       key.empty() ? nullptr : key.data(), key.size());
}

std::size_t hash_len(HashAlg alg) {
    return alg == HashAlg::sha256 ? 32 : 64;
}

void hash(HashAlg alg, ByteView data, MutByteView out) {
    if (out.size() != hash_len(alg)) throw std::invalid_argument("hash: wrong output size");
    if (alg == HashAlg::sha256) {
        digest(EVP_sha256(), data, out, false);
    } else {
        blake2b(out, data);
    }
}

void hmac(HashAlg alg, ByteView key, std::initializer_list<ByteView> parts, MutByteView out) {
    if (out.size() != hash_len(alg)) throw std::invalid_argument("hmac: wrong output size");
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) throw std::runtime_error("OpenSSL has no HMAC");
    char sha[] = "SHA256";
    char b2[] = "BLAKE2B-512";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string("digest", alg == HashAlg::sha256 ? sha : b2, 0),
        OSSL_PARAM_construct_end()};
    std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_new(mac),
                                                                  &EVP_MAC_CTX_free);
    std::uint8_t empty = 0;
    std::size_t len = 0;
    bool ok =
        ctx && EVP_MAC_init(ctx.get(), key.empty() ? &empty : key.data(), key.size(), params) == 1;
    for (ByteView p : parts) ok = ok && EVP_MAC_update(ctx.get(), p.data(), p.size()) == 1;
    ok = ok && EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) == 1;
    if (!ok) throw std::runtime_error("OpenSSL HMAC failed");
}

Result<SecureBytes> hkdf_sha256(ByteView ikm, ByteView salt, ByteView info, std::size_t size) {
    constexpr std::size_t kLen = 32;
    if (size > 255 * kLen) return Errc::oversized;
    Secret<struct PrkTag, kLen> prk;
    ByteArray<kLen> zero_salt{};
    hmac(HashAlg::sha256, salt.empty() ? ByteView{zero_salt} : salt, {ikm}, prk.mut_view());
    SecureBytes out;
    out.reserve(size);
    Secret<struct BlockTag, kLen> block;
    std::size_t block_len = 0;
    for (std::uint8_t i = 1; out.size() < size; ++i) {
        ByteView prev{block.data(), block_len};
        hmac(HashAlg::sha256, prk.view(), {prev, info, ByteView{&i, 1}}, block.mut_view());
        block_len = kLen;
        std::size_t take = std::min(kLen, size - out.size());
        out.insert(out.end(), block.data(), block.data() + take);
    }
    return out;
}

}  // namespace zmesh::crypto
