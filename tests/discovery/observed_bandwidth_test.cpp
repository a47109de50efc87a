// A relay's observed bandwidth: the highest 10-second rate of the last day, rounded down
// coarsely, capped by its shaping limit; and when a change is worth a new descriptor.
#include "zmesh/discovery/observed_bandwidth.hpp"

#include <gtest/gtest.h>

namespace zmesh::discovery {
namespace {

using namespace std::chrono_literals;
using TimePoint = ObservedBandwidth::TimePoint;

TimePoint at(std::chrono::seconds s) {
    return TimePoint(s);
}

TEST(ObservedBandwidth, peak_is_the_best_window_of_the_last_day) {
    ObservedBandwidth b;
    auto t = 100h;
    EXPECT_FALSE(b.sample(0, at(t)));  // the first sample only starts a window
    EXPECT_EQ(b.peak(at(t)), 0u);
    EXPECT_FALSE(b.sample(5'000, at(t + 5s)));  // shorter than a window: merged into it
    auto r = b.sample(1'000'000, at(t + 10s));
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 100'000u);
    // A slower window later does not lower the peak; a faster one raises it.
    EXPECT_EQ(b.sample(1'100'000, at(t + 20s)).value_or(0), 10'000u);
    EXPECT_EQ(b.peak(at(t + 20s)), 100'000u);
    b.sample(4'100'000, at(t + 30s));
    EXPECT_EQ(b.peak(at(t + 30s)), 300'000u);
    // A day later with nothing carried since, the old hours have aged out.
    auto later = t + 30s + std::chrono::hours(kBandwidthHistoryHours);
    b.sample(4'100'000, at(later));
    EXPECT_EQ(b.peak(at(later)), 0u);
}

TEST(ObservedBandwidth, hours_older_than_the_history_are_forgotten_one_by_one) {
    ObservedBandwidth b;
    auto t = 10h;
    std::uint64_t total = 0;
    b.sample(total, at(t));
    // Hour 0 carries 50 kB/s, hour 5 carries 20 kB/s.
    total += 500'000;
    b.sample(total, at(t + 10s));
    b.sample(total, at(t + 5h));
    total += 200'000;
    b.sample(total, at(t + 5h + 10s));
    EXPECT_EQ(b.peak(at(t + 23h)), 50'000u);
    EXPECT_EQ(b.peak(at(t + 24h)), 20'000u);  // hour 0 is now a day old
    EXPECT_EQ(b.peak(at(t + 29h)), 0u);
}

TEST(ObservedBandwidth, a_counter_or_clock_that_goes_back_restarts_the_window) {
    ObservedBandwidth b;
    b.sample(1'000'000, at(50s));
    EXPECT_FALSE(b.sample(10, at(60s)));  // the counter restarted: no rate of 2^64 bytes
    EXPECT_FALSE(b.sample(20, at(40s)));  // neither does a clock that went back
    EXPECT_EQ(b.peak(at(60s)), 0u);
    EXPECT_EQ(b.sample(100'020, at(50s)).value_or(0), 10'000u);
}

TEST(ObservedBandwidth, published_figure_is_rounded_down_and_capped) {
    EXPECT_EQ(round_bandwidth(0), 0u);
    EXPECT_EQ(round_bandwidth(3), 0u);
    EXPECT_EQ(round_bandwidth(1024), 1024u);
    EXPECT_EQ(round_bandwidth(1279), 1024u);  // steps of 256 between 1024 and 2048
    EXPECT_EQ(round_bandwidth(1280), 1280u);
    EXPECT_EQ(round_bandwidth(123'456'789), 117'440'512u);  // 2^26 * 1.75
    for (std::uint64_t v : {5u, 77u, 1000u, 65'537u, 9'999'999u}) {
        auto r = round_bandwidth(v);
        EXPECT_LE(r, v);
        EXPECT_GT(r, v * 3 / 4);  // never more than a quarter off
    }
    ObservedBandwidth b;
    b.sample(0, at(0s));
    b.sample(10'000'000, at(10s));
    EXPECT_EQ(b.published(at(10s)), 917'504u);           // 1,000,000 rounded down
    EXPECT_EQ(b.published(at(10s), 300'000), 262'144u);  // capped at the limit, rounded
}

TEST(ObservedBandwidth, only_a_doubling_or_halving_of_a_noticeable_figure_republishes) {
    EXPECT_FALSE(bandwidth_moved(0, 0));
    EXPECT_FALSE(bandwidth_moved(0, kBandwidthNoticeable - 1));  // probes, keepalives
    EXPECT_TRUE(bandwidth_moved(0, kBandwidthNoticeable));
    EXPECT_FALSE(bandwidth_moved(100'000, 199'999));
    EXPECT_TRUE(bandwidth_moved(100'000, 200'000));
    EXPECT_TRUE(bandwidth_moved(200'000, 100'000));
    EXPECT_FALSE(bandwidth_moved(kBandwidthNoticeable - 1, 1));
}

}  // namespace
}  // namespace zmesh::discovery
