#pragma once
// A snapshot of a node's metrics as plain data: families of labelled samples, collected on
// demand from the counters each layer keeps (no global registry). control renders it as
// Prometheus text, JSON or InfluxDB lines.

#include <string>
#include <utility>
#include <vector>

#include "zmesh/core/histogram.hpp"

namespace zmesh::node {

enum class MetricType { counter, gauge, histogram };

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
    Labels labels;
    double value = 0;
    std::string suffix;  // histograms: _bucket, _sum or _count
};

struct Family {
    std::string name;  // counters end in _total
    std::string help;
    MetricType type = MetricType::counter;
    std::vector<Sample> samples;
};

class Snapshot {
  public:
    // Adds a sample to the family `name`, creating the family on first use.
    void add(const std::string& name, const std::string& help, MetricType type, Labels labels,
             double value);
    // A histogram family: cumulative _bucket samples with an `le` label, _sum and _count.
    void add_histogram(const std::string& name, const std::string& help, const Labels& labels,
                       const Histogram& h);
    const std::vector<Family>& families() const { return families_; }

  private:
    Family& family(const std::string& name, const std::string& help, MetricType type);
    std::vector<Family> families_;
};

// Metric and label names must match [a-zA-Z_][a-zA-Z0-9_]*.
bool valid_name(const std::string& name);

}  // namespace zmesh::node
