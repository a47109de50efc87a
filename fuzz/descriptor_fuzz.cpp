// Arbitrary bytes as a relay descriptor and as a descriptor bundle: parsing and
// verification must never crash or read out of bounds; a descriptor that decodes must
// re-encode to exactly its input (one canonical form), and no bundle without the right
// signature may add anything to a directory.
#include <cstdint>
#include <cstdlib>

#include "zmesh/discovery/directory.hpp"

using namespace zmesh;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteView in(data, size);
    if (auto d = discovery::decode_descriptor(in)) {
        Bytes again = discovery::encode_descriptor(*d);
        if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
    }
    (void)discovery::verify_descriptor(in, 1'800'000'000);
    static const auto bootstrap = crypto::Identity::generate();
    discovery::Directory dir;
    if (dir.insert_bundle(in, bootstrap.signing.pub, 1'800'000'000, 3600) || dir.size() != 0)
        std::abort();
    return 0;
}
