#include "zmesh/app/bench_report.hpp"

#include <gtest/gtest.h>

namespace zmesh::app::bench {
namespace {

TEST(BenchArgs, sizes_take_binary_suffixes) {
    EXPECT_EQ(parse_size("1000"), 1000u);
    EXPECT_EQ(parse_size("8K"), 8u * 1024);
    EXPECT_EQ(parse_size("8M"), 8u * kMiB);
    EXPECT_EQ(parse_size("64MiB"), 64u * kMiB);
    EXPECT_EQ(parse_size("2G"), 2048u * kMiB);
    EXPECT_EQ(parse_size("1024G"), 1024u * 1024 * kMiB);
}

TEST(BenchArgs, bad_sizes_are_refused) {
    for (const char* s : {"", "0", "0M", "M", "8X", "8 M", "-1", "8m", "1025G", "8MB", "1.5M"})
        EXPECT_FALSE(parse_size(s)) << s;
}

TEST(BenchArgs, hop_lists_are_counts_from_2_to_8_without_repeats) {
    EXPECT_EQ(parse_hops_list("3"), (std::vector<std::size_t>{3}));
    EXPECT_EQ(parse_hops_list("3,5,7"), (std::vector<std::size_t>{3, 5, 7}));
    EXPECT_EQ(parse_hops_list("8,2"), (std::vector<std::size_t>{8, 2}));
    for (const char* s : {"", "1", "9", "3,", ",3", "3,,5", "3,3", "a", "3;5", " 3", "3.0"})
        EXPECT_FALSE(parse_hops_list(s)) << s;
}

TEST(BenchArgs, targets_are_host_and_port) {
    EXPECT_EQ(target_port("example.org:80"), 80);
    EXPECT_EQ(target_port("127.0.0.1:65535"), 65535);
    EXPECT_EQ(target_port("[::1]:9"), 9);
    for (const char* s : {"", "example.org", ":80", "host:", "host:0", "host:65536", "host:8x",
                          "::1:80", "[::1:80", "[]:80"})
        EXPECT_FALSE(target_port(s)) << s;
}

TEST(BenchStats, nearest_rank_percentiles_are_measured_values) {
    std::vector<double> v;
    for (int i = 100; i >= 1; --i) v.push_back(i);  // unsorted on purpose
    auto s = summarize(v);
    EXPECT_EQ(s.count, 100u);
    EXPECT_EQ(s.min, 1);
    EXPECT_EQ(s.p50, 50);
    EXPECT_EQ(s.p90, 90);
    EXPECT_EQ(s.p99, 99);
    EXPECT_EQ(s.max, 100);
    auto one = summarize({7.5});
    EXPECT_EQ(one.p50, 7.5);
    EXPECT_EQ(one.p99, 7.5);
    auto three = summarize({3, 1, 2});
    EXPECT_EQ(three.p50, 2);
    EXPECT_EQ(three.p90, 3);
    EXPECT_EQ(summarize({}).count, 0u);
    EXPECT_EQ(summarize({}).p50, 0);
}

TEST(BenchReport, throughput_rate_and_both_formats) {
    ThroughputResult r{3, 64 * kMiB, 12.5, 2.0};
    EXPECT_DOUBLE_EQ(r.mib_per_second(), 32.0);
    EXPECT_EQ(table(r),
              "HOPS  BYTES     OPEN     TIME    THROUGHPUT\n"
              "3     67108864  12.5 ms  2.00 s  32.0 MiB/s\n");
    EXPECT_EQ(json(r),
              "{\"test\": \"throughput\", \"hops\": 3, \"bytes\": 67108864, \"open_ms\": 12.500, "
              "\"seconds\": 2.000000, \"mib_per_second\": 32.000}\n");
    r.hops = 0;
    EXPECT_NE(json(r).find("\"hops\": null"), std::string::npos);
    EXPECT_EQ(table(r).substr(table(r).find('\n') + 1, 7), "default");
}

TEST(BenchReport, latency_rows_in_order) {
    std::vector<LatencyRow> rows{{2, 10, summarize({1, 2, 3})}, {5, 30.25, summarize({4})}};
    auto t = table(rows);
    EXPECT_EQ(t,
              "HOPS  OPEN     ROUNDS  MEDIAN   P90      MIN      MAX\n"
              "2     10.0 ms  3       2.00 ms  3.00 ms  1.00 ms  3.00 ms\n"
              "5     30.2 ms  1       4.00 ms  4.00 ms  4.00 ms  4.00 ms\n");
    auto j = json(rows);
    EXPECT_EQ(j.find("{\"test\": \"latency\", \"results\": [{\"hops\": 2, \"open_ms\": 10.000"),
              0u);
    EXPECT_NE(
        j.find("{\"hops\": 5, \"open_ms\": 30.250, \"rtt_ms\": {\"count\": 1, \"min\": 4.000"),
        std::string::npos);
}

TEST(BenchReport, stress_rate_is_completed_over_time) {
    StressResult r{0, 20, 4.0, 1000, 2, summarize({1, 2, 3, 4})};
    EXPECT_DOUBLE_EQ(r.rate(), 250.0);
    EXPECT_EQ(json(r),
              "{\"test\": \"stress\", \"hops\": null, \"connections\": 20, \"seconds\": 4.000, "
              "\"completed\": 1000, \"failed\": 2, \"requests_per_second\": 250.000, "
              "\"rtt_ms\": {\"count\": 4, \"min\": 1.000, \"p50\": 2.000, \"p90\": 4.000, "
              "\"p99\": 4.000, \"max\": 4.000}}\n");
    EXPECT_NE(table(r).find("250.0/s"), std::string::npos);
    StressResult none{};
    EXPECT_EQ(none.rate(), 0);
}

}  // namespace
}  // namespace zmesh::app::bench
