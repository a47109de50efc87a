#include "zmesh/fec/reed_solomon.hpp"

#include <isa-l/erasure_code.h>

namespace zmesh::fec {

ReedSolomon::ReedSolomon(std::size_t k, std::size_t m)
    : k_(k), m_(m), matrix_((k + m) * k), tables_(32 * k * m) {
    gf_gen_cauchy1_matrix(matrix_.data(), static_cast<int>(k + m), static_cast<int>(k));
    ec_init_tables(static_cast<int>(k), static_cast<int>(m), matrix_.data() + k * k,
                   tables_.data());
}

Result<ReedSolomon> make_reed_solomon(std::size_t k, std::size_t m) {
    if (k < 1 || m < 1 || k + m > 255) return Errc::bad_length;
    return ReedSolomon(k, m);
}

Status ReedSolomon::encode(std::span<const ByteView> data,
                           std::span<const MutByteView> parity) const {
    if (data.size() != k_ || parity.size() != m_) return Errc::bad_length;
    std::size_t len = data[0].size();
    std::vector<std::uint8_t*> in(k_);
    std::vector<std::uint8_t*> out(m_);
    for (std::size_t i = 0; i < k_; ++i) {
        if (data[i].size() != len) return Errc::bad_length;
        in[i] = const_cast<std::uint8_t*>(data[i].data());
    }
    for (std::size_t i = 0; i < m_; ++i) {
        if (parity[i].size() != len) return Errc::bad_length;
        out[i] = parity[i].data();
    }
    if (len > 0)
        ec_encode_data(static_cast<int>(len), static_cast<int>(k_), static_cast<int>(m_),
                       const_cast<std::uint8_t*>(tables_.data()), in.data(), out.data());
    return {};
}

Status ReedSolomon::reconstruct(std::vector<std::optional<Bytes>>& shards) const {
    if (shards.size() != k_ + m_) return Errc::bad_length;
    std::vector<std::size_t> present;
    std::vector<std::size_t> lost;
    std::size_t len = SIZE_MAX;
    for (std::size_t i = 0; i < shards.size(); ++i) {
        if (!shards[i]) {
            if (i < k_) lost.push_back(i);
            continue;
        }
        if (len == SIZE_MAX) len = shards[i]->size();
        if (shards[i]->size() != len) return Errc::bad_length;
        if (present.size() < k_) present.push_back(i);
    }
    if (present.size() < k_) return Errc::exhausted;
    if (lost.empty()) return {};
    // The rows of the generator for the shards we use, inverted, map them back to data.
    std::vector<std::uint8_t> sub(k_ * k_);
    std::vector<std::uint8_t> inv(k_ * k_);
    for (std::size_t r = 0; r < k_; ++r)
        std::copy_n(matrix_.begin() + static_cast<std::ptrdiff_t>(present[r] * k_), k_,
                    sub.begin() + static_cast<std::ptrdiff_t>(r * k_));
    if (gf_invert_matrix(sub.data(), inv.data(), static_cast<int>(k_)) != 0)
        return Errc::malformed;  // cannot happen with a Cauchy matrix
    std::vector<std::uint8_t> decode(lost.size() * k_);
    for (std::size_t i = 0; i < lost.size(); ++i)
        std::copy_n(inv.begin() + static_cast<std::ptrdiff_t>(lost[i] * k_), k_,
                    decode.begin() + static_cast<std::ptrdiff_t>(i * k_));
    std::vector<std::uint8_t> tables(32 * k_ * lost.size());
    ec_init_tables(static_cast<int>(k_), static_cast<int>(lost.size()), decode.data(),
                   tables.data());
    std::vector<std::uint8_t*> in(k_);
    for (std::size_t r = 0; r < k_; ++r) in[r] = shards[present[r]]->data();
    std::vector<std::uint8_t*> out(lost.size());
    for (std::size_t i = 0; i < lost.size(); ++i) {
        shards[lost[i]].emplace(len, 0);
        out[i] = shards[lost[i]]->data();
    }
    if (len > 0)
        ec_encode_data(static_cast<int>(len), static_cast<int>(k_), static_cast<int>(lost.size()),
                       tables.data(), in.data(), out.data());
    return {};
}

}  // namespace zmesh::fec
