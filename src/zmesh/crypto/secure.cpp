#include "zmesh/crypto/secure.hpp"

#include <sodium.h>

#include <stdexcept>

namespace zmesh::crypto {

void ensure_init() {
    static const bool ok = sodium_init() >= 0;
    if (!ok) throw std::runtime_error("libsodium failed to initialise");
}

void wipe(void* p, std::size_t n) noexcept {
    if (p != nullptr && n != 0) sodium_memzero(p, n);
}

bool ct_equal(ByteView a, ByteView b) noexcept {
    if (a.size() != b.size()) return false;
    if (a.empty()) return true;
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

void random_bytes(MutByteView out) {
    ensure_init();
    randombytes_buf(out.data(), out.size());
}

}  // namespace zmesh::crypto
