#include "zmesh/control/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace zmesh::control {
namespace {

std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
    } else {
        std::snprintf(buf, sizeof buf, "%.17g", v);
    }
    return buf;
}

// Prometheus: backslash, double quote and newline are escaped in label values; HELP text
// escapes backslash and newline.
std::string escape(const std::string& s, bool quotes) {
    std::string out;
    for (char c : s) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && quotes)
            out += "\\\"";
        else
            out += c;
    }
    return out;
}

// Influx: commas, spaces and equals signs are escaped in measurement names and tags.
std::string influx_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == ',' || c == ' ' || c == '=' || c == '\\') out += '\\';
        out += c == '\n' ? ' ' : c;
    }
    return out;
}

const char* type_name(MetricType t) {
    switch (t) {
        case MetricType::counter:
            return "counter";
        case MetricType::gauge:
            return "gauge";
        case MetricType::histogram:
            return "histogram";
    }
    return "untyped";
}

}  // namespace

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

std::string to_prometheus(const Snapshot& s) {
    std::string out;
    for (const auto& f : s.families()) {
        out += "# HELP " + f.name + " " + escape(f.help, false) + "\n";
        out += "# TYPE " + f.name + " " + type_name(f.type) + "\n";
        for (const auto& smp : f.samples) {
            out += f.name + smp.suffix;
            if (!smp.labels.empty()) {
                out += "{";
                for (std::size_t i = 0; i < smp.labels.size(); ++i) {
                    if (i) out += ",";
                    out += smp.labels[i].first + "=\"" + escape(smp.labels[i].second, true) + "\"";
                }
                out += "}";
            }
            out += " " + number(smp.value) + "\n";
        }
    }
    return out;
}

std::string to_json(const Snapshot& s) {
    nlohmann::json metrics = nlohmann::json::array();
    for (const auto& f : s.families()) {
        nlohmann::json samples = nlohmann::json::array();
        for (const auto& smp : f.samples) {
            nlohmann::json labels = nlohmann::json::object();
            for (const auto& [k, v] : smp.labels) labels[k] = v;
            nlohmann::json sample = {{"labels", labels}, {"value", smp.value}};
            if (!smp.suffix.empty()) sample["suffix"] = smp.suffix;
            samples.push_back(std::move(sample));
        }
        metrics.push_back({{"name", f.name},
                           {"type", type_name(f.type)},
                           {"help", f.help},
                           {"samples", samples}});
    }
    return nlohmann::json{{"metrics", metrics}}.dump(2) + "\n";
}

std::string to_influx(const Snapshot& s, long long timestamp_ns) {
    std::string out;
    for (const auto& f : s.families()) {
        for (const auto& smp : f.samples) {
            out += influx_escape(f.name + smp.suffix);
            for (const auto& [k, v] : smp.labels)
                if (!v.empty()) out += "," + influx_escape(k) + "=" + influx_escape(v);
            out += " value=" + number(smp.value) + " " + std::to_string(timestamp_ns) + "\n";
        }
    }
    return out;
}

}  // namespace zmesh::control
