#pragma once
// WireGuard-style handshake protection.
//
// mac1 proves the sender knows the responder's static key; it is checked before any
// Diffie-Hellman work. Under load the responder also demands mac2, keyed with a cookie
// that it hands out (encrypted) to a source address that asked; a flood from spoofed
// addresses cannot collect cookies, so it is turned away for the price of one MAC.

#include "zmesh/crypto/secure.hpp"
#include "zmesh/link/limits.hpp"
#include "zmesh/link/packet.hpp"

namespace zmesh::link {

using MacKey = crypto::Secret<struct MacKeyTag, 32>;

MacKey derive_mac1_key(const crypto::X25519Public& responder_static);
MacKey derive_cookie_key(const crypto::X25519Public& responder_static);

// Responder side: checks macs and issues cookie replies.
class CookieChecker {
  public:
    explicit CookieChecker(const crypto::X25519Public& local_static, Duration lifetime);
    bool mac1_valid(const HandshakeView& hs) const;
    bool mac2_valid(const HandshakeView& hs, ByteView source, TimePoint now);
    Packet make_reply(const HandshakeView& hs, ByteView source, TimePoint now);

  private:
    void refresh(TimePoint now);
    ByteArray<kCookieSize> cookie_for(ByteView source) const;

    MacKey mac1_key_;
    MacKey cookie_key_;
    crypto::Secret<struct CookieSecretTag, 32> secret_;
    TimePoint secret_born_{};
    bool have_secret_ = false;
    Duration lifetime_;
};

// Initiator side: stamps macs on outgoing handshakes and takes cookie replies.
class CookieStamp {
  public:
    CookieStamp() = default;
    explicit CookieStamp(const crypto::X25519Public& remote_static, Duration lifetime);
    void stamp(Packet& packet, TimePoint now);
    // Accepts a reply for the last stamped packet; auth_failed otherwise.
    Status take_reply(const CookieView& reply, TimePoint now);
    bool has_cookie(TimePoint now) const;

  private:
    MacKey mac1_key_;
    MacKey cookie_key_;
    ByteArray<kMacSize> last_mac1_{};
    bool sent_ = false;
    ByteArray<kCookieSize> cookie_{};
    TimePoint cookie_born_{};
    bool have_cookie_ = false;
    Duration lifetime_{};
};

}  // namespace zmesh::link
