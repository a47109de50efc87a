// Arbitrary bytes as Tetrys repair symbols into a decoder that holds some source symbols
// and pending equations, and as stream REPAIR and FEC_REPORT payloads: nothing may crash,
// and whatever the decoder hands out must be a well-formed symbol.
#include <cstdint>
#include <cstdlib>

#include "zmesh/fec/tetrys.hpp"
#include "zmesh/stream/stream.hpp"

using namespace zmesh;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteView in{data, size};
    fec::TetrysDecoder dec(64);
    fec::TetrysEncoder enc;
    for (std::uint32_t id = 0; id < 20; ++id) {
        Bytes p(10 + id * 7, static_cast<std::uint8_t>(id));
        (void)enc.add_source(id, p);
        if (id % 3 != 0) (void)dec.add_source(id, p);
    }
    (void)dec.add_repair(*enc.repair());  // one pending equation
    auto got = dec.add_repair(in);
    if (got)
        for (const auto& r : *got)
            if (r.payload.size() > fec::kMaxSourceSize) std::abort();
    // The same bytes, shifted so the header is fuzzed around a valid prefix.
    Bytes framed = *enc.repair();
    framed.insert(framed.end(), in.begin(), in.end());
    (void)dec.add_repair(framed);
    stream::Stream s;
    std::vector<stream::Outgoing> out;
    s.on_repair(in, stream::Clock::now(), out);
    (void)s.on_fec_report(in);
    return 0;
}
