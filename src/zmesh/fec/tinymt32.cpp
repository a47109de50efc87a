#include "zmesh/fec/tinymt32.hpp"

namespace zmesh::fec {

namespace {

constexpr std::uint32_t kMat1 = 0x8f7011ee;
constexpr std::uint32_t kMat2 = 0xfc78ff1f;
constexpr std::uint32_t kTmat = 0x3793fdff;
constexpr std::uint32_t kMask = 0x7fffffff;

// All ones when the low bit of v is set, else zero.
constexpr std::uint32_t low_bit_mask(std::uint32_t v) {
    return 0u - (v & 1u);
}

}  // namespace

TinyMt32::TinyMt32(std::uint32_t seed) : status_{seed, kMat1, kMat2, kTmat} {
    for (std::uint32_t i = 1; i < 8; ++i) {
        std::uint32_t prev = status_[(i - 1) & 3];
        status_[i & 3] ^= i + 1812433253u * (prev ^ (prev >> 30));
    }
    if ((status_[0] & kMask) == 0 && status_[1] == 0 && status_[2] == 0 && status_[3] == 0) {
        status_[0] = 'T';
        status_[1] = 'I';
        status_[2] = 'N';
        status_[3] = 'Y';
    }
    for (int i = 0; i < 8; ++i) next_state();
}

void TinyMt32::next_state() {
    std::uint32_t y = status_[3];
    std::uint32_t x = (status_[0] & kMask) ^ status_[1] ^ status_[2];
    x ^= x << 1;
    y ^= (y >> 1) ^ x;
    status_[0] = status_[1];
    status_[1] = status_[2];
    status_[2] = x ^ (y << 10);
    status_[3] = y;
    status_[1] ^= low_bit_mask(y) & kMat1;
    status_[2] ^= low_bit_mask(y) & kMat2;
}

std::uint32_t TinyMt32::next() {
    next_state();
    std::uint32_t t0 = status_[3];
    std::uint32_t t1 = status_[0] + (status_[2] >> 8);
    t0 ^= t1;
    t0 ^= low_bit_mask(t1) & kTmat;
    return t0;
}

void generate_coding_coefficients(std::uint16_t repair_key, std::span<std::uint8_t> out,
                                  std::uint8_t dt) {
    TinyMt32 rng(repair_key);
    for (auto& c : out) {
        if (dt < 15 && rng.next16() > dt) {
            c = 0;
            continue;
        }
        // Zero is skipped so that every source symbol in the window takes part.
        do {
            c = rng.next256();
        } while (c == 0);
    }
}

}  // namespace zmesh::fec
