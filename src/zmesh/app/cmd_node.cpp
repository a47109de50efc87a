// zmesh node --config FILE: the daemon. Roles from the configuration (client, relay, exit,
// bootstrap), Prometheus metrics, the gRPC control API, SIGHUP reload, graceful shutdown
// on SIGTERM/SIGINT, privilege drop and an optional seccomp allowlist.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "zmesh/app/commands.hpp"
#include "zmesh/app/identity_errors.hpp"
#include "zmesh/app/net_options.hpp"
#include "zmesh/app/node_config.hpp"
#include "zmesh/app/proxy.hpp"
#include "zmesh/app/sandbox.hpp"
#include "zmesh/control/collect.hpp"
#include "zmesh/control/http_server.hpp"
#include "zmesh/control/rpc_server.hpp"
#include "zmesh/discovery/dht_node.hpp"
#include "zmesh/discovery/directory_http.hpp"
#include "zmesh/discovery/path_select.hpp"
#include "zmesh/exit/exit_service.hpp"
#include "zmesh/link/tcp_link.hpp"
#include "zmesh/link/udp_link.hpp"
#include "zmesh/link/ws_link.hpp"

namespace zmesh::app {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::ip::tcp;

constexpr const char* kVersion = "0.1.0";
// How long a stopping daemon keeps running its links so DESTROY cells reach the peers.
constexpr auto kShutdownGrace = std::chrono::milliseconds(300);
constexpr std::uint64_t kDescriptorLifetime = 24 * 3600;
constexpr auto kRepublishInterval = std::chrono::hours(6);
constexpr auto kRefetchInterval = std::chrono::minutes(10);
constexpr std::uint64_t kMaxBundleAge = 3600;
// A relay found unresponsive is left out of new paths this long.
constexpr std::uint64_t kDownSeconds = 300;

std::uint64_t unix_now() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

struct NodeArgs {
    std::string config;
    std::vector<std::string> sets;
    bool dry_run = false;
};

std::string value_text(const control::Value& v) {
    return std::visit(
        [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, bool>)
                return x ? "true" : "false";
            else if constexpr (std::is_same_v<T, std::string>)
                return x;
            else if constexpr (std::is_same_v<T, std::vector<std::string>>)
                return std::to_string(x.size()) + " entries";
            else
                return std::to_string(x);
        },
        v);
}

// A key file under the data directory, created 0600 on first start.
std::optional<crypto::Identity> load_or_create_key(const fs::path& path, const char* what) {
    if (!fs::exists(path)) {
        auto st = crypto::write_identity_file(path, crypto::Identity::generate(), false);
        if (!st) {
            std::cerr << "zmesh node: cannot create " << path.string() << ": "
                      << std::strerror(errno) << "\n";
            return std::nullopt;
        }
        spdlog::info("created a new {} in {}", what, path.string());
    }
    return load_identity_or_explain(path.string(), "zmesh node");
}

// When a key file was written, on the steady clock (its age; now if unknown).
std::chrono::steady_clock::time_point onion_key_created(const fs::path& path) {
    std::error_code ec;
    auto written = fs::last_write_time(path, ec);
    auto now = std::chrono::steady_clock::now();
    if (ec) return now;
    auto age = fs::file_time_type::clock::now() - written;
    if (age < decltype(age)::zero()) return now;
    return now - std::chrono::duration_cast<std::chrono::steady_clock::duration>(age);
}

class Daemon final : public control::ControlBackend {
  public:
    Daemon(control::Config cfg, NodeArgs args) : cfg_(std::move(cfg)), args_(std::move(args)) {}

    int run();

    // ControlBackend: called on io_ only.
    control::v1::NodeStatus status() override;
    control::v1::ListCircuitsResponse circuits() override;
    control::v1::ListStreamsResponse streams() override;
    control::v1::ListPeersResponse peers() override;
    control::v1::NewIdentityResponse new_identity() override;
    control::v1::CloseCircuitResponse close_circuit(std::uint64_t id) override;
    control::v1::GetMetricsResponse metrics(control::v1::GetMetricsRequest::Format f) override;

  private:
    bool start();
    void shutdown();
    void reload();
    void apply(const std::string& name);
    control::Snapshot snapshot();
    std::vector<circuit::PathHop> pick_path(const PathRequest& req);
    void on_circuit_result(const circuit::ClientEvent& ev);
    void save_peers();
    asio::awaitable<void> save_loop();
    void publish(const std::string& kind, std::uint64_t circuit, const std::string& detail);
    std::optional<exit::ExitPolicy> exit_policy() const;
    fs::path data_path(const std::string& key, const char* fallback) const;
    Bytes make_descriptor();
    void restore_previous_onion_key(std::chrono::steady_clock::time_point current_created);
    void save_onion_keys();
    asio::awaitable<void> publish_loop();
    asio::awaitable<void> fetch_loop();
    stream::StreamConfig stream_config() const {
        stream::StreamConfig s;
        s.fec = fec_config(cfg_);
        s.fec_counters = fec_counters_;
        return s;
    }
    asio::awaitable<std::optional<Bytes>> fetch_over_link(const Contact& bootstrap);
    asio::awaitable<bool> sleep(asio::steady_timer& timer, std::chrono::steady_clock::duration d);
    struct Known {
        Contact contact;
        discovery::Candidate candidate;  // exit_ok means "is an exit"; the port is checked later
        std::vector<std::string> exit_policy;
    };
    std::vector<Known> candidates() const;
    // The transports this node can open links over, as discovery::transport_bit values.
    std::uint32_t reachable_transports() const;
    bool start_links(const link::EndpointConfig& lc);

    control::Config cfg_;
    NodeArgs args_;
    asio::io_context io_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    fs::path data_dir_;
    std::optional<crypto::Identity> identity_;
    std::optional<crypto::Identity> onion_;  // its X25519 key is the onion key
    std::unique_ptr<link::LinkSet> links_;
    link::UdpLink* udp_ = nullptr;
    std::unique_ptr<circuit::CircuitNode> node_;
    std::unique_ptr<exit::ExitService> exit_;
    std::shared_ptr<stream::FecCounters> fec_counters_ = std::make_shared<stream::FecCounters>();
    std::unique_ptr<ClientProxy> proxy_;
    std::unique_ptr<control::MetricsServer> metrics_;
    std::unique_ptr<control::ControlServer> control_;
    std::vector<Contact> relays_;
    discovery::Directory directory_;
    discovery::PeerStore peers_;
    std::unique_ptr<asio::steady_timer> save_timer_;
    std::unique_ptr<discovery::DirectoryServer> directory_server_;
    std::unique_ptr<discovery::DhtNode> dht_;
    std::vector<BootstrapNode> bootstraps_;
    std::string bootstrap_line_;
    std::vector<link::LinkAddress> advertised_;  // where others reach this relay's links
    // One timer per background loop (a shared one would cancel the other's wait).
    std::unique_ptr<asio::steady_timer> publish_timer_;
    std::unique_ptr<asio::steady_timer> fetch_timer_;
    std::vector<std::pair<std::string, std::string>> listeners_;
    std::string contact_;
    std::mt19937_64 rng_{std::random_device{}()};
    std::uint64_t reloads_ = 0;
    bool seccomp_ = false;
    bool stopping_ = false;
};

fs::path Daemon::data_path(const std::string& key, const char* fallback) const {
    const auto& v = cfg_.string(key);
    if (v.empty()) return data_dir_ / fallback;
    return fs::path(v);
}

std::optional<exit::ExitPolicy> Daemon::exit_policy() const {
    std::string why;
    auto p = exit::ExitPolicy::parse(
        std::get<std::vector<std::string>>(cfg_.get("security.exit_policy")),
        cfg_.boolean("security.allow_private_exit"), &why);
    if (!p) return std::nullopt;
    return *p;
}

// Relays from circuit.relays and from the directory (verified descriptors), not this node.
std::vector<Daemon::Known> Daemon::candidates() const {
    std::vector<Known> out;
    auto add = [&](const Contact& c, std::vector<crypto::NodeId> family, double bandwidth,
                   std::vector<std::string> policy) {
        if (c.hop.hop.addresses.empty() || std::any_of(out.begin(), out.end(), [&](const Known& k) {
                return k.contact.hop.hop.id == c.hop.hop.id;
            }))
            return;
        discovery::Candidate cand;
        cand.id = c.hop.hop.id;
        cand.ip = link::ip_bytes(c.hop.hop.addresses.front().at.ip);
        for (const auto& a : c.hop.hop.addresses)
            cand.transports |= discovery::transport_bit(a.kind);
        cand.family = std::move(family);
        cand.exit_ok = c.exit;
        cand.advertised_bandwidth = bandwidth;
        out.push_back({c, std::move(cand), std::move(policy)});
    };
    for (const auto& c : relays_) add(c, {}, 0, {});
    auto me = identity_->node_id();
    for (const auto& [id, e] : directory_.entries()) {
        const auto& d = e.descriptor;
        if (id == me || !d.has(discovery::kFlagRelay)) continue;
        // Every address: a relay this node cannot reach itself may still be a later hop.
        std::vector<link::LinkAddress> addresses;
        for (const auto& a : d.addresses)
            if (addresses.size() < circuit::kMaxHopAddresses)
                addresses.push_back(discovery::to_link_address(a));
        Contact c;
        c.hop = circuit::make_path_hop(id, d.link_key, d.onion_key, std::move(addresses));
        c.exit = d.has(discovery::kFlagExit);
        add(c, d.family, static_cast<double>(d.bandwidth), d.exit_policy);
    }
    return out;
}

std::uint32_t Daemon::reachable_transports() const {
    std::uint32_t bits = 0;
    for (const auto& l : links_->links())
        if (links_->speaks(l->transport_kind()))
            bits |= discovery::transport_bit(l->transport_kind());
    return bits;
}

std::vector<circuit::PathHop> Daemon::pick_path(const PathRequest& req) {
    auto known = candidates();
    std::erase_if(known, [&](const Known& k) {
        return std::find(req.avoid.begin(), req.avoid.end(), k.candidate.id) != req.avoid.end();
    });
    std::vector<discovery::Candidate> cands;
    for (const auto& k : known) {
        auto c = k.candidate;
        if (c.exit_ok && !k.exit_policy.empty()) {
            auto policy = exit::ExitPolicy::parse(k.exit_policy, false);
            c.exit_ok = policy && policy->may_allow_port(req.port);
        }
        if (req.exit) c.exit_ok = c.exit_ok && c.id == *req.exit;
        cands.push_back(std::move(c));
    }
    discovery::Weights w{
        cfg_.number("circuit.weight_latency"), cfg_.number("circuit.weight_reliability"),
        cfg_.number("circuit.weight_bandwidth"), cfg_.number("circuit.weight_diversity")};
    auto now = unix_now();
    // Guards are first hops: only relays this node has a transport in common with.
    auto reach = reachable_transports();
    std::vector<discovery::Candidate> guardable;
    for (const auto& c : cands)
        if (discovery::can_link(reach, c.transports)) guardable.push_back(c);
    discovery::maintain_guards(
        peers_, guardable, now, w, static_cast<std::size_t>(cfg_.integer("circuit.guards")),
        static_cast<std::uint64_t>(cfg_.integer("circuit.guard_rotation_days")) * 86400, rng_);
    auto hops = static_cast<std::size_t>(cfg_.integer("circuit.hops"));
    auto path = discovery::select_path(cands, peers_, now, w, hops, rng_, reach);
    if (!path) {
        spdlog::warn(
            "no {}-hop path: {} relays known, none fitting the rules (an exit for the "
            "requested port, distinct subnets and families, a transport in common between "
            "neighbours)",
            hops, cands.size());
        return {};
    }
    std::vector<circuit::PathHop> hopsv;
    for (auto i : *path) hopsv.push_back(known[i].contact.hop);
    return hopsv;
}

void Daemon::on_circuit_result(const circuit::ClientEvent& ev) {
    auto now = unix_now();
    if (ev.kind == circuit::ClientEvent::Kind::built) {
        for (std::size_t i = 0; i < ev.path.size(); ++i) {
            peers_.observe_result(ev.path[i], true, now);
            if (i < ev.hop_times.size())
                peers_.observe_latency(
                    ev.path[i], std::chrono::duration<double, std::milli>(ev.hop_times[i]).count(),
                    now);
        }
    } else if (ev.failed_hop < ev.path.size()) {
        const auto& id = ev.path[ev.failed_hop];
        peers_.observe_result(id, false, now);
        // A relay that stopped answering (liveness probes, a stalled build) or that its
        // neighbour could not reach is most likely down: it is left out of paths for a few
        // minutes, so new circuits and moved streams do not wait on it again.
        bool down = ev.kind == circuit::ClientEvent::Kind::closed ||
                    ev.reason == circuit::DestroyReason::timeout ||
                    ev.reason == circuit::DestroyReason::connect_failed;
        if (down && !peers_.blacklisted(id, now)) {
            peers_.blacklist(id, now + kDownSeconds, "stopped answering");
            spdlog::info("relay {} marked down for {} minutes: it stopped answering",
                         crypto::node_id_string(id), kDownSeconds / 60);
            return;
        }
        // A relay that keeps failing is set aside for an hour rather than retried.
        const auto* r = peers_.find(id);
        if (r && r->failures >= 5 && r->reliability < 0.1 && !peers_.blacklisted(id, now)) {
            peers_.blacklist(id, now + 3600, "circuits keep failing at this relay");
            spdlog::info("relay {} set aside for an hour: circuits keep failing there",
                         crypto::node_id_string(id));
        }
    }
}

// The peer store is state worth keeping: written 0600 and atomically (a crash leaves the
// old file), every few minutes and at shutdown.
void Daemon::save_peers() {
    if (!has_role(cfg_, "client")) return;
    auto path = data_dir_ / "peers.json";
    if (!crypto::write_private_file(path, peers_.serialize(), true))
        spdlog::warn("cannot write {}", path.string());
}

asio::awaitable<void> Daemon::save_loop() {
    while (!stopping_) {
        save_timer_->expires_after(std::chrono::minutes(5));
        auto [ec] = co_await save_timer_->async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec || stopping_) co_return;
        save_peers();
    }
}

Bytes Daemon::make_descriptor() {
    discovery::Descriptor d;
    d.link_key = identity_->link.pub;
    d.onion_key = node_->relay().onion_keys().current().pub;
    d.flags = discovery::kFlagRelay;
    if (has_role(cfg_, "exit")) d.flags |= discovery::kFlagExit;
    if (has_role(cfg_, "bootstrap")) d.flags |= discovery::kFlagBootstrap;
    d.published = unix_now();
    d.expires = d.published + kDescriptorLifetime;
    for (const auto& a : advertised_) d.addresses.push_back(discovery::to_address(a));
    if (has_role(cfg_, "exit"))
        d.exit_policy = std::get<std::vector<std::string>>(cfg_.get("security.exit_policy"));
    return discovery::sign_descriptor(d, *identity_);
}

// Onion key rotation (circuit::OnionKeys): onion.key holds the current key, onion.key.old
// the one it replaced while that is still accepted (kOnionKeyOverlap after the current
// one was made), so a restart keeps both. The file's age is the key's age.
void Daemon::restore_previous_onion_key(std::chrono::steady_clock::time_point current_created) {
    auto path = data_dir_ / "onion.key.old";
    if (!fs::exists(path)) return;
    auto old = crypto::read_identity_file(path);
    auto until = current_created + circuit::kOnionKeyOverlap;
    if (old && until > std::chrono::steady_clock::now())
        node_->relay().onion_keys().add_retired(old->link, until);
    else
        save_onion_keys();  // its overlap is over: the file goes
}

// The key ring changed: a new key (both files rewritten, 0600 and atomically, and the new
// key published at once: the publish loop wakes up), or the replaced key's overlap ended
// (onion.key.old removed).
void Daemon::save_onion_keys() {
    const auto& keys = node_->relay().onion_keys();
    auto write = [&](const char* name, const crypto::X25519KeyPair& k) {
        crypto::Identity file{crypto::Ed25519KeyPair::generate(), k};  // only `link` is used
        if (!crypto::write_identity_file(data_dir_ / name, file, true))
            spdlog::warn("cannot write {}", (data_dir_ / name).string());
    };
    if (const auto* previous = keys.previous()) {
        write("onion.key.old", *previous);
    } else {
        std::error_code ec;
        fs::remove(data_dir_ / "onion.key.old", ec);
    }
    if (keys.current().pub == onion_->link.pub) return;
    write("onion.key", keys.current());
    onion_->link = keys.current();
    spdlog::info("onion key rotated; the previous one is accepted for {} more hours",
                 std::chrono::duration_cast<std::chrono::hours>(circuit::kOnionKeyOverlap).count());
    if (publish_timer_) publish_timer_->cancel();
}

asio::awaitable<bool> Daemon::sleep(asio::steady_timer& timer,
                                    std::chrono::steady_clock::duration d) {
    if (stopping_) co_return false;
    timer.expires_after(d);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
    co_return !stopping_;
}

// Relays publish a fresh descriptor to every bootstrap node, again before it gets old;
// failures are retried with backoff (a bootstrap may start after the relay).
asio::awaitable<void> Daemon::publish_loop() {
    auto backoff = std::chrono::milliseconds(250);
    while (!stopping_) {
        Bytes descriptor = make_descriptor();
        if (directory_server_) directory_.insert(descriptor, unix_now());
        if (dht_) dht_->publish(identity_->node_id(), descriptor);
        bool all = true;
        for (const auto& b : bootstraps_) {
            auto r = co_await discovery::http_request({b.directory.ip, b.directory.port}, "POST",
                                                      "/zmesh/v1/descriptor", descriptor, 4096);
            if (!r || r->status != 200) {
                all = false;
                spdlog::debug("publishing the descriptor to a bootstrap node failed; retrying");
            }
        }
        if (all) spdlog::info("descriptor published to {} bootstrap nodes", bootstraps_.size());
        auto wait = all ? std::chrono::duration_cast<std::chrono::milliseconds>(kRepublishInterval)
                        : backoff;
        if (!all) backoff = std::min(backoff * 2, std::chrono::milliseconds(60000));
        if (!co_await sleep(*publish_timer_, wait)) co_return;
    }
}

// Clients fetch signed bundles from the bootstrap nodes: soon and often while they know
// too few relays, then every few minutes.
asio::awaitable<void> Daemon::fetch_loop() {
    auto backoff = std::chrono::milliseconds(250);
    while (!stopping_) {
        std::size_t fresh = 0;
        if (dht_)  // answers arrive later, on this executor, and are verified one by one
            dht_->lookup([this](Bytes d) { directory_.insert(d, unix_now()); });
        for (const auto& b : bootstraps_) {
            // Over a circuit to the bootstrap node when its link is known (the fetch then
            // looks like any zmesh traffic), else or failing that over HTTP.
            std::optional<Bytes> bundle;
            if (b.link && proxy_) bundle = co_await fetch_over_link(*b.link);
            if (!bundle) {
                auto r = co_await discovery::http_request({b.directory.ip, b.directory.port}, "GET",
                                                          "/zmesh/v1/bundle", {},
                                                          discovery::kMaxBundleSize);
                if (r && r->status == 200) bundle = std::move(r->body);
            }
            if (!bundle) continue;
            auto n = directory_.insert_bundle(*bundle, b.key, unix_now(), kMaxBundleAge);
            if (!n)
                spdlog::warn("a bootstrap node sent a bundle that does not verify; ignored");
            else
                fresh += *n;
        }
        directory_.purge(unix_now());
        if (fresh > 0) spdlog::info("directory: {} relays known", directory_.size());
        auto relays = candidates();
        bool enough = relays.size() >= static_cast<std::size_t>(cfg_.integer("circuit.hops")) &&
                      std::any_of(relays.begin(), relays.end(),
                                  [](const Known& k) { return k.contact.exit; });
        if (enough && proxy_)  // builds the spare circuits, or replaces failed ones
            proxy_->set_preemptive(
                static_cast<std::size_t>(cfg_.integer("circuit.preemptive_circuits")));
        auto wait = enough ? std::chrono::duration_cast<std::chrono::milliseconds>(kRefetchInterval)
                           : backoff;
        if (!enough) backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
        if (!co_await sleep(*fetch_timer_, wait)) co_return;
    }
}

asio::awaitable<std::optional<Bytes>> Daemon::fetch_over_link(const Contact& bootstrap) {
    struct Latch {
        std::optional<Bytes> got;
        bool done = false;
        asio::steady_timer wake;
        explicit Latch(asio::any_io_executor ex)
            : wake(ex, asio::steady_timer::time_point::max()) {}
    };
    auto latch = std::make_shared<Latch>(io_.get_executor());
    proxy_->fetch({bootstrap.hop}, std::string(exit::kDirectoryTarget), discovery::kMaxBundleSize,
                  [latch](std::optional<Bytes> got) {
                      latch->got = std::move(got);
                      latch->done = true;
                      latch->wake.cancel();
                  });
    if (!latch->done) co_await latch->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!latch->got) spdlog::debug("directory over a link to the bootstrap node failed; HTTP next");
    co_return std::move(latch->got);
}

void Daemon::publish(const std::string& kind, std::uint64_t circuit, const std::string& detail) {
    if (!control_) return;
    control::v1::Event e;
    e.set_unix_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
    e.set_kind(kind);
    e.set_circuit(circuit);
    e.set_detail(detail);
    control_->publish(std::move(e));
}

// Every link the configuration names, in one set: a peer is reached over the first of its
// transports in transport.order that this node runs.
bool Daemon::start_links(const link::EndpointConfig& lc) {
    links_ = std::make_unique<link::LinkSet>(io_.get_executor());
    links_->set_order(transport_order(cfg_));
    auto add = [&](std::unique_ptr<link::LinkService> link) {
        std::string name = std::string("link-") + link->transport_name();
        listeners_.emplace_back(name, format_socket_address(link->local_address()));
        (void)links_->add(std::move(link));
    };
    try {
        if (const auto& at = cfg_.string("transport.udp_listen"); !at.empty()) {
            auto udp =
                std::make_unique<link::UdpLink>(io_.get_executor(), lc, *parse_socket_address(at));
            udp_ = udp.get();
            add(std::move(udp));
        }
        if (const auto& at = cfg_.string("transport.tcp_listen"); !at.empty())
            add(std::make_unique<link::TcpLink>(io_.get_executor(), lc, *parse_socket_address(at)));
        if (const auto& ws = cfg_.string("transport.ws_listen"); !ws.empty()) {
            link::WsOptions wo;
            wo.path = cfg_.string("transport.ws_path");
            wo.host = cfg_.string("transport.ws_host");
            wo.connect_tls = cfg_.boolean("transport.ws_tls");
            if (wo.connect_tls) {
                const auto& cert = cfg_.string("transport.tls_cert");
                wo.server_tls = cert.empty()
                                    ? link::self_signed_tls("localhost")
                                    : link::tls_from_files(cert, cfg_.string("transport.tls_key"));
            }
            add(std::make_unique<link::WsLink>(io_.get_executor(), lc, *parse_socket_address(ws),
                                               wo));
        }
        if (const auto& rtc = cfg_.string("transport.webrtc_listen"); !rtc.empty())
            add(std::make_unique<link::WebRtcLink>(
                io_.get_executor(), lc, *parse_socket_address(rtc), webrtc_options(cfg_)));
    } catch (const std::exception& e) {
        std::cerr << "zmesh node: cannot open a link address: " << e.what() << "\n";
        return false;
    }
    return true;
}

bool Daemon::start() {
    if (!startup_selftest("zmesh node")) return false;
    data_dir_ = cfg_.string("core.data_dir");
    std::error_code ec;
    fs::create_directories(data_dir_, ec);
    if (ec || !fs::is_directory(data_dir_)) {
        std::cerr << "zmesh node: core.data_dir " << data_dir_.string()
                  << ": cannot create: " << ec.message() << "\n";
        return false;
    }
    ::chmod(data_dir_.c_str(), 0700);
    identity_ = load_or_create_key(data_dir_ / "identity.key", "identity key");
    onion_ = load_or_create_key(data_dir_ / "onion.key", "onion key");
    if (!identity_ || !onion_) return false;

    bool relay = has_role(cfg_, "relay") || has_role(cfg_, "exit") || has_role(cfg_, "bootstrap");
    bool hybrid = cfg_.string("crypto.handshake") == "hybrid";
    bool require_pq = cfg_.boolean("crypto.require_post_quantum");
    link::EndpointConfig lc{identity_->link, default_suite(), {}, hybrid, require_pq};
    if (!start_links(lc)) return false;
    for (const char* key : {"development.fake_latency_ms", "development.packet_loss_rate"})
        apply(key);

    circuit::NodeConfig nc;
    nc.relay.id = identity_->node_id();
    nc.relay.onion = onion_->link;
    nc.relay.onion_created = onion_key_created(data_dir_ / "onion.key");
    nc.relay.link_key = identity_->link.pub;
    nc.relay.allow_private_addresses = cfg_.boolean("circuit.allow_private_addresses");
    nc.relay.accept_circuits = relay;
    // A bootstrap node answers directory streams on circuits that end at it.
    nc.relay.exit = has_role(cfg_, "exit") || has_role(cfg_, "bootstrap");
    nc.relay.require_post_quantum = require_pq;
    nc.relay.max_circuits = static_cast<std::size_t>(cfg_.integer("circuit.max_circuits"));
    nc.relay.idle_timeout = std::chrono::seconds(cfg_.integer("circuit.idle_timeout_seconds"));
    nc.client.max_lifetime = std::chrono::seconds(cfg_.integer("circuit.max_lifetime_seconds"));
    nc.client.handshake =
        hybrid ? circuit::HandshakeType::ntor_x25519_mlkem768 : circuit::HandshakeType::ntor_x25519;
    node_ = std::make_unique<circuit::CircuitNode>(*links_, nc);
    restore_previous_onion_key(*nc.relay.onion_created);
    node_->on_onion_keys_changed([this] { save_onion_keys(); });
    if (nc.relay.exit) {
        exit::ExitConfig ec2;
        ec2.policy = *exit_policy();
        ec2.stream = stream_config();
        ec2.connect = has_role(cfg_, "exit");
        if (has_role(cfg_, "bootstrap"))
            ec2.directory = [this] { return directory_.make_bundle(*identity_, unix_now()); };
        ec2.resume_grace = std::chrono::seconds(cfg_.integer("circuit.resume_grace_seconds"));
        exit_ = std::make_unique<exit::ExitService>(*node_, ec2);
    }
    links_->start();
    node_->start();

    if (relay) {
        // With one link, transport.advertise replaces its address; with several, its IP
        // replaces theirs and each keeps its listen port.
        auto adv = parse_socket_address(cfg_.string("transport.advertise"));
        for (const auto& l : links_->links()) {
            link::LinkAddress a{l->transport_kind(), l->local_address()};
            if (adv) {
                a.at.ip = adv->ip;
                if (links_->links().size() == 1) a.at.port = adv->port;
            } else if (a.at.ip.is_unspecified()) {
                spdlog::warn(
                    "the {} link listens on all addresses; set transport.advertise to the "
                    "address clients should use",
                    l->transport_name());
            }
            advertised_.push_back(a);
        }
        Contact me;
        me.hop = circuit::make_path_hop(*identity_, onion_->link.pub, advertised_);
        me.exit = has_role(cfg_, "exit");
        contact_ = format_contact(me);
    }

    try {
        if (has_role(cfg_, "client")) {
            relays_ = configured_relays(cfg_);
            if (auto text = read_text_file((data_dir_ / "peers.json").string())) {
                std::string why;
                if (auto store = discovery::PeerStore::parse(*text, &why)) {
                    peers_ = std::move(*store);
                    spdlog::info("peer store: {} relays, {} guards", peers_.size(),
                                 peers_.guards().size());
                } else {
                    spdlog::warn("{}: {}; starting with an empty peer store",
                                 (data_dir_ / "peers.json").string(), why);
                }
            }
            proxy_ = std::make_unique<ClientProxy>(
                *node_, [this](const PathRequest& req) { return pick_path(req); }, stream_config());
            proxy_->on_circuit_result(
                [this](const circuit::ClientEvent& ev) { on_circuit_result(ev); });
            proxy_->set_resume_grace(
                std::chrono::seconds(cfg_.integer("circuit.resume_grace_seconds")));
            // Every relay of the circuit carried that rate: each gets the sample.
            proxy_->on_throughput([this](circuit::CircuitHandle h, double bytes_per_second) {
                for (const auto& c : node_->client().list())
                    if (c.handle == h)
                        for (const auto& id : c.path)
                            peers_.observe_bandwidth(id, bytes_per_second, unix_now());
            });
            // With relays named in the file the spares are built now; with discovery, once
            // the first relays are learned (fetch_loop).
            if (!relays_.empty())
                proxy_->set_preemptive(
                    static_cast<std::size_t>(cfg_.integer("circuit.preemptive_circuits")));
            save_timer_ = std::make_unique<asio::steady_timer>(io_);
            asio::co_spawn(io_, save_loop(), link::log_exit("peer store"));
            proxy_->on_event(
                [this](const ProxyEvent& e) { publish(to_string(e.kind), e.circuit, e.detail); });
            if (const auto& at = cfg_.string("transport.socks_listen"); !at.empty()) {
                auto a = *parse_socket_address(at);
                auto ep = proxy_->listen_socks({a.ip, a.port});
                listeners_.emplace_back("socks5", format_socket_address({ep.address(), ep.port()}));
            }
            if (const auto& at = cfg_.string("transport.http_connect_listen"); !at.empty()) {
                auto a = *parse_socket_address(at);
                auto ep = proxy_->listen_http({a.ip, a.port});
                listeners_.emplace_back("http-connect",
                                        format_socket_address({ep.address(), ep.port()}));
            }
        }
        if (const auto& at = cfg_.string("monitoring.prometheus_addr"); !at.empty()) {
            auto a = *parse_socket_address(at);
            metrics_ = std::make_unique<control::MetricsServer>(
                io_.get_executor(), tcp::endpoint(a.ip, a.port), [this] { return snapshot(); });
            auto ep = metrics_->local_endpoint();
            listeners_.emplace_back("metrics", format_socket_address({ep.address(), ep.port()}));
        }
    } catch (const std::exception& e) {
        std::cerr << "zmesh node: cannot listen: " << e.what() << "\n";
        return false;
    }

    bootstraps_ = configured_bootstraps(cfg_);
    publish_timer_ = std::make_unique<asio::steady_timer>(io_);
    fetch_timer_ = std::make_unique<asio::steady_timer>(io_);
    std::optional<link::SocketAddress> dht_at;
    try {
        if (const auto& at = cfg_.string("transport.dht_listen"); !at.empty()) {
            dht_ =
                std::make_unique<discovery::DhtNode>(io_.get_executor(), *parse_socket_address(at));
            std::vector<link::SocketAddress> seeds;
            for (const auto& b : bootstraps_)
                if (b.dht) seeds.push_back(*b.dht);
            dht_->bootstrap(seeds);
            dht_at = dht_->local_address();
            listeners_.emplace_back("dht", format_socket_address(*dht_at));
        }
        if (has_role(cfg_, "bootstrap")) {
            auto at = *parse_socket_address(cfg_.string("transport.directory_listen"));
            directory_server_ = std::make_unique<discovery::DirectoryServer>(
                io_.get_executor(), tcp::endpoint(at.ip, at.port), directory_, *identity_,
                [] { return unix_now(); });
            auto ep = directory_server_->local_endpoint();
            link::SocketAddress shown{ep.address(), ep.port()};
            if (!cfg_.string("transport.advertise").empty()) shown.ip = advertised_.front().at.ip;
            std::optional<link::SocketAddress> dht_shown = dht_at;
            if (dht_shown && !cfg_.string("transport.advertise").empty())
                dht_shown->ip = advertised_.front().at.ip;
            Contact me;
            me.hop = circuit::make_path_hop(*identity_, onion_->link.pub, advertised_);
            bootstrap_line_ = format_bootstrap({shown, identity_->signing.pub, dht_shown, me});
            listeners_.emplace_back("directory", format_socket_address({ep.address(), ep.port()}));
        }
    } catch (const std::exception& e) {
        std::cerr << "zmesh node: discovery: " << e.what() << "\n";
        return false;
    }
    if (relay && (directory_server_ || dht_ || !bootstraps_.empty()))
        asio::co_spawn(io_, publish_loop(), link::log_exit("descriptor publishing"));
    if (has_role(cfg_, "client") && (dht_ || !bootstraps_.empty()))
        asio::co_spawn(io_, fetch_loop(), link::log_exit("directory fetching"));

    control::ControlServerConfig cc;
    fs::path socket_path;
    fs::path token_path;
    if (cfg_.string("monitoring.control_socket") != "off") {
        socket_path = data_path("monitoring.control_socket", "control.sock");
        cc.unix_path = socket_path.string();
    }
    if (const auto& at = cfg_.string("monitoring.control_addr"); !at.empty()) {
        cc.tcp_address = at;
        token_path = data_path("monitoring.control_token_file", "control.token");
        auto token = crypto::read_private_file(token_path, 4096);
        if (!token && token.error() == Errc::permission_denied) {
            std::cerr << "zmesh node: " << token_path.string()
                      << " is readable by other users; run 'chmod 600 " << token_path.string()
                      << "'\n";
            return false;
        }
        if (!token) {
            // Created like a key: 0600 from the start, never replaced.
            std::string t = control::new_control_token();
            if (!crypto::write_private_file(token_path, t + "\n", false)) {
                std::cerr << "zmesh node: cannot write " << token_path.string() << "\n";
                return false;
            }
            token = t;
        }
        cc.token = token->substr(0, token->find_first_of("\r\n"));
    }
    if (!cc.unix_path.empty() || !cc.tcp_address.empty()) {
        try {
            control_ = std::make_unique<control::ControlServer>(io_.get_executor(), *this, cc);
        } catch (const std::exception& e) {
            std::cerr << "zmesh node: control API: " << e.what() << "\n";
            return false;
        }
        if (!cc.unix_path.empty()) listeners_.emplace_back("control", cc.unix_path);
        if (!cc.tcp_address.empty()) {
            auto a = *parse_socket_address(cc.tcp_address);
            listeners_.emplace_back(
                "control",
                format_socket_address({a.ip, static_cast<std::uint16_t>(control_->tcp_port())}));
        }
    }

    // Everything privileged is done: sockets are bound, key files read.
    if (auto err = drop_privileges(cfg_.string("security.user"),
                                   {data_dir_, data_dir_ / "identity.key", data_dir_ / "onion.key",
                                    socket_path, token_path});
        !err.empty()) {
        std::cerr << "zmesh node: " << err << "\n";
        return false;
    }
    if (::geteuid() == 0)
        spdlog::warn("running as root; set security.user to drop privileges after start-up");
    ::prctl(PR_SET_DUMPABLE, 0);  // no core dumps or ptrace of a process holding keys
    if (cfg_.boolean("security.enable_seccomp")) {
        if (auto err = install_seccomp(); !err.empty()) {
            std::cerr << "zmesh node: " << err << "\n";
            return false;
        }
        seccomp_ = true;
    }
    return true;
}

void Daemon::apply(const std::string& name) {
    if (name == "core.log_level") {
        spdlog::set_level(spdlog::level::from_str(cfg_.string(name)));
    } else if (name == "crypto.require_post_quantum") {
        node_->set_require_post_quantum(cfg_.boolean(name));
    } else if (name == "transport.order") {
        links_->set_order(transport_order(cfg_));  // for links opened from now on
    } else if (name == "circuit.relays") {
        relays_ = configured_relays(cfg_);
    } else if (name == "circuit.preemptive_circuits") {
        if (proxy_) proxy_->set_preemptive(static_cast<std::size_t>(cfg_.integer(name)));
    } else if (name == "circuit.idle_timeout_seconds") {
        node_->relay().set_idle_timeout(std::chrono::seconds(cfg_.integer(name)));
    } else if (name == "security.exit_policy" || name == "security.allow_private_exit") {
        if (exit_) exit_->set_policy(*exit_policy());
    } else if (name == "development.packet_loss_rate") {
        if (udp_) udp_->set_loss(cfg_.number(name));
    } else if (name == "development.fake_latency_ms" || name == "development.bandwidth_limit") {
        if (udp_)
            udp_->set_shaping(
                std::chrono::milliseconds(cfg_.integer("development.fake_latency_ms")),
                static_cast<std::uint64_t>(cfg_.integer("development.bandwidth_limit")));
    }
    // circuit.hops and the path weights are read when the next path is picked; mix options
    // when the mix mode runs.
}

void Daemon::reload() {
    ++reloads_;
    auto fresh = load_or_explain(args_.config, args_.sets);
    std::vector<std::string> problems;
    if (fresh) problems = node_config_problems(*fresh);
    if (!fresh || !problems.empty()) {
        for (const auto& p : problems) spdlog::error("reload: {}: {}", args_.config, p);
        if (!fresh) spdlog::error("reload: {} does not load (see above)", args_.config);
        spdlog::error("reload refused: the file has errors; the running configuration stays");
        publish("reload", 0, "refused: configuration errors");
        return;
    }
    std::vector<std::string> applied, restart;
    for (const auto& o : control::options()) {
        auto name = o.name();
        if (cfg_.get(name) == fresh->get(name)) continue;
        if (o.reloadable) {
            cfg_.set(name, fresh->get(name));
            apply(name);
            applied.push_back(name + "=" + value_text(fresh->get(name)));
        } else {
            restart.push_back(name);
        }
    }
    auto join = [](const std::vector<std::string>& v) {
        std::string s;
        for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
        return s.empty() ? std::string("none") : s;
    };
    spdlog::info("reload: applied {}", join(applied));
    if (!restart.empty()) spdlog::warn("reload: not applied, need a restart: {}", join(restart));
    publish("reload", 0, "applied " + join(applied));
}

void Daemon::shutdown() {
    if (stopping_) return;
    stopping_ = true;
    std::size_t client_circuits = node_->client().size();
    std::size_t relay_circuits = node_->relay().size();
    spdlog::info("shutting down: closing {} client and {} relayed circuits", client_circuits,
                 relay_circuits);
    publish("shutdown", 0, "");
    if (control_) control_->shutdown();
    if (publish_timer_) publish_timer_->cancel();
    if (fetch_timer_) fetch_timer_->cancel();
    if (save_timer_) save_timer_->cancel();
    save_peers();
    if (directory_server_) directory_server_->stop();
    if (dht_) dht_->stop();
    if (proxy_) proxy_->stop();
    node_->shutdown();
    if (metrics_) metrics_->stop();
    // Let the links send the DESTROY cells, then stop.
    auto grace = std::make_shared<asio::steady_timer>(io_, kShutdownGrace);
    grace->async_wait([this, grace](boost::system::error_code) {
        node_->stop();
        links_->stop();
        spdlog::info("stopped cleanly");
        io_.stop();
    });
}

int Daemon::run() {
    if (!start()) return 1;
    std::printf("zmesh node %s: roles", kVersion);
    for (const auto& r : std::get<std::vector<std::string>>(cfg_.get("core.roles")))
        std::printf(" %s", r.c_str());
    std::printf("\nnode id: %s\n", crypto::node_id_string(identity_->node_id()).c_str());
    for (const auto& [kind, at] : listeners_)
        std::printf("listening: %s %s\n", kind.c_str(), at.c_str());
    if (!contact_.empty()) std::printf("contact: %s\n", contact_.c_str());
    if (!bootstrap_line_.empty()) std::printf("bootstrap: %s\n", bootstrap_line_.c_str());
    std::printf("ready\n");
    std::fflush(stdout);

    asio::signal_set stop_signals(io_, SIGINT, SIGTERM);
    stop_signals.async_wait([this](boost::system::error_code ec, int sig) {
        if (ec) return;
        spdlog::info("{} received", sig == SIGINT ? "SIGINT" : "SIGTERM");
        shutdown();
    });
    asio::signal_set hup(io_, SIGHUP);
    std::function<void()> wait_hup = [&] {
        hup.async_wait([&](boost::system::error_code ec, int) {
            if (ec || stopping_) return;
            spdlog::info("SIGHUP received: reloading {}", args_.config);
            reload();
            wait_hup();
        });
    };
    wait_hup();
    io_.run();
    return 0;
}

control::Snapshot Daemon::snapshot() {
    control::Snapshot snap;
    control::Labels l;
    control::collect_links(snap, *links_, l);
    control::collect_relay(snap, node_->relay().stats(), node_->relay().size(), l);
    control::collect_client(snap, node_->client().stats(), node_->client().size(), l);
    control::collect_directory(snap, directory_, l);
    if (dht_)
        snap.add("zmesh_dht_good_nodes", "DHT: nodes answering in the routing table.",
                 control::MetricType::gauge, l, static_cast<double>(dht_->good_nodes()));
    if (proxy_) collect_proxy(snap, proxy_->stats(), l);
    control::collect_fec(snap, *fec_counters_, l);
    if (exit_) {
        const auto& es = exit_->stats();
        control::add_counters(snap, "zmesh_exit_", "Exit",
                              {{"streams_opened", es.streams_opened},
                               {"refused_policy", es.refused_policy},
                               {"resolve_failed", es.resolve_failed},
                               {"connect_failed", es.connect_failed},
                               {"streams_parked", es.streams_parked},
                               {"streams_resumed", es.streams_resumed},
                               {"resume_expired", es.resume_expired},
                               {"resume_unknown", es.resume_unknown},
                               {"directory_served", es.directory_served}},
                              l);
        snap.add("zmesh_exit_parked_streams",
                 "Exit: streams of dead circuits waiting for their client to move them.",
                 control::MetricType::gauge, l, static_cast<double>(exit_->parked()));
    }
    snap.add("zmesh_uptime_seconds", "Seconds since the daemon started.",
             control::MetricType::gauge, l,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    snap.add("zmesh_config_reloads_total", "SIGHUP reloads.", control::MetricType::counter, l,
             static_cast<double>(reloads_));
    return snap;
}

control::v1::NodeStatus Daemon::status() {
    control::v1::NodeStatus s;
    s.set_version(kVersion);
    s.set_node_id(crypto::node_id_string(identity_->node_id()));
    for (const auto& r : std::get<std::vector<std::string>>(cfg_.get("core.roles"))) s.add_roles(r);
    s.set_uptime_seconds(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                       std::chrono::steady_clock::now() - started_)
                                       .count()));
    s.set_pid(static_cast<std::uint32_t>(::getpid()));
    s.set_handshake(cfg_.string("crypto.handshake"));
    s.set_require_post_quantum(cfg_.boolean("crypto.require_post_quantum"));
    s.set_seccomp(seccomp_);
    for (const auto& [kind, at] : listeners_) {
        auto* l = s.add_listeners();
        l->set_kind(kind);
        l->set_address(at);
    }
    s.set_client_circuits(static_cast<std::uint32_t>(node_->client().size()));
    s.set_relay_circuits(static_cast<std::uint32_t>(node_->relay().size()));
    s.set_peers(static_cast<std::uint32_t>(links_->session_count()));
    const auto& cs = node_->client().stats();
    s.set_circuits_built(cs.circuits_built);
    s.set_circuits_failed(cs.circuits_failed);
    if (proxy_) {
        s.set_streams(static_cast<std::uint32_t>(proxy_->streams().size()));
        s.set_streams_opened(proxy_->stats().streams_opened);
        s.set_streams_failed(proxy_->stats().streams_failed);
    }
    s.set_cells_relayed(node_->relay().stats().cells_forward +
                        node_->relay().stats().cells_backward);
    std::uint64_t in = 0, out = 0;
    for (const auto& link : links_->links()) {
        in += link->bytes_in();
        out += link->bytes_out();
    }
    s.set_link_bytes_in(in);
    s.set_link_bytes_out(out);
    s.set_config_file(args_.config);
    s.set_reloads(reloads_);
    s.set_contact(contact_);
    s.set_user(std::to_string(::geteuid()));
    s.set_relays_known(static_cast<std::uint32_t>(candidates().size()));
    s.set_guards(static_cast<std::uint32_t>(peers_.guards().size()));
    s.set_bootstrap(bootstrap_line_);
    return s;
}

control::v1::ListCircuitsResponse Daemon::circuits() {
    control::v1::ListCircuitsResponse r;
    std::map<circuit::CircuitHandle, std::uint32_t> streams;
    if (proxy_)
        for (const auto& s : proxy_->streams()) ++streams[s.circuit];
    auto now = circuit::Clock::now();
    for (const auto& c : node_->client().list()) {
        auto* out = r.add_circuits();
        out->set_id(c.handle);
        out->set_state(c.built ? "built" : "building");
        out->set_hops(static_cast<std::uint32_t>(c.path.size()));
        for (const auto& id : c.path) out->add_path(crypto::node_id_string(id));
        for (auto rtt : c.hop_rtt)
            out->add_hop_rtt_ms(std::chrono::duration<double, std::milli>(rtt).count());
        out->set_age_seconds(std::chrono::duration<double>(now - c.started).count());
        out->set_streams(streams[c.handle]);
    }
    return r;
}

control::v1::ListStreamsResponse Daemon::streams() {
    control::v1::ListStreamsResponse r;
    if (!proxy_) return r;
    for (const auto& s : proxy_->streams()) {
        auto* out = r.add_streams();
        out->set_circuit(s.circuit);
        out->set_id(s.stream.id);
        out->set_state(s.stream.open ? "open" : "opening");
        out->set_target(s.target);
        out->set_bytes_out(s.stream.bytes_out);
        out->set_bytes_in(s.stream.bytes_in);
    }
    return r;
}

control::v1::ListPeersResponse Daemon::peers() {
    control::v1::ListPeersResponse r;
    auto now = link::Clock::now();
    for (const auto& link : links_->links()) {
        for (const auto& p : link->endpoint().sessions()) {
            auto* out = r.add_peers();
            out->set_session(p.id);
            // Anonymous (NK) peers are clients: their addresses are not ours to show.
            if (p.remote_static) {
                auto at = link->peer_address(p.address);
                out->set_address(std::string(link->transport_name()) + "://" +
                                 (at ? format_socket_address(*at) : "closed"));
                out->set_node_key(to_hex(p.remote_static->view()));
            } else {
                out->set_address("client");
            }
            out->set_direction(p.initiator ? "outbound" : "inbound");
            out->set_established(p.established);
            out->set_post_quantum(p.hybrid);
            out->set_age_seconds(std::chrono::duration<double>(now - p.created).count());
            out->set_idle_seconds(std::chrono::duration<double>(now - p.last_received).count());
        }
    }
    return r;
}

control::v1::NewIdentityResponse Daemon::new_identity() {
    control::v1::NewIdentityResponse r;
    if (!proxy_) return r;
    auto retired = proxy_->new_identity();
    r.set_circuits_retired(static_cast<std::uint32_t>(retired));
    spdlog::info("new identity: new streams get new circuits");
    publish("new_identity", 0, std::to_string(retired) + " circuits retired");
    return r;
}

control::v1::CloseCircuitResponse Daemon::close_circuit(std::uint64_t id) {
    control::v1::CloseCircuitResponse r;
    r.set_closed(proxy_ && proxy_->close_circuit(id));
    return r;
}

control::v1::GetMetricsResponse Daemon::metrics(control::v1::GetMetricsRequest::Format f) {
    control::v1::GetMetricsResponse r;
    auto snap = snapshot();
    switch (f) {
        case control::v1::GetMetricsRequest::JSON:
            r.set_content_type("application/json");
            r.set_body(control::to_json(snap));
            break;
        case control::v1::GetMetricsRequest::INFLUX:
            r.set_content_type("text/plain");
            r.set_body(
                control::to_influx(snap, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count()));
            break;
        default:
            r.set_content_type("text/plain; version=0.0.4");
            r.set_body(control::to_prometheus(snap));
            break;
    }
    return r;
}

int run_node(const NodeArgs& args) {
    auto cfg = load_or_explain(args.config, args.sets);
    if (!cfg) return 1;
    auto problems = node_config_problems(*cfg);
    for (const auto& p : problems) std::cerr << args.config << ": " << p << "\n";
    if (!problems.empty()) return 1;
    for (const auto& w : node_config_warnings(*cfg)) spdlog::warn("{}: {}", args.config, w);
    if (args.dry_run) {
        std::cout << args.config << ": valid; roles";
        for (const auto& r : std::get<std::vector<std::string>>(cfg->get("core.roles")))
            std::cout << " " << r;
        std::cout << "; not starting (--dry-run)\n";
        return 0;
    }
    spdlog::set_level(spdlog::level::from_str(cfg->string("core.log_level")));
    Daemon d(std::move(*cfg), args);
    return d.run();
}

}  // namespace

void add_node_command(CLI::App& app, int& exit_code) {
    static NodeArgs args;
    auto* cmd = app.add_subcommand("node", "Run a zmesh node (the daemon)");
    cmd->add_option("--config,-c", args.config, "TOML configuration file")->required();
    cmd->add_option("--set", args.sets, "Override: section.key=value (repeatable)");
    cmd->add_flag("--dry-run", args.dry_run, "Check the configuration and exit");
    cmd->footer(
        "Signals: SIGTERM or SIGINT close every circuit and exit 0; SIGHUP re-reads the file\n"
        "and applies what can change while running (the log says which options it applied).\n"
        "Examples:\n"
        "  zmesh config init --out zmesh.toml && zmesh node --config zmesh.toml --dry-run\n"
        "  zmesh node --config /etc/zmesh/zmesh.toml --set core.log_level=debug\n"
        "  zmesh status        # from another terminal");
    cmd->callback([&] { exit_code = run_node(args); });
}

}  // namespace zmesh::app
