#pragma once
// Signed relay descriptors (DESIGN section 6): what a relay tells the network about itself,
// signed with its Ed25519 identity key. One canonical binary encoding (docs/discovery.md);
// decoding is strict (bounded, no trailing bytes, must re-encode to the same bytes), and
// verification checks the signature and the validity window. Pure: no I/O.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zmesh/core/bytes.hpp"
#include "zmesh/crypto/identity.hpp"
#include "zmesh/link/address.hpp"

namespace zmesh::discovery {

inline constexpr std::size_t kMaxDescriptorSize = 4096;
inline constexpr std::size_t kMaxAddresses = 8;
inline constexpr std::size_t kMaxFamily = 16;
inline constexpr std::size_t kMaxPolicyRules = 32;
inline constexpr std::size_t kMaxPolicyRuleLength = 100;
inline constexpr std::uint64_t kMaxLifetimeSeconds = 7 * 24 * 3600;
inline constexpr std::uint64_t kClockSkewSeconds = 600;

inline constexpr std::uint8_t kFlagRelay = 1;
inline constexpr std::uint8_t kFlagExit = 2;
inline constexpr std::uint8_t kFlagGuard = 4;
inline constexpr std::uint8_t kFlagBootstrap = 8;
// An exit's abilities (docs/exits.md): it reaches .onion names (through a Tor client),
// .i2p names (through an I2P router), or sends all its streams through an upstream proxy.
// Descriptors published before these existed have none of them set and still decode; a
// decoder that predates them refuses a descriptor carrying them (unknown flags), which
// only exits configured with an upstream publish.
inline constexpr std::uint8_t kFlagOnion = 16;
inline constexpr std::uint8_t kFlagI2p = 32;
inline constexpr std::uint8_t kFlagUpstream = 64;
inline constexpr std::uint8_t kKnownFlags =
    kFlagRelay | kFlagExit | kFlagGuard | kFlagBootstrap | kFlagOnion | kFlagI2p | kFlagUpstream;

// The ability an exit needs for a destination host: kFlagOnion for a name under .onion,
// kFlagI2p under .i2p (either case, a trailing dot allowed), 0 for any other host. Such
// names are never resolved by DNS: only an exit with the ability gets them.
std::uint8_t ability_needed(std::string_view host);

// The link layer's transports; webrtc names the node's signaling (WebSocket) listener.
using TransportKind = link::TransportKind;

struct Address {
    TransportKind transport = TransportKind::udp;
    ByteArray<16> ip{};  // IPv6 or v4-mapped
    std::uint16_t port = 0;
    bool operator==(const Address&) const = default;
};

struct Descriptor {
    crypto::Ed25519Public identity;
    crypto::X25519Public link_key;
    crypto::X25519Public onion_key;
    std::uint8_t flags = kFlagRelay;
    std::uint64_t published = 0;  // unix seconds
    std::uint64_t expires = 0;
    std::uint64_t bandwidth = 0;  // bytes per second, as measured by the relay
    std::vector<Address> addresses;
    std::vector<crypto::NodeId> family;  // sorted, no duplicates
    std::vector<std::string> exit_policy;
    crypto::Ed25519Signature signature;

    crypto::NodeId node_id() const { return crypto::node_id_of(identity); }
    bool has(std::uint8_t flag) const { return (flags & flag) != 0; }
    // The flags set, by name: relay, exit, guard, bootstrap, onion, i2p, upstream.
    std::vector<std::string> flag_names() const;
};

enum class DescriptorError {
    malformed,      // does not parse, or is not in canonical form
    oversized,      // more than kMaxDescriptorSize bytes or too many entries
    bad_signature,  // not signed by its identity key
    expired,
    not_yet_valid,  // published in the future (beyond the allowed clock skew)
    too_long_lived  // valid for longer than kMaxLifetimeSeconds
};
const char* to_string(DescriptorError e);

// Fills identity and signature from `id` and returns the signed encoding.
Bytes sign_descriptor(Descriptor& d, const crypto::Identity& id);
// The bytes the signature covers, and the whole encoding.
Bytes encode_descriptor(const Descriptor& d);

struct Verified {
    std::optional<Descriptor> descriptor;
    DescriptorError error = DescriptorError::malformed;
};
// Parses and verifies at time `now` (unix seconds).
Verified verify_descriptor(ByteView encoded, std::uint64_t now);
// Parses without checking signature or time (for tools and the fuzz target).
std::optional<Descriptor> decode_descriptor(ByteView encoded);

}  // namespace zmesh::discovery
