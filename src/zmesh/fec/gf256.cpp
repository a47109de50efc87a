#include "zmesh/fec/gf256.hpp"

#include <isa-l/erasure_code.h>

#include <algorithm>
#include <array>

namespace zmesh::fec::gf {

namespace {

// ISA-L's multiply-add kernels want at least 64 bytes; shorter tails go byte by byte.
constexpr std::size_t kMinSimd = 64;

}  // namespace

std::uint8_t mul(std::uint8_t a, std::uint8_t b) {
    return gf_mul(a, b);
}

std::uint8_t inv(std::uint8_t a) {
    return gf_inv(a);
}

void mul_add(std::uint8_t c, ByteView src, MutByteView dst) {
    std::size_t n = std::min(src.size(), dst.size());
    if (c == 0 || n == 0) return;
    auto* d = dst.data();
    const auto* s = src.data();
    if (c == 1) {
        for (std::size_t i = 0; i < n; ++i) d[i] ^= s[i];
        return;
    }
    std::size_t done = 0;
    if (n >= kMinSimd) {
        std::array<std::uint8_t, 32> table;
        gf_vect_mul_init(c, table.data());
        gf_vect_mad(static_cast<int>(n), 1, 0, table.data(), const_cast<std::uint8_t*>(s), d);
        done = n;
    }
    for (std::size_t i = done; i < n; ++i) d[i] ^= gf_mul(c, s[i]);
}

void scale(std::uint8_t c, MutByteView buf) {
    if (c == 1) return;
    if (c == 0) {
        std::fill(buf.begin(), buf.end(), 0);
        return;
    }
    std::array<std::uint8_t, 256> row;
    for (unsigned i = 0; i < 256; ++i) row[i] = gf_mul(c, static_cast<std::uint8_t>(i));
    for (auto& b : buf) b = row[b];
}

}  // namespace zmesh::fec::gf
