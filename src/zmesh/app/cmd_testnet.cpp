// zmesh testnet: relays, exits and a client in one process on loopback, with a SOCKS5
// port (and HTTP CONNECT) that carries connections through onion circuits.
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <iostream>
#include <random>

#include "zmesh/app/commands.hpp"
#include "zmesh/app/net_options.hpp"
#include "zmesh/app/proxy.hpp"
#include "zmesh/control/collect.hpp"
#include "zmesh/control/http_server.hpp"
#include "zmesh/exit/exit_service.hpp"
#include "zmesh/link/tcp_link.hpp"
#include "zmesh/link/udp_link.hpp"
#include "zmesh/link/webrtc_link.hpp"
#include "zmesh/link/ws_link.hpp"

namespace zmesh::app {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

struct TestnetOptions {
    int relays = 5;
    int exits = 2;
    int hops = 3;
    std::string socks = "127.0.0.1:9050";
    std::string http = "127.0.0.1:8118";
    std::string transport = "udp";
    double loss = 0;
    std::string demo_http;  // serve a small page here, for the printed curl line
    std::vector<std::string> exit_policy;
    std::string handshake = "hybrid";
    std::string metrics;  // Prometheus endpoint address; empty: off
    bool require_pq = false;
    bool fec = true;
    bool browser_test = false;
    exit::ExitPolicy policy;  // parsed from exit_policy
    std::shared_ptr<stream::FecCounters> fec_counters = std::make_shared<stream::FecCounters>();
    stream::StreamConfig stream_config() const {
        stream::StreamConfig s;
        if (fec) s.fec = fec::TetrysConfig{};
        s.fec_counters = fec_counters;
        return s;
    }
};

struct Member {
    crypto::Identity identity = crypto::Identity::generate();
    crypto::X25519KeyPair onion = crypto::X25519KeyPair::generate();
    std::unique_ptr<link::LinkSet> links;  // one link: the testnet's transport
    std::unique_ptr<circuit::CircuitNode> node;
    std::unique_ptr<exit::ExitService> exit;

    const link::LinkService& link() const { return *links->links().front(); }
    circuit::PathHop path_hop() const {
        return circuit::make_path_hop(identity, onion.pub,
                                      {{link().transport_kind(), link().local_address()}});
    }
};

std::unique_ptr<Member> make_member(asio::io_context& io, const TestnetOptions& o, bool is_exit) {
    auto m = std::make_unique<Member>();
    std::unique_ptr<link::LinkService> link;
    link::SocketAddress loopback{asio::ip::address_v4::loopback(), 0};
    link::EndpointConfig lc{
        m->identity.link, default_suite(), {}, o.handshake != "classical", o.require_pq};
    if (o.transport == "tcp") {
        link = std::make_unique<link::TcpLink>(io.get_executor(), lc, loopback);
    } else if (o.transport == "ws" || o.transport == "wss") {
        link::WsOptions wo;
        if (o.browser_test) {
            wo.test_page = "/zmesh-test.html";
            wo.echo_path = "/zmesh-echo";
        }
        if (o.transport == "wss") {
            static auto tls = link::self_signed_tls("zmesh.test");
            wo.server_tls = tls;
            wo.connect_tls = true;
        }
        link = std::make_unique<link::WsLink>(io.get_executor(), lc, loopback, wo);
    } else if (o.transport == "webrtc") {
        link::WebRtcOptions ro;
        ro.peer.local_addresses = {"127.0.0.1"};  // loopback candidates only
        if (o.browser_test) ro.test_page = "/zmesh-test.html";
        link = std::make_unique<link::WebRtcLink>(io.get_executor(), lc, loopback, ro);
    } else {
        auto udp = std::make_unique<link::UdpLink>(io.get_executor(), lc, loopback);
        udp->set_loss(o.loss);
        link = std::move(udp);
    }
    m->links = std::make_unique<link::LinkSet>(io.get_executor());
    (void)m->links->add(std::move(link));
    circuit::NodeConfig nc;
    nc.relay.id = m->identity.node_id();
    nc.relay.onion = m->onion;
    nc.relay.exit = is_exit;
    nc.relay.require_post_quantum = o.require_pq;
    nc.relay.link_key = m->identity.link.pub;
    nc.relay.allow_private_addresses = true;  // every relay of the testnet is on loopback
    nc.client.handshake = o.handshake == "classical" ? circuit::HandshakeType::ntor_x25519
                                                     : circuit::HandshakeType::ntor_x25519_mlkem768;
    m->node = std::make_unique<circuit::CircuitNode>(*m->links, nc);
    if (is_exit) {
        exit::ExitConfig ec;
        ec.policy = o.policy;  // allows private ranges: a loopback network must reach loopback
        ec.stream = o.stream_config();
        m->exit = std::make_unique<exit::ExitService>(*m->node, ec);
    }
    m->links->start();
    m->node->start();
    return m;
}

// A tiny HTTP responder so the printed curl line works without any other server.
asio::awaitable<void> demo_page(tcp::acceptor& acceptor, int hops) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        asio::streambuf buf(8192);
        auto [rec, n] = co_await asio::async_read_until(socket, buf, "\r\n\r\n",
                                                        asio::as_tuple(asio::use_awaitable));
        if (rec) continue;
        std::string body = "Hello from the zmesh testnet. This page reached you through a " +
                           std::to_string(hops) + "-hop onion circuit.\n";
        std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
        co_await asio::async_write(socket, asio::buffer(resp), asio::as_tuple(asio::use_awaitable));
    }
}

int run_testnet(TestnetOptions o) {
    if (!startup_selftest("zmesh testnet")) return 1;
    if (o.relays < 2 || o.exits < 1 || o.exits > o.relays || o.hops < 2 ||
        o.hops > static_cast<int>(circuit::kMaxHops) || o.loss < 0 || o.loss >= 1) {
        std::cerr << "zmesh testnet: need --relays >= 2, 1 <= --exits <= --relays, "
                     "2 <= --hops <= 8 and 0 <= --loss < 1\n";
        return 1;
    }
    std::string policy_error;
    auto policy = exit::ExitPolicy::parse(o.exit_policy, true, &policy_error);
    if (!policy) {
        std::cerr << "zmesh testnet: " << policy_error << "\n";
        return 1;
    }
    o.policy = *policy;
    auto socks_at = parse_socket_address(o.socks);
    auto http_at =
        o.http.empty() ? std::optional<link::SocketAddress>() : parse_socket_address(o.http);
    if (!socks_at || (!o.http.empty() && !http_at)) {
        std::cerr << "zmesh testnet: addresses must look like 127.0.0.1:9050\n";
        return 1;
    }
    asio::io_context io;
    std::vector<std::unique_ptr<Member>> relays;
    std::printf("testnet: starting %d relays (%d exits) over %s on 127.0.0.1%s\n", o.relays,
                o.exits,
                o.transport == "tcp"      ? "TCP"
                : o.transport == "ws"     ? "WebSocket"
                : o.transport == "wss"    ? "WebSocket over TLS"
                : o.transport == "webrtc" ? "WebRTC data channels"
                                          : "UDP",
                o.loss > 0 ? (" with " + std::to_string(o.loss * 100) + "% loss").c_str() : "");
    try {
        for (int i = 0; i < o.relays; ++i) {
            bool is_exit = i >= o.relays - o.exits;
            relays.push_back(make_member(io, o, is_exit));
            std::printf("  relay %d/%d %s %s\n", i + 1, o.relays, is_exit ? "exit " : "relay",
                        format_socket_address(relays.back()->link().local_address()).c_str());
        }
    } catch (const std::exception& e) {
        std::cerr << "zmesh testnet: cannot start a relay: " << e.what() << "\n";
        return 1;
    }
    std::fflush(stdout);
    auto client = make_member(io, o, false);
    int hops = std::min(o.hops, o.relays);
    std::mt19937 rng(std::random_device{}());
    ClientProxy::PathProvider paths = [&](const PathRequest& req) {
        auto avoided = [&](int i) {
            return std::find(req.avoid.begin(), req.avoid.end(), relays[i]->identity.node_id()) !=
                   req.avoid.end();
        };
        std::vector<int> exits;
        std::vector<int> others;
        for (int i = 0; i < o.relays; ++i) {
            if (avoided(i)) continue;
            bool is_exit = i >= o.relays - o.exits &&
                           (!req.exit || *req.exit == relays[i]->identity.node_id());
            (is_exit ? exits : others).push_back(i);
        }
        if (exits.empty()) return std::vector<circuit::PathHop>{};
        int exit = exits[rng() % exits.size()];
        std::vector<int> pool = others;
        for (int e : exits)
            if (e != exit) pool.push_back(e);
        std::shuffle(pool.begin(), pool.end(), rng);
        std::vector<circuit::PathHop> path;
        for (int i = 0; i + 1 < hops && i < static_cast<int>(pool.size()); ++i)
            path.push_back(relays[pool[i]]->path_hop());
        path.push_back(relays[exit]->path_hop());
        return path;
    };
    ClientProxy proxy(*client->node, paths, o.stream_config());
    // Metrics for every node of the testnet, labelled by node.
    auto collect = [&] {
        control::Snapshot snap;
        auto add_node = [&](const Member& m, const std::string& name) {
            control::collect_links(snap, *m.links, {{"node", name}});  // adds the transport
            control::Labels l{{"node", name}, {"transport", o.transport}};
            control::collect_relay(snap, m.node->relay().stats(), m.node->relay().size(), l);
        };
        for (std::size_t i = 0; i < relays.size(); ++i)
            add_node(*relays[i], "relay-" + std::to_string(i + 1));
        add_node(*client, "client");
        control::Labels cl{{"node", "client"}};
        control::collect_client(snap, client->node->client().stats(), client->node->client().size(),
                                cl);
        const auto& ps = proxy.stats();
        collect_proxy(snap, ps, cl);
        control::collect_fec(snap, *o.fec_counters, {});
        snap.add("zmesh_client_last_circuit_build_seconds",
                 "Client circuits: build time of the newest circuit.", control::MetricType::gauge,
                 cl, std::chrono::duration<double>(ps.last_build_time).count());
        return snap;
    };
    std::unique_ptr<control::MetricsServer> metrics;
    tcp::endpoint socks_ep, http_ep;
    std::unique_ptr<tcp::acceptor> page;
    try {
        socks_ep = proxy.listen_socks({socks_at->ip, socks_at->port});
        if (http_at) http_ep = proxy.listen_http({http_at->ip, http_at->port});
        if (!o.metrics.empty()) {
            auto at = parse_socket_address(o.metrics);
            if (!at) throw std::runtime_error("bad --metrics address");
            metrics = std::make_unique<control::MetricsServer>(
                io.get_executor(), tcp::endpoint(at->ip, at->port), collect);
        }
        if (!o.demo_http.empty()) {
            auto at = parse_socket_address(o.demo_http);
            if (!at) throw std::runtime_error("bad --demo-http address");
            page = std::make_unique<tcp::acceptor>(io, tcp::endpoint(at->ip, at->port));
            asio::co_spawn(io, demo_page(*page, hops), asio::detached);
        }
    } catch (const std::exception& e) {
        std::cerr << "zmesh testnet: cannot listen: " << e.what() << "\n";
        return 1;
    }

    // Bootstrap check: one circuit through the network before saying ready.
    bool ready = false;
    int exit_code = 0;
    proxy.open("testnet-bootstrap", "127.0.0.1:9", [&](auto, stream::EndReason) {});
    asio::steady_timer poll(io);
    std::function<void()> wait_ready = [&] {
        poll.expires_after(std::chrono::milliseconds(5));
        poll.async_wait([&](boost::system::error_code ec) {
            if (ec) return;
            if (proxy.stats().circuits_built > 0) {
                ready = true;
                // The circuit layer's own measure: first CREATE sent to last EXTENDED,
                // including the link handshakes to the first hop and between relays.
                auto ms = std::chrono::duration<double, std::milli>(proxy.stats().last_build_time)
                              .count();
                std::printf("bootstrap: %d-hop circuit built in %.2f ms (%s handshakes)\n", hops,
                            ms, o.handshake.c_str());
                std::printf("ready: SOCKS5 %s",
                            format_socket_address({socks_ep.address(), socks_ep.port()}).c_str());
                if (http_at)
                    std::printf(", HTTP CONNECT %s",
                                format_socket_address({http_ep.address(), http_ep.port()}).c_str());
                std::printf("\n");
                if (metrics) {
                    auto ep = metrics->local_endpoint();
                    std::printf("metrics: http://%s/metrics\n",
                                format_socket_address({ep.address(), ep.port()}).c_str());
                }
                if (page) {
                    auto ep = page->local_endpoint();
                    std::printf(
                        "try:   curl --socks5-hostname %s http://%s/\n",
                        format_socket_address({socks_ep.address(), socks_ep.port()}).c_str(),
                        format_socket_address({ep.address(), ep.port()}).c_str());
                }
                std::printf("Ctrl-C stops the network.\n");
                std::fflush(stdout);
            } else if (proxy.stats().circuits_failed > 0) {
                std::fprintf(stderr,
                             "zmesh testnet: the bootstrap circuit failed to build "
                             "(see the log above)\n");
                exit_code = 1;
                io.stop();
            } else {
                wait_ready();
            }
        });
    };
    wait_ready();

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (ec) return;
        std::printf("\ntestnet: shutting down\n");
        proxy.stop();
        if (metrics) metrics->stop();
        if (page) page->close();
        client->node->stop();
        client->links->stop();
        for (auto& r : relays) {
            r->node->stop();
            r->links->stop();
        }
        io.stop();
    });
    io.run();
    if (ready) {
        std::uint64_t forwarded = 0;
        for (auto& r : relays) forwarded += r->node->relay().stats().cells_forward;
        std::printf("testnet: %llu connections, %llu streams, %llu relay cells forwarded\n",
                    static_cast<unsigned long long>(proxy.stats().connections),
                    static_cast<unsigned long long>(proxy.stats().streams_opened),
                    static_cast<unsigned long long>(forwarded));
    }
    return exit_code;
}

}  // namespace

void add_testnet_command(CLI::App& app, int& exit_code) {
    static TestnetOptions o;
    auto* cmd =
        app.add_subcommand("testnet", "Run a whole zmesh network on loopback with a SOCKS5 port");
    cmd->add_option("--relays", o.relays, "Relays to start")->capture_default_str();
    cmd->add_option("--exits", o.exits, "How many of them are exits")->capture_default_str();
    cmd->add_option("--hops", o.hops, "Hops per circuit (2-8)")->capture_default_str();
    cmd->add_option("--socks", o.socks, "SOCKS5 listen address")->capture_default_str();
    cmd->add_option("--http", o.http, "HTTP CONNECT listen address (empty: none)")
        ->capture_default_str();
    cmd->add_option("--transport", o.transport,
                    "udp, tcp, ws (WebSocket), wss (WebSocket over TLS) or webrtc (data "
                    "channels) links")
        ->check(CLI::IsMember({"udp", "tcp", "ws", "wss", "webrtc"}))
        ->capture_default_str();
    cmd->add_option("--loss", o.loss, "Drop this fraction of UDP datagrams (testing)")
        ->capture_default_str();
    cmd->add_option("--demo-http", o.demo_http, "Also serve a small page here to fetch");
    cmd->add_option("--metrics", o.metrics,
                    "Serve Prometheus metrics here (/metrics; ?format=json|influx)");
    cmd->add_option("--handshake", o.handshake,
                    "Link and hop handshakes: hybrid (X25519 + ML-KEM-768) or classical")
        ->check(CLI::IsMember({"hybrid", "classical"}))
        ->capture_default_str();
    cmd->add_flag("--require-pq", o.require_pq,
                  "Nodes refuse classical-only link and hop handshakes");
    cmd->add_flag("--browser-test", o.browser_test,
                  "ws/wss/webrtc: every relay also serves /zmesh-test.html, a page that checks "
                  "a browser's WebSocket (and, with webrtc, its RTCPeerConnection data "
                  "channel) against an echo on the node");
    cmd->add_flag("--fec,!--no-fec", o.fec,
                  "Tetrys forward erasure coding on streams (default on; adaptive)");
    cmd->add_option("--exit-policy", o.exit_policy,
                    "Exit policy rule, repeatable, first match wins (e.g. 'reject *:25')");
    cmd->footer(
        "Example:\n  zmesh testnet --relays 5 --exits 2 --socks 127.0.0.1:9050\n"
        "  curl --socks5-hostname 127.0.0.1:9050 http://127.0.0.1:8000/");
    cmd->callback([&] { exit_code = run_testnet(o); });
}

}  // namespace zmesh::app
