#include "zmesh/discovery/observed_bandwidth.hpp"

#include <algorithm>
#include <bit>

namespace zmesh::discovery {

std::int64_t ObservedBandwidth::hour_of(TimePoint t) const {
    return std::chrono::duration_cast<std::chrono::hours>(t.time_since_epoch()).count();
}

std::optional<std::uint64_t> ObservedBandwidth::sample(std::uint64_t total_bytes, TimePoint now) {
    if (!start_ || total_bytes < start_->first || now < start_->second) {
        start_ = {total_bytes, now};  // first sample, or the counter or clock restarted
        return std::nullopt;
    }
    auto elapsed = now - start_->second;
    if (elapsed < kBandwidthWindow) return std::nullopt;
    double seconds = std::chrono::duration<double>(elapsed).count();
    auto rate =
        static_cast<std::uint64_t>(static_cast<double>(total_bytes - start_->first) / seconds);
    start_ = {total_bytes, now};
    auto index = hour_of(now);
    auto& h = hours_[static_cast<std::size_t>(index) % hours_.size()];
    if (h.index != index) h = {index, 0};
    h.peak = std::max(h.peak, rate);
    return rate;
}

std::uint64_t ObservedBandwidth::peak(TimePoint now) const {
    auto current = hour_of(now);
    std::uint64_t best = 0;
    for (const auto& h : hours_)
        if (h.index >= 0 && h.index <= current &&
            current - h.index < static_cast<std::int64_t>(kBandwidthHistoryHours))
            best = std::max(best, h.peak);
    return best;
}

std::uint64_t ObservedBandwidth::published(TimePoint now, std::uint64_t limit) const {
    auto value = peak(now);
    if (limit != 0) value = std::min(value, limit);
    return round_bandwidth(value);
}

std::uint64_t round_bandwidth(std::uint64_t value) {
    if (value < kBandwidthSteps) return 0;
    // The step is 1/kBandwidthSteps of the highest power of two not above `value`.
    auto top = std::bit_floor(value);
    auto step = std::max<std::uint64_t>(1, top / kBandwidthSteps);
    return value - value % step;
}

bool bandwidth_moved(std::uint64_t published_value, std::uint64_t now_value) {
    auto low = static_cast<double>(std::min(published_value, now_value));
    auto high = static_cast<double>(std::max(published_value, now_value));
    if (high < static_cast<double>(kBandwidthNoticeable)) return false;
    return low == 0 || high / low >= kBandwidthRepublishFactor;
}

}  // namespace zmesh::discovery
