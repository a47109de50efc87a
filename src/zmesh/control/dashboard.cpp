#include "zmesh/control/dashboard.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "zmesh/control/topology.hpp"
#include "zmesh/crypto/secure.hpp"

namespace zmesh::control {

namespace asio = boost::asio;
using asio::ip::tcp;
using json = nlohmann::json;

namespace {

constexpr std::string_view kCookie = "zmesh_dashboard";
constexpr std::size_t kShortId = 8;  // hex digits of a node id or key shown

std::string short_id(const std::string& id) {
    return id.substr(0, kShortId);
}

std::int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The value of `name` in a query string or a Cookie header (`sep` '&' or ';').
std::string_view param(std::string_view list, std::string_view name, char sep) {
    while (!list.empty()) {
        auto end = list.find(sep);
        std::string_view item = list.substr(0, end);
        list.remove_prefix(end == std::string_view::npos ? list.size() : end + 1);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        if (item.size() > name.size() && item.substr(0, name.size()) == name &&
            item[name.size()] == '=')
            return item.substr(name.size() + 1);
    }
    return {};
}

std::string transport_of(const std::string& address) {
    auto p = address.find("://");
    return p == std::string::npos ? address : address.substr(0, p);
}

HttpResponse plain(std::string status, std::string body) {
    HttpResponse r;
    r.status = std::move(status);
    r.body = std::move(body);
    return r;
}

}  // namespace

const tcp::endpoint& Dashboard::checked(const tcp::endpoint& at, const std::string& token) {
    if (token.empty() && !at.address().is_loopback())
        throw std::invalid_argument("the dashboard needs a token when not on loopback");
    return at;
}

Dashboard::Dashboard(node::Node& node, const tcp::endpoint& at, std::string token)
    : node_(node),
      token_(std::move(token)),
      timer_(node.executor()),
      http_(
          node.executor(), checked(at, token_), [this](const HttpRequest& r) { return handle(r); },
          {}, "dashboard server") {
    auto st = node_.status();
    last_ = {st.link_bytes_in, st.link_bytes_out, st.cells_relayed};
    last_at_ = std::chrono::steady_clock::now();
    // The first sample at once (no rates yet), so the graph has a point from the start.
    history_.push_back({++seq_, unix_ms_now(), 0, 0, 0, st.client_circuits + st.relay_circuits,
                        st.streams, st.peers});
    schedule();
}

Dashboard::~Dashboard() {
    stop();
}

void Dashboard::stop() {
    *alive_ = false;
    timer_.cancel();
    http_.stop();
}

void Dashboard::schedule() {
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
        if (ec || !*alive) return;  // stopped: `this` may be gone
        sample();
        schedule();
    });
}

void Dashboard::sample() {
    auto st = node_.status();
    auto now = std::chrono::steady_clock::now();
    double dt = std::chrono::duration<double>(now - last_at_).count();
    if (dt <= 0) return;
    auto rate = [dt](std::uint64_t now_v, std::uint64_t before) {
        return now_v >= before ? static_cast<double>(now_v - before) / dt : 0.0;
    };
    Sample s;
    s.seq = ++seq_;
    s.unix_ms = unix_ms_now();
    s.bytes_in = rate(st.link_bytes_in, last_.bytes_in);
    s.bytes_out = rate(st.link_bytes_out, last_.bytes_out);
    s.cells_relayed = rate(st.cells_relayed, last_.cells_relayed);
    s.circuits = st.client_circuits + st.relay_circuits;
    s.streams = st.streams;
    s.peers = st.peers;
    last_ = {st.link_bytes_in, st.link_bytes_out, st.cells_relayed};
    last_at_ = now;
    history_.push_back(s);
    while (history_.size() > kHistory) history_.pop_front();
}

bool Dashboard::token_matches(std::string_view candidate) const {
    if (candidate.size() != token_.size()) return false;  // the length is no secret
    return crypto::ct_equal(
        ByteView(reinterpret_cast<const std::uint8_t*>(candidate.data()), candidate.size()),
        ByteView(reinterpret_cast<const std::uint8_t*>(token_.data()), token_.size()));
}

bool Dashboard::authorized(const HttpRequest& r) const {
    auto auth = r.header("authorization");
    if (auth.rfind("Bearer ", 0) == 0 && token_matches(auth.substr(7))) return true;
    auto cookie = param(r.header("cookie"), kCookie, ';');
    return !cookie.empty() && token_matches(cookie);
}

HttpResponse Dashboard::handle(const HttpRequest& r) const {
    HttpResponse resp;
    if (r.method != "GET") {
        resp = plain("405 Method Not Allowed", "");
    } else if (token_.empty() && !loopback_host(r.header("host"))) {
        resp = plain("403 Forbidden", "the dashboard answers only to localhost or 127.0.0.1\n");
    } else if (!token_.empty() && !authorized(r)) {
        auto offered = param(r.query(), "token", '&');
        if (r.path() == "/" && !offered.empty() && token_matches(offered)) {
            resp = plain("303 See Other", "");
            resp.headers.emplace_back("Location", "/");
            resp.headers.emplace_back("Set-Cookie", std::string(kCookie) + "=" + token_ +
                                                        "; Path=/; HttpOnly; SameSite=Strict");
        } else {
            resp = plain("401 Unauthorized",
                         "the dashboard needs its token: open /?token=TOKEN once, or send "
                         "'Authorization: Bearer TOKEN' (monitoring.dashboard_token_file)\n");
        }
    } else if (r.path() == "/api/state") {
        std::uint64_t since = 0;
        auto v = param(r.query(), "since", '&');
        std::from_chars(v.data(), v.data() + v.size(), since);
        resp.type = "application/json";
        resp.body = state_json(since);
    } else if (r.path() == "/api/topology") {
        resp.type = "application/json";
        resp.body = topology_json();
    } else {
        std::string_view path = r.path() == "/" ? "/index.html" : r.path();
        resp = plain("404 Not Found", "");
        for (const auto& a : dashboard_assets())
            if (a.path == path) {
                resp.status = "200 OK";
                resp.type = std::string(a.type);
                resp.body = std::string(a.body);
            }
    }
    resp.headers.emplace_back("Cache-Control", "no-store");
    resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
    resp.headers.emplace_back("Referrer-Policy", "no-referrer");
    resp.headers.emplace_back("Content-Security-Policy",
                              "default-src 'self'; frame-ancestors 'none'; form-action 'none'");
    return resp;
}

std::string Dashboard::state_json(std::uint64_t since) const {
    auto st = node_.status();
    json doc;
    doc["unix_ms"] = unix_ms_now();
    doc["node"] = {{"version", st.version},
                   {"id", st.node_id},
                   {"roles", st.roles},
                   {"uptime_seconds", st.uptime_seconds},
                   {"hybrid", st.hybrid},
                   {"require_post_quantum", st.require_post_quantum},
                   {"client_circuits", st.client_circuits},
                   {"relay_circuits", st.relay_circuits},
                   {"streams", st.streams},
                   {"peers", st.peers},
                   {"circuits_built", st.circuits_built},
                   {"circuits_failed", st.circuits_failed},
                   {"streams_opened", st.streams_opened},
                   {"streams_failed", st.streams_failed},
                   {"cells_relayed", st.cells_relayed},
                   {"link_bytes_in", st.link_bytes_in},
                   {"link_bytes_out", st.link_bytes_out},
                   {"relays_known", st.relays_known},
                   {"guards", st.guards}};
    const auto& b = st.bootstrap_progress;
    doc["bootstrap"] = {{"percent", b.percent},
                        {"step", node::to_string(b.step)},
                        {"last_event", b.last_event},
                        {"waiting_for", b.waiting_for},
                        {"seconds_waiting", b.seconds_waiting}};
    doc["listeners"] = json::array();
    for (const auto& l : st.listeners)
        doc["listeners"].push_back({{"kind", l.kind}, {"address", l.address}});

    auto circuits = node_.circuits();
    doc["circuits_total"] = circuits.size();
    doc["circuits"] = json::array();
    for (std::size_t i = 0; i < circuits.size() && i < kMaxCircuits; ++i) {
        const auto& c = circuits[i];
        json hops = json::array();
        for (std::size_t h = 0; h < c.path.size(); ++h) {
            json rtt = h < c.hop_rtt_ms.size() ? json(c.hop_rtt_ms[h]) : json(nullptr);
            hops.push_back({{"id", short_id(c.path[h])}, {"rtt_ms", rtt}});
        }
        doc["circuits"].push_back({{"id", c.id},
                                   {"state", c.built ? "built" : "building"},
                                   {"hops", std::move(hops)},
                                   {"age_seconds", c.age_seconds},
                                   {"streams", c.streams}});
    }

    // Streams without their destinations, ever.
    auto streams = node_.streams();
    doc["streams_total"] = streams.size();
    doc["streams"] = json::array();
    for (std::size_t i = 0; i < streams.size() && i < kMaxStreams; ++i) {
        const auto& s = streams[i];
        doc["streams"].push_back({{"circuit", s.circuit},
                                  {"id", s.id},
                                  {"state", s.open ? "open" : "opening"},
                                  {"bytes_in", s.bytes_in},
                                  {"bytes_out", s.bytes_out}});
    }

    // Links by transport; a peer is never shown by its address.
    auto peers = node_.peers();
    std::map<std::string, std::uint32_t> by_transport;
    doc["peers_total"] = peers.size();
    doc["peers"] = json::array();
    for (std::size_t i = 0; i < peers.size(); ++i) {
        const auto& p = peers[i];
        std::string transport = transport_of(p.address);
        ++by_transport[transport];
        if (i >= kMaxPeers) continue;
        doc["peers"].push_back({{"transport", transport},
                                {"key", short_id(p.node_key)},
                                {"direction", p.outbound ? "out" : "in"},
                                {"established", p.established},
                                {"post_quantum", p.post_quantum},
                                {"age_seconds", p.age_seconds},
                                {"idle_seconds", p.idle_seconds}});
    }
    doc["transports"] = by_transport;

    doc["history_seconds"] = kHistory;
    doc["samples"] = json::array();
    auto first = std::upper_bound(history_.begin(), history_.end(), since,
                                  [](std::uint64_t s, const Sample& x) { return s < x.seq; });
    for (auto it = first; it != history_.end(); ++it)
        doc["samples"].push_back({it->seq, it->unix_ms, it->bytes_in, it->bytes_out,
                                  it->cells_relayed, it->circuits, it->streams, it->peers});
    return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Dashboard::topology_json() const {
    // The relays in this node's circuits first, then the others up to kMaxRelays.
    auto relays = node_.relays();
    auto circuits = node_.circuits();
    std::set<std::string> in_paths;
    for (const auto& c : circuits) in_paths.insert(c.path.begin(), c.path.end());
    std::stable_partition(relays.begin(), relays.end(),
                          [&](const node::RelayInfo& r) { return in_paths.contains(r.id); });
    std::size_t total = relays.size();
    if (relays.size() > kMaxRelays) relays.resize(kMaxRelays);

    std::vector<TopologyRelay> group_input;
    for (const auto& r : relays) {
        TopologyRelay t;
        t.id = r.id;
        t.family = r.family;
        group_input.push_back(std::move(t));
    }
    std::vector<int> family(relays.size(), -1);
    auto groups = family_groups(group_input);
    for (std::size_t g = 0; g < groups.size(); ++g)
        for (auto i : groups[g]) family[i] = static_cast<int>(g);

    json doc;
    doc["relays_total"] = total;
    doc["relays"] = json::array();
    for (std::size_t i = 0; i < relays.size(); ++i) {
        const auto& r = relays[i];
        auto optional = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
        doc["relays"].push_back(
            {{"id", short_id(r.id)},
             {"subnet", r.addresses.empty() ? std::string("unknown") : subnet_of(r.addresses[0])},
             {"family_group", family[i] < 0 ? json(nullptr) : json(family[i])},
             {"exit", r.exit},
             {"guard", r.guard},
             {"down", r.down},
             {"bandwidth", r.measured_bandwidth.value_or(r.advertised_bandwidth)},
             {"latency_ms", optional(r.latency_ms)},
             {"reliability", optional(r.reliability)}});
    }
    doc["circuits"] = json::array();
    for (std::size_t i = 0; i < circuits.size() && i < kMaxCircuits; ++i) {
        json path = json::array();
        for (const auto& id : circuits[i].path) path.push_back(short_id(id));
        doc["circuits"].push_back({{"id", circuits[i].id},
                                   {"state", circuits[i].built ? "built" : "building"},
                                   {"path", std::move(path)}});
    }
    return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace zmesh::control
