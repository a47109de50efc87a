#pragma once
// GF(2^8) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D), the field of RFC 8681
// and of ISA-L. Bulk operations run on ISA-L's SIMD kernels; we only arrange them.

#include <cstdint>

#include "zmesh/core/bytes.hpp"

namespace zmesh::fec::gf {

std::uint8_t mul(std::uint8_t a, std::uint8_t b);
std::uint8_t inv(std::uint8_t a);  // a != 0
// dst ^= c * src, byte by byte (dst.size() >= src.size()).
void mul_add(std::uint8_t c, ByteView src, MutByteView dst);
// buf = c * buf.
void scale(std::uint8_t c, MutByteView buf);

}  // namespace zmesh::fec::gf
