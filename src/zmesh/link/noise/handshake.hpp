#pragma once
// Noise Protocol Framework (revision 34) handshakes as pure state machines:
// patterns NK, IK and XK over 25519, with ChaChaPoly or AESGCM and SHA256 or BLAKE2b.
// Bytes in, bytes out; no I/O and no clock.

#include <optional>
#include <string>
#include <vector>

#include "zmesh/core/result.hpp"
#include "zmesh/crypto/aead.hpp"
#include "zmesh/crypto/hash.hpp"
#include "zmesh/crypto/keys.hpp"

namespace zmesh::link::noise {

inline constexpr std::size_t kMaxMessageSize = 65535;
inline constexpr std::size_t kDhLen = 32;

enum class Pattern : std::uint8_t { NK = 1, IK = 2, XK = 3 };
enum class Role : std::uint8_t { initiator, responder };

struct Suite {
    crypto::AeadAlg cipher = crypto::AeadAlg::chacha20_poly1305;
    crypto::HashAlg hash = crypto::HashAlg::blake2b;
    bool operator==(const Suite&) const = default;
};

// `hybrid` adds the Noise HFS tokens (e1, ekem1) with ML-KEM-768: "NKhfs" etc.
std::string protocol_name(Pattern pattern, Suite suite, bool hybrid = false);
struct ParsedName {
    Pattern pattern;
    Suite suite;
};
// Recognises the names this implementation supports, nullopt otherwise.
std::optional<ParsedName> parse_protocol_name(std::string_view name);
// Number of handshake messages in the pattern (2 for NK/IK, 3 for XK).
std::size_t message_count(Pattern pattern);

// A Noise CipherState: a key (or none) and a 64-bit nonce counter.
class CipherState {
  public:
    CipherState() = default;
    CipherState(crypto::AeadAlg alg, const crypto::SymmetricKey& key);
    bool has_key() const { return key_.has_value(); }
    std::uint64_t nonce() const { return n_; }
    const crypto::SymmetricKey& key() const { return *key_; }
    crypto::AeadAlg alg() const { return alg_; }

    // Without a key these copy plaintext through, as the spec says.
    Result<Bytes> encrypt_with_ad(ByteView ad, ByteView plaintext);
    Result<Bytes> decrypt_with_ad(ByteView ad, ByteView ciphertext);

    // The 12-byte AEAD nonce for counter n in this cipher's encoding.
    static crypto::AeadNonce encode_nonce(crypto::AeadAlg alg, std::uint64_t n);

  private:
    crypto::AeadAlg alg_ = crypto::AeadAlg::chacha20_poly1305;
    std::optional<crypto::SymmetricKey> key_;
    std::uint64_t n_ = 0;
};

struct HandshakeConfig {
    Pattern pattern = Pattern::IK;
    // Hybrid forward secrecy (the Noise HFS extension): the initiator also sends an
    // ephemeral ML-KEM-768 key (e1) and the responder encapsulates to it (ekem1); the
    // KEM secret is mixed into the chaining key.
    bool hybrid = false;
    Suite suite;
    Role role = Role::initiator;
    Bytes prologue;
    std::optional<crypto::X25519KeyPair> local_static;
    std::optional<crypto::X25519Public> remote_static;
    // An ephemeral chosen by the caller (a link rekey binds to it; vectors fix it);
    // a fresh one is generated when absent.
    std::optional<crypto::X25519KeyPair> ephemeral;
};

struct TransportKeys {
    CipherState send;
    CipherState recv;
};

class HandshakeState {
  public:
    // Fails with bad_state when the pattern needs a static key that the config lacks.
    static Result<HandshakeState> create(HandshakeConfig config);

    // Writes the next message if it is this side's turn.
    Result<Bytes> write_message(ByteView payload);
    // Reads the next message if it is the peer's turn; returns the decrypted payload.
    // On failure the state is left exactly as it was, so a forged message cannot
    // disturb a handshake in progress.
    Result<Bytes> read_message(ByteView message);

    bool complete() const { return index_ == messages().size(); }
    bool my_turn() const;
    bool hybrid() const { return cfg_.hybrid; }
    std::size_t message_index() const { return index_; }
    Role role() const { return cfg_.role; }
    Pattern pattern() const { return cfg_.pattern; }

    // Valid once complete: the transport keys oriented for this side.
    Result<TransportKeys> split() const;
    ByteView handshake_hash() const { return {h_.data(), hlen()}; }
    // A secret both sides share after the handshake, for binding later rekeys to it.
    Result<crypto::SymmetricKey> binding_secret() const;
    const std::optional<crypto::X25519Public>& remote_static() const { return cfg_.remote_static; }
    const std::optional<crypto::X25519Public>& remote_ephemeral() const { return re_; }

  private:
    enum class Token : std::uint8_t { e, s, ee, es, se, ss, e1, ekem1 };
    explicit HandshakeState(HandshakeConfig config);
    const std::vector<std::vector<Token>>& messages() const;
    std::size_t hlen() const { return crypto::hash_len(cfg_.suite.hash); }

    void mix_hash(ByteView data);
    Status mix_key(ByteView ikm);
    Status mix_dh(const crypto::X25519Secret& sk, const crypto::X25519Public& pk);
    Status mix_token_dh(Token t);
    Result<Bytes> encrypt_and_hash(ByteView plaintext);
    Result<Bytes> decrypt_and_hash(ByteView ciphertext);
    Result<Bytes> read_tokens(ByteView message);
    void hkdf(ByteView ikm, std::size_t outputs, MutByteView out1, MutByteView out2) const;

    HandshakeConfig cfg_;
    std::optional<crypto::X25519KeyPair> e_;
    std::optional<crypto::X25519Public> re_;
    Bytes kem_ek_;                // e1 public (ours or the peer's)
    crypto::SecureBytes kem_dk_;  // e1 secret (initiator)
    crypto::Secret<struct ChainKeyTag, 64> ck_;
    ByteArray<64> h_{};
    CipherState cipher_;
    std::size_t index_ = 0;
};

}  // namespace zmesh::link::noise
