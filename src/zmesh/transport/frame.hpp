#pragma once
// Length-prefixed framing of link packets on stream transports (TCP):
// a 2-byte big-endian length, then that many bytes. Pure code, no sockets.

#include <vector>

#include "zmesh/core/result.hpp"
#include "zmesh/wire/cell.hpp"

namespace zmesh::transport {

inline constexpr std::size_t kFrameHeader = 2;
inline constexpr std::size_t kMaxFrame = wire::kPacketSize;

// Appends one frame; fails for an empty or oversized payload.
Status append_frame(std::vector<std::uint8_t>& out, ByteView payload);

// Accumulates stream bytes and yields whole frames. Any frame whose length is not
// exactly a link packet is an error, after which the decoder refuses all input:
// a stream that lost framing cannot be trusted again, so the peer is disconnected.
class FrameDecoder {
  public:
    // Adds bytes; fails (and stays failed) on a bad length.
    Status feed(ByteView data);
    // The next whole frame, or an empty view when more bytes are needed. The view stays
    // valid until the next feed().
    ByteView next();
    bool failed() const { return failed_; }
    std::size_t buffered() const { return buf_.size() - pos_; }

  private:
    std::vector<std::uint8_t> buf_;
    std::size_t pos_ = 0;
    bool failed_ = false;
};

}  // namespace zmesh::transport
