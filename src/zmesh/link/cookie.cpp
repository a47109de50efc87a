#include "zmesh/link/cookie.hpp"

#include "zmesh/crypto/aead.hpp"
#include "zmesh/crypto/hash.hpp"

namespace zmesh::link {
namespace {

MacKey derive(std::string_view label, const crypto::X25519Public& pub) {
    Bytes in(label.begin(), label.end());
    in.insert(in.end(), pub.bytes.begin(), pub.bytes.end());
    MacKey key;
    crypto::blake2b(key.mut_view(), in);
    return key;
}

ByteArray<kMacSize> mac(const MacKey& key, ByteView data) {
    ByteArray<kMacSize> out;
    crypto::blake2b(out, data, key.view());
    return out;
}

ByteArray<kMacSize> mac_with(ByteView key, ByteView data) {
    ByteArray<kMacSize> out;
    crypto::blake2b(out, data, key);
    return out;
}

}  // namespace

MacKey derive_mac1_key(const crypto::X25519Public& s) {
    return derive("zmesh mac1----", s);
}
MacKey derive_cookie_key(const crypto::X25519Public& s) {
    return derive("zmesh cookie--", s);
}

CookieChecker::CookieChecker(const crypto::X25519Public& local_static, Duration lifetime)
    : mac1_key_(derive_mac1_key(local_static)),
      cookie_key_(derive_cookie_key(local_static)),
      lifetime_(lifetime) {}

bool CookieChecker::mac1_valid(const HandshakeView& hs) const {
    auto expected = mac(mac1_key_, hs.macced);
    return crypto::ct_equal(expected, hs.mac1);
}

void CookieChecker::refresh(TimePoint now) {
    if (!have_secret_ || now - secret_born_ >= lifetime_) {
        crypto::random_bytes(secret_.mut_view());
        secret_born_ = now;
        have_secret_ = true;
    }
}

ByteArray<kCookieSize> CookieChecker::cookie_for(ByteView source) const {
    return mac_with(secret_.view(), source);
}

bool CookieChecker::mac2_valid(const HandshakeView& hs, ByteView source, TimePoint now) {
    refresh(now);
    auto cookie = cookie_for(source);
    ByteView covered{hs.macced.data(), kMac2Offset};
    auto expected = mac_with(cookie, covered);
    return crypto::ct_equal(expected, hs.mac2);
}

Packet CookieChecker::make_reply(const HandshakeView& hs, ByteView source, TimePoint now) {
    refresh(now);
    auto cookie = cookie_for(source);
    auto nonce = crypto::random_value<crypto::XAeadNonce>();
    ByteArray<kSealedCookieSize> sealed;
    (void)crypto::xchacha20poly1305_seal(cookie_key_.view(), nonce.view(), hs.mac1, cookie, sealed);
    return build_cookie(hs.header.sender, nonce.view(), sealed);
}

CookieStamp::CookieStamp(const crypto::X25519Public& remote_static, Duration lifetime)
    : mac1_key_(derive_mac1_key(remote_static)),
      cookie_key_(derive_cookie_key(remote_static)),
      lifetime_(lifetime) {}

void CookieStamp::stamp(Packet& packet, TimePoint now) {
    last_mac1_ = mac(mac1_key_, ByteView{packet.data(), kMac1Offset});
    std::copy(last_mac1_.begin(), last_mac1_.end(), packet.begin() + kMac1Offset);
    sent_ = true;
    if (has_cookie(now)) {
        auto mac2 = mac_with(cookie_, ByteView{packet.data(), kMac2Offset});
        std::copy(mac2.begin(), mac2.end(), packet.begin() + kMac2Offset);
    } else {
        std::fill(packet.begin() + kMac2Offset, packet.end(), 0);
    }
}

Status CookieStamp::take_reply(const CookieView& reply, TimePoint now) {
    if (!sent_) return Errc::bad_state;
    ByteArray<kCookieSize> cookie;
    auto st = crypto::xchacha20poly1305_open(cookie_key_.view(), reply.nonce, last_mac1_,
                                             reply.sealed, cookie);
    if (!st) return st;
    cookie_ = cookie;
    cookie_born_ = now;
    have_cookie_ = true;
    return {};
}

bool CookieStamp::has_cookie(TimePoint now) const {
    // The responder rotates its secret every lifetime; stop using a cookie a bit earlier.
    return have_cookie_ && now - cookie_born_ < lifetime_ - seconds(5);
}

}  // namespace zmesh::link
