#pragma once
// Reed-Solomon block erasure coding over GF(2^8) with ISA-L: k data shards and m parity
// shards of one length, any k of the k + m rebuild the data. The generator is ISA-L's
// Cauchy matrix, systematic (the data shards go out as they are) and with every k x k
// submatrix invertible, so any k shards decode.

#include <optional>
#include <span>
#include <vector>

#include "zmesh/core/bytes.hpp"
#include "zmesh/core/result.hpp"

namespace zmesh::fec {

class ReedSolomon {
  public:
    std::size_t data_shards() const { return k_; }
    std::size_t parity_shards() const { return m_; }
    // Writes the m parity shards for the k data shards (all of one length).
    Status encode(std::span<const ByteView> data, std::span<const MutByteView> parity) const;
    // shards: k + m entries, lost ones empty. Rebuilds the lost data shards in place
    // (parity shards stay lost). Errors: fewer than k shards, or lengths that differ.
    Status reconstruct(std::vector<std::optional<Bytes>>& shards) const;

  private:
    friend Result<ReedSolomon> make_reed_solomon(std::size_t k, std::size_t m);
    ReedSolomon(std::size_t k, std::size_t m);
    std::size_t k_;
    std::size_t m_;
    std::vector<std::uint8_t> matrix_;  // (k + m) x k; the first k rows are the identity
    std::vector<std::uint8_t> tables_;  // ISA-L tables for the m parity rows
};

// k >= 1 data shards, m >= 1 parity shards, k + m <= 255.
Result<ReedSolomon> make_reed_solomon(std::size_t k, std::size_t m);

}  // namespace zmesh::fec
