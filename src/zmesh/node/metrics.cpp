#include "zmesh/node/metrics.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <stdexcept>

namespace zmesh::node {

bool valid_name(const std::string& name) {
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
}

Family& Snapshot::family(const std::string& name, const std::string& help, MetricType type) {
    if (!valid_name(name)) throw std::invalid_argument("bad metric name: " + name);
    auto it = std::find_if(families_.begin(), families_.end(),
                           [&](const Family& f) { return f.name == name; });
    if (it != families_.end()) return *it;
    families_.push_back({name, help, type, {}});
    return families_.back();
}

void Snapshot::add(const std::string& name, const std::string& help, MetricType type, Labels labels,
                   double value) {
    for (const auto& [k, v] : labels)
        if (!valid_name(k) || k.starts_with("__")) throw std::invalid_argument("bad label: " + k);
    family(name, help, type).samples.push_back({std::move(labels), value, {}});
}

void Snapshot::add_histogram(const std::string& name, const std::string& help, const Labels& labels,
                             const Histogram& h) {
    for (const auto& [k, v] : labels)
        if (!valid_name(k) || k.starts_with("__") || k == "le")
            throw std::invalid_argument("bad label: " + k);
    Family& f = family(name, help, MetricType::histogram);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.buckets.size(); ++i) {
        cumulative += h.buckets[i];
        Labels l = labels;
        char bound[32] = "+Inf";
        if (i < Histogram::kBounds.size())
            std::snprintf(bound, sizeof bound, "%g", Histogram::kBounds[i]);
        l.emplace_back("le", bound);
        f.samples.push_back({std::move(l), static_cast<double>(cumulative), "_bucket"});
    }
    f.samples.push_back({labels, h.sum, "_sum"});
    f.samples.push_back({labels, static_cast<double>(h.count), "_count"});
}

}  // namespace zmesh::node
