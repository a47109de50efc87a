#pragma once
// Reassembly of fragmented first handshake messages (a hybrid message 1 needs two
// packets), bounded so that no source can crowd out the others.
//
// Anyone who knows a responder's public key can make fragments with a valid mac1, and
// picks the sender index freely. So the table holds at most one partial message per
// (source, sender index), at most kMaxPartialsPerSource per source and kMaxPartials in
// all (a FairTable): a new partial is never refused, it displaces its own source's
// oldest when the source is at its share, else the oldest of the source that holds the
// most.

#include <array>
#include <optional>

#include "zmesh/core/bytes.hpp"
#include "zmesh/core/fair_table.hpp"
#include "zmesh/link/limits.hpp"
#include "zmesh/link/packet.hpp"

namespace zmesh::link {

// What per-source limits count as one source: an IPv4 address, an IPv6 /64 (what one
// subscriber usually holds, so rotating addresses inside it does not help), or one stream
// connection (the 0xff-prefixed connection numbers of the stream transports).
using SourceKey = ByteArray<16>;
SourceKey source_of(ByteView peer_address);

class Reassembly {
  public:
    struct Added {
        std::optional<Bytes> whole;  // every fragment is in: the message
        bool inconsistent = false;   // the fragment contradicts its partial (dropped)
    };
    Added add(const SourceKey& source, const HandshakeHeader& h, ByteView part, TimePoint now);
    // Forgets partials started `lifetime` ago or earlier.
    void expire(TimePoint now, Duration lifetime);
    // When expire() next has a partial to forget; nullopt: none held.
    std::optional<TimePoint> next_expiry(Duration lifetime) const;
    std::size_t size() const { return table_.size(); }
    // Partials displaced by newer ones since construction.
    std::uint64_t evicted() const { return table_.evicted(); }

  private:
    struct Partial {
        std::array<Bytes, kMaxFragments> parts;
        std::uint8_t count = 0;
        std::uint8_t have = 0;
        TimePoint started{};
    };
    FairTable<SourceKey, std::uint32_t, Partial> table_{kMaxPartialsPerSource, kMaxPartials};
};

}  // namespace zmesh::link
