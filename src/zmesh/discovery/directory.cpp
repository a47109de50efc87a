#include "zmesh/discovery/directory.hpp"

#include "zmesh/discovery/codec.hpp"

namespace zmesh::discovery {
namespace {

constexpr std::array<std::uint8_t, 4> kBundleMagic = {'Z', 'M', 'B', '1'};
constexpr std::string_view kBundleContext = "zmesh descriptor bundle v1";

Bytes bundle_signature_input(ByteView body) {
    Bytes input(kBundleContext.begin(), kBundleContext.end());
    input.push_back(0);
    input.insert(input.end(), body.begin(), body.end());
    return input;
}

}  // namespace

Directory::Outcome Directory::insert(ByteView encoded, std::uint64_t now) {
    auto v = verify_descriptor(encoded, now);
    if (!v.descriptor) {
        switch (v.error) {
            case DescriptorError::malformed:
                ++stats_.rejected_malformed;
                break;
            case DescriptorError::oversized:
                ++stats_.rejected_oversized;
                break;
            case DescriptorError::bad_signature:
                ++stats_.rejected_signature;
                break;
            case DescriptorError::expired:
                ++stats_.rejected_expired;
                break;
            case DescriptorError::not_yet_valid:
                ++stats_.rejected_not_yet_valid;
                break;
            case DescriptorError::too_long_lived:
                ++stats_.rejected_lifetime;
                break;
        }
        return Outcome::rejected;
    }
    auto id = v.descriptor->node_id();
    auto it = entries_.find(id);
    if (it != entries_.end()) {
        if (v.descriptor->published <= it->second.descriptor.published) {
            ++stats_.stale;
            return Outcome::stale;
        }
        it->second = {std::move(*v.descriptor), Bytes(encoded.begin(), encoded.end())};
        ++stats_.replaced;
        return Outcome::replaced;
    }
    if (entries_.size() >= kMaxDirectorySize) {
        purge(now);
        if (entries_.size() >= kMaxDirectorySize) {
            ++stats_.rejected_full;
            return Outcome::rejected;
        }
    }
    entries_.emplace(id, Entry{std::move(*v.descriptor), Bytes(encoded.begin(), encoded.end())});
    ++stats_.accepted;
    return Outcome::accepted;
}

void Directory::purge(std::uint64_t now) {
    stats_.purged += std::erase_if(
        entries_, [&](const auto& kv) { return kv.second.descriptor.expires <= now; });
}

// ZMB1 | published u64 | count u16 | count x (len u16 | descriptor) | signer 32 | sig 64
Bytes Directory::make_bundle(const crypto::Identity& signer, std::uint64_t now) const {
    Writer w;
    w.bytes(kBundleMagic);
    w.u64(now);
    std::size_t count = std::min(entries_.size(), kMaxBundleEntries);
    w.u16(static_cast<std::uint16_t>(count));
    std::size_t i = 0;
    for (const auto& [id, e] : entries_) {
        if (i++ == count) break;
        w.u16(static_cast<std::uint16_t>(e.encoded.size()));
        w.bytes(e.encoded);
    }
    w.bytes(signer.signing.pub.view());
    Bytes out = w.take();
    auto sig = signer.signing.sign(bundle_signature_input(out));
    Writer tail;
    tail.bytes(out);
    tail.bytes(sig.view());
    return tail.take();
}

std::optional<std::size_t> Directory::insert_bundle(ByteView in,
                                                    const crypto::Ed25519Public& signer,
                                                    std::uint64_t now, std::uint64_t max_age) {
    auto bad = [&]() -> std::optional<std::size_t> {
        ++stats_.bundles_rejected;
        return std::nullopt;
    };
    constexpr std::size_t kTail = 32 + 64;
    if (in.size() > kMaxBundleSize || in.size() < 4 + 8 + 2 + kTail ||
        !std::equal(kBundleMagic.begin(), kBundleMagic.end(), in.begin()))
        return bad();
    auto body = in.subspan(0, in.size() - 64);
    crypto::Ed25519Public key;
    std::copy_n(in.end() - static_cast<std::ptrdiff_t>(kTail), 32, key.bytes.begin());
    crypto::Ed25519Signature sig;
    std::copy_n(in.end() - 64, 64, sig.bytes.begin());
    if (!(key == signer) || !crypto::ed25519_verify(signer, bundle_signature_input(body), sig))
        return bad();
    std::uint64_t published = load_u64_be(in.data() + 4);
    if (published > now + kClockSkewSeconds || now > published + max_age) return bad();
    std::size_t count = load_u16_be(in.data() + 12);
    std::size_t pos = 14;
    std::size_t end = in.size() - kTail;
    std::vector<ByteView> items;
    for (std::size_t i = 0; i < count; ++i) {
        if (end - pos < 2) return bad();
        std::size_t len = load_u16_be(in.data() + pos);
        pos += 2;
        if (end - pos < len) return bad();
        items.push_back(in.subspan(pos, len));
        pos += len;
    }
    if (pos != end) return bad();
    std::size_t taken = 0;
    for (auto item : items) {
        auto o = insert(item, now);
        if (o == Outcome::accepted || o == Outcome::replaced) ++taken;
    }
    return taken;
}

}  // namespace zmesh::discovery
