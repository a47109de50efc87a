#pragma once
// A latency histogram with fixed bucket bounds (seconds), kept by the layers that measure
// times (link handshakes, circuit builds) and rendered by the control layer as a
// Prometheus histogram. Plain counters: no locks, no allocation.

#include <array>
#include <cstdint>

namespace zmesh {

struct Histogram {
    // Upper bounds in seconds; an implicit +Inf bucket follows.
    static constexpr std::array<double, 14> kBounds = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    std::array<std::uint64_t, kBounds.size() + 1> buckets{};  // not cumulative
    std::uint64_t count = 0;
    double sum = 0;

    void observe(double seconds) {
        std::size_t i = 0;
        while (i < kBounds.size() && seconds > kBounds[i]) ++i;
        ++buckets[i];
        ++count;
        sum += seconds;
    }
};

}  // namespace zmesh
