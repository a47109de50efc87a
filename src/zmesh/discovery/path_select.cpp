#include "zmesh/discovery/path_select.hpp"

#include <algorithm>
#include <unordered_map>

#include "zmesh/discovery/limits.hpp"

namespace zmesh::discovery {
namespace {

bool is_v4_mapped(const ByteArray<16>& a) {
    return std::all_of(a.begin(), a.begin() + 10, [](auto b) { return b == 0; }) && a[10] == 0xff &&
           a[11] == 0xff;
}

bool is_loopback(const ByteArray<16>& a) {
    if (is_v4_mapped(a)) return a[12] == 127;
    return std::all_of(a.begin(), a.begin() + 15, [](auto b) { return b == 0; }) && a[15] == 1;
}

// The /16 or /32 a relay is in, as a number; nullopt for loopback (never shared).
std::optional<std::uint64_t> subnet_key(const ByteArray<16>& a) {
    if (is_loopback(a)) return std::nullopt;
    if (is_v4_mapped(a)) return (std::uint64_t{1} << 32) | (std::uint64_t{a[12]} << 8) | a[13];
    return (std::uint64_t{a[0]} << 24) | (std::uint64_t{a[1]} << 16) | (std::uint64_t{a[2]} << 8) |
           a[3];
}

// How many usable candidates share each one's subnet, as a fraction: 0 alone, near 1 in
// a crowd. Linear in the number of candidates.
std::vector<double> crowding(const std::vector<Candidate>& cands, const std::vector<bool>& usable) {
    std::vector<double> out(cands.size(), 0);
    std::size_t n = static_cast<std::size_t>(std::count(usable.begin(), usable.end(), true));
    if (n < 2) return out;
    std::unordered_map<std::uint64_t, std::size_t> per_subnet;
    for (std::size_t i = 0; i < cands.size(); ++i)
        if (auto k = subnet_key(cands[i].ip); usable[i] && k) ++per_subnet[*k];
    for (std::size_t i = 0; i < cands.size(); ++i) {
        auto k = subnet_key(cands[i].ip);
        if (!usable[i] || !k) continue;
        out[i] = static_cast<double>(per_subnet[*k] - 1) / static_cast<double>(n - 1);
    }
    return out;
}

// Weighted random pick among indices allowed by `ok`; nullopt when none is.
template <class Ok>
std::optional<std::size_t> pick(const std::vector<double>& weights, Ok ok, std::mt19937_64& rng) {
    double total = 0;
    for (std::size_t i = 0; i < weights.size(); ++i)
        if (ok(i)) total += weights[i];
    if (total <= 0) return std::nullopt;
    double x = std::uniform_real_distribution<double>(0, total)(rng);
    std::optional<std::size_t> last;
    for (std::size_t i = 0; i < weights.size(); ++i) {
        if (!ok(i)) continue;
        last = i;
        if (x < weights[i]) return i;
        x -= weights[i];
    }
    return last;  // rounding at the very end
}

struct Scored {
    std::vector<bool> usable;
    std::vector<double> weight;
};

Scored score_all(const std::vector<Candidate>& cands, const PeerStore& peers, std::uint64_t now,
                 const Weights& w) {
    Scored s;
    s.usable.resize(cands.size());
    double max_bw = 0;
    for (std::size_t i = 0; i < cands.size(); ++i) {
        s.usable[i] = !peers.blacklisted(cands[i].id, now);
        const auto* r = peers.find(cands[i].id);
        max_bw =
            std::max(max_bw, r && r->bandwidth ? *r->bandwidth : cands[i].advertised_bandwidth);
    }
    auto crowd = crowding(cands, s.usable);
    s.weight.resize(cands.size());
    for (std::size_t i = 0; i < cands.size(); ++i)
        s.weight[i] =
            s.usable[i] ? score(cands[i], peers.find(cands[i].id), max_bw, crowd[i], w) : 0;
    return s;
}

}  // namespace

bool same_subnet(const ByteArray<16>& a, const ByteArray<16>& b) {
    if (is_loopback(a) || is_loopback(b)) return false;
    if (is_v4_mapped(a) != is_v4_mapped(b)) return false;
    if (is_v4_mapped(a)) return a[12] == b[12] && a[13] == b[13];
    return std::equal(a.begin(), a.begin() + 4, b.begin());
}

bool related(const Candidate& a, const Candidate& b, bool distinct_subnets) {
    if (a.id == b.id || (distinct_subnets && same_subnet(a.ip, b.ip))) return true;
    auto names = [](const Candidate& x, const Candidate& y) {
        return std::find(x.family.begin(), x.family.end(), y.id) != x.family.end();
    };
    return names(a, b) || names(b, a);
}

double score(const Candidate& c, const PeerRecord* m, double max_bandwidth, double crowding,
             const Weights& w) {
    double latency = m && m->latency_ms ? 1.0 / (1.0 + *m->latency_ms / 100.0) : 0.5;
    double reliability = m ? m->reliability : 0.5;
    double bw = m && m->bandwidth ? *m->bandwidth : c.advertised_bandwidth;
    double bandwidth = max_bandwidth > 0 ? bw / max_bandwidth : 0.5;
    double diversity = 1.0 - crowding;
    double s = w.latency * latency + w.reliability * reliability + w.bandwidth * bandwidth +
               w.diversity * diversity;
    return std::clamp(s, 1e-3, 1.0);  // never zero: every usable relay keeps a chance
}

std::optional<std::vector<std::size_t>> select_path(const std::vector<Candidate>& cands,
                                                    const PeerStore& peers, std::uint64_t now,
                                                    const Weights& w, std::size_t hops,
                                                    std::mt19937_64& rng,
                                                    std::uint32_t client_transports,
                                                    bool distinct_subnets) {
    if (hops < 1) return std::nullopt;
    auto s = score_all(cands, peers, now, w);
    auto guards = peers.guards();
    auto is_guard = [&](std::size_t i) {
        return std::find(guards.begin(), guards.end(), cands[i].id) != guards.end();
    };
    auto links = [&](std::size_t a, std::size_t b) {
        return can_link(cands[a].transports, cands[b].transports);
    };
    // Picked exit first, then the first hop, then the middles in path order; a random
    // early choice can leave no relay to join the rest, so a few fresh tries are allowed.
    for (int attempt = 0; attempt < 8; ++attempt) {
        std::vector<std::size_t> chosen;
        auto fits = [&](std::size_t i) {
            if (!s.usable[i]) return false;
            return std::none_of(chosen.begin(), chosen.end(), [&](std::size_t j) {
                return related(cands[i], cands[j], distinct_subnets);
            });
        };
        auto exit = pick(
            s.weight,
            [&](std::size_t i) {
                return fits(i) && cands[i].exit_ok &&
                       (hops > 1 || can_link(client_transports, cands[i].transports));
            },
            rng);
        if (!exit) return std::nullopt;
        chosen.push_back(*exit);
        std::size_t prev = *exit;
        if (hops > 1) {
            // The first hop is a guard when one fits; otherwise any relay that fits.
            auto first_ok = [&](std::size_t i) {
                return fits(i) && can_link(client_transports, cands[i].transports) &&
                       (hops > 2 || links(i, *exit));
            };
            auto first = pick(
                s.weight, [&](std::size_t i) { return first_ok(i) && is_guard(i); }, rng);
            if (!first) first = pick(s.weight, first_ok, rng);
            if (!first) continue;
            chosen.push_back(*first);
            prev = *first;
        }
        bool stuck = false;
        while (chosen.size() < hops) {
            bool last = chosen.size() + 1 == hops;
            auto middle = pick(
                s.weight,
                [&](std::size_t i) {
                    return fits(i) && links(prev, i) && (!last || links(i, *exit));
                },
                rng);
            if (!middle) {
                stuck = true;
                break;
            }
            chosen.push_back(*middle);
            prev = *middle;
        }
        if (stuck) continue;
        // chosen = exit, first, middles...: reorder to first, middles..., exit.
        std::vector<std::size_t> path;
        if (hops > 1) path.push_back(chosen[1]);
        for (std::size_t i = 2; i < chosen.size(); ++i) path.push_back(chosen[i]);
        path.push_back(chosen[0]);
        return path;
    }
    return std::nullopt;
}

void maintain_guards(PeerStore& peers, const std::vector<Candidate>& cands, std::uint64_t now,
                     const Weights& w, std::size_t count, std::uint64_t rotation_seconds,
                     std::mt19937_64& rng, bool distinct_subnets) {
    for (const auto& g : peers.guards()) {
        const auto* r = peers.find(g);
        // A guard that is down for a few minutes stays a guard (paths use the others
        // meanwhile); one set aside for an hour or more is replaced.
        bool long_out =
            peers.blacklisted(g, now) && r && r->blacklisted_until >= now + kGuardDropSeconds;
        if (long_out || (r && r->guard_since + rotation_seconds <= now)) peers.drop_guard(g);
    }
    auto s = score_all(cands, peers, now, w);
    for (;;) {
        auto guards = peers.guards();
        std::vector<const Candidate*> present;
        for (const auto& c : cands)
            if (std::find(guards.begin(), guards.end(), c.id) != guards.end())
                present.push_back(&c);
        if (guards.size() >= count) return;
        auto next = pick(
            s.weight,
            [&](std::size_t i) {
                if (!s.usable[i]) return false;
                return std::none_of(present.begin(), present.end(), [&](const Candidate* g) {
                    return related(cands[i], *g, distinct_subnets);
                });
            },
            rng);
        if (!next) return;
        peers.make_guard(cands[*next].id, now);
    }
}

}  // namespace zmesh::discovery
