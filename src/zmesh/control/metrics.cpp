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
