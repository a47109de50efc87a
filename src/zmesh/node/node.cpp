// The assembly of a node: keys, links, the circuit layer, exit, client pool, directory,
// DHT, descriptor publishing and fetching, path selection with guards and the peer store.
#include "zmesh/node/node.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "zmesh/core/clock.hpp"
#include "zmesh/discovery/descriptor.hpp"
#include "zmesh/link/tcp_link.hpp"
#include "zmesh/link/webrtc_link.hpp"
#include "zmesh/link/ws_link.hpp"
#include "zmesh/node/key_files.hpp"
#include "zmesh/node/net_options.hpp"
#include "zmesh/node/node_impl.hpp"
#include "zmesh/wire/cell.hpp"

namespace zmesh::node {

namespace fs = std::filesystem;
using asio::ip::tcp;

std::uint64_t unix_now() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

const char* to_string(Event::Kind k) {
    switch (k) {
        case Event::Kind::circuit_built:
            return "circuit_built";
        case Event::Kind::circuit_failed:
            return "circuit_failed";
        case Event::Kind::circuit_closed:
            return "circuit_closed";
        case Event::Kind::stream_opened:
            return "stream_opened";
        case Event::Kind::stream_failed:
            return "stream_failed";
        case Event::Kind::new_identity:
            return "new_identity";
        case Event::Kind::reload:
            return "reload";
        case Event::Kind::shutdown:
            return "shutdown";
    }
    return "unknown";
}

namespace {

// A subscription the node cannot run without: the circuit layer's bound is far above the
// node's own few, so running out is a broken invariant.
Subscription subscribed(Result<Subscription> r) {
    if (!r) throw std::logic_error("node: the circuit layer takes no more subscribers");
    return std::move(*r);
}

Event::Kind event_kind(client::PoolEvent::Kind k) {
    switch (k) {
        case client::PoolEvent::Kind::circuit_built:
            return Event::Kind::circuit_built;
        case client::PoolEvent::Kind::circuit_failed:
            return Event::Kind::circuit_failed;
        case client::PoolEvent::Kind::circuit_closed:
            return Event::Kind::circuit_closed;
        case client::PoolEvent::Kind::stream_opened:
            return Event::Kind::stream_opened;
        case client::PoolEvent::Kind::stream_failed:
            break;
    }
    return Event::Kind::stream_failed;
}

std::optional<std::string> read_text_file(const fs::path& path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// When a key file was written, on the steady clock (its age; now if unknown).
zmesh::Clock::time_point onion_key_created(const fs::path& path) {
    std::error_code ec;
    auto written = fs::last_write_time(path, ec);
    auto now = zmesh::Clock::now();
    if (ec) return now;
    auto age = fs::file_time_type::clock::now() - written;
    if (age < decltype(age)::zero()) return now;
    return now - std::chrono::duration_cast<zmesh::Clock::duration>(age);
}

}  // namespace

// ---- keys, links, circuits ------------------------------------------------------------

bool Node::Impl::open_keys(std::string* error) {
    if (opts_.data_dir.empty()) {  // in memory: a testnet or an embedded node
        identity_ = crypto::Identity::generate();
        onion_ = crypto::Identity::generate();
        return true;
    }
    std::error_code ec;
    fs::create_directories(opts_.data_dir, ec);
    if (ec || !fs::is_directory(opts_.data_dir)) {
        if (error)
            *error =
                "core.data_dir " + opts_.data_dir.string() + ": cannot create: " + ec.message();
        return false;
    }
    ::chmod(opts_.data_dir.c_str(), 0700);
    identity_ = load_or_create_key(opts_.data_dir / "identity.key", "identity key", error);
    if (!identity_) return false;
    onion_ = load_or_create_key(opts_.data_dir / "onion.key", "onion key", error);
    return onion_.has_value();
}

// Every link the options name, in one set: a peer is reached over the first of its
// transports in the order that this node runs.
bool Node::Impl::start_links(std::string* error) {
    const auto& lo = opts_.links;
    link::EndpointConfig lc{
        identity_->link, default_suite(), {}, lo.hybrid, lo.require_post_quantum};
    links_ = std::make_unique<link::LinkSet>(ex_);
    if (!lo.order.empty()) links_->set_order(lo.order);  // else the link layer's default
    auto add = [&](std::unique_ptr<link::LinkService> link) {
        listeners_.push_back({std::string("link-") + link->transport_name(),
                              format_socket_address(link->local_address())});
        (void)links_->add(std::move(link));
    };
    try {
        if (lo.udp && lo.memory) {
            add(std::make_unique<link::MemoryLink>(ex_, lc, lo.memory, *lo.udp));
        } else if (lo.udp) {
            auto udp = std::make_unique<link::UdpLink>(ex_, lc, *lo.udp);
            udp_ = udp.get();
            add(std::move(udp));
        }
        if (lo.tcp) add(std::make_unique<link::TcpLink>(ex_, lc, *lo.tcp));
        if (lo.ws) add(std::make_unique<link::WsLink>(ex_, lc, *lo.ws, lo.ws_options));
        if (lo.webrtc)
            add(std::make_unique<link::WebRtcLink>(ex_, lc, *lo.webrtc, lo.webrtc_options));
    } catch (const std::exception& e) {
        if (error) *error = std::string("cannot open a link address: ") + e.what();
        return false;
    }
    if (links_->links().empty()) {
        if (error) *error = "no link: every transport is off";
        return false;
    }
    apply_shaping();
    return true;
}

void Node::Impl::apply_shaping() {
    if (!udp_) return;
    udp_->set_loss(opts_.links.packet_loss);
    udp_->set_shaping(opts_.links.fake_latency, opts_.links.bandwidth_limit);
}

stream::StreamConfig Node::Impl::stream_config() const {
    stream::StreamConfig s;
    s.fec = opts_.fec;
    s.fec_counters = fec_counters_;
    return s;
}

std::optional<exit::ExitPolicy> Node::Impl::exit_policy() const {
    auto p = exit::ExitPolicy::parse(opts_.exit.policy, opts_.exit.allow_private);
    if (!p) return std::nullopt;
    return *p;
}

std::uint8_t Node::Impl::exit_abilities() const {
    std::uint8_t a = 0;
    if (opts_.exit.onion_proxy) a |= discovery::kFlagOnion;
    if (opts_.exit.i2p_proxy) a |= discovery::kFlagI2p;
    if (opts_.exit.upstream) a |= discovery::kFlagUpstream;
    return a;
}

void Node::Impl::start_circuits() {
    const auto& roles = opts_.roles;
    circuit::NodeConfig nc;
    nc.relay.id = identity_->node_id();
    nc.relay.onion = onion_->link;
    nc.relay.onion_created = opts_.data_dir.empty()
                                 ? zmesh::Clock::now()
                                 : onion_key_created(opts_.data_dir / "onion.key");
    nc.relay.link_key = identity_->link.pub;
    nc.relay.allow_private_addresses = opts_.circuit.allow_private_addresses;
    nc.relay.accept_circuits = roles.accepts_circuits();
    // A bootstrap node answers directory streams on circuits that end at it.
    nc.relay.exit = roles.exit || roles.bootstrap;
    nc.relay.require_post_quantum = opts_.links.require_post_quantum;
    nc.relay.max_circuits = opts_.circuit.max_circuits;
    nc.relay.idle_timeout = opts_.circuit.idle_timeout;
    if (roles.accepts_circuits()) {
        std::size_t threads = opts_.circuit.threads;
        if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
        nc.handshake_workers = threads - 1;
    }
    nc.client.max_lifetime = opts_.circuit.max_lifetime;
    nc.client.handshake = opts_.links.hybrid ? circuit::HandshakeType::ntor_x25519_mlkem768
                                             : circuit::HandshakeType::ntor_x25519;
    circuits_ = std::make_unique<circuit::CircuitNode>(*links_, nc);
    restore_previous_onion_key(*nc.relay.onion_created);
    onion_keys_sub_ = subscribed(circuits_->subscribe_onion_keys([this] { save_onion_keys(); }));
    if (nc.relay.exit) {
        exit::ExitConfig ec;
        ec.policy = *exit_policy();
        ec.stream = stream_config();
        ec.connect = roles.exit;
        if (roles.bootstrap)
            ec.directory = [this] { return directory_.make_bundle(*identity_, unix_now()); };
        ec.resume_grace = opts_.circuit.resume_grace;
        ec.onion_proxy = opts_.exit.onion_proxy;
        ec.i2p_proxy = opts_.exit.i2p_proxy;
        ec.upstream = opts_.exit.upstream;
        exit_ = std::make_unique<exit::ExitService>(*circuits_, ec);
    }
    links_->start();
    circuits_->start();
}

// With one link, the advertised address replaces its address; with several, its IP
// replaces theirs and each keeps its listen port.
void Node::Impl::advertise() {
    const auto& adv = opts_.links.advertise;
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
    me.exit = opts_.roles.exit;
    if (me.exit) me.abilities = exit_abilities();
    contact_ = me;
}

// ---- the client -----------------------------------------------------------------------

void Node::Impl::start_client() {
    if (!opts_.data_dir.empty()) {
        auto path = opts_.data_dir / "peers.json";
        if (auto text = read_text_file(path)) {
            std::string why;
            if (auto store = discovery::PeerStore::parse(*text, &why)) {
                relays_.peers() = std::move(*store);
                spdlog::info("peer store: {} relays, {} guards", relays_.peers().size(),
                             relays_.peers().guards().size());
            } else {
                spdlog::warn("{}: {}; starting with an empty peer store", path.string(), why);
            }
        }
    }
    set_relays(opts_.circuit.relays);
    // Subscribed before the pool: a failure is scored before the pool picks a new path.
    circuit_results_ =
        subscribed(circuits_->subscribe_client([this](const circuit::ClientEvent& ev) {
            if (ev.kind == circuit::ClientEvent::Kind::message) return;
            on_circuit_result(ev);
            // One-hop circuits only fetch the directory: the first full one counts.
            if (ev.path.size() < 2) return;
            if (ev.kind == circuit::ClientEvent::Kind::built)
                progress(BootstrapStep::circuit, "first circuit built");
            else if (ev.kind == circuit::ClientEvent::Kind::failed && !ev.abandoned)
                progress_failed(BootstrapStep::circuit, circuit::to_string(ev.reason));
        }));
    pool_ = std::make_unique<client::ClientPool>(
        *circuits_, [this](const client::PathRequest& req) { return pick_path(req); },
        stream_config());
    pool_->set_resume_grace(opts_.circuit.resume_grace);
    // Every relay of the circuit carried that rate: each gets the sample.
    pool_->on_throughput([this](circuit::CircuitHandle h, double bytes_per_second) {
        for (const auto& c : circuits_->client().list())
            if (c.handle == h) relays_.observe_throughput(c.path, bytes_per_second, unix_now());
    });
    pool_->on_event(
        [this](const client::PoolEvent& e) { emit(event_kind(e.kind), e.circuit, e.detail); });
    // With relays named in the options the spares are built now; with discovery, once
    // the first relays are learned (fetch_loop).
    if (!opts_.circuit.relays.empty()) pool_->set_preemptive(opts_.circuit.preemptive);
    if (!opts_.data_dir.empty()) {
        save_timer_ = std::make_unique<zmesh::Timer>(ex_);
        asio::co_spawn(ex_, save_loop(), link::log_exit("peer store"));
    }
}

// Relays named in the options; the relay service adds those of the directory.
void Node::Impl::set_relays(const std::vector<Contact>& relays) {
    std::vector<discovery::KnownRelay> known;
    for (const auto& c : relays)
        if (auto k = discovery::known_relay(c.hop, c.exit, {}, 0, {}, c.abilities))
            known.push_back(std::move(*k));
    relays_.set_configured(std::move(known));
}

std::uint32_t Node::Impl::reachable_transports() const {
    std::uint32_t bits = 0;
    for (const auto& l : links_->links())
        if (links_->speaks(l->transport_kind()))
            bits |= discovery::transport_bit(l->transport_kind());
    return bits;
}

std::vector<circuit::PathHop> Node::Impl::pick_path(const client::PathRequest& req) {
    const auto& co = opts_.circuit;
    discovery::PathSettings ps;
    ps.weights = co.weights;
    ps.hops = req.hops != 0 ? req.hops : co.hops;
    ps.guards = co.guards;
    ps.guard_rotation_seconds = static_cast<std::uint64_t>(co.guard_rotation.count());
    ps.distinct_subnets = co.distinct_subnets;
    // Guards are first hops: only relays this node has a transport in common with.
    ps.client_transports = reachable_transports();
    auto path = relays_.pick_path({req.port, req.exit, req.avoid, req.needs}, ps, unix_now());
    if (path.hops.empty() && req.needs != 0)
        spdlog::warn("no {}-hop path to an exit that reaches {} names ({} relays known)", ps.hops,
                     req.needs == discovery::kFlagOnion ? ".onion" : ".i2p", path.candidates);
    else if (path.hops.empty())
        spdlog::warn(
            "no {}-hop path: {} relays known, none fitting the rules (an exit for the "
            "requested port, distinct subnets and families, a transport in common between "
            "neighbours)",
            ps.hops, path.candidates);
    else if (path.retried_blacklisted)
        spdlog::info("every path needs relays marked down: trying them again");
    return std::move(path.hops);
}

void Node::Impl::on_circuit_result(const circuit::ClientEvent& ev) {
    auto v = relays_.observe(ev, unix_now());
    if (v.kind == discovery::Verdict::Kind::marked_down)
        spdlog::info("relay {} marked down for {} minutes: it stopped answering",
                     crypto::node_id_string(v.relay), v.seconds / 60);
    else if (v.kind == discovery::Verdict::Kind::set_aside)
        spdlog::info("relay {} set aside for {} minutes: circuits keep failing there",
                     crypto::node_id_string(v.relay), v.seconds / 60);
}

// The peer store is state worth keeping: written 0600 and atomically (a crash leaves the
// old file), every few minutes and at stop.
void Node::Impl::save_peers() {
    if (!pool_ || opts_.data_dir.empty()) return;
    auto path = opts_.data_dir / "peers.json";
    if (!crypto::write_private_file(path, relays_.peers().serialize(), true))
        spdlog::warn("cannot write {}", path.string());
}

asio::awaitable<void> Node::Impl::save_loop() {
    // Not `while (co_await ...)`: with a co_await in the loop condition this GCC 12 build
    // trapped (SIGILL) at the coroutine's first resume in `zmesh node` as a client.
    for (;;) {
        bool more = co_await sleep(*save_timer_, kPeerSaveInterval);
        if (!more) co_return;
        save_peers();
    }
}

asio::awaitable<bool> Node::Impl::sleep(zmesh::Timer& timer, zmesh::Clock::duration d) {
    if (stopping_) co_return false;
    auto alive = alive_;
    timer.expires_after(d);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
    co_return *alive && !stopping_;
}

// ---- discovery ------------------------------------------------------------------------

Bytes Node::Impl::make_descriptor() {
    discovery::Descriptor d;
    d.link_key = identity_->link.pub;
    d.onion_key = circuits_->relay().onion_keys().current().pub;
    d.flags = discovery::kFlagRelay;
    if (opts_.roles.exit) d.flags |= discovery::kFlagExit;
    if (opts_.roles.bootstrap) d.flags |= discovery::kFlagBootstrap;
    if (opts_.roles.exit) d.flags |= exit_abilities();
    d.published = unix_now();
    d.expires = d.published + kDescriptorLifetime;
    for (const auto& a : advertised_) d.addresses.push_back(discovery::to_address(a));
    if (opts_.roles.exit) d.exit_policy = opts_.exit.policy;
    d.family = opts_.discovery.family;
    std::erase(d.family, identity_->node_id());
    std::sort(d.family.begin(), d.family.end());
    d.family.erase(std::unique(d.family.begin(), d.family.end()), d.family.end());
    published_at_ = zmesh::Clock::now();
    d.bandwidth = published_bandwidth_ =
        observed_.published(published_at_, opts_.links.bandwidth_limit);
    return discovery::sign_descriptor(d, *identity_);
}

// Onion key rotation (circuit::OnionKeys): onion.key holds the current key, onion.key.old
// the one it replaced while that is still accepted (kOnionKeyOverlap after the current
// one was made), so a restart keeps both. The file's age is the key's age.
void Node::Impl::restore_previous_onion_key(zmesh::Clock::time_point current_created) {
    if (opts_.data_dir.empty()) return;
    auto path = opts_.data_dir / "onion.key.old";
    if (!fs::exists(path)) return;
    auto old = crypto::read_identity_file(path);
    auto until = current_created + circuit::kOnionKeyOverlap;
    if (old && until > zmesh::Clock::now())
        circuits_->relay().onion_keys().add_retired(old->link, until);  // before start()
    else
        save_onion_keys();  // its overlap is over: the file goes
}

// The key ring changed: a new key (both files rewritten, 0600 and atomically, and the new
// key published at once: the publish loop wakes up), or the replaced key's overlap ended
// (onion.key.old removed). In memory (no data_dir) only the contact follows the new key.
void Node::Impl::save_onion_keys() {
    const auto& keys = circuits_->relay().onion_keys();
    const auto& dir = opts_.data_dir;
    auto write = [&](const char* name, const crypto::X25519KeyPair& k) {
        crypto::Identity file{crypto::Ed25519KeyPair::generate(), k};  // only `link` is used
        if (!crypto::write_identity_file(dir / name, file, true))
            spdlog::warn("cannot write {}", (dir / name).string());
    };
    if (!dir.empty()) {
        if (const auto* previous = keys.previous()) {
            write("onion.key.old", *previous);
        } else {
            std::error_code ec;
            fs::remove(dir / "onion.key.old", ec);
        }
    }
    if (keys.current().pub == onion_->link.pub) return;
    if (!dir.empty()) write("onion.key", keys.current());
    onion_->link = keys.current();
    if (contact_) contact_->hop = circuit::make_path_hop(*identity_, onion_->link.pub, advertised_);
    spdlog::info("onion key rotated; the previous one is accepted for {} more hours",
                 std::chrono::duration_cast<std::chrono::hours>(circuit::kOnionKeyOverlap).count());
    if (publish_timer_) publish_timer_->cancel();
}

// Relays publish a fresh descriptor to every bootstrap node, again before it gets old;
// failures are retried with backoff (a bootstrap may start after the relay).
asio::awaitable<void> Node::Impl::publish_loop() {
    auto alive = alive_;
    auto backoff = std::chrono::milliseconds(kFirstRetry);
    do {
        Bytes descriptor = make_descriptor();
        if (directory_server_) directory_.insert(descriptor, unix_now());
        if (dht_) dht_->publish(identity_->node_id(), descriptor);
        std::size_t published = 0;
        const auto& boot = opts_.discovery.bootstrap;
        for (const auto& b : boot) {
            auto r = co_await discovery::http_request({b.directory.ip, b.directory.port}, "POST",
                                                      "/zmesh/v1/descriptor", descriptor, 4096);
            if (!*alive || stopping_) co_return;
            if (r) progress(BootstrapStep::contacted, "a bootstrap node answered");
            if (r && r->status == 200) {
                ++published;
                continue;
            }
            spdlog::debug("publishing the descriptor to the bootstrap node at {} failed: {}",
                          format_socket_address(b.directory),
                          r ? "HTTP " + std::to_string(r->status) : std::string("no answer"));
            if (r)
                progress_failed(BootstrapStep::published, "HTTP " + std::to_string(r->status));
            else
                progress_failed(BootstrapStep::contacted, "no answer");
        }
        bool all = published == boot.size();
        if (published > 0)
            progress(BootstrapStep::published,
                     "descriptor published to " + std::to_string(published) + " of " +
                         std::to_string(boot.size()) + " bootstrap nodes");
        if (all && !boot.empty())
            spdlog::info("descriptor published to {} bootstrap nodes", boot.size());
        auto wait = all ? std::chrono::duration_cast<std::chrono::milliseconds>(kRepublishInterval)
                        : backoff;
        if (!all) backoff = std::min(backoff * 2, kMaxPublishRetry);
        if (!co_await sleep(*publish_timer_, wait)) co_return;
    } while (!stopping_);
}

// Bytes this relay carried: each relayed cell is read once and written once, like each
// cell the exit takes off a circuit or puts on one.
std::uint64_t Node::Impl::bytes_carried() const {
    const auto& st = circuits_->relay().stats();
    return (st.cells_forward + st.cells_backward + st.cells_delivered + st.cells_originated) *
           wire::kCellSize;
}

// Relays sample what they carried once a window; when the figure has moved far from the
// one published (and the last descriptor is not too recent), a fresh descriptor goes out.
asio::awaitable<void> Node::Impl::bandwidth_loop() {
    observed_.sample(bytes_carried(), zmesh::Clock::now());
    for (;;) {
        if (!co_await sleep(*bandwidth_timer_, discovery::kBandwidthWindow)) co_return;
        auto now = zmesh::Clock::now();
        if (!observed_.sample(bytes_carried(), now)) continue;
        auto figure = observed_.published(now, opts_.links.bandwidth_limit);
        if (discovery::bandwidth_moved(published_bandwidth_, figure) &&
            now - published_at_ >= discovery::kBandwidthRepublishGap) {
            spdlog::info("observed bandwidth now {} KiB/s (published {} KiB/s): republishing",
                         figure / 1024, published_bandwidth_ / 1024);
            publish_timer_->cancel();
        }
    }
}

// Clients fetch signed bundles from the bootstrap nodes: soon and often while they know
// too few relays, then every few minutes.
asio::awaitable<void> Node::Impl::fetch_loop() {
    auto backoff = std::chrono::milliseconds(kFirstRetry);
    do {
        std::size_t fresh = 0;
        if (dht_)  // answers arrive later, on this executor, and are verified one by one
            dht_->lookup([this, alive = alive_](Bytes d) {
                if (*alive) directory_.insert(d, unix_now());
            });
        for (const auto& b : opts_.discovery.bootstrap) {
            fresh += co_await fetch_from(b);
            if (stopping_) co_return;
        }
        directory_.purge(unix_now());
        if (fresh > 0) spdlog::info("directory: {} relays known", directory_.size());
        // First, so the directory's line shows what the relays are still short of. Relays
        // the DHT answered with earlier count as well as a bootstrap node's bundle.
        check_enough_relays();
        if (directory_.size() > 0)
            progress(BootstrapStep::directory,
                     "directory fetched (" + std::to_string(directory_.size()) + " relays known)");
        bool enough = relays_.enough_for(opts_.circuit.hops);
        if (enough && pool_)  // builds the spare circuits, or replaces failed ones
            pool_->set_preemptive(opts_.circuit.preemptive);
        auto wait = enough ? std::chrono::duration_cast<std::chrono::milliseconds>(kRefetchInterval)
                           : backoff;
        if (!enough) backoff = std::min(backoff * 2, kMaxFetchRetry);
        if (!co_await sleep(*fetch_timer_, wait)) co_return;
    } while (!stopping_);
}

// One bootstrap node's bundle: over a circuit to it when its link is known (the fetch then
// looks like any zmesh traffic), else or failing that over HTTP. Descriptors newly learned.
asio::awaitable<std::size_t> Node::Impl::fetch_from(const BootstrapNode& b) {
    auto alive = alive_;
    std::optional<Bytes> bundle;
    if (b.link && pool_) bundle = co_await fetch_over_link(*b.link);
    if (!*alive || stopping_) co_return 0;
    if (!bundle) {
        auto r =
            co_await discovery::http_request({b.directory.ip, b.directory.port}, "GET",
                                             "/zmesh/v1/bundle", {}, discovery::kMaxBundleSize);
        if (!*alive || stopping_) co_return 0;
        if (!r) {
            spdlog::debug("the bootstrap node at {} does not answer",
                          format_socket_address(b.directory));
            progress_failed(BootstrapStep::contacted, "no answer");
            co_return 0;
        }
        if (r->status != 200) {
            progress(BootstrapStep::contacted, "a bootstrap node answered");
            progress_failed(BootstrapStep::directory, "HTTP " + std::to_string(r->status));
            co_return 0;
        }
        bundle = std::move(r->body);
    }
    progress(BootstrapStep::contacted, "a bootstrap node answered");
    auto n = directory_.insert_bundle(*bundle, b.key, unix_now(), kMaxBundleAge);
    if (!n) {
        spdlog::warn("a bootstrap node sent a bundle that does not verify; ignored");
        progress_failed(BootstrapStep::directory,
                        "a bundle that does not verify: is the bootstrap key right?");
        co_return 0;
    }
    co_return *n;
}

asio::awaitable<std::optional<Bytes>> Node::Impl::fetch_over_link(const Contact& bootstrap) {
    struct Latch {
        std::optional<Bytes> got;
        bool done = false;
        zmesh::Timer wake;
        explicit Latch(asio::any_io_executor ex) : wake(ex, zmesh::Timer::time_point::max()) {}
    };
    auto latch = std::make_shared<Latch>(ex_);
    pool_->fetch({bootstrap.hop}, std::string(exit::kDirectoryTarget), discovery::kMaxBundleSize,
                 [latch](std::optional<Bytes> got) {
                     latch->got = std::move(got);
                     latch->done = true;
                     latch->wake.cancel();
                 });
    if (!latch->done) co_await latch->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!latch->got) spdlog::debug("directory over a link to the bootstrap node failed; HTTP next");
    co_return std::move(latch->got);
}

bool Node::Impl::start_discovery(std::string* error) {
    const auto& d = opts_.discovery;
    publish_timer_ = std::make_unique<zmesh::Timer>(ex_);
    fetch_timer_ = std::make_unique<zmesh::Timer>(ex_);
    std::optional<link::SocketAddress> dht_at;
    try {
        if (d.dht_listen) {
            dht_ = std::make_unique<discovery::DhtNode>(ex_, *d.dht_listen);
            std::vector<link::SocketAddress> seeds;
            for (const auto& b : d.bootstrap)
                if (b.dht) seeds.push_back(*b.dht);
            dht_->bootstrap(seeds);
            dht_at = dht_->local_address();
            listeners_.push_back({"dht", format_socket_address(*dht_at)});
        }
        if (opts_.roles.bootstrap) {
            auto at = d.directory_listen.value_or(
                link::SocketAddress{asio::ip::address_v4::loopback(), 0});
            directory_server_ = std::make_unique<discovery::DirectoryServer>(
                ex_, tcp::endpoint(at.ip, at.port), directory_, *identity_,
                [] { return unix_now(); });
            auto ep = directory_server_->local_endpoint();
            link::SocketAddress shown{ep.address(), ep.port()};
            std::optional<link::SocketAddress> dht_shown = dht_at;
            if (opts_.links.advertise) {
                shown.ip = advertised_.front().at.ip;
                if (dht_shown) dht_shown->ip = advertised_.front().at.ip;
            }
            Contact me;
            me.hop = circuit::make_path_hop(*identity_, onion_->link.pub, advertised_);
            bootstrap_ = BootstrapNode{shown, identity_->signing.pub, dht_shown, me};
            listeners_.push_back({"directory", format_socket_address({ep.address(), ep.port()})});
        }
    } catch (const std::exception& e) {
        if (error) *error = std::string("discovery: ") + e.what();
        return false;
    }
    bool any = directory_server_ || dht_ || !d.bootstrap.empty();
    if (opts_.roles.accepts_circuits() && any) {
        asio::co_spawn(ex_, publish_loop(), link::log_exit("descriptor publishing"));
        bandwidth_timer_ = std::make_unique<zmesh::Timer>(ex_);
        asio::co_spawn(ex_, bandwidth_loop(), link::log_exit("bandwidth sampling"));
    }
    if (pool_ && (dht_ || !d.bootstrap.empty()))
        asio::co_spawn(ex_, fetch_loop(), link::log_exit("directory fetching"));
    return true;
}

// ---- life cycle -----------------------------------------------------------------------

bool Node::Impl::start(std::string* error) {
    if (running_ || stopping_) {
        if (error) *error = running_ ? "already running" : "stopped";
        return false;
    }
    if (auto p = problems(opts_); !p.empty()) {
        if (error) *error = p.front();
        return false;
    }
    fec_counters_ =
        opts_.fec_counters ? opts_.fec_counters : std::make_shared<stream::FecCounters>();
    start_progress();
    if (!open_keys(error)) return false;
    progress(BootstrapStep::keys, opts_.data_dir.empty() ? "keys made (in memory)" : "keys loaded");
    if (!start_links(error)) return false;
    relays_.set_self(identity_->node_id());
    // Exits whose published policy may accept the port of the circuit's first stream.
    relays_.set_exit_filter([](const std::vector<std::string>& rules, std::uint16_t port) {
        auto policy = exit::ExitPolicy::parse(rules, false);
        return policy && policy->may_allow_port(port);
    });
    start_circuits();
    if (opts_.roles.accepts_circuits()) advertise();
    if (opts_.roles.client) {
        try {
            start_client();
        } catch (const std::exception& e) {
            if (error) *error = std::string("client: ") + e.what();
            return false;
        }
    }
    if (!start_discovery(error)) return false;
    running_ = true;
    started_ = zmesh::Clock::now();
    started_progress();
    return true;
}

void Node::Impl::stop(std::function<void()> done) {
    if (stopping_ || !running_) {
        if (!running_ && !stopping_) stopping_ = true;
        if (done) asio::post(ex_, std::move(done));
        return;
    }
    stopping_ = true;
    spdlog::info("shutting down: closing {} client and {} relayed circuits",
                 circuits_->client().size(), circuits_->relay().size());
    emit(Event::Kind::shutdown, 0, "");
    for (auto* t : {publish_timer_.get(), fetch_timer_.get(), save_timer_.get(),
                    bootstrap_timer_.get(), bandwidth_timer_.get()})
        if (t) t->cancel();
    save_peers();
    if (directory_server_) directory_server_->stop();
    if (dht_) dht_->stop();
    if (pool_) pool_->stop();
    circuits_->shutdown();
    // Let the links send the DESTROY cells, then stop.
    auto grace = std::make_shared<zmesh::Timer>(ex_, kShutdownGrace);
    grace->async_wait(
        [this, grace, alive = alive_, done = std::move(done)](boost::system::error_code) {
            if (*alive) {
                circuits_->stop();
                links_->stop();
                running_ = false;
                stopped_ = true;
                spdlog::info("stopped cleanly");
            }
            if (done) done();
        });
}

void Node::Impl::emit(Event::Kind kind, std::uint64_t circuit, std::string detail) {
    // `shutdown` is the last event: the circuits that close under a stop are not news.
    if (stopping_ && kind != Event::Kind::shutdown) return;
    Event e;
    e.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    e.kind = kind;
    e.circuit = circuit;
    e.detail = std::move(detail);
    auto subscribers = subscribers_;  // a handler may unsubscribe
    for (auto& [id, handler] : subscribers)
        if (subscribers_.contains(id)) handler(e);
}

std::vector<std::string> Node::Impl::reconfigure(const Options& fresh) {
    std::vector<std::string> applied;
    auto& o = opts_;
    if (fresh.links.require_post_quantum != o.links.require_post_quantum) {
        o.links.require_post_quantum = fresh.links.require_post_quantum;
        circuits_->set_require_post_quantum(o.links.require_post_quantum);
        applied.push_back("require_post_quantum");
    }
    if (fresh.links.order != o.links.order) {
        o.links.order = fresh.links.order;
        if (!o.links.order.empty()) links_->set_order(o.links.order);  // for new links
        applied.push_back("transport_order");
    }
    if (fresh.links.packet_loss != o.links.packet_loss ||
        fresh.links.fake_latency != o.links.fake_latency ||
        fresh.links.bandwidth_limit != o.links.bandwidth_limit) {
        o.links.packet_loss = fresh.links.packet_loss;
        o.links.fake_latency = fresh.links.fake_latency;
        o.links.bandwidth_limit = fresh.links.bandwidth_limit;
        apply_shaping();
        applied.push_back("shaping");
    }
    // Read when the next path is picked.
    o.circuit.relays = fresh.circuit.relays;
    set_relays(o.circuit.relays);
    o.circuit.hops = fresh.circuit.hops;
    check_enough_relays();
    o.circuit.weights = fresh.circuit.weights;
    if (fresh.circuit.preemptive != o.circuit.preemptive) {
        o.circuit.preemptive = fresh.circuit.preemptive;
        if (pool_) pool_->set_preemptive(o.circuit.preemptive);
        applied.push_back("preemptive");
    }
    if (fresh.circuit.idle_timeout != o.circuit.idle_timeout) {
        o.circuit.idle_timeout = fresh.circuit.idle_timeout;
        circuits_->set_idle_timeout(o.circuit.idle_timeout);
        applied.push_back("idle_timeout");
    }
    if (fresh.exit.policy != o.exit.policy || fresh.exit.allow_private != o.exit.allow_private) {
        o.exit = fresh.exit;
        if (exit_) exit_->set_policy(*exit_policy());
        applied.push_back("exit_policy");
    }
    return applied;
}

std::size_t Node::Impl::new_identity() {
    if (!pool_) return 0;
    auto retired = pool_->new_identity();
    spdlog::info("new identity: new streams get new circuits");
    emit(Event::Kind::new_identity, 0, std::to_string(retired) + " circuits retired");
    return retired;
}

void Node::Impl::open_stream(const std::string& host, std::uint16_t port,
                             const std::string& isolation, OpenCallback done) {
    auto fail = [&](std::string why) {
        asio::post(ex_, [done = std::move(done), why = std::move(why)] { done(nullptr, why); });
    };
    if (!running_ || stopping_) return fail("stopped");
    if (!pool_) return fail("not a client");
    if (host.empty() || port == 0) return fail("bad target");
    std::string target = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    target += ":" + std::to_string(port);
    pool_->open_handle(
        isolation, target,
        [done = std::move(done)](std::shared_ptr<StreamHandle> h,
                                 std::optional<stream::EndReason> r) {
            if (h)
                done(std::move(h), {});
            else
                done(nullptr,
                     std::string(stream::to_string(r.value_or(stream::EndReason::aborted))));
        });
}

// ---- Node -----------------------------------------------------------------------------

Node::Node(asio::any_io_executor ex, Options options)
    : impl_(std::make_unique<Impl>(std::move(ex), std::move(options))) {}

// Without a stop() first (or before it finished): everything ends now, without the grace
// for DESTROY cells.
Node::~Node() {
    *impl_->alive_ = false;
    auto& m = *impl_;
    for (auto* t : {m.publish_timer_.get(), m.fetch_timer_.get(), m.save_timer_.get(),
                    m.bootstrap_timer_.get(), m.bandwidth_timer_.get()})
        if (t) t->cancel();
    if (!m.circuits_ || m.stopped_) return;
    if (m.pool_) m.pool_->stop();
    if (m.directory_server_) m.directory_server_->stop();
    if (m.dht_) m.dht_->stop();
    m.circuits_->stop();
    m.links_->stop();
}

bool Node::start(std::string* error) {
    return impl_->start(error);
}
void Node::stop(std::function<void()> done) {
    impl_->stop(std::move(done));
}
bool Node::running() const {
    return impl_->running_ && !impl_->stopping_;
}
std::vector<std::string> Node::reconfigure(const Options& fresh) {
    return impl_->running_ ? impl_->reconfigure(fresh) : std::vector<std::string>{};
}
const Options& Node::options() const {
    return impl_->opts_;
}
Status Node::status() const {
    return impl_->status();
}
std::vector<CircuitInfo> Node::circuits() const {
    return impl_->circuits();
}
std::vector<StreamInfo> Node::streams() const {
    return impl_->streams();
}
std::vector<PeerInfo> Node::peers() const {
    return impl_->peers();
}
std::vector<RelayInfo> Node::relays() const {
    return impl_->relays();
}
std::size_t Node::new_identity() {
    return impl_->new_identity();
}
bool Node::close_circuit(std::uint64_t id) {
    return impl_->pool_ && impl_->pool_->close_circuit(id);
}
Snapshot Node::metrics() const {
    Snapshot s;
    impl_->collect_metrics(s, {}, true);
    return s;
}
void Node::collect_metrics(Snapshot& into, const Labels& labels, bool with_fec) const {
    impl_->collect_metrics(into, labels, with_fec);
}
void Node::add_metrics_source(std::function<void(Snapshot&, const Labels&)> source) {
    impl_->metric_sources_.push_back(std::move(source));
}
std::uint64_t Node::subscribe(std::function<void(const Event&)> handler) {
    if (impl_->subscribers_.size() >= kMaxSubscribers) return 0;
    auto id = impl_->next_subscription_++;
    impl_->subscribers_[id] = std::move(handler);
    return id;
}
void Node::unsubscribe(std::uint64_t subscription) {
    impl_->subscribers_.erase(subscription);
}
void Node::emit(Event::Kind kind, std::uint64_t circuit, std::string detail) {
    impl_->emit(kind, circuit, std::move(detail));
}
void Node::on_bootstrap(std::function<void(const BootstrapReport&)> handler) {
    impl_->bootstrap_handler_ = std::move(handler);
}
void Node::open_stream(const std::string& host, std::uint16_t port, const std::string& isolation,
                       OpenCallback done) {
    impl_->open_stream(host, port, isolation, std::move(done));
}
client::ClientPool* Node::client_pool() {
    return impl_->pool_.get();
}
std::optional<Contact> Node::contact() const {
    return impl_->contact_;
}
std::optional<BootstrapNode> Node::bootstrap_node() const {
    return impl_->bootstrap_;
}
asio::any_io_executor Node::executor() const {
    return impl_->ex_;
}

}  // namespace zmesh::node
