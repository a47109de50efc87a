#include "zmesh/discovery/peer_store.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace zmesh::discovery {
namespace {

double ewma(std::optional<double> old, double sample) {
    return old ? (1 - kEwmaWeight) * *old + kEwmaWeight * sample : sample;
}

}  // namespace

PeerRecord& PeerStore::touch(const crypto::NodeId& id, std::uint64_t now) {
    if (!peers_.contains(id) && peers_.size() >= kMaxPeers) {
        // Forget the peer seen longest ago that is not a guard.
        auto oldest = peers_.end();
        for (auto it = peers_.begin(); it != peers_.end(); ++it)
            if (it->second.guard_since == 0 &&
                (oldest == peers_.end() || it->second.last_seen < oldest->second.last_seen))
                oldest = it;
        if (oldest != peers_.end()) peers_.erase(oldest);
    }
    auto& r = peers_[id];
    r.last_seen = std::max(r.last_seen, now);
    return r;
}

void PeerStore::observe_latency(const crypto::NodeId& id, double ms, std::uint64_t now) {
    if (!(ms >= 0) || ms > 600000) return;  // NaN or absurd: not a measurement
    auto& r = touch(id, now);
    r.latency_ms = ewma(r.latency_ms, ms);
}

void PeerStore::observe_result(const crypto::NodeId& id, bool ok, std::uint64_t now) {
    auto& r = touch(id, now);
    r.reliability = ewma(r.reliability, ok ? 1.0 : 0.0);
    ++(ok ? r.successes : r.failures);
}

void PeerStore::observe_bandwidth(const crypto::NodeId& id, double bps, std::uint64_t now) {
    if (!(bps >= 0)) return;
    auto& r = touch(id, now);
    r.bandwidth = ewma(r.bandwidth, bps);
}

void PeerStore::blacklist(const crypto::NodeId& id, std::uint64_t until, std::string reason) {
    auto& r = touch(id, 0);
    r.blacklisted_until = until;
    r.blacklist_reason = std::move(reason);
    // A guard stays one: maintain_guards() replaces it only when it is out for long, so a
    // guard knocked offline for a few minutes does not make the client pick new guards.
}

bool PeerStore::blacklisted(const crypto::NodeId& id, std::uint64_t now) const {
    auto* r = find(id);
    return r != nullptr && r->blacklisted_until > now;
}

std::vector<crypto::NodeId> PeerStore::guards() const {
    std::vector<crypto::NodeId> out;
    for (const auto& [id, r] : peers_)
        if (r.guard_since != 0) out.push_back(id);
    return out;
}

void PeerStore::make_guard(const crypto::NodeId& id, std::uint64_t now) {
    auto& r = touch(id, now);
    if (r.guard_since == 0) r.guard_since = std::max<std::uint64_t>(now, 1);
}

void PeerStore::drop_guard(const crypto::NodeId& id) {
    auto it = peers_.find(id);
    if (it != peers_.end()) it->second.guard_since = 0;
}

const PeerRecord* PeerStore::find(const crypto::NodeId& id) const {
    auto it = peers_.find(id);
    return it == peers_.end() ? nullptr : &it->second;
}

std::string PeerStore::serialize() const {
    nlohmann::json peers = nlohmann::json::array();
    for (const auto& [id, r] : peers_) {
        nlohmann::json p = {{"id", to_hex(id.view())},
                            {"reliability", r.reliability},
                            {"successes", r.successes},
                            {"failures", r.failures},
                            {"last_seen", r.last_seen},
                            {"blacklisted_until", r.blacklisted_until},
                            {"blacklist_reason", r.blacklist_reason},
                            {"guard_since", r.guard_since}};
        if (r.latency_ms) p["latency_ms"] = *r.latency_ms;
        if (r.bandwidth) p["bandwidth"] = *r.bandwidth;
        peers.push_back(std::move(p));
    }
    return nlohmann::json{{"version", 1}, {"peers", peers}}.dump(1) + "\n";
}

std::optional<PeerStore> PeerStore::parse(std::string_view text, std::string* why) {
    auto fail = [&](std::string reason) -> std::optional<PeerStore> {
        if (why) *why = std::move(reason);
        return std::nullopt;
    };
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail("not JSON");
    if (j.value("version", 0) != 1) return fail("unknown version");
    if (!j.contains("peers") || !j["peers"].is_array()) return fail("no peers list");
    PeerStore store;
    try {
        for (const auto& p : j["peers"]) {
            if (store.peers_.size() >= kMaxPeers) break;
            auto bytes = from_hex(p.at("id").get<std::string>());
            if (!bytes || bytes->size() != crypto::NodeId::size()) return fail("bad peer id");
            crypto::NodeId id;
            std::copy(bytes->begin(), bytes->end(), id.bytes.begin());
            PeerRecord r;
            r.reliability = std::clamp(p.at("reliability").get<double>(), 0.0, 1.0);
            r.successes = p.at("successes").get<std::uint64_t>();
            r.failures = p.at("failures").get<std::uint64_t>();
            r.last_seen = p.at("last_seen").get<std::uint64_t>();
            r.blacklisted_until = p.at("blacklisted_until").get<std::uint64_t>();
            r.blacklist_reason = p.at("blacklist_reason").get<std::string>().substr(0, 200);
            r.guard_since = p.at("guard_since").get<std::uint64_t>();
            if (p.contains("latency_ms")) r.latency_ms = p["latency_ms"].get<double>();
            if (p.contains("bandwidth")) r.bandwidth = p["bandwidth"].get<double>();
            store.peers_[id] = std::move(r);
        }
    } catch (const nlohmann::json::exception& e) {
        return fail(std::string("bad peer entry: ") + e.what());
    }
    return store;
}

}  // namespace zmesh::discovery
