// Arbitrary bytes as a peer's session description and as a DCEP message: the parsers
// must never read out of bounds, and what they accept must hold together (credentials
// present, at most kMaxCandidates candidates; a channel label within bounds) and survive
// a round trip through our writer.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "zmesh/transport/webrtc/dcep.hpp"
#include "zmesh/transport/webrtc/sdp.hpp"

using namespace zmesh;
using namespace zmesh::transport::webrtc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto d = parse_sdp(text)) {
        if (d->ice_ufrag.empty() || d->ice_pwd.empty() || d->candidates.size() > kMaxCandidates)
            std::abort();
        auto again = parse_sdp(write_sdp(*d, 1));
        if (!again || again->fingerprint != d->fingerprint || again->ice_pwd != d->ice_pwd)
            std::abort();
    }
    if (auto o = parse_open({data, size})) {
        if (o->label.size() > kMaxLabel || o->protocol.size() > kMaxLabel) std::abort();
        if (encode_open(*o) != Bytes(data, data + size)) std::abort();
    }
    return 0;
}
