#pragma once
// A reproducible RandomFill for tests and vectors: call n draws ChaCha20(key = seed,
// nonce = n as 12 little-endian bytes) from block 0. Optionally records every draw.

#include <string_view>
#include <vector>

#include "zmesh/crypto/hash.hpp"
#include "zmesh/crypto/stream.hpp"
#include "zmesh/mix/sphinx.hpp"

namespace zmesh::mix::test {

class StreamRng {
  public:
    explicit StreamRng(std::string_view seed) { crypto::blake2b(key_, as_bytes(seed)); }
    void operator()(MutByteView out) {
        ByteArray<12> nonce{};
        store_u64_le(nonce.data(), calls_++);
        std::fill(out.begin(), out.end(), std::uint8_t{0});
        crypto::chacha20_xor(key_, nonce, out);
        if (record_) record_->emplace_back(out.begin(), out.end());
    }
    RandomFill fill() {
        return [this](MutByteView out) { (*this)(out); };
    }
    void record_into(std::vector<Bytes>* r) { record_ = r; }

  private:
    ByteArray<32> key_{};
    std::uint64_t calls_ = 0;
    std::vector<Bytes>* record_ = nullptr;
};

// A RandomFill that replays recorded draws in order (vectors); fails the draw size check
// by throwing, which a test reports.
class ReplayRng {
  public:
    explicit ReplayRng(std::vector<Bytes> draws) : draws_(std::move(draws)) {}
    RandomFill fill() {
        return [this](MutByteView out) {
            if (next_ >= draws_.size() || draws_[next_].size() != out.size())
                throw std::runtime_error("vector rng: unexpected draw");
            std::copy(draws_[next_].begin(), draws_[next_].end(), out.begin());
            ++next_;
        };
    }
    std::size_t used() const { return next_; }

  private:
    std::vector<Bytes> draws_;
    std::size_t next_ = 0;
};

struct TestMix {
    crypto::NodeId node;
    crypto::X25519KeyPair keys;
};

inline std::vector<TestMix> make_mixes(std::size_t n, StreamRng& rng) {
    std::vector<TestMix> out;
    for (std::size_t i = 0; i < n; ++i) {
        TestMix m;
        rng(MutByteView{m.node.data(), m.node.size()});
        crypto::X25519Secret s;
        rng(s.mut_view());
        m.keys = crypto::X25519KeyPair::from_secret(s);
        out.push_back(m);
    }
    return out;
}

inline std::vector<Hop> path_of(const std::vector<TestMix>& mixes, std::size_t n) {
    std::vector<Hop> path;
    for (std::size_t i = 0; i < n; ++i)
        path.push_back(
            Hop{mixes[i].node, mixes[i].keys.pub, std::chrono::milliseconds(100 * (i + 1) + 7)});
    return path;
}

}  // namespace zmesh::mix::test
