#include "zmesh/discovery/descriptor.hpp"

#include <algorithm>

#include "zmesh/discovery/codec.hpp"

namespace zmesh::discovery {

std::vector<std::string> Descriptor::flag_names() const {
    std::vector<std::string> out;
    for (auto [bit, name] : {std::pair{kFlagRelay, "relay"},
                             {kFlagExit, "exit"},
                             {kFlagGuard, "guard"},
                             {kFlagBootstrap, "bootstrap"},
                             {kFlagOnion, "onion"},
                             {kFlagI2p, "i2p"},
                             {kFlagUpstream, "upstream"}})
        if (has(bit)) out.emplace_back(name);
    return out;
}

std::uint8_t ability_needed(std::string_view host) {
    if (host.ends_with('.')) host.remove_suffix(1);
    auto under = [&](std::string_view tld) {
        if (host.size() <= tld.size() || host[host.size() - tld.size() - 1] != '.') return false;
        auto tail = host.substr(host.size() - tld.size());
        return std::equal(tail.begin(), tail.end(), tld.begin(), [](char a, char b) {
            return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
        });
    };
    if (under("onion")) return kFlagOnion;
    if (under("i2p")) return kFlagI2p;
    return 0;
}

namespace {

constexpr std::array<std::uint8_t, 4> kMagic = {'Z', 'M', 'D', '1'};
constexpr std::string_view kSignatureContext = "zmesh descriptor v1";

Bytes signed_part(const Descriptor& d) {
    Writer w;
    w.bytes(kMagic);
    w.bytes(d.identity.view());
    w.bytes(d.link_key.view());
    w.bytes(d.onion_key.view());
    w.u8(d.flags);
    w.u64(d.published);
    w.u64(d.expires);
    w.u64(d.bandwidth);
    w.u8(static_cast<std::uint8_t>(d.addresses.size()));
    for (const auto& a : d.addresses) {
        w.u8(static_cast<std::uint8_t>(a.transport));
        w.bytes(a.ip);
        w.u16(a.port);
    }
    w.u8(static_cast<std::uint8_t>(d.family.size()));
    for (const auto& f : d.family) w.bytes(f.view());
    w.u8(static_cast<std::uint8_t>(d.exit_policy.size()));
    for (const auto& r : d.exit_policy) {
        w.u8(static_cast<std::uint8_t>(r.size()));
        w.bytes(as_bytes(r));
    }
    return w.take();
}

Bytes signature_input(ByteView body) {
    Bytes input(kSignatureContext.begin(), kSignatureContext.end());
    input.push_back(0);
    input.insert(input.end(), body.begin(), body.end());
    return input;
}

bool printable(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

}  // namespace

const char* to_string(DescriptorError e) {
    switch (e) {
        case DescriptorError::malformed:
            return "malformed";
        case DescriptorError::oversized:
            return "oversized";
        case DescriptorError::bad_signature:
            return "bad signature";
        case DescriptorError::expired:
            return "expired";
        case DescriptorError::not_yet_valid:
            return "not yet valid";
        case DescriptorError::too_long_lived:
            return "valid for too long";
    }
    return "unknown";
}

Bytes encode_descriptor(const Descriptor& d) {
    Bytes out = signed_part(d);
    out.insert(out.end(), d.signature.bytes.begin(), d.signature.bytes.end());
    return out;
}

Bytes sign_descriptor(Descriptor& d, const crypto::Identity& id) {
    d.identity = id.signing.pub;
    std::sort(d.family.begin(), d.family.end(),
              [](const auto& a, const auto& b) { return a.bytes < b.bytes; });
    d.family.erase(std::unique(d.family.begin(), d.family.end()), d.family.end());
    d.signature = id.signing.sign(signature_input(signed_part(d)));
    return encode_descriptor(d);
}

std::optional<Descriptor> decode_descriptor(ByteView in) {
    if (in.size() > kMaxDescriptorSize) return std::nullopt;
    Reader r(in);
    std::array<std::uint8_t, 4> magic{};
    r.take(magic);
    if (magic != kMagic) return std::nullopt;
    Descriptor d;
    r.take(d.identity.bytes);
    r.take(d.link_key.bytes);
    r.take(d.onion_key.bytes);
    d.flags = r.u8();
    d.published = r.u64();
    d.expires = r.u64();
    d.bandwidth = r.u64();
    std::size_t n = r.u8();
    if (n == 0 || n > kMaxAddresses) return std::nullopt;
    for (std::size_t i = 0; i < n && r.ok(); ++i) {
        Address a;
        auto t = r.u8();
        if (!link::known_transport(t)) return std::nullopt;
        a.transport = static_cast<TransportKind>(t);
        r.take(a.ip);
        a.port = r.u16();
        if (a.port == 0) return std::nullopt;
        d.addresses.push_back(a);
    }
    n = r.u8();
    if (n > kMaxFamily) return std::nullopt;
    for (std::size_t i = 0; i < n && r.ok(); ++i) {
        crypto::NodeId f;
        r.take(f.bytes);
        if (!d.family.empty() && !(d.family.back().bytes < f.bytes)) return std::nullopt;
        d.family.push_back(f);
    }
    n = r.u8();
    if (n > kMaxPolicyRules) return std::nullopt;
    for (std::size_t i = 0; i < n && r.ok(); ++i) {
        std::size_t len = r.u8();
        if (len == 0 || len > kMaxPolicyRuleLength) return std::nullopt;
        std::string rule(len, '\0');
        r.take({reinterpret_cast<std::uint8_t*>(rule.data()), len});
        if (!printable(rule)) return std::nullopt;
        d.exit_policy.push_back(std::move(rule));
    }
    r.take(d.signature.bytes);
    if (!r.done() || (d.flags & ~kKnownFlags) != 0) return std::nullopt;
    return d;
}

Verified verify_descriptor(ByteView in, std::uint64_t now) {
    if (in.size() > kMaxDescriptorSize) return {std::nullopt, DescriptorError::oversized};
    auto d = decode_descriptor(in);
    if (!d) return {std::nullopt, DescriptorError::malformed};
    auto body = in.subspan(0, in.size() - crypto::Ed25519Signature::size());
    if (!crypto::ed25519_verify(d->identity, signature_input(body), d->signature))
        return {std::nullopt, DescriptorError::bad_signature};
    if (d->published > now + kClockSkewSeconds)
        return {std::nullopt, DescriptorError::not_yet_valid};
    if (d->expires <= now) return {std::nullopt, DescriptorError::expired};
    if (d->expires < d->published || d->expires - d->published > kMaxLifetimeSeconds)
        return {std::nullopt, DescriptorError::too_long_lived};
    return {std::move(d), DescriptorError::malformed};
}

}  // namespace zmesh::discovery
