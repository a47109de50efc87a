#include "zmesh/link/noise/handshake.hpp"

#include <algorithm>

#include "zmesh/crypto/mlkem/mlkem.hpp"

namespace zmesh::link::noise {

using crypto::AeadAlg;
using crypto::HashAlg;

std::string protocol_name(Pattern pattern, Suite suite, bool hybrid) {
    std::string name = "Noise_";
    name += pattern == Pattern::NK ? "NK" : pattern == Pattern::IK ? "IK" : "XK";
    name += hybrid ? "hfs_25519+MLKEM768_" : "_25519_";
    name += suite.cipher == AeadAlg::chacha20_poly1305 ? "ChaChaPoly" : "AESGCM";
    name += suite.hash == HashAlg::sha256 ? "_SHA256" : "_BLAKE2b";
    return name;
}

std::optional<ParsedName> parse_protocol_name(std::string_view name) {
    for (Pattern p : {Pattern::NK, Pattern::IK, Pattern::XK})
        for (AeadAlg c : {AeadAlg::chacha20_poly1305, AeadAlg::aes256_gcm})
            for (HashAlg h : {HashAlg::sha256, HashAlg::blake2b})
                if (protocol_name(p, Suite{c, h}) == name) return ParsedName{p, Suite{c, h}};
    return std::nullopt;
}

std::size_t message_count(Pattern pattern) {
    return pattern == Pattern::XK ? 3 : 2;
}

// ---- CipherState -------------------------------------------------------------------------

CipherState::CipherState(AeadAlg alg, const crypto::SymmetricKey& key) : alg_(alg), key_(key) {}

crypto::AeadNonce CipherState::encode_nonce(AeadAlg alg, std::uint64_t n) {
    crypto::AeadNonce nonce;  // 4 zero bytes, then the counter
    if (alg == AeadAlg::chacha20_poly1305) {
        store_u64_le(nonce.data() + 4, n);
    } else {
        store_u64_be(nonce.data() + 4, n);
    }
    return nonce;
}

Result<Bytes> CipherState::encrypt_with_ad(ByteView ad, ByteView plaintext) {
    if (!key_) return Bytes(plaintext.begin(), plaintext.end());
    if (n_ == UINT64_MAX) return Errc::exhausted;
    Bytes out(plaintext.size() + crypto::kAeadTagSize);
    auto nonce = encode_nonce(alg_, n_);
    Status st = alg_ == AeadAlg::chacha20_poly1305
                    ? crypto::chacha20poly1305_seal(key_->view(), nonce.view(), ad, plaintext, out)
                    : crypto::aes_gcm_seal(key_->view(), nonce.view(), ad, plaintext, out);
    if (!st) return st.error();
    ++n_;
    return out;
}

Result<Bytes> CipherState::decrypt_with_ad(ByteView ad, ByteView ciphertext) {
    if (!key_) return Bytes(ciphertext.begin(), ciphertext.end());
    if (n_ == UINT64_MAX) return Errc::exhausted;
    if (ciphertext.size() < crypto::kAeadTagSize) return Errc::truncated;
    Bytes out(ciphertext.size() - crypto::kAeadTagSize);
    auto nonce = encode_nonce(alg_, n_);
    Status st = alg_ == AeadAlg::chacha20_poly1305
                    ? crypto::chacha20poly1305_open(key_->view(), nonce.view(), ad, ciphertext, out)
                    : crypto::aes_gcm_open(key_->view(), nonce.view(), ad, ciphertext, out);
    if (!st) return st.error();
    ++n_;
    return out;
}

// ---- HandshakeState ----------------------------------------------------------------------

const std::vector<std::vector<HandshakeState::Token>>& HandshakeState::messages() const {
    using T = Token;
    static const std::vector<std::vector<T>> nk{{T::e, T::es}, {T::e, T::ee}};
    static const std::vector<std::vector<T>> ik{{T::e, T::es, T::s, T::ss}, {T::e, T::ee, T::se}};
    static const std::vector<std::vector<T>> xk{{T::e, T::es}, {T::e, T::ee}, {T::s, T::se}};
    // HFS: e1 ends the first message, ekem1 follows ee in the second.
    static const std::vector<std::vector<T>> nk_hfs{{T::e, T::es, T::e1}, {T::e, T::ee, T::ekem1}};
    static const std::vector<std::vector<T>> ik_hfs{{T::e, T::es, T::s, T::ss, T::e1},
                                                    {T::e, T::ee, T::ekem1, T::se}};
    static const std::vector<std::vector<T>> xk_hfs{
        {T::e, T::es, T::e1}, {T::e, T::ee, T::ekem1}, {T::s, T::se}};
    switch (cfg_.pattern) {
        case Pattern::NK:
            return cfg_.hybrid ? nk_hfs : nk;
        case Pattern::IK:
            return cfg_.hybrid ? ik_hfs : ik;
        case Pattern::XK:
            return cfg_.hybrid ? xk_hfs : xk;
    }
    return nk;
}

HandshakeState::HandshakeState(HandshakeConfig config) : cfg_(std::move(config)) {}

Result<HandshakeState> HandshakeState::create(HandshakeConfig config) {
    // All three patterns pre-share the responder's static key ("<- s").
    bool initiator = config.role == Role::initiator;
    if (initiator && !config.remote_static) return Errc::bad_state;
    if (!initiator && !config.local_static) return Errc::bad_state;
    if (initiator && config.pattern != Pattern::NK && !config.local_static) return Errc::bad_state;
    if (!initiator) config.remote_static.reset();  // learned from the handshake, if at all

    HandshakeState hs(std::move(config));
    std::string name = protocol_name(hs.cfg_.pattern, hs.cfg_.suite, hs.cfg_.hybrid);
    std::size_t hl = hs.hlen();
    if (name.size() <= hl) {
        std::copy(name.begin(), name.end(), hs.h_.begin());
    } else {
        crypto::hash(hs.cfg_.suite.hash, as_bytes(name), {hs.h_.data(), hl});
    }
    std::copy(hs.h_.begin(), hs.h_.begin() + hl, hs.ck_.data());
    hs.mix_hash(hs.cfg_.prologue);
    const crypto::X25519Public& responder_static =
        initiator ? *hs.cfg_.remote_static : hs.cfg_.local_static->pub;
    hs.mix_hash(responder_static.view());
    return hs;
}

bool HandshakeState::my_turn() const {
    if (complete()) return false;
    bool initiator_turn = index_ % 2 == 0;
    return initiator_turn == (cfg_.role == Role::initiator);
}

void HandshakeState::mix_hash(ByteView data) {
    std::size_t hl = hlen();
    Bytes buf(h_.begin(), h_.begin() + hl);
    buf.insert(buf.end(), data.begin(), data.end());
    crypto::hash(cfg_.suite.hash, buf, {h_.data(), hl});
}

void HandshakeState::hkdf(ByteView ikm, std::size_t outputs, MutByteView out1,
                          MutByteView out2) const {
    std::size_t hl = hlen();
    crypto::Secret<struct TempKeyTag, 64> temp;
    crypto::hmac(cfg_.suite.hash, ck_.view().first(hl), {ikm}, temp.mut_view().first(hl));
    std::uint8_t one = 1;
    std::uint8_t two = 2;
    crypto::Secret<struct Out1Tag, 64> o1;
    crypto::hmac(cfg_.suite.hash, temp.view().first(hl), {ByteView{&one, 1}},
                 o1.mut_view().first(hl));
    std::copy_n(o1.data(), std::min(hl, out1.size()), out1.data());
    if (outputs >= 2) {
        crypto::Secret<struct Out2Tag, 64> o2;
        crypto::hmac(cfg_.suite.hash, temp.view().first(hl),
                     {o1.view().first(hl), ByteView{&two, 1}}, o2.mut_view().first(hl));
        std::copy_n(o2.data(), std::min(hl, out2.size()), out2.data());
    }
}

Status HandshakeState::mix_key(ByteView ikm) {
    std::size_t hl = hlen();
    crypto::Secret<struct NewCkTag, 64> new_ck;
    crypto::SymmetricKey k;  // temp_k truncated to 32 bytes when HASHLEN is 64
    hkdf(ikm, 2, new_ck.mut_view().first(hl), k.mut_view());
    std::copy_n(new_ck.data(), hl, ck_.data());
    cipher_ = CipherState(cfg_.suite.cipher, k);
    return {};
}

Status HandshakeState::mix_dh(const crypto::X25519Secret& sk, const crypto::X25519Public& pk) {
    auto shared = crypto::x25519(sk, pk);
    if (!shared) return shared.error();
    return mix_key(shared->view());
}

// The DH tokens mean the same on both sides, seen from each side's own keys.
Status HandshakeState::mix_token_dh(Token t) {
    bool initiator = cfg_.role == Role::initiator;
    switch (t) {
        case Token::ee:
            return mix_dh(e_->secret, *re_);
        case Token::es:
            return initiator ? mix_dh(e_->secret, *cfg_.remote_static)
                             : mix_dh(cfg_.local_static->secret, *re_);
        case Token::se:
            return initiator ? mix_dh(cfg_.local_static->secret, *re_)
                             : mix_dh(e_->secret, *cfg_.remote_static);
        case Token::ss:
            return mix_dh(cfg_.local_static->secret, *cfg_.remote_static);
        default:
            return Errc::bad_state;
    }
}

Result<Bytes> HandshakeState::encrypt_and_hash(ByteView plaintext) {
    auto ct = cipher_.encrypt_with_ad({h_.data(), hlen()}, plaintext);
    if (!ct) return ct;
    mix_hash(*ct);
    return ct;
}

Result<Bytes> HandshakeState::decrypt_and_hash(ByteView ciphertext) {
    auto pt = cipher_.decrypt_with_ad({h_.data(), hlen()}, ciphertext);
    if (!pt) return pt;
    mix_hash(ciphertext);
    return pt;
}

Result<Bytes> HandshakeState::write_message(ByteView payload) {
    if (!my_turn()) return Errc::bad_state;
    Bytes out;
    for (Token t : messages()[index_]) {
        Status st;
        switch (t) {
            case Token::e:
                e_ = cfg_.ephemeral ? *cfg_.ephemeral : crypto::X25519KeyPair::generate();
                out.insert(out.end(), e_->pub.bytes.begin(), e_->pub.bytes.end());
                mix_hash(e_->pub.view());
                break;
            case Token::s: {
                auto ct = encrypt_and_hash(cfg_.local_static->pub.view());
                if (!ct) return ct;
                out.insert(out.end(), ct->begin(), ct->end());
                break;
            }
            case Token::e1: {
                auto kem = crypto::mlkem::keygen(crypto::mlkem::kMlKem768);
                kem_ek_ = kem.ek;
                kem_dk_ = std::move(kem.dk);
                auto ct = encrypt_and_hash(kem_ek_);
                if (!ct) return ct;
                out.insert(out.end(), ct->begin(), ct->end());
                break;
            }
            case Token::ekem1: {
                auto enc = crypto::mlkem::encaps(crypto::mlkem::kMlKem768, kem_ek_);
                if (!enc) return enc.error();
                auto ct = encrypt_and_hash(enc->ciphertext);
                if (!ct) return ct;
                out.insert(out.end(), ct->begin(), ct->end());
                st = mix_key(enc->key.view());
                break;
            }
            default:
                st = mix_token_dh(t);
                break;
        }
        if (!st) return st.error();
    }
    auto ct = encrypt_and_hash(payload);
    if (!ct) return ct;
    out.insert(out.end(), ct->begin(), ct->end());
    if (out.size() > kMaxMessageSize) return Errc::oversized;
    ++index_;
    return out;
}

Result<Bytes> HandshakeState::read_message(ByteView message) {
    if (complete() || my_turn()) return Errc::bad_state;
    if (message.size() > kMaxMessageSize) return Errc::oversized;
    HandshakeState next = *this;
    auto payload = next.read_tokens(message);
    if (payload) *this = std::move(next);
    return payload;
}

Result<Bytes> HandshakeState::read_tokens(ByteView message) {
    std::size_t pos = 0;
    for (Token t : messages()[index_]) {
        Status st;
        switch (t) {
            case Token::e: {
                if (message.size() - pos < kDhLen) return Errc::truncated;
                re_ = crypto::X25519Public::from(message.subspan(pos, kDhLen));
                pos += kDhLen;
                mix_hash(re_->view());
                break;
            }
            case Token::s: {
                std::size_t len = kDhLen + (cipher_.has_key() ? crypto::kAeadTagSize : 0);
                if (message.size() - pos < len) return Errc::truncated;
                auto pk = decrypt_and_hash(message.subspan(pos, len));
                if (!pk) return pk;
                pos += len;
                cfg_.remote_static = crypto::X25519Public::from(*pk);
                break;
            }
            case Token::e1: {
                std::size_t len = crypto::mlkem::kMlKem768.ek_size() +
                                  (cipher_.has_key() ? crypto::kAeadTagSize : 0);
                if (message.size() - pos < len) return Errc::truncated;
                auto ek = decrypt_and_hash(message.subspan(pos, len));
                if (!ek) return ek;
                pos += len;
                kem_ek_ = std::move(*ek);
                break;
            }
            case Token::ekem1: {
                std::size_t len = crypto::mlkem::kMlKem768.ct_size() +
                                  (cipher_.has_key() ? crypto::kAeadTagSize : 0);
                if (message.size() - pos < len) return Errc::truncated;
                auto ct = decrypt_and_hash(message.subspan(pos, len));
                if (!ct) return ct;
                pos += len;
                auto ss = crypto::mlkem::decaps(crypto::mlkem::kMlKem768,
                                                {kem_dk_.data(), kem_dk_.size()}, *ct);
                if (!ss) return ss.error();
                st = mix_key(ss->view());
                break;
            }
            default:
                st = mix_token_dh(t);
                break;
        }
        if (!st) return st.error();
    }
    auto payload = decrypt_and_hash(message.subspan(pos));
    if (!payload) return payload;
    ++index_;
    return payload;
}

Result<TransportKeys> HandshakeState::split() const {
    if (!complete()) return Errc::bad_state;
    crypto::SymmetricKey k1;
    crypto::SymmetricKey k2;
    hkdf({}, 2, k1.mut_view(), k2.mut_view());
    CipherState c1(cfg_.suite.cipher, k1);
    CipherState c2(cfg_.suite.cipher, k2);
    if (cfg_.role == Role::initiator) return TransportKeys{c1, c2};
    return TransportKeys{c2, c1};
}

Result<crypto::SymmetricKey> HandshakeState::binding_secret() const {
    if (!complete()) return Errc::bad_state;
    // A third HKDF output would be non-standard; derive from ck with a distinct label instead.
    crypto::SymmetricKey out;
    ByteArray<64> mac;
    crypto::hmac(cfg_.suite.hash, ck_.view().first(hlen()), {as_bytes("zmesh link rekey binding")},
                 MutByteView{mac.data(), hlen()});
    std::copy_n(mac.data(), out.size(), out.data());
    crypto::wipe(mac);
    return out;
}

}  // namespace zmesh::link::noise
