#pragma once
// Circuit layer message codecs: CREATE/CREATED/DESTROY cell bodies and the relay
// message inside an onion payload (EXTEND/EXTENDED and the stream commands above).
// Pure functions with explicit limits; bad input is an error value.

#include <bitset>
#include <initializer_list>
#include <optional>

#include "zmesh/circuit/limits.hpp"
#include "zmesh/circuit/ntor.hpp"
#include "zmesh/core/result.hpp"
#include "zmesh/link/address.hpp"

namespace zmesh::circuit {

// --- CREATE / CREATED -------------------------------------------------------------------

struct Create {
    HandshakeType type = HandshakeType::ntor_x25519;
    Bytes handshake;        // in a first cell: the part it carries
    std::size_t total = 0;  // the whole handshake's length
};

inline constexpr std::size_t kMaxHandshakeSize = 4096;

// CREATE for a handshake of any size up to kMaxHandshakeSize: one CREATE cell, then
// CREATE_CONTINUE cells (length (2) | bytes) for the rest.
std::vector<wire::Cell> encode_create_cells(std::uint32_t circuit_id, HandshakeType type,
                                            ByteView handshake);
// The bytes a CREATE_CONTINUE body carries.
Result<Bytes> decode_create_continue(ByteView body);
struct Created {
    Bytes handshake;
};

Result<Create> decode_create(ByteView body);
Status encode_created(const Created& c, MutByteView body);
Result<Created> decode_created(ByteView body);

enum class DestroyReason : std::uint8_t {
    none = 0,
    protocol = 1,        // a malformed or unexpected cell
    integrity = 2,       // a relay cell failed its check: possible tampering
    resource = 3,        // a table or queue is full
    connect_failed = 4,  // could not reach the next hop
    finished = 5,        // the client closed the circuit
    timeout = 6,         // idle or building too long
    handshake = 7,       // the hop handshake failed
    shutdown = 8,        // the node is shutting down
    refused = 9,         // this node does not relay
    // The next hop of an EXTEND is internal, this relay or the previous hop.
    extend_refused = 10,
    // The client replaced a circuit that reached its maximum lifetime.
    lifetime = 11,
};
const char* to_string(DestroyReason r);

// --- relay messages ---------------------------------------------------------------------

enum class RelayCommand : std::uint8_t {
    extend = 1,
    extended = 2,
    begin = 3,
    connected = 4,
    data = 5,
    end = 6,
    ack = 7,
    drop = 8,       // long-range padding: the recipient discards it
    fragment = 9,   // part of a message too large for one cell (below)
    attach = 10,    // client -> exit: move a stream to this circuit (stream layer)
    attached = 11,  // exit -> client: the stream moved
    ping = 12,      // client -> any hop: liveness probe, echoed as PONG
    pong = 13,
    repair = 14,      // stream layer: a Tetrys repair symbol
    fec_report = 15,  // stream layer: the loss a receiver measured, for the repair rate
};
inline constexpr std::uint8_t kMaxRelayCommand =
    static_cast<std::uint8_t>(RelayCommand::fec_report);
inline constexpr std::size_t kMaxPingData = 16;

// The relay commands a consumer of messages that end at a node handles.
class RelayCommandSet {
  public:
    RelayCommandSet() = default;
    RelayCommandSet(std::initializer_list<RelayCommand> commands) {
        for (auto c : commands) add(c);
    }
    void add(RelayCommand c) {
        if (static_cast<std::size_t>(c) < bits_.size()) bits_.set(static_cast<std::size_t>(c));
    }
    bool contains(RelayCommand c) const {
        return static_cast<std::size_t>(c) < bits_.size() &&
               bits_.test(static_cast<std::size_t>(c));
    }
    bool empty() const { return bits_.none(); }

  private:
    std::bitset<kMaxRelayCommand + 1> bits_;
};
// PONG: the PING's bytes (the client sends an 8-byte probe number), then the hop's
// forward report: cells that reached its layer (4) | of them, out of order (4).
inline constexpr std::size_t kPingIdSize = 8;
inline constexpr std::size_t kForwardReportSize = 8;

inline constexpr std::size_t kRelayHeaderSize = 8 + 1 + 2 + 2;  // marker, cmd, stream, length
inline constexpr std::size_t kMaxRelayData = kPayloadSize - kRelayHeaderSize;  // 1054

struct RelayMessage {
    RelayCommand command = RelayCommand::data;
    std::uint16_t stream = 0;
    Bytes data;
};

// Writes a full payload: the recognised marker, header, data and zero padding.
Status encode_relay(const RelayMessage& m, MutByteView payload);
Result<RelayMessage> decode_relay(ByteView payload);

// --- fragments --------------------------------------------------------------------------
// A message larger than one relay cell travels as FRAGMENT messages, each carrying
// total length (2) | inner command (1) | bytes, in order on one circuit and direction.

inline constexpr std::size_t kMaxReassembled = 8192;

std::vector<RelayMessage> split_relay(const RelayMessage& m);

class Reassembler {
  public:
    // A fragment in; the whole message once its last fragment arrived. Errors on
    // inconsistent or oversized fragments (then the circuit should be destroyed).
    Result<std::optional<RelayMessage>> add(const RelayMessage& fragment);
    bool busy() const { return !data_.empty(); }

  private:
    Bytes data_;
    std::size_t total_ = 0;
    std::uint8_t command_ = 0;
    std::uint16_t stream_ = 0;
};

// --- EXTEND / EXTENDED ------------------------------------------------------------------

// Everything a hop needs to reach the next one: its addresses on every transport it
// offers (the hop tries those it speaks, in its own order, until a link opens).
struct NextHop {
    crypto::NodeId id;
    crypto::X25519Public link_key;
    std::vector<link::LinkAddress> addresses;  // 1 to kMaxHopAddresses
};

struct Extend {
    NextHop next;
    HandshakeType type = HandshakeType::ntor_x25519;
    Bytes handshake;
};
struct Extended {
    Bytes handshake;  // empty: the extension failed
};

// EXTEND: id, link key, address count, per address (transport, IPv6 or v4-mapped, port),
// handshake type, length, handshake. Addresses on unknown transports are kept (a newer
// relay may speak them); fewer than one or more than kMaxHopAddresses are malformed.
Bytes encode_extend(const Extend& e);
Result<Extend> decode_extend(ByteView data);
Bytes encode_extended(const Extended& e);
Result<Extended> decode_extended(ByteView data);

}  // namespace zmesh::circuit
