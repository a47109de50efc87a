#pragma once
// A relay's own measure of the bandwidth it has carried, the figure it publishes in its
// descriptor (Tor's "observed bandwidth"): the highest rate sustained over any sampling
// window (kBandwidthWindow) in the last kBandwidthHistory, rounded down to a coarse step
// (kBandwidthSteps per doubling) so the published figure says little about the traffic of
// any one moment. Pure: the caller passes its running byte counter and the time.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "zmesh/core/clock.hpp"

namespace zmesh::discovery {

// One rate per window; a shorter gap between samples is merged into the next window.
inline constexpr auto kBandwidthWindow = std::chrono::seconds(10);
// Peaks are kept per hour for this many hours.
inline constexpr std::size_t kBandwidthHistoryHours = 24;
// Published values are rounded down to one of this many steps per power of two.
inline constexpr unsigned kBandwidthSteps = 4;
// A fresh descriptor is published early when the observed figure has moved by this
// factor (either way) since the last one, but not more often than kBandwidthRepublishGap.
inline constexpr double kBandwidthRepublishFactor = 2.0;
inline constexpr auto kBandwidthRepublishGap = std::chrono::minutes(20);
// Below this (bytes per second, either figure) a change is not worth a new descriptor.
inline constexpr std::uint64_t kBandwidthNoticeable = 16 * 1024;

class ObservedBandwidth {
  public:
    using TimePoint = zmesh::Clock::time_point;

    // `total_bytes` is a running count of bytes carried (it only grows; a smaller value
    // restarts the count). Returns the rate of the window this sample closed, if any.
    std::optional<std::uint64_t> sample(std::uint64_t total_bytes, TimePoint now);

    // The highest window rate of the last kBandwidthHistoryHours, bytes per second.
    std::uint64_t peak(TimePoint now) const;
    // peak() rounded down to the published step, and capped at `limit` when that is set
    // (a relay shaped to a rate does not advertise more than it).
    std::uint64_t published(TimePoint now, std::uint64_t limit = 0) const;

  private:
    struct Hour {
        std::int64_t index = -1;  // hours since the clock's epoch; -1: empty
        std::uint64_t peak = 0;
    };
    std::int64_t hour_of(TimePoint t) const;

    std::optional<std::pair<std::uint64_t, TimePoint>> start_;  // of the open window
    std::array<Hour, kBandwidthHistoryHours> hours_{};
};

// `value` rounded down to a multiple of 2^k / kBandwidthSteps (the coarse steps above).
std::uint64_t round_bandwidth(std::uint64_t value);

// Whether a descriptor advertising `published_value` is far enough from `now_value` to
// be replaced early.
bool bandwidth_moved(std::uint64_t published_value, std::uint64_t now_value);

}  // namespace zmesh::discovery
