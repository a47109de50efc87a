// Arbitrary stream bytes, fed in chunks whose sizes come from the input, into the TCP
// frame decoder: it must never read out of bounds or yield a frame of the wrong size.
#include <cstdint>
#include <cstdlib>

#include "zmesh/transport/frame.hpp"

using namespace zmesh;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    transport::FrameDecoder d;
    std::size_t pos = 0;
    while (pos < size) {
        std::size_t chunk = 1 + data[pos] % 200;
        chunk = std::min(chunk, size - pos);
        (void)d.feed({data + pos, chunk});
        pos += chunk;
        for (ByteView f = d.next(); !f.empty(); f = d.next())
            if (f.size() != wire::kPacketSize) std::abort();
    }
    return 0;
}
