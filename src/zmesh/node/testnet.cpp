#include "zmesh/node/testnet.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <system_error>
#include <thread>

#include "zmesh/circuit/limits.hpp"
#include "zmesh/core/clock.hpp"
#include "zmesh/node/collect.hpp"

namespace zmesh::node {

namespace asio = boost::asio;

std::vector<std::string> problems(const TestnetOptions& o) {
    std::vector<std::string> out;
    if (o.relays < 2 || o.exits < 1 || o.exits > o.relays || o.hops < 2 ||
        o.hops > static_cast<int>(circuit::kMaxHops) || o.loss < 0 || o.loss >= 1)
        out.emplace_back(
            "need relays >= 2, 1 <= exits <= relays, 2 <= hops <= 8 and 0 <= loss < 1");
    if (o.threads < 1 || o.threads > kMaxTestnetThreads)
        out.push_back("threads: 1 to " + std::to_string(kMaxTestnetThreads));
    std::string why;
    if (!exit::ExitPolicy::parse(o.exit_policy, true, &why)) out.push_back(why);
    return out;
}

namespace {

// One thread of the network: the caller's executor (lane 0) or a thread of the Testnet's
// own. Its nodes share its FEC counters, which only that thread touches.
struct Lane {
    asio::any_io_executor ex;
    std::unique_ptr<asio::io_context> io;  // lanes past the first
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::thread thread;
    std::shared_ptr<stream::FecCounters> fec = std::make_shared<stream::FecCounters>();

    explicit Lane(asio::any_io_executor e) : ex(std::move(e)) {}
    Lane() : io(std::make_unique<asio::io_context>(1)) {
        ex = io->get_executor();
        work.emplace(io->get_executor());
        thread = std::thread([this] {
            // A handler that throws is logged; the thread goes on serving its nodes.
            for (;;) {
                try {
                    io->run();
                    return;
                } catch (const std::exception& e) {
                    spdlog::error("testnet thread: {}", e.what());
                } catch (...) {
                    spdlog::error("testnet thread: unknown exception");
                }
            }
        });
    }
    // Stops the thread, leaving what it had queued to be destroyed with the io_context.
    void join() {
        if (!io) return;
        work.reset();
        io->stop();
        if (thread.joinable()) thread.join();
    }
};

}  // namespace

struct Testnet::Impl {
    asio::any_io_executor ex;
    TestnetOptions opts;
    std::vector<std::unique_ptr<Lane>> lanes;
    std::vector<std::size_t> lane_of;  // relay index -> lane
    std::vector<std::unique_ptr<Node>> relays;
    std::unique_ptr<Node> client;
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);

    ~Impl() {
        // Threads first: the nodes are then destroyed with no thread running their
        // handlers, as on one thread, and what is still queued goes with the io_contexts.
        for (auto& l : lanes) l->join();
        relays.clear();
        client.reset();
    }

    bool is_exit(std::size_t i) const { return static_cast<int>(i) >= opts.relays - opts.exits; }
    // What every node of the network shares: one loopback link of the chosen transport.
    Options base(const Lane& lane) const;
    bool add(std::unique_ptr<Node>& slot, const Lane& lane, Options o, std::string* error);
    // Runs `fn` on lane `l` and waits for it (at once on lane 0, the caller's).
    void run_on(std::size_t l, const std::function<void()>& fn) const;
};

void Testnet::Impl::run_on(std::size_t l, const std::function<void()>& fn) const {
    // On its own thread already (a relay's handler reaching another relay of its lane):
    // waiting for itself would never end.
    if (l == 0 || lanes[l]->io->get_executor().running_in_this_thread()) {
        fn();
        return;
    }
    std::promise<void> done;
    asio::post(lanes[l]->ex, [&] {
        try {
            fn();
            done.set_value();
        } catch (...) {
            done.set_exception(std::current_exception());
        }
    });
    done.get_future().get();
}

Options Testnet::Impl::base(const Lane& lane) const {
    Options o;
    link::SocketAddress loopback{asio::ip::address_v4::loopback(), 0};
    auto& l = o.links;
    switch (opts.transport) {
        case link::TransportKind::tcp:
            l.tcp = loopback;
            break;
        case link::TransportKind::ws:
            l.ws = loopback;
            if (opts.browser_test) {
                l.ws_options.test_page = "/zmesh-test.html";
                l.ws_options.echo_path = "/zmesh-echo";
            }
            if (opts.tls) {
                static auto tls = link::self_signed_tls("zmesh.test");
                l.ws_options.server_tls = tls;
                l.ws_options.connect_tls = true;
            }
            break;
        case link::TransportKind::webrtc:
            l.webrtc = loopback;
            l.webrtc_options.peer.local_addresses = {"127.0.0.1"};  // loopback candidates only
            if (opts.browser_test) l.webrtc_options.test_page = "/zmesh-test.html";
            break;
        default:
            l.udp = loopback;
            l.packet_loss = opts.loss;
            break;
    }
    // A WebSocket link with TLS is a wss link: that is the kind its address advertises.
    l.order = {opts.transport == link::TransportKind::ws && opts.tls ? link::TransportKind::wss
                                                                     : opts.transport};
    l.hybrid = opts.hybrid;
    l.require_post_quantum = opts.require_post_quantum;
    o.circuit.hops = static_cast<std::size_t>(std::min(opts.hops, opts.relays));
    o.exit.policy = opts.exit_policy;
    o.exit.allow_private = true;               // a loopback network must reach loopback
    o.circuit.allow_private_addresses = true;  // every relay of the testnet is on loopback
    // No handshake workers per relay: the nodes are spread over threads already (and
    // dozens of relays with a pool each would be hundreds of threads on a big machine).
    o.circuit.threads = 1;
    if (!opts.fec) o.fec.reset();
    o.fec_counters = lane.fec;
    return o;
}

bool Testnet::Impl::add(std::unique_ptr<Node>& slot, const Lane& lane, Options o,
                        std::string* error) {
    slot = std::make_unique<Node>(lane.ex, std::move(o));
    return slot->start(error);
}

Testnet::Testnet(asio::any_io_executor ex, TestnetOptions options)
    : impl_(std::make_unique<Impl>()) {
    impl_->ex = ex;
    impl_->opts = std::move(options);
    impl_->lanes.push_back(std::make_unique<Lane>(std::move(ex)));
}

Testnet::~Testnet() {
    *impl_->alive = false;
}

// The first relay is the bootstrap node; the others publish their descriptors to it and
// the client learns them from it.
bool Testnet::start(std::string* error) {
    auto& m = *impl_;
    if (auto p = problems(m.opts); !p.empty()) {
        if (error) *error = p.front();
        return false;
    }
    // Relays are dealt over the lanes starting past the client's, so with two threads the
    // client's lane carries fewer relays.
    auto lanes = static_cast<std::size_t>(m.opts.threads);
    try {
        while (m.lanes.size() < lanes) m.lanes.push_back(std::make_unique<Lane>());
    } catch (const std::system_error& e) {
        if (error) *error = std::string("cannot start a thread: ") + e.what();
        return false;
    }
    std::optional<BootstrapNode> boot;
    m.relays.resize(static_cast<std::size_t>(m.opts.relays));
    m.lane_of.resize(m.relays.size());
    for (std::size_t i = 0; i < m.relays.size(); ++i) {
        std::size_t l = (i + 1) % lanes;
        m.lane_of[i] = l;
        auto o = m.base(*m.lanes[l]);
        o.roles.relay = true;
        o.roles.exit = m.is_exit(i);
        o.roles.bootstrap = i == 0;
        if (boot) o.discovery.bootstrap = {*boot};
        bool ok = false;
        m.run_on(l, [&] {
            ok = m.add(m.relays[i], *m.lanes[l], std::move(o), error);
            if (ok && i == 0) boot = m.relays[0]->bootstrap_node();
        });
        if (!ok) return false;
    }
    auto o = m.base(*m.lanes[0]);
    o.roles.client = true;
    o.discovery.bootstrap = {*boot};
    o.circuit.preemptive = std::max<std::size_t>(m.opts.preemptive, 1);
    return m.add(m.client, *m.lanes[0], std::move(o), error);
}

void Testnet::when_ready(std::function<void(bool)> done, std::chrono::milliseconds timeout) {
    struct Wait {
        std::function<void(bool)> done;
        zmesh::Timer timer;
        std::uint64_t subscription = 0;
        explicit Wait(asio::any_io_executor ex) : timer(ex) {}
    };
    auto w = std::make_shared<Wait>(impl_->ex);
    w->done = std::move(done);
    Node* client = impl_->client.get();
    auto finish = [w, client, alive = impl_->alive](bool ok) {
        if (!w->done) return;
        auto d = std::move(w->done);
        w->done = nullptr;
        w->timer.cancel();
        if (*alive) client->unsubscribe(w->subscription);
        d(ok);
    };
    if (client->status().circuits_built > 0)
        return asio::post(impl_->ex, [finish] { finish(true); });
    // A circuit through the network: not the one-hop directory fetch from the bootstrap node.
    w->subscription = client->subscribe([finish, client](const Event& e) {
        if (e.kind != Event::Kind::circuit_built) return;
        for (const auto& c : client->circuits())
            if (c.id == e.circuit && c.path.size() >= 2) finish(true);
    });
    w->timer.expires_after(timeout);
    w->timer.async_wait([finish](boost::system::error_code ec) {
        if (!ec) finish(false);
    });
}

// Each node stops on its own thread; `done` runs on the Testnet's executor after the last.
void Testnet::stop(std::function<void()> done) {
    auto& m = *impl_;
    auto left = std::make_shared<std::atomic<std::size_t>>(m.relays.size() + 1);
    auto one = [left, ex = m.ex, single = m.lanes.size() == 1,
                done = std::make_shared<std::function<void()>>(std::move(done))] {
        if (left->fetch_sub(1) != 1 || !*done) return;
        if (single)
            (*done)();
        else
            asio::post(ex, *done);
    };
    m.client->stop(one);
    for (std::size_t i = 0; i < m.relays.size(); ++i) {
        Node* r = m.relays[i].get();
        // A stop that throws still counts, or `done` would never come.
        auto stop = [r, one] {
            try {
                r->stop(one);
            } catch (const std::exception& e) {
                spdlog::error("testnet: a relay did not stop cleanly: {}", e.what());
                one();
            }
        };
        if (m.lane_of[i] == 0)
            stop();
        else
            asio::post(m.lanes[m.lane_of[i]]->ex, stop);
    }
}

Node& Testnet::client() {
    return *impl_->client;
}
std::size_t Testnet::relay_count() const {
    return impl_->relays.size();
}
Node& Testnet::relay(std::size_t i) {
    return *impl_->relays.at(i);
}
void Testnet::with_relay(std::size_t i, const std::function<void(Node&)>& fn) {
    Node& r = *impl_->relays.at(i);
    impl_->run_on(impl_->lane_of[i], [&] { fn(r); });
}
bool Testnet::is_exit(std::size_t i) const {
    return impl_->is_exit(i);
}

// Each node's metrics are read on its thread (one after the other: the snapshot is only
// ever written by one thread at a time); the lanes' FEC counters are summed.
Snapshot Testnet::metrics() const {
    const auto& m = *impl_;
    Snapshot snap;
    for (std::size_t i = 0; i < m.relays.size(); ++i)
        m.run_on(m.lane_of[i], [&] {
            m.relays[i]->collect_metrics(snap, {{"node", "relay-" + std::to_string(i + 1)}}, false);
        });
    m.client->collect_metrics(snap, {{"node", "client"}}, false);
    stream::FecCounters fec;
    for (std::size_t l = 0; l < m.lanes.size(); ++l) m.run_on(l, [&] { fec += *m.lanes[l]->fec; });
    collect_fec(snap, fec, {});
    return snap;
}

}  // namespace zmesh::node
