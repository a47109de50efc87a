#include "zmesh/node/testnet.hpp"

#include <boost/asio/post.hpp>

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
    std::string why;
    if (!exit::ExitPolicy::parse(o.exit_policy, true, &why)) out.push_back(why);
    return out;
}

struct Testnet::Impl {
    asio::any_io_executor ex;
    TestnetOptions opts;
    std::shared_ptr<stream::FecCounters> fec = std::make_shared<stream::FecCounters>();
    std::vector<std::unique_ptr<Node>> relays;
    std::unique_ptr<Node> client;
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);

    bool is_exit(std::size_t i) const { return static_cast<int>(i) >= opts.relays - opts.exits; }
    // What every node of the network shares: one loopback link of the chosen transport.
    Options base() const;
    bool add(std::unique_ptr<Node>& slot, Options o, std::string* error);
};

Options Testnet::Impl::base() const {
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
    if (!opts.fec) o.fec.reset();
    o.fec_counters = fec;
    return o;
}

bool Testnet::Impl::add(std::unique_ptr<Node>& slot, Options o, std::string* error) {
    slot = std::make_unique<Node>(ex, std::move(o));
    return slot->start(error);
}

Testnet::Testnet(asio::any_io_executor ex, TestnetOptions options)
    : impl_(std::make_unique<Impl>()) {
    impl_->ex = std::move(ex);
    impl_->opts = std::move(options);
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
    std::optional<BootstrapNode> boot;
    m.relays.resize(static_cast<std::size_t>(m.opts.relays));
    for (std::size_t i = 0; i < m.relays.size(); ++i) {
        auto o = m.base();
        o.roles.relay = true;
        o.roles.exit = m.is_exit(i);
        o.roles.bootstrap = i == 0;
        if (boot) o.discovery.bootstrap = {*boot};
        if (!m.add(m.relays[i], std::move(o), error)) return false;
        if (i == 0) boot = m.relays[0]->bootstrap_node();
    }
    auto o = m.base();
    o.roles.client = true;
    o.discovery.bootstrap = {*boot};
    o.circuit.preemptive = std::max<std::size_t>(m.opts.preemptive, 1);
    return m.add(m.client, std::move(o), error);
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

void Testnet::stop(std::function<void()> done) {
    auto left = std::make_shared<std::size_t>(impl_->relays.size() + 1);
    auto one = [left, done = std::move(done)] {
        if (--*left == 0 && done) done();
    };
    impl_->client->stop(one);
    for (auto& r : impl_->relays) r->stop(one);
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
bool Testnet::is_exit(std::size_t i) const {
    return impl_->is_exit(i);
}

Snapshot Testnet::metrics() const {
    Snapshot snap;
    for (std::size_t i = 0; i < impl_->relays.size(); ++i)
        impl_->relays[i]->collect_metrics(snap, {{"node", "relay-" + std::to_string(i + 1)}},
                                          false);
    impl_->client->collect_metrics(snap, {{"node", "client"}}, false);
    collect_fec(snap, *impl_->fec, {});
    return snap;
}

}  // namespace zmesh::node
