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
    ntor_x25519 = 1,
    // 2 is reserved for the hybrid X25519 + ML-KEM-768 handshake.
};

inline constexpr std::size_t kNtorOnionskinSize = 32 + 32 + 32;  // ID | B | X
inline constexpr std::size_t kNtorReplySize = 32 + 32;           // Y | AUTH

// What a client must know of a relay to extend to it.
struct RelayKeys {
    crypto::NodeId id;
    crypto::X25519Public onion;
};

class NtorClient {
  public:
    // Starts a handshake with `relay`; `onionskin()` is what goes in CREATE or EXTEND.
    explicit NtorClient(const RelayKeys& relay);
    const Bytes& onionskin() const { return onionskin_; }
    // Checks the relay's reply and derives the hop keys.
    Result<HopKeys> finish(ByteView reply) const;

  private:
    RelayKeys relay_;
    crypto::X25519KeyPair x_;
    Bytes onionskin_;
};

struct NtorServerResult {
    Bytes reply;
    HopKeys keys;
};

// The relay's side: answers an onionskin addressed to it (its id and onion key).
Result<NtorServerResult> ntor_server(const crypto::NodeId& id, const crypto::X25519KeyPair& onion,
                                     ByteView onionskin);

}  // namespace zmesh::circuit
