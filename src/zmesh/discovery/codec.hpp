#pragma once
// Bounded big-endian writing and reading for the discovery encodings. A Reader that runs
// out of input stops and reports !ok(); it never reads past its view.

#include <algorithm>

#include "zmesh/core/bytes.hpp"

namespace zmesh::discovery {

class Writer {
  public:
    void bytes(ByteView v) { out_.insert(out_.end(), v.begin(), v.end()); }
    void u8(std::uint8_t v) { out_.push_back(v); }
    void u16(std::uint16_t v) {
        std::uint8_t b[2];
        store_u16_be(b, v);
        bytes({b, 2});
    }
    void u64(std::uint64_t v) {
        std::uint8_t b[8];
        store_u64_be(b, v);
        bytes({b, 8});
    }
    Bytes take() { return std::move(out_); }

  private:
    Bytes out_;
};

class Reader {
  public:
    explicit Reader(ByteView in) : in_(in) {}
    bool take(MutByteView out) {
        if (in_.size() - pos_ < out.size()) return fail();
        std::copy_n(in_.begin() + static_cast<std::ptrdiff_t>(pos_), out.size(), out.begin());
        pos_ += out.size();
        return true;
    }
    std::uint8_t u8() {
        std::uint8_t v = 0;
        take({&v, 1});
        return v;
    }
    std::uint16_t u16() {
        std::uint8_t b[2] = {};
        take({b, 2});
        return load_u16_be(b);
    }
    std::uint64_t u64() {
        std::uint8_t b[8] = {};
        take({b, 8});
        return load_u64_be(b);
    }
    bool ok() const { return ok_; }
    bool done() const { return ok_ && pos_ == in_.size(); }
    std::size_t position() const { return pos_; }

  private:
    bool fail() {
        ok_ = false;
        pos_ = in_.size();
        return false;
    }
    ByteView in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace zmesh::discovery
