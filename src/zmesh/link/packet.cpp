#include "zmesh/link/packet.hpp"

#include <algorithm>

namespace zmesh::link {
namespace {

bool all_zero(ByteView v) {
    return std::all_of(v.begin(), v.end(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace

Result<ParsedPacket> parse_packet(ByteView in) {
    if (in.size() < wire::kPacketSize) return Errc::truncated;
    if (in.size() > wire::kPacketSize) return Errc::oversized;
    switch (static_cast<PacketType>(in[0])) {
        case PacketType::handshake: {
            HandshakeView v;
            v.header.step = in[1];
            v.header.suite = in[2];
            v.header.pattern = in[3];
            std::size_t len = load_u16_be(&in[4]);
            v.header.fragment = in[6];
            v.header.fragments = in[7];
            if (v.header.fragments == 0 || v.header.fragments > kMaxFragments ||
                v.header.fragment >= v.header.fragments)
                return Errc::malformed;
            if (len == 0 || len > kMaxNoiseMessage) return Errc::malformed;
            v.header.sender = load_u32_be(&in[8]);
            v.header.receiver = load_u32_be(&in[12]);
            v.message = in.subspan(kHandshakeHeader, len);
            if (!all_zero(in.subspan(kHandshakeHeader + len, kMaxNoiseMessage - len)))
                return Errc::malformed;
            v.macced = in.first(kMac1Offset);
            v.mac1 = in.subspan(kMac1Offset, kMacSize);
            v.mac2 = in.subspan(kMac2Offset, kMacSize);
            return ParsedPacket{v};
        }
        case PacketType::cookie: {
            if (!all_zero(in.subspan(1, 3))) return Errc::malformed;
            CookieView v;
            v.receiver = load_u32_be(&in[4]);
            v.nonce = in.subspan(8, kCookieNonceSize);
            v.sealed = in.subspan(8 + kCookieNonceSize, kSealedCookieSize);
            std::size_t used = 8 + kCookieNonceSize + kSealedCookieSize;
            if (!all_zero(in.subspan(used))) return Errc::malformed;
            return ParsedPacket{v};
        }
        case PacketType::data: {
            if (in[1] != 0 || in[2] != 0 || in[3] != 0) return Errc::malformed;
            DataView v;
            v.receiver = load_u32_be(&in[4]);
            v.counter = load_u64_le(&in[8]);
            v.header = in.first(wire::kLinkHeaderSize);
            v.sealed = in.subspan(wire::kLinkHeaderSize);
            return ParsedPacket{v};
        }
    }
    return Errc::malformed;
}

Result<Packet> build_handshake(const HandshakeHeader& h, ByteView noise_message) {
    if (noise_message.empty() || noise_message.size() > kMaxNoiseMessage) return Errc::oversized;
    Packet p{};
    p[0] = static_cast<std::uint8_t>(PacketType::handshake);
    p[1] = h.step;
    p[2] = h.suite;
    p[3] = h.pattern;
    store_u16_be(&p[4], static_cast<std::uint16_t>(noise_message.size()));
    p[6] = h.fragment;
    p[7] = h.fragments;
    store_u32_be(&p[8], h.sender);
    store_u32_be(&p[12], h.receiver);
    std::copy(noise_message.begin(), noise_message.end(), p.begin() + kHandshakeHeader);
    return p;
}

Packet build_cookie(std::uint32_t receiver, ByteView nonce, ByteView sealed) {
    Packet p{};
    p[0] = static_cast<std::uint8_t>(PacketType::cookie);
    store_u32_be(&p[4], receiver);
    std::copy_n(nonce.begin(), std::min(nonce.size(), kCookieNonceSize), p.begin() + 8);
    std::copy_n(sealed.begin(), std::min(sealed.size(), kSealedCookieSize),
                p.begin() + 8 + kCookieNonceSize);
    return p;
}

void write_data_header(Packet& out, std::uint32_t receiver, std::uint64_t counter) {
    out[0] = static_cast<std::uint8_t>(PacketType::data);
    out[1] = out[2] = out[3] = 0;
    store_u32_be(&out[4], receiver);
    store_u64_le(&out[8], counter);
}

}  // namespace zmesh::link
