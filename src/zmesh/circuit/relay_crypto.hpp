#pragma once
// Onion encryption of relay cells (see docs/protocol.md for the construction and its
// security argument).
//
// A relay cell body is 8 slots of 16 bytes followed by a 1067-byte payload. The first
// slot always belongs to the hop processing the cell: it holds that hop's 32-bit cell
// counter and a 96-bit Poly1305 tag, enciphered as one AES block under the hop's slot
// key, so neither value is visible on the wire and each hop sees different bytes.
//
// Counters are per hop and direction: the n-th cell through a hop carries the counter
// base + n, where the base is derived from that hop's keys. Callers (and the replay
// windows) deal in cell numbers n = 1, 2, ...; the base is added and removed here.
//
//  forward (client -> exit): each hop checks its tag over everything after its slot,
//    checks the counter against its replay window, then removes its layer and shifts
//    the slots left; the slot that falls off is replaced by keystream (Sphinx filler),
//    so the cell keeps its size and hides how many hops remain.
//  backward (towards the client): each hop shifts the slots right, enciphers each slot
//    block with AES-XTS (tweak: counter, block: slot index) so that a change in a slot
//    becomes a random block at the next layer, adds its keystream to the payload and
//    puts its own slot first; the client removes the layers in order and checks each.
//
// Pure functions and small state; the caller owns the replay windows.

#include <optional>
#include <span>

#include "zmesh/circuit/limits.hpp"
#include "zmesh/core/result.hpp"
#include "zmesh/crypto/secure.hpp"
#include "zmesh/link/replay_window.hpp"

namespace zmesh::circuit {

using Body = ByteArray<kBodySize>;

struct DirectionKeys {
    crypto::SymmetricKey stream;  // ChaCha20 keystream and Poly1305 one-time keys
    crypto::SymmetricKey slot;    // AES-256 for the slot block
};

struct HopKeys {
    DirectionKeys forward;
    DirectionKeys backward;
};

// One hop's keys for one direction, with the AES key schedule prepared.
class LayerKey {
  public:
    explicit LayerKey(const DirectionKeys& keys);
    ~LayerKey();
    LayerKey(LayerKey&&) noexcept;
    LayerKey& operator=(LayerKey&&) noexcept;

    struct Slot {
        std::uint32_t seq;
        ByteArray<kTagSize> tag;
    };
    void seal_slot(std::uint32_t seq, ByteView tag, MutByteView out) const;
    Slot open_slot(ByteView in) const;
    // Keystream for `seq` from ChaCha20 block 1 on; block 0 gives the Poly1305 key.
    void keystream(std::uint32_t seq, MutByteView out) const;
    ByteArray<kTagSize> tag(std::uint32_t seq, std::initializer_list<ByteView> parts) const;
    // The 7 slot blocks after slot 0, each enciphered (or deciphered) on its own with
    // AES-256-XTS under this layer's slot-area key, tweak `seq`, block index = slot - 1.
    void encipher_slots(std::uint32_t seq, MutByteView area) const;
    void decipher_slots(std::uint32_t seq, MutByteView area) const;
    const crypto::SymmetricKey& stream_key() const { return stream_; }
    // The counter the n-th cell of this hop and direction carries, and back.
    std::uint32_t seq_of(std::uint32_t n) const { return base_ + n; }
    std::uint32_t number_of(std::uint32_t seq) const { return seq - base_; }

  private:
    struct Aes;
    crypto::SymmetricKey stream_;
    std::uint32_t base_ = 0;
    std::unique_ptr<Aes> aes_;
};

// --- forward ---------------------------------------------------------------------------

// Client: builds the body that hops[0..n) will peel in turn, the last of them reading
// `payload`; numbers[i] is the cell's number at hop i (each hop counts only the cells
// that pass through it). n must be 1..kMaxHops.
Status seal_forward(std::span<const LayerKey* const> hops, std::span<const std::uint32_t> numbers,
                    ByteView payload, Body& out);

// Relay: checks and removes its layer in place and returns the cell's number. Fails with
// auth_failed on any modification and replayed on a number its window has seen or left
// behind.
Result<std::uint32_t> peel_forward(const LayerKey& key, link::ReplayWindow& window, Body& body);

// --- backward --------------------------------------------------------------------------

// The hop where a backward cell starts lays out an empty slot area and the payload.
void start_backward(ByteView payload, Body& out);
// Relay: adds its layer in place as its backward cell number n.
void wrap_backward(const LayerKey& key, std::uint32_t n, Body& body);

// Client: removes the layers of hops[0..n) in turn until one is the origin. Returns the
// index of the hop the cell came from, with the payload left in place; any failed check
// is auth_failed (or replayed), and the circuit must then be torn down.
Result<std::size_t> open_backward(std::span<const LayerKey* const> hops,
                                  std::span<link::ReplayWindow> windows, Body& body);

// True when a peeled forward body carries a payload for this hop (the recognised marker).
bool recognised(const Body& body);
ByteView payload_of(const Body& body);

}  // namespace zmesh::circuit
