#include "zmesh/transport/webrtc/dcep.hpp"

#include <algorithm>

namespace zmesh::transport::webrtc {

Bytes encode_open(const ChannelOpen& o) {
    std::size_t label = std::min(o.label.size(), kMaxLabel);
    std::size_t protocol = std::min(o.protocol.size(), kMaxLabel);
    Bytes b(12 + label + protocol);
    b[0] = kDcepOpen;
    b[1] = static_cast<std::uint8_t>(o.type);
    store_u16_be(&b[2], o.priority);
    store_u32_be(&b[4], o.reliability);
    store_u16_be(&b[8], static_cast<std::uint16_t>(label));
    store_u16_be(&b[10], static_cast<std::uint16_t>(protocol));
    std::copy_n(o.label.begin(), label, b.begin() + 12);
    std::copy_n(o.protocol.begin(), protocol, b.begin() + 12 + static_cast<std::ptrdiff_t>(label));
    return b;
}

Result<ChannelOpen> parse_open(ByteView b) {
    if (b.size() < 12) return Errc::truncated;
    if (b[0] != kDcepOpen) return Errc::malformed;
    ChannelOpen o;
    switch (b[1]) {
        case 0x00:
        case 0x80:
        case 0x01:
        case 0x81:
        case 0x02:
        case 0x82:
            o.type = static_cast<ChannelType>(b[1]);
            break;
        default:
            return Errc::malformed;
    }
    o.priority = load_u16_be(&b[2]);
    o.reliability = load_u32_be(&b[4]);
    std::size_t label = load_u16_be(&b[8]);
    std::size_t protocol = load_u16_be(&b[10]);
    if (label > kMaxLabel || protocol > kMaxLabel) return Errc::oversized;
    if (b.size() != 12 + label + protocol) return Errc::bad_length;
    o.label.assign(b.begin() + 12, b.begin() + 12 + static_cast<std::ptrdiff_t>(label));
    o.protocol.assign(b.begin() + 12 + static_cast<std::ptrdiff_t>(label), b.end());
    return o;
}

}  // namespace zmesh::transport::webrtc
