#pragma once
// TinyMT32 (RFC 8682), the small Mersenne Twister that RFC 8681 uses to derive coding
// coefficients from a repair key, so sender and receiver agree on them without sending
// them. Not for cryptography.

#include <cstdint>
#include <span>

namespace zmesh::fec {

class TinyMt32 {
  public:
    // The parameter set of RFC 8682 (mat1 0x8f7011ee, mat2 0xfc78ff1f, tmat 0x3793fdff).
    explicit TinyMt32(std::uint32_t seed);
    std::uint32_t next();
    std::uint8_t next256() { return static_cast<std::uint8_t>(next() & 0xff); }
    std::uint8_t next16() { return static_cast<std::uint8_t>(next() & 0x0f); }

  private:
    void next_state();
    std::uint32_t status_[4];
};

// RFC 8681 section 3.6, GF(2^8) (m = 8): coefficients for one repair symbol from its
// repair key. Density dt in 0..15; dt = 15 gives every coefficient a nonzero value.
void generate_coding_coefficients(std::uint16_t repair_key, std::span<std::uint8_t> out,
                                  std::uint8_t dt = 15);

}  // namespace zmesh::fec
