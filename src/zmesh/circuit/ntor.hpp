#pragma once
// The per-hop circuit handshake, ntor-style over X25519 (after Goldberg, Stebila and
// Ustaoglu, as in Tor): the relay is authenticated by its onion key, the hop keys are
// forward secret through both sides' ephemerals. Handshake types are versioned so that
// the hybrid ML-KEM handshake plugs in without a format change.

#include <utility>

#include "zmesh/circuit/relay_crypto.hpp"
#include "zmesh/core/result.hpp"
#include "zmesh/crypto/identity.hpp"
#include "zmesh/crypto/keys.hpp"

namespace zmesh::circuit {

enum class HandshakeType : std::uint16_t {
    ntor_x25519 = 1,           // classical
    ntor_x25519_mlkem768 = 2,  // hybrid: also an ephemeral ML-KEM-768 encapsulation
};

inline constexpr std::size_t kNtorOnionskinSize = 32 + 32 + 32;  // ID | B | X
inline constexpr std::size_t kNtorReplySize = 32 + 32;           // Y | AUTH
inline constexpr std::size_t kMlKemEkSize = 1184;
inline constexpr std::size_t kMlKemCtSize = 1088;
inline constexpr std::size_t kHybridOnionskinSize = kNtorOnionskinSize + kMlKemEkSize;  // 1280
inline constexpr std::size_t kHybridReplySize = kNtorReplySize + kMlKemCtSize;          // 1152

bool known_handshake(std::uint16_t type);
std::size_t onionskin_size(HandshakeType type);
std::size_t reply_size(HandshakeType type);

// What a client must know of a relay to extend to it.
struct RelayKeys {
    crypto::NodeId id;
    crypto::X25519Public onion;
};

class NtorClient {
  public:
    // Starts a handshake with `relay`; `onionskin()` is what goes in CREATE or EXTEND.
    explicit NtorClient(const RelayKeys& relay,
                        HandshakeType type = HandshakeType::ntor_x25519_mlkem768);
    HandshakeType type() const { return type_; }
    const Bytes& onionskin() const { return onionskin_; }
    // Checks the relay's reply and derives the hop keys.
    Result<HopKeys> finish(ByteView reply) const;

  private:
    RelayKeys relay_;
    HandshakeType type_;
    crypto::X25519KeyPair x_;
    crypto::SecureBytes mlkem_dk_;  // hybrid only: the ephemeral decapsulation key
    Bytes onionskin_;
};

struct NtorServerResult {
    Bytes reply;
    HopKeys keys;
};

// The relay's side: answers an onionskin addressed to it (its id and onion key).
Result<NtorServerResult> ntor_server(const crypto::NodeId& id, const crypto::X25519KeyPair& onion,
                                     ByteView onionskin,
                                     HandshakeType type = HandshakeType::ntor_x25519);

}  // namespace zmesh::circuit
