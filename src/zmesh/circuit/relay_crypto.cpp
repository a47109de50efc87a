#include "zmesh/circuit/relay_crypto.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace zmesh::circuit {
namespace {

constexpr std::size_t kRecognisedSize = 8;
// ChaCha20 block counters: block 0 keys Poly1305, the body's keystream starts at block 1,
// and the payload (offset 128 of the body) at block 3.
constexpr std::uint32_t kFirstStreamBlock = 1;
constexpr std::uint32_t kPayloadBlock = kFirstStreamBlock + kSlotArea / 64;
static_assert(kSlotArea % 64 == 0);

using Nonce = ByteArray<crypto_stream_chacha20_ietf_NONCEBYTES>;

Nonce nonce_for(std::uint32_t seq) {
    Nonce n{};
    store_u32_be(n.data(), seq);
    return n;
}

ByteArray<kSeqSize> seq_bytes(std::uint32_t seq) {
    ByteArray<kSeqSize> b;
    store_u32_be(b.data(), seq);
    return b;
}

void xor_stream(const crypto::SymmetricKey& key, std::uint32_t seq, std::uint32_t block,
                std::uint8_t* data, std::size_t len) {
    auto n = nonce_for(seq);
    crypto_stream_chacha20_ietf_xor_ic(data, data, len, n.data(), block, key.data());
}

using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

// Per-layer values derived from the stream key with ChaCha20 as a PRF, at a nonce no cell
// uses (cell nonces end in 8 zero bytes): the AES-256-XTS key of the slot area (64) and
// the counter base (4).
constexpr std::size_t kXtsKeySize = 64;
constexpr std::size_t kSlotBlocks = kMaxHops - 1;
constexpr std::size_t kXtsAreaSize = kSlotBlocks * kSlotSize;  // 112: slots 1..7
using Derived = crypto::Secret<struct LayerDerivedTag, kXtsKeySize + kSeqSize>;

Derived derive_layer(const crypto::SymmetricKey& stream) {
    static constexpr Nonce kDeriveNonce{0, 0, 0, 0, 'z', 'm', '-', 'l', 'a', 'y', 'e', 'r'};
    Derived d;
    crypto_stream_chacha20_ietf(d.data(), d.size(), kDeriveNonce.data(), stream.data());
    return d;
}

}  // namespace

struct LayerKey::Aes {
    CtxPtr enc{EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free};
    CtxPtr dec{EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free};
    CtxPtr xts_enc{EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free};
    CtxPtr xts_dec{EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free};
};

LayerKey::LayerKey(const DirectionKeys& keys)
    : stream_(keys.stream), aes_(std::make_unique<Aes>()) {
    crypto::ensure_init();
    Derived d = derive_layer(stream_);
    base_ = load_u32_be(d.data() + kXtsKeySize);
    bool ok =
        aes_->enc && aes_->dec && aes_->xts_enc && aes_->xts_dec &&
        EVP_EncryptInit_ex(aes_->enc.get(), EVP_aes_256_ecb(), nullptr, keys.slot.data(),
                           nullptr) == 1 &&
        EVP_DecryptInit_ex(aes_->dec.get(), EVP_aes_256_ecb(), nullptr, keys.slot.data(),
                           nullptr) == 1 &&
        EVP_CIPHER_CTX_set_padding(aes_->enc.get(), 0) == 1 &&
        EVP_CIPHER_CTX_set_padding(aes_->dec.get(), 0) == 1 &&
        EVP_EncryptInit_ex(aes_->xts_enc.get(), EVP_aes_256_xts(), nullptr, d.data(), nullptr) ==
            1 &&
        EVP_DecryptInit_ex(aes_->xts_dec.get(), EVP_aes_256_xts(), nullptr, d.data(), nullptr) == 1;
    if (!ok) throw std::runtime_error("AES-256 context setup failed");
}

LayerKey::~LayerKey() = default;
LayerKey::LayerKey(LayerKey&&) noexcept = default;
LayerKey& LayerKey::operator=(LayerKey&&) noexcept = default;

void LayerKey::seal_slot(std::uint32_t seq, ByteView tag, MutByteView out) const {
    ByteArray<kSlotSize> block{};
    store_u32_be(block.data(), seq);
    std::copy_n(tag.begin(), kTagSize, block.begin() + kSeqSize);
    int len = 0;
    EVP_EncryptUpdate(aes_->enc.get(), out.data(), &len, block.data(), kSlotSize);
}

LayerKey::Slot LayerKey::open_slot(ByteView in) const {
    ByteArray<kSlotSize> block{};
    int len = 0;
    EVP_DecryptUpdate(aes_->dec.get(), block.data(), &len, in.data(), kSlotSize);
    Slot s{load_u32_be(block.data()), {}};
    std::copy_n(block.begin() + kSeqSize, kTagSize, s.tag.begin());
    return s;
}

namespace {

// One XTS data unit of 7 blocks: block j is AES(K1, P_j xor T_j) xor T_j with
// T_j = AES(K2, tweak) * alpha^j, so each slot is its own tweakable block cipher
// (tweak: counter and slot) and a change anywhere in a block garbles the whole block.
void xts(EVP_CIPHER_CTX* ctx, std::uint32_t seq, MutByteView area) {
    ByteArray<16> tweak{};
    store_u32_be(tweak.data(), seq);
    int len = 0;
    if (area.size() != kXtsAreaSize ||
        EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, tweak.data(), -1) != 1 ||
        EVP_CipherUpdate(ctx, area.data(), &len, area.data(), static_cast<int>(area.size())) != 1)
        throw std::runtime_error("AES-256-XTS failed");
}

}  // namespace

void LayerKey::encipher_slots(std::uint32_t seq, MutByteView area) const {
    xts(aes_->xts_enc.get(), seq, area);
}

void LayerKey::decipher_slots(std::uint32_t seq, MutByteView area) const {
    xts(aes_->xts_dec.get(), seq, area);
}

void LayerKey::keystream(std::uint32_t seq, MutByteView out) const {
    std::fill(out.begin(), out.end(), 0);
    xor_stream(stream_, seq, kFirstStreamBlock, out.data(), out.size());
}

ByteArray<kTagSize> LayerKey::tag(std::uint32_t seq, std::initializer_list<ByteView> parts) const {
    crypto::Secret<struct PolyKeyTag, crypto_onetimeauth_poly1305_KEYBYTES> poly_key;
    auto n = nonce_for(seq);
    crypto_stream_chacha20_ietf(poly_key.data(), poly_key.size(), n.data(), stream_.data());
    crypto_onetimeauth_poly1305_state st;
    crypto_onetimeauth_poly1305_init(&st, poly_key.data());
    auto sb = seq_bytes(seq);
    crypto_onetimeauth_poly1305_update(&st, sb.data(), sb.size());
    for (ByteView p : parts) crypto_onetimeauth_poly1305_update(&st, p.data(), p.size());
    ByteArray<crypto_onetimeauth_poly1305_BYTES> full;
    crypto_onetimeauth_poly1305_final(&st, full.data());
    crypto::wipe(&st, sizeof st);
    ByteArray<kTagSize> out;
    std::copy_n(full.begin(), kTagSize, out.begin());
    return out;
}

// ---- forward --------------------------------------------------------------------------

Status seal_forward(std::span<const LayerKey* const> hops, std::span<const std::uint32_t> numbers,
                    ByteView payload, Body& body) {
    const std::size_t n = hops.size();
    if (n == 0 || n > kMaxHops || numbers.size() != n) return Errc::bad_length;
    if (payload.size() != kPayloadSize) return Errc::bad_length;

    // Each hop's counter for this cell, and its slot-area keystream for the filler that
    // hops leave behind them.
    std::array<std::uint32_t, kMaxHops> seq{};
    std::array<ByteArray<kSlotArea>, kMaxHops> ks;
    for (std::size_t i = 0; i < n; ++i) {
        seq[i] = hops[i]->seq_of(numbers[i]);
        hops[i]->keystream(seq[i], ks[i]);
    }
    ByteArray<kSlotArea> filler{};
    std::size_t filler_len = 0;
    for (std::size_t i = 0; i + 1 < n; ++i) {
        filler_len += kSlotSize;  // (filler || zero slot) XOR the tail of this hop's stream
        for (std::size_t j = 0; j < filler_len; ++j) filler[j] ^= ks[i][kSlotArea - filler_len + j];
    }

    // What the last hop receives: its slot, random padding, the filler, its payload.
    crypto::random_bytes(MutByteView{body.data() + kSlotSize, kSlotArea - kSlotSize - filler_len});
    std::copy_n(filler.begin(), filler_len, body.begin() + kSlotArea - filler_len);
    std::copy(payload.begin(), payload.end(), body.begin() + kSlotArea);
    const LayerKey& last = *hops[n - 1];
    xor_stream(last.stream_key(), seq[n - 1], kPayloadBlock, body.data() + kSlotArea, kPayloadSize);
    auto t = last.tag(seq[n - 1], {ByteView{body}.subspan(kSlotSize)});
    last.seal_slot(seq[n - 1], t, MutByteView{body.data(), kSlotSize});

    // Then undo each earlier hop's transformation, innermost first.
    for (std::size_t i = n - 1; i-- > 0;) {
        const LayerKey& k = *hops[i];
        std::memmove(body.data() + kSlotSize, body.data(), kSlotArea - kSlotSize);
        for (std::size_t j = 0; j < kSlotArea - kSlotSize; ++j) body[kSlotSize + j] ^= ks[i][j];
        xor_stream(k.stream_key(), seq[i], kPayloadBlock, body.data() + kSlotArea, kPayloadSize);
        auto tag = k.tag(seq[i], {ByteView{body}.subspan(kSlotSize)});
        k.seal_slot(seq[i], tag, MutByteView{body.data(), kSlotSize});
    }
    return {};
}

Result<std::uint32_t> peel_forward(const LayerKey& key, link::ReplayWindow& window, Body& body) {
    auto slot = key.open_slot(ByteView{body}.first(kSlotSize));
    auto expected = key.tag(slot.seq, {ByteView{body}.subspan(kSlotSize)});
    if (!crypto::ct_equal(expected, slot.tag)) return Errc::auth_failed;
    std::uint32_t number = key.number_of(slot.seq);
    if (window.check(number) != link::ReplayWindow::Verdict::fresh) return Errc::replayed;
    window.accept(number);
    std::memmove(body.data(), body.data() + kSlotSize, kSlotArea - kSlotSize);
    std::fill_n(body.data() + kSlotArea - kSlotSize, kSlotSize, 0);
    xor_stream(key.stream_key(), slot.seq, kFirstStreamBlock, body.data(), kBodySize);
    return number;
}

// ---- backward -------------------------------------------------------------------------

void start_backward(ByteView payload, Body& out) {
    std::fill_n(out.begin(), kSlotArea, 0);
    std::copy_n(payload.begin(), std::min(payload.size(), kPayloadSize), out.begin() + kSlotArea);
}

// A backward tag covers the payload only. Each hop towards the client drops the last
// slot, and a hop cannot know how many more will, so no tag can cover the slot area;
// it is protected instead by enciphering each slot block on its own (AES-XTS, tweak =
// counter and slot), so that any change to a slot turns into a random block at every
// later layer, which lands in some hop's slot block (a wrong tag) or in the origin's
// all-zero slots, which the client checks (docs/protocol.md).
static ByteArray<kTagSize> backward_tag(const LayerKey& key, std::uint32_t seq, const Body& b) {
    return key.tag(seq, {ByteView{b}.subspan(kSlotArea)});
}

void wrap_backward(const LayerKey& key, std::uint32_t n, Body& body) {
    const std::uint32_t seq = key.seq_of(n);
    std::memmove(body.data() + kSlotSize, body.data(), kSlotArea - kSlotSize);
    key.encipher_slots(seq, MutByteView{body.data() + kSlotSize, kSlotArea - kSlotSize});
    xor_stream(key.stream_key(), seq, kPayloadBlock, body.data() + kSlotArea, kPayloadSize);
    auto t = backward_tag(key, seq, body);
    key.seal_slot(seq, t, MutByteView{body.data(), kSlotSize});
}

Result<std::size_t> open_backward(std::span<const LayerKey* const> hops,
                                  std::span<link::ReplayWindow> windows, Body& body) {
    if (windows.size() < hops.size()) return Errc::bad_length;
    for (std::size_t i = 0; i < hops.size(); ++i) {
        const LayerKey& k = *hops[i];
        auto slot = k.open_slot(ByteView{body}.first(kSlotSize));
        if (!crypto::ct_equal(backward_tag(k, slot.seq, body), slot.tag)) return Errc::auth_failed;
        std::uint32_t number = k.number_of(slot.seq);
        if (windows[i].check(number) != link::ReplayWindow::Verdict::fresh) return Errc::replayed;
        windows[i].accept(number);
        k.decipher_slots(slot.seq, MutByteView{body.data() + kSlotSize, kSlotArea - kSlotSize});
        xor_stream(k.stream_key(), slot.seq, kPayloadBlock, body.data() + kSlotArea, kPayloadSize);
        // Past the first layer the last i slots are placeholders for bytes the client
        // never received (earlier hops dropped them); deciphering them gave noise.
        if (i > 0) std::fill_n(body.data() + kSlotArea - i * kSlotSize, i * kSlotSize, 0);
        // Back to what this hop received; the slot it dropped is unknown and unauthenticated.
        std::memmove(body.data(), body.data() + kSlotSize, kSlotArea - kSlotSize);
        std::fill_n(body.data() + kSlotArea - kSlotSize, kSlotSize, 0);
        bool empty_slots = std::all_of(body.begin(), body.begin() + kSlotArea,
                                       [](std::uint8_t b) { return b == 0; });
        if (empty_slots && recognised(body)) return i;
    }
    return Errc::auth_failed;
}

bool recognised(const Body& body) {
    return std::all_of(body.begin() + kSlotArea, body.begin() + kSlotArea + kRecognisedSize,
                       [](std::uint8_t b) { return b == 0; });
}

ByteView payload_of(const Body& body) {
    return ByteView{body}.subspan(kSlotArea);
}

}  // namespace zmesh::circuit
