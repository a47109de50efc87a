#pragma once
// The three renderings of a node's metrics snapshot (node/metrics.hpp): Prometheus text
// exposition (0.0.4, as `promtool check metrics` validates it), JSON, and InfluxDB lines.

#include <string>
#include <utility>
#include <vector>

#include "zmesh/node/metrics.hpp"

namespace zmesh::control {

using node::Family;
using node::Labels;
using node::MetricType;
using node::Sample;
using node::Snapshot;
using node::valid_name;

std::string to_prometheus(const Snapshot& s);
std::string to_json(const Snapshot& s);
// One line per sample; `timestamp_ns` in nanoseconds since the epoch.
std::string to_influx(const Snapshot& s, long long timestamp_ns);

}  // namespace zmesh::control
