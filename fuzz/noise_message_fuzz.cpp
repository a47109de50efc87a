// Arbitrary bytes as Noise handshake messages: as message 1 at a responder, and as
// message 2 at an initiator that has sent message 1, for each pattern.
#include <cstdint>

#include "zmesh/link/noise/handshake.hpp"

using namespace zmesh;
using namespace zmesh::link::noise;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto responder =
        crypto::X25519KeyPair::from_secret(*crypto::X25519Secret::from(Bytes(32, 3)));
    static const auto initiator =
        crypto::X25519KeyPair::from_secret(*crypto::X25519Secret::from(Bytes(32, 4)));
    if (size == 0) return 0;
    ByteView msg{data + 1, size - 1};
    Pattern pattern = static_cast<Pattern>(1 + data[0] % 3);
    Suite suite{data[0] & 8 ? crypto::AeadAlg::aes256_gcm : crypto::AeadAlg::chacha20_poly1305,
                data[0] & 16 ? crypto::HashAlg::sha256 : crypto::HashAlg::blake2b};

    HandshakeConfig rc;
    rc.pattern = pattern;
    rc.suite = suite;
    rc.role = Role::responder;
    rc.local_static = responder;
    auto r = HandshakeState::create(rc);
    if (r) (void)r->read_message(msg);

    HandshakeConfig ic;
    ic.pattern = pattern;
    ic.suite = suite;
    ic.role = Role::initiator;
    ic.remote_static = responder.pub;
    if (pattern != Pattern::NK) ic.local_static = initiator;
    auto i = HandshakeState::create(ic);
    if (i && i->write_message({})) (void)i->read_message(msg);
    return 0;
}
