#pragma once
// The pure parts of `zmesh bench`: its argument syntax (sizes, hop lists), the statistics
// of what it measured, and the two ways of showing them (a table for people, JSON for
// scripts). The sockets live in cmd_bench.cpp and bench_net.cpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zmesh::app::bench {

inline constexpr std::uint64_t kMiB = 1024 * 1024;
// A byte count: digits, optionally followed by K, M or G (or KiB, MiB, GiB; all binary).
// Nullopt for anything else, for 0 and beyond 1 TiB.
std::optional<std::uint64_t> parse_size(std::string_view s);
// A --target: "host:port" or "[v6]:port" with a port from 1 to 65535; its port, or nullopt.
std::optional<std::uint16_t> target_port(std::string_view target);
// Hop counts "3,5,7": each from 2 to circuit::kMaxHops, no repeats; nullopt otherwise.
std::optional<std::vector<std::size_t>> parse_hops_list(std::string_view s);

// Order statistics of a sample (milliseconds, say); all zero for an empty one.
struct Summary {
    std::size_t count = 0;
    double min = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};
// Nearest-rank percentiles (the p-th percentile is a value that was measured).
Summary summarize(std::vector<double> sample);

// hops 0: the daemon's configured circuit length.
struct ThroughputResult {
    std::size_t hops = 0;
    std::uint64_t bytes = 0;  // received, all of what was asked
    double open_ms = 0;       // SOCKS CONNECT answered: circuit built and stream open
    double seconds = 0;       // first request byte sent to last byte received
    double mib_per_second() const { return seconds > 0 ? bytes / seconds / kMiB : 0; }
};

struct LatencyRow {
    std::size_t hops = 0;
    double open_ms = 0;
    Summary rtt_ms;
};

struct StressResult {
    std::size_t hops = 0;
    std::size_t connections = 0;
    double seconds = 0;           // how long it ran
    std::uint64_t completed = 0;  // request/response round trips that came back intact
    std::uint64_t failed = 0;     // connections that failed or answered wrong
    Summary rtt_ms;
    double rate() const { return seconds > 0 ? completed / seconds : 0; }
};

std::string table(const ThroughputResult& r);
std::string table(const std::vector<LatencyRow>& rows);
std::string table(const StressResult& r);
std::string json(const ThroughputResult& r);
std::string json(const std::vector<LatencyRow>& rows);
std::string json(const StressResult& r);

// "3" or "default" (the daemon's circuit.hops).
std::string hops_text(std::size_t hops);

}  // namespace zmesh::app::bench
