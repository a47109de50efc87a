#include "zmesh/app/bench_report.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "zmesh/circuit/limits.hpp"

namespace zmesh::app::bench {

namespace {

std::string fixed(double v, int digits) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(digits) << v;
    return s.str();
}

// Columns sized to their widest cell, two spaces apart.
std::string columns(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> w;
    for (const auto& r : rows) {
        w.resize(std::max(w.size(), r.size()));
        for (std::size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
    }
    std::ostringstream out;
    for (const auto& r : rows) {
        for (std::size_t i = 0; i < r.size(); ++i) {
            if (i + 1 < r.size())
                out << std::left << std::setw(static_cast<int>(w[i]) + 2) << r[i];
            else
                out << r[i];
        }
        out << "\n";
    }
    return out.str();
}

std::string json_hops(std::size_t hops) {
    return hops == 0 ? "null" : std::to_string(hops);
}

std::string json_summary(const Summary& s) {
    return "{\"count\": " + std::to_string(s.count) + ", \"min\": " + fixed(s.min, 3) +
           ", \"p50\": " + fixed(s.p50, 3) + ", \"p90\": " + fixed(s.p90, 3) +
           ", \"p99\": " + fixed(s.p99, 3) + ", \"max\": " + fixed(s.max, 3) + "}";
}

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view s) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end == s.data()) return std::nullopt;
    std::string_view unit(end, static_cast<std::size_t>(s.data() + s.size() - end));
    std::uint64_t scale = 1;
    if (unit == "K" || unit == "KiB")
        scale = 1024;
    else if (unit == "M" || unit == "MiB")
        scale = kMiB;
    else if (unit == "G" || unit == "GiB")
        scale = 1024 * kMiB;
    else if (!unit.empty())
        return std::nullopt;
    constexpr std::uint64_t kMax = 1024 * 1024 * kMiB;
    if (n == 0 || n > kMax / scale) return std::nullopt;
    return n * scale;
}

std::optional<std::uint16_t> target_port(std::string_view target) {
    auto colon = target.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    auto host = target.substr(0, colon);
    if (host.front() == '[' ? host.back() != ']' || host.size() < 3
                            : host.find(':') != std::string_view::npos)
        return std::nullopt;
    auto digits = target.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size() || port == 0 || port > 65535)
        return std::nullopt;
    return static_cast<std::uint16_t>(port);
}

std::optional<std::vector<std::size_t>> parse_hops_list(std::string_view s) {
    std::vector<std::size_t> out;
    while (true) {
        auto comma = s.find(',');
        auto item = s.substr(0, comma);
        std::size_t n = 0;
        auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
        if (ec != std::errc() || end != item.data() + item.size() || item.empty() || n < 2 ||
            n > circuit::kMaxHops || std::find(out.begin(), out.end(), n) != out.end())
            return std::nullopt;
        out.push_back(n);
        if (comma == std::string_view::npos) return out;
        s.remove_prefix(comma + 1);
    }
}

Summary summarize(std::vector<double> sample) {
    Summary s;
    if (sample.empty()) return s;
    std::sort(sample.begin(), sample.end());
    auto rank = [&](double p) {
        auto k =
            static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sample.size())));
        return sample[std::clamp<std::size_t>(k, 1, sample.size()) - 1];
    };
    s.count = sample.size();
    s.min = sample.front();
    s.max = sample.back();
    s.p50 = rank(50);
    s.p90 = rank(90);
    s.p99 = rank(99);
    return s;
}

std::string hops_text(std::size_t hops) {
    return hops == 0 ? "default" : std::to_string(hops);
}

std::string table(const ThroughputResult& r) {
    return columns({{"HOPS", "BYTES", "OPEN", "TIME", "THROUGHPUT"},
                    {hops_text(r.hops), std::to_string(r.bytes), fixed(r.open_ms, 1) + " ms",
                     fixed(r.seconds, 2) + " s", fixed(r.mib_per_second(), 1) + " MiB/s"}});
}

std::string table(const std::vector<LatencyRow>& rows) {
    std::vector<std::vector<std::string>> cells{
        {"HOPS", "OPEN", "ROUNDS", "MEDIAN", "P90", "MIN", "MAX"}};
    for (const auto& r : rows)
        cells.push_back({hops_text(r.hops), fixed(r.open_ms, 1) + " ms",
                         std::to_string(r.rtt_ms.count), fixed(r.rtt_ms.p50, 2) + " ms",
                         fixed(r.rtt_ms.p90, 2) + " ms", fixed(r.rtt_ms.min, 2) + " ms",
                         fixed(r.rtt_ms.max, 2) + " ms"});
    return columns(cells);
}

std::string table(const StressResult& r) {
    return columns(
        {{"HOPS", "CONNECTIONS", "TIME", "COMPLETED", "FAILED", "RATE", "P50", "P99"},
         {hops_text(r.hops), std::to_string(r.connections), fixed(r.seconds, 1) + " s",
          std::to_string(r.completed), std::to_string(r.failed), fixed(r.rate(), 1) + "/s",
          fixed(r.rtt_ms.p50, 2) + " ms", fixed(r.rtt_ms.p99, 2) + " ms"}});
}

std::string json(const ThroughputResult& r) {
    return "{\"test\": \"throughput\", \"hops\": " + json_hops(r.hops) +
           ", \"bytes\": " + std::to_string(r.bytes) + ", \"open_ms\": " + fixed(r.open_ms, 3) +
           ", \"seconds\": " + fixed(r.seconds, 6) +
           ", \"mib_per_second\": " + fixed(r.mib_per_second(), 3) + "}\n";
}

std::string json(const std::vector<LatencyRow>& rows) {
    std::string out = "{\"test\": \"latency\", \"results\": [";
    for (std::size_t i = 0; i < rows.size(); ++i)
        out += std::string(i ? ", " : "") + "{\"hops\": " + json_hops(rows[i].hops) +
               ", \"open_ms\": " + fixed(rows[i].open_ms, 3) +
               ", \"rtt_ms\": " + json_summary(rows[i].rtt_ms) + "}";
    return out + "]}\n";
}

std::string json(const StressResult& r) {
    return "{\"test\": \"stress\", \"hops\": " + json_hops(r.hops) +
           ", \"connections\": " + std::to_string(r.connections) +
           ", \"seconds\": " + fixed(r.seconds, 3) +
           ", \"completed\": " + std::to_string(r.completed) +
           ", \"failed\": " + std::to_string(r.failed) +
           ", \"requests_per_second\": " + fixed(r.rate(), 3) +
           ", \"rtt_ms\": " + json_summary(r.rtt_ms) + "}\n";
}

}  // namespace zmesh::app::bench
