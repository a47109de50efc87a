#include "zmesh/transport/frame.hpp"

namespace zmesh::transport {

Status append_frame(std::vector<std::uint8_t>& out, ByteView payload) {
    if (payload.empty()) return Errc::malformed;
    if (payload.size() > kMaxFrame) return Errc::oversized;
    std::size_t at = out.size();
    out.resize(at + kFrameHeader);
    store_u16_be(out.data() + at, static_cast<std::uint16_t>(payload.size()));
    out.insert(out.end(), payload.begin(), payload.end());
    return {};
}

Status FrameDecoder::feed(ByteView data) {
    if (failed_) return Errc::bad_state;
    // Compact consumed bytes so the buffer stays bounded by one frame plus one read.
    if (pos_ > 0) {
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
        pos_ = 0;
    }
    buf_.insert(buf_.end(), data.begin(), data.end());
    return {};
}

ByteView FrameDecoder::next() {
    if (failed_ || buf_.size() - pos_ < kFrameHeader) return {};
    std::size_t len = load_u16_be(buf_.data() + pos_);
    if (len != wire::kPacketSize) {
        failed_ = true;
        return {};
    }
    if (buf_.size() - pos_ < kFrameHeader + len) return {};
    ByteView frame{buf_.data() + pos_ + kFrameHeader, len};
    pos_ += kFrameHeader + len;
    return frame;
}

}  // namespace zmesh::transport
