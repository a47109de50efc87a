#include "zmesh/fec/tetrys.hpp"

#include <algorithm>

#include "zmesh/fec/gf256.hpp"
#include "zmesh/fec/tinymt32.hpp"

namespace zmesh::fec {

std::optional<std::string> check(const TetrysConfig& c) {
    if (c.window_size < 1 || c.window_size > kMaxWindow)
        return "window_size must be 1 to " + std::to_string(kMaxWindow);
    if (!(c.min_repair_rate >= 0) || !(c.max_repair_rate <= 1) ||
        c.min_repair_rate > c.max_repair_rate)
        return "repair rates must satisfy 0 <= min_repair_rate <= max_repair_rate <= 1";
    if (!(c.repair_rate >= c.min_repair_rate && c.repair_rate <= c.max_repair_rate))
        return "repair_rate must lie between min_repair_rate and max_repair_rate";
    if (!(c.loss_threshold >= 0 && c.loss_threshold < 1)) return "loss_threshold must be in [0, 1)";
    return std::nullopt;
}

Bytes coded_vector(ByteView payload) {
    Bytes v(2 + payload.size());
    store_u16_be(v.data(), static_cast<std::uint16_t>(payload.size()));
    std::copy(payload.begin(), payload.end(), v.begin() + 2);
    return v;
}

// --- encoder ---------------------------------------------------------------------------

TetrysEncoder::TetrysEncoder(TetrysConfig config) : cfg_(config) {
    cfg_.window_size = std::clamp<std::size_t>(cfg_.window_size, 1, kMaxWindow);
}

Status TetrysEncoder::add_source(std::uint32_t id, ByteView payload) {
    if (payload.size() > kMaxSourceSize) return Errc::bad_length;
    if (!started_ || window_.empty()) {
        if (started_ && id < first_) return {};  // an old retransmission
        started_ = true;
        first_ = id;
    }
    std::uint32_t next = first_ + static_cast<std::uint32_t>(window_.size());
    if (id < next) return {};  // a retransmission: already in the window
    if (id > next) return Errc::bad_state;
    window_.push_back(coded_vector(payload));
    // The oldest symbols leave unprotected when the window is full.
    while (window_.size() > cfg_.window_size) {
        window_.pop_front();
        ++first_;
    }
    ++stats_.source_symbols;
    credit_ += cfg_.repair_rate;
    return {};
}

void TetrysEncoder::acknowledge(std::uint32_t id) {
    while (!window_.empty() && first_ < id) {
        window_.pop_front();
        ++first_;
    }
    if (window_.empty() && first_ < id) first_ = id;
}

std::vector<Bytes> TetrysEncoder::take_repairs() {
    std::vector<Bytes> out;
    while (credit_ >= 1 - 1e-9) {  // (ten times 0.1 is a little less than 1)
        credit_ -= 1;
        if (auto r = repair()) out.push_back(std::move(*r));
    }
    return out;
}

std::optional<Bytes> TetrysEncoder::repair() {
    if (window_.empty()) return std::nullopt;
    std::size_t n = window_.size();
    std::uint8_t coefs[kMaxWindow];
    std::uint16_t key = next_key_++;
    generate_coding_coefficients(key, {coefs, n});
    std::size_t len = 0;
    for (const auto& v : window_) len = std::max(len, v.size());
    Bytes out(kRepairHeader + len, 0);
    out[0] = kRepairVersion;
    store_u32_be(out.data() + 1, first_);
    out[5] = static_cast<std::uint8_t>(n);
    store_u16_be(out.data() + 6, key);
    store_u16_be(out.data() + 8, static_cast<std::uint16_t>(len));
    MutByteView coded{out.data() + kRepairHeader, len};
    for (std::size_t i = 0; i < n; ++i) gf::mul_add(coefs[i], window_[i], coded);
    ++stats_.repair_symbols;
    return out;
}

// --- decoder ---------------------------------------------------------------------------

TetrysDecoder::TetrysDecoder(std::size_t keep) : keep_(std::max<std::size_t>(keep, kMaxWindow)) {}

// row -= c * (the symbol `id` whose coded vector is `value`)
void TetrysDecoder::eliminate(Row& row, std::uint32_t id, std::uint8_t c, ByteView value) {
    row.coefs.erase(id);
    if (row.data.size() < value.size()) row.data.resize(value.size(), 0);
    gf::mul_add(c, value, row.data);
}

std::vector<Recovered> TetrysDecoder::add_source(std::uint32_t id, ByteView payload) {
    std::vector<Recovered> out;
    if (payload.size() > kMaxSourceSize || known_.contains(id) || id < floor_) return out;
    learn(id, coded_vector(payload), false, out);
    return out;
}

Result<std::vector<Recovered>> TetrysDecoder::add_repair(ByteView r) {
    if (r.size() < kRepairHeader || r[0] != kRepairVersion) {
        ++stats_.malformed;
        return Errc::malformed;
    }
    std::uint32_t first = load_u32_be(r.data() + 1);
    std::size_t n = r[5];
    std::uint16_t key = load_u16_be(r.data() + 6);
    std::size_t len = load_u16_be(r.data() + 8);
    if (n == 0 || len < 2 || len > kMaxCoded || r.size() != kRepairHeader + len ||
        first > UINT32_MAX - (n - 1)) {
        ++stats_.malformed;
        return Errc::malformed;
    }
    ++stats_.repairs_received;
    std::vector<Recovered> out;
    std::uint8_t coefs[kMaxWindow];
    generate_coding_coefficients(key, {coefs, n});
    Row row;
    row.data.assign(r.begin() + kRepairHeader, r.end());
    for (std::size_t i = 0; i < n; ++i) {
        std::uint32_t id = first + static_cast<std::uint32_t>(i);
        if (auto k = known_.find(id); k != known_.end()) {
            eliminate(row, id, coefs[i], k->second);
        } else if (id < floor_) {
            ++stats_.repairs_useless;  // covers a symbol we no longer track
            return out;
        } else {
            row.coefs[id] = coefs[i];
        }
    }
    if (row.coefs.empty()) {
        ++stats_.repairs_useless;  // we have every symbol it covers
        return out;
    }
    insert(std::move(row), out);
    return out;
}

// Adds an equation, keeping the set reduced: every pivot appears in its own row only,
// with coefficient 1.
void TetrysDecoder::insert(Row row, std::vector<Recovered>& out) {
    std::vector<std::pair<std::uint32_t, std::uint8_t>> pivots;
    for (const auto& [id, c] : row.coefs)
        if (rows_.contains(id)) pivots.emplace_back(id, c);
    for (const auto& [id, c] : pivots) {
        const Row& p = rows_.at(id);
        for (const auto& [pid, pc] : p.coefs) {
            std::uint8_t v = row.coefs[pid] ^ gf::mul(c, pc);
            if (v == 0)
                row.coefs.erase(pid);
            else
                row.coefs[pid] = v;
        }
        if (row.data.size() < p.data.size()) row.data.resize(p.data.size(), 0);
        gf::mul_add(c, p.data, row.data);
    }
    if (row.coefs.empty()) {
        ++stats_.repairs_useless;  // nothing new in it
        return;
    }
    std::uint32_t pivot = row.coefs.begin()->first;
    std::uint8_t inv = gf::inv(row.coefs.begin()->second);
    for (auto& [id, c] : row.coefs) c = gf::mul(c, inv);
    gf::scale(inv, row.data);
    for (auto& [pid, other] : rows_) {
        auto it = other.coefs.find(pivot);
        if (it == other.coefs.end()) continue;
        std::uint8_t c = it->second;
        for (const auto& [id, rc] : row.coefs) {
            std::uint8_t v = other.coefs[id] ^ gf::mul(c, rc);
            if (v == 0)
                other.coefs.erase(id);
            else
                other.coefs[id] = v;
        }
        if (other.data.size() < row.data.size()) other.data.resize(row.data.size(), 0);
        gf::mul_add(c, row.data, other.data);
    }
    rows_[pivot] = std::move(row);
    while (rows_.size() > keep_) {
        rows_.erase(rows_.begin());
        ++stats_.equations_dropped;
    }
    harvest(out);
}

// Rows left with their pivot alone are solved symbols.
void TetrysDecoder::harvest(std::vector<Recovered>& out) {
    for (;;) {
        auto it = std::find_if(rows_.begin(), rows_.end(),
                               [](const auto& kv) { return kv.second.coefs.size() == 1; });
        if (it == rows_.end()) return;
        std::uint32_t id = it->first;
        Bytes v = std::move(it->second.data);
        rows_.erase(it);
        learn(id, std::move(v), true, out);
    }
}

void TetrysDecoder::learn(std::uint32_t id, Bytes v, bool rebuilt, std::vector<Recovered>& out) {
    if (known_.contains(id)) return;
    if (rebuilt) {
        // length (2) | payload | zeros: anything else did not decode.
        std::size_t len = v.size() >= 2 ? load_u16_be(v.data()) : SIZE_MAX;
        if (len > kMaxSourceSize || 2 + len > v.size() ||
            std::any_of(v.begin() + static_cast<std::ptrdiff_t>(2 + len), v.end(),
                        [](std::uint8_t b) { return b != 0; })) {
            ++stats_.decode_failures;
            return;
        }
        v.resize(2 + len);
        ++stats_.recovered;
        out.push_back({id, Bytes(v.begin() + 2, v.end())});
    }
    const Bytes& value = known_.emplace(id, std::move(v)).first->second;
    if (auto r = rows_.find(id); r != rows_.end()) {
        Row row = std::move(r->second);
        rows_.erase(r);
        eliminate(row, id, 1, value);
        if (!row.coefs.empty()) insert(std::move(row), out);
    }
    for (auto& [pid, row] : rows_)
        if (auto c = row.coefs.find(id); c != row.coefs.end()) eliminate(row, id, c->second, value);
    harvest(out);
    evict();
}

void TetrysDecoder::evict() {
    if (known_.size() <= keep_) return;
    while (known_.size() > keep_) {
        floor_ = known_.begin()->first + 1;
        known_.erase(known_.begin());
    }
    // Equations on symbols below the floor can no longer be solved.
    std::erase_if(rows_, [&](const auto& kv) {
        bool stale = !kv.second.coefs.empty() && kv.second.coefs.begin()->first < floor_;
        if (stale) ++stats_.equations_dropped;
        return stale;
    });
}

}  // namespace zmesh::fec
