#pragma once
// Sphinx packets (Danezis and Goldberg, 2009) sized to one cell body, as docs/mix.md
// describes byte by byte. Pure: bytes and keys in, bytes and actions out; randomness comes
// from the caller (crypto::random_bytes in a node, a fixed stream in tests and vectors).

#include <chrono>
#include <functional>
#include <span>
#include <variant>
#include <vector>

#include "zmesh/core/result.hpp"
#include "zmesh/crypto/identity.hpp"
#include "zmesh/crypto/keys.hpp"
#include "zmesh/mix/errors.hpp"
#include "zmesh/mix/limits.hpp"
#include "zmesh/mix/lioness.hpp"

namespace zmesh::mix {

using Packet = ByteArray<kPacketSize>;
// Where the last mix hands the payload: a mailbox, a client of a provider, an exit service.
using Address = crypto::Fixed<struct MixAddressTag, kAddressSize>;
using SurbId = crypto::Fixed<struct SurbIdTag, kSurbIdSize>;
// A hash of the hop's shared secret: equal for a packet and its replays at one mix key.
using ReplayTag = crypto::Fixed<struct ReplayTagTag, 32>;
using RandomFill = std::function<void(MutByteView)>;

// The flag byte of a routing block.
enum class RoutingFlag : std::uint8_t {
    relay = 1,          // forward to the next node after the delay
    deliver = 2,        // last hop: check the payload and hand it to the address
    deliver_reply = 3,  // last hop of a SURB: hand the still-encrypted payload and SURB id
};

struct Hop {
    crypto::NodeId node;
    crypto::X25519Public mix_key;
    std::chrono::milliseconds delay{0};  // how long this hop holds the packet
};

struct Created {
    crypto::NodeId first_hop;
    Packet packet;
    std::vector<std::chrono::milliseconds> delays;  // per hop, for the sender's simulation
};

// A packet through `path` (1..kMaxHops hops) whose last hop delivers `message` (at most
// kMaxMessageSize bytes) to `destination`.
Result<Created> create_packet(std::span<const Hop> path, const Address& destination,
                              ByteView message, const RandomFill& rng);

struct Forward {
    crypto::NodeId next;
    std::chrono::milliseconds delay;
    Packet packet;
};
struct Deliver {
    Address destination;
    std::chrono::milliseconds delay;
    Bytes message;
};
// The last hop of a single-use reply block: the payload is still under the SURB's
// layers, which only its creator can remove (open_surb_reply).
struct DeliverReply {
    Address destination;
    std::chrono::milliseconds delay;
    SurbId surb_id;
    ByteArray<kPayloadSize> payload;
};

struct Processed {
    ReplayTag tag;
    std::variant<Forward, Deliver, DeliverReply> action;
};

// Decides whether a tag is new; an error stops the processing with that error.
using AdmitTag = std::function<Status(const ReplayTag&)>;

// One mix's step: verify the header MAC, ask `admit` about the replay tag (MixKeyring
// passes the key's replay cache and admission budget), then peel one layer; a delay above
// kMaxDelay is refused after the tag is recorded (bad_delay). A replay costs one X25519 and
// one MAC. Never throws on any input. `admit` is required (an empty one is bad_config): a
// mix uses MixKeyring::process; only tests, vectors and benchmarks pass
// detail::no_replay_check.
Result<Processed> process_packet(const crypto::X25519Secret& mix_key, ByteView packet,
                                 const AdmitTag& admit);

// --- Single-use reply blocks ---------------------------------------------------------
// The creator builds the header back to itself and keeps the payload keys; the replier
// gets the header, the first hop and one more key, and never learns the path. A SURB
// works while the mix keys of its path are held: at most until the earliest valid_until
// of those keys (epoch end + overlap), and its secrets should be dropped then.
struct Surb {
    crypto::NodeId first_hop;
    ByteArray<kHeaderSize> header;
    LionessKey payload_key;
};
struct SurbSecrets {
    SurbId id;
    LionessKey payload_key;
    std::vector<LionessKey> hop_keys;
};
struct CreatedSurb {
    Surb surb;
    SurbSecrets secrets;
    std::vector<std::chrono::milliseconds> delays;
};
// The SURB id (shown in clear to the last hop) is drawn from `rng`, first: never chosen by
// the caller, so it carries nothing that could link it to the creator or to other SURBs.
Result<CreatedSurb> create_surb(std::span<const Hop> path, const Address& destination,
                                const RandomFill& rng);
// The replier's side: a packet that carries `message` along the SURB.
Result<Created> use_surb(const Surb& surb, ByteView message);
// The creator's side, on the DeliverReply payload of the last hop. Consumes the secrets
// (wiped, whatever the outcome once the size is right): a second reply is surb_used.
Result<Bytes> open_surb_reply(SurbSecrets& secrets, ByteView payload);

// The sender's steps with nothing checked but sizes, for tests and the fuzz target: they
// play a malicious sender (any flag byte and last field in the last routing block, any
// delay up to 2^32-1 ms, any payload plaintext), whose packets pass every MAC and reach
// the decoders behind it.
namespace detail {
struct Header {
    ByteArray<kHeaderSize> bytes;
    std::vector<LionessKey> payload_keys;  // one per hop, in path order
};
Result<Header> build_header(std::span<const Hop> path, std::uint8_t last_flag,
                            const Address& destination, ByteView last_field, const RandomFill& rng);
// The payload encrypted for every hop of the header, appended to it.
Packet seal(const Header& header, ByteArray<kPayloadSize> plain);
// An AdmitTag that admits every tag: NO replay protection. Tests, vectors, fuzzing and
// benchmarks only.
Status no_replay_check(const ReplayTag&);
}  // namespace detail

}  // namespace zmesh::mix
