#pragma once
// Tetrys (RFC 9407): on-the-fly sliding-window random linear coding over GF(2^8).
//
// The sender sends every source symbol as it is (systematic) and, at the repair rate,
// a repair symbol: a random linear combination of the source symbols in its encoding
// window, the symbols not yet acknowledged (at most window_size of them). The
// coefficients come from RFC 8681's generator seeded with the repair key the repair
// symbol carries (CCGI 1: GF(2^8)), so they are not sent. The receiver keeps what it
// received and every useful repair symbol as a linear equation in the symbols it
// misses, eliminates as symbols arrive (Gauss-Jordan, on the fly), and hands out a
// missing symbol as soon as the equations determine it, without waiting for a
// retransmission.
//
// Source symbols are identified by a 32-bit id (here the stream's segment number) and
// coded as length (2) | payload, zero-padded to the longest in the combination, so
// symbols of different sizes code together and decode to their exact bytes.
//
// Repair symbol (the payload of a REPAIR relay message):
//   version and CCGI (1: 0x11) | first source id (4) | number of source ids (1) |
//   repair key (2) | coded length L (2) | L coded bytes
// It covers ids first .. first + n - 1. Pure: bytes in, bytes out; bounded memory.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "zmesh/core/bytes.hpp"
#include "zmesh/core/result.hpp"

namespace zmesh::fec {

inline constexpr std::uint8_t kRepairVersion = 0x11;  // version 1, CCGI 1 (GF(2^8))
inline constexpr std::size_t kRepairHeader = 1 + 4 + 1 + 2 + 2;
inline constexpr std::size_t kMaxSourceSize = 1100;  // payload bytes of one source symbol
inline constexpr std::size_t kMaxCoded = 2 + kMaxSourceSize;
inline constexpr std::size_t kMaxWindow = 255;

struct TetrysConfig {
    std::size_t window_size = 64;  // source symbols one repair symbol covers at most
    double repair_rate = 0.10;     // repair symbols per source symbol
    // Adapt the rate to the loss the receiver reports (see AdaptiveRate).
    bool adaptive = true;
    double loss_threshold = 0.005;  // below this loss, the minimum rate
    double min_repair_rate = 0.02;
    double max_repair_rate = 0.50;
};

// What a valid config needs; the reason when it is not.
std::optional<std::string> check(const TetrysConfig& c);

struct EncoderStats {
    std::uint64_t source_symbols = 0;
    std::uint64_t repair_symbols = 0;
};

class TetrysEncoder {
  public:
    explicit TetrysEncoder(TetrysConfig config = {});

    // A new source symbol. Ids must grow by one; an id already in the window (a
    // retransmission) is ignored. Errors: payload too large, or a gap in the ids.
    Status add_source(std::uint32_t id, ByteView payload);
    // The receiver has every symbol below `id`: they leave the window.
    void acknowledge(std::uint32_t id);
    // Repair symbols due now by the repair rate (called after add_source).
    std::vector<Bytes> take_repairs();
    // One repair symbol over the current window (nullopt: the window is empty).
    std::optional<Bytes> repair();

    void set_repair_rate(double r) { cfg_.repair_rate = r; }
    double repair_rate() const { return cfg_.repair_rate; }
    std::size_t window() const { return window_.size(); }
    const EncoderStats& stats() const { return stats_; }

  private:
    TetrysConfig cfg_;
    std::deque<Bytes> window_;  // coded vectors (length | payload) of ids first_ ..
    std::uint32_t first_ = 0;
    bool started_ = false;
    double credit_ = 0;
    std::uint16_t next_key_ = 1;
    EncoderStats stats_;
};

struct DecoderStats {
    std::uint64_t repairs_received = 0;
    std::uint64_t repairs_useless = 0;  // nothing missing in their window, or too old
    std::uint64_t recovered = 0;        // source symbols rebuilt
    std::uint64_t malformed = 0;        // repair symbols refused
    std::uint64_t decode_failures = 0;  // a rebuilt symbol that did not decode
    std::uint64_t equations_dropped = 0;
};

struct Recovered {
    std::uint32_t id;
    Bytes payload;
};

class TetrysDecoder {
  public:
    // Keeps the last `keep` source symbols (for repairs that still cover them) and at
    // most `keep` pending equations.
    explicit TetrysDecoder(std::size_t keep = 2 * kMaxWindow);

    // A source symbol arrived (or was recovered otherwise). Returns the symbols its
    // arrival let the decoder rebuild.
    std::vector<Recovered> add_source(std::uint32_t id, ByteView payload);
    // A repair symbol arrived: the symbols it let the decoder rebuild, or an error for a
    // malformed one (counted, the decoder unchanged).
    Result<std::vector<Recovered>> add_repair(ByteView repair);
    bool has(std::uint32_t id) const { return known_.contains(id); }
    std::size_t pending_equations() const { return rows_.size(); }
    const DecoderStats& stats() const { return stats_; }

  private:
    struct Row {
        std::map<std::uint32_t, std::uint8_t> coefs;  // unknown ids only
        Bytes data;
    };
    void learn(std::uint32_t id, Bytes vector, bool rebuilt, std::vector<Recovered>& out);
    void insert(Row row, std::vector<Recovered>& out);
    void eliminate(Row& row, std::uint32_t id, std::uint8_t c, ByteView value);
    void harvest(std::vector<Recovered>& out);
    void evict();

    std::size_t keep_;
    std::map<std::uint32_t, Bytes> known_;  // id -> coded vector (length | payload)
    std::map<std::uint32_t, Row> rows_;     // by pivot id; reduced: pivots appear once
    std::uint32_t floor_ = 0;               // ids below are no longer tracked
    DecoderStats stats_;
};

// Coded vector of a payload: length (2) | payload.
Bytes coded_vector(ByteView payload);

}  // namespace zmesh::fec
