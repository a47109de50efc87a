// zmesh testnet: relays, exits and a client in one process on loopback (node::Testnet:
// real bootstrap, descriptors, path selection and guards), with a SOCKS5 port (and HTTP
// CONNECT) that carries connections through onion circuits.
#include <spdlog/spdlog.h>

#include <algorithm>
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
#include <thread>

#include "zmesh/app/commands.hpp"
#include "zmesh/app/proxy.hpp"
#include "zmesh/app/sandbox.hpp"
#include "zmesh/control/dashboard.hpp"
#include "zmesh/control/http_server.hpp"
#include "zmesh/control/rpc_server.hpp"
#include "zmesh/node/net_options.hpp"
#include "zmesh/node/testnet.hpp"

namespace zmesh::app {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using node::format_socket_address;
using node::parse_socket_address;

struct TestnetArgs {
    node::TestnetOptions net;
    std::string transport = "udp";
    std::string handshake = "hybrid";
    std::string socks = "127.0.0.1:9050";
    std::string http = "127.0.0.1:8118";
    std::string demo_http;  // serve a small page here, for the printed curl line
    std::string metrics;    // Prometheus endpoint address; empty: off
    std::string dashboard;  // the client's dashboard page; empty: off
    std::string dashboard_token_file;
    int threads = 0;  // 0: one per core, at most one per node
};

std::string endpoint_text(const tcp::endpoint& ep) {
    return format_socket_address({ep.address(), ep.port()});
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

// The front ends of the testnet: SOCKS5, HTTP CONNECT, metrics and the demo page.
struct FrontEnds {
    std::unique_ptr<ProxyFrontEnd> proxy;
    std::unique_ptr<control::MetricsServer> metrics;
    std::unique_ptr<control::Dashboard> dashboard;
    std::unique_ptr<tcp::acceptor> page;
    tcp::endpoint socks, http;
    void stop() {
        proxy->stop();
        if (metrics) metrics->stop();
        if (dashboard) dashboard->stop();
        if (page) page->close();
    }
};

void print_ready(const TestnetArgs& a, node::Testnet& net, const FrontEnds& f, int hops) {
    // The circuit layer's own measure: first CREATE sent to last EXTENDED, including the
    // link handshakes to the first hop and between relays.
    auto ms = std::chrono::duration<double, std::milli>(
                  net.client().client_pool()->stats().last_build_time)
                  .count();
    std::printf("bootstrap: %d-hop circuit built in %.2f ms (%s handshakes)\n", hops, ms,
                a.handshake.c_str());
    std::printf("ready: SOCKS5 %s", endpoint_text(f.socks).c_str());
    if (!a.http.empty()) std::printf(", HTTP CONNECT %s", endpoint_text(f.http).c_str());
    std::printf("\n");
    if (f.metrics)
        std::printf("metrics: http://%s/metrics\n",
                    endpoint_text(f.metrics->local_endpoint()).c_str());
    if (f.dashboard)
        std::printf("dashboard: http://%s/\n",
                    endpoint_text(f.dashboard->local_endpoint()).c_str());
    if (f.page)
        std::printf("try:   curl --socks5-hostname %s http://%s/\n", endpoint_text(f.socks).c_str(),
                    endpoint_text(f.page->local_endpoint()).c_str());
    std::printf("Ctrl-C stops the network.\n");
    std::fflush(stdout);
}

bool start_front_ends(const TestnetArgs& a, asio::io_context& io, node::Testnet& net, FrontEnds& f,
                      int hops) {
    auto socks_at = parse_socket_address(a.socks);
    auto http_at =
        a.http.empty() ? std::optional<link::SocketAddress>() : parse_socket_address(a.http);
    if (!socks_at || (!a.http.empty() && !http_at)) {
        std::cerr << "zmesh testnet: addresses must look like 127.0.0.1:9050\n";
        return false;
    }
    try {
        f.proxy = std::make_unique<ProxyFrontEnd>(*net.client().client_pool());
        net.client().add_metrics_source(
            [p = f.proxy.get()](node::Snapshot& s, const node::Labels& l) { p->collect(s, l); });
        f.socks = f.proxy->listen_socks({socks_at->ip, socks_at->port});
        if (http_at) f.http = f.proxy->listen_http({http_at->ip, http_at->port});
        if (!a.metrics.empty()) {
            auto at = parse_socket_address(a.metrics);
            if (!at) throw std::runtime_error("bad --metrics address");
            f.metrics = std::make_unique<control::MetricsServer>(io.get_executor(),
                                                                 tcp::endpoint(at->ip, at->port),
                                                                 [&net] { return net.metrics(); });
        }
        if (!a.dashboard.empty()) {
            auto at = parse_socket_address(a.dashboard);
            if (!at) throw std::runtime_error("bad --dashboard address");
            std::string why;
            auto token = control::load_or_create_token(a.dashboard_token_file, &why);
            if (!token) throw std::runtime_error(why);
            f.dashboard = std::make_unique<control::Dashboard>(
                net.client(), tcp::endpoint(at->ip, at->port), std::move(*token));
        }
        if (!a.demo_http.empty()) {
            auto at = parse_socket_address(a.demo_http);
            if (!at) throw std::runtime_error("bad --demo-http address");
            f.page = std::make_unique<tcp::acceptor>(io, tcp::endpoint(at->ip, at->port));
            asio::co_spawn(io, demo_page(*f.page, hops), asio::detached);
        }
    } catch (const std::exception& e) {
        std::cerr << "zmesh testnet: cannot listen: " << e.what() << "\n";
        return false;
    }
    return true;
}

int run_testnet(TestnetArgs a) {
    if (!startup_selftest("zmesh testnet")) return 1;
    raise_file_limit();
    auto& o = a.net;
    o.transport = a.transport == "tcp"                          ? link::TransportKind::tcp
                  : a.transport == "ws" || a.transport == "wss" ? link::TransportKind::ws
                  : a.transport == "webrtc"                     ? link::TransportKind::webrtc
                                                                : link::TransportKind::udp;
    o.tls = a.transport == "wss";
    o.hybrid = a.handshake != "classical";
    o.threads = a.threads;
    if (a.threads == 0)  // (a bad --relays is reported below)
        o.threads = std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1,
                               std::clamp(o.relays + 1, 1, node::kMaxTestnetThreads));
    if (auto p = node::problems(o); !p.empty()) {
        std::cerr << "zmesh testnet: " << p.front() << "\n";
        return 1;
    }
    asio::io_context io;
    node::Testnet net(io.get_executor(), o);
    std::printf("testnet: starting %d relays (%d exits) over %s on 127.0.0.1%s\n", o.relays,
                o.exits,
                a.transport == "tcp"      ? "TCP"
                : a.transport == "ws"     ? "WebSocket"
                : a.transport == "wss"    ? "WebSocket over TLS"
                : a.transport == "webrtc" ? "WebRTC data channels"
                                          : "UDP",
                o.loss > 0 ? (" with " + std::to_string(o.loss * 100) + "% loss").c_str() : "");
    if (std::string error; !net.start(&error)) {
        std::cerr << "zmesh testnet: cannot start a relay: " << error << "\n";
        return 1;
    }
    for (std::size_t i = 0; i < net.relay_count(); ++i) {
        std::string address;
        net.with_relay(i, [&](node::Node& r) { address = r.status().listeners.front().address; });
        std::printf("  relay %zu/%d %s %s\n", i + 1, o.relays, net.is_exit(i) ? "exit " : "relay",
                    address.c_str());
    }
    std::fflush(stdout);
    int hops = std::min(o.hops, o.relays);
    FrontEnds f;
    if (!start_front_ends(a, io, net, f, hops)) return 1;

    // Bootstrap check: one circuit through the network before saying ready.
    bool ready = false;
    int exit_code = 0;
    net.when_ready([&](bool ok) {
        if (ok) {
            ready = true;
            print_ready(a, net, f, hops);
            return;
        }
        std::fprintf(stderr,
                     "zmesh testnet: the bootstrap circuit failed to build (see the log above)\n");
        exit_code = 1;
        f.stop();
        net.stop([&] { io.stop(); });
    });
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (ec) return;
        std::printf("\ntestnet: shutting down\n");
        f.stop();
        net.stop([&] { io.stop(); });
    });
    io.run();
    if (ready) {
        std::uint64_t relayed = 0;
        for (std::size_t i = 0; i < net.relay_count(); ++i)
            net.with_relay(i, [&](node::Node& r) { relayed += r.status().cells_relayed; });
        std::printf("testnet: %llu connections, %llu streams, %llu relay cells relayed\n",
                    static_cast<unsigned long long>(f.proxy->stats().connections),
                    static_cast<unsigned long long>(net.client().status().streams_opened),
                    static_cast<unsigned long long>(relayed));
    }
    return exit_code;
}

}  // namespace

void add_testnet_command(CLI::App& app, int& exit_code) {
    static TestnetArgs a;
    auto& o = a.net;
    auto* cmd =
        app.add_subcommand("testnet", "Run a whole zmesh network on loopback with a SOCKS5 port");
    cmd->add_option("--relays", o.relays, "Relays to start (the first is the bootstrap node)")
        ->capture_default_str();
    cmd->add_option("--exits", o.exits, "How many of them are exits")->capture_default_str();
    cmd->add_option("--hops", o.hops, "Hops per circuit (2-8)")->capture_default_str();
    cmd->add_option("--socks", a.socks, "SOCKS5 listen address")->capture_default_str();
    cmd->add_option("--http", a.http, "HTTP CONNECT listen address (empty: none)")
        ->capture_default_str();
    cmd->add_option("--transport", a.transport,
                    "udp, tcp, ws (WebSocket), wss (WebSocket over TLS) or webrtc (data "
                    "channels) links")
        ->check(CLI::IsMember({"udp", "tcp", "ws", "wss", "webrtc"}))
        ->capture_default_str();
    cmd->add_option("--loss", o.loss, "Drop this fraction of UDP datagrams (testing)")
        ->capture_default_str();
    cmd->add_option("--demo-http", a.demo_http, "Also serve a small page here to fetch");
    cmd->add_option("--metrics", a.metrics,
                    "Serve Prometheus metrics here (/metrics; ?format=json|influx)");
    cmd->add_option("--dashboard", a.dashboard,
                    "Serve the client's live dashboard page here (docs/dashboard.md)");
    cmd->add_option("--dashboard-token-file", a.dashboard_token_file,
                    "The dashboard requires the token in this file (created 0600 if missing)");
    cmd->add_option("--handshake", a.handshake,
                    "Link and hop handshakes: hybrid (X25519 + ML-KEM-768) or classical")
        ->check(CLI::IsMember({"hybrid", "classical"}))
        ->capture_default_str();
    cmd->add_flag("--require-pq", o.require_post_quantum,
                  "Nodes refuse classical-only link and hop handshakes");
    cmd->add_flag("--browser-test", o.browser_test,
                  "ws/wss/webrtc: every relay also serves /zmesh-test.html, a page that checks "
                  "a browser's WebSocket (and, with webrtc, its RTCPeerConnection data "
                  "channel) against an echo on the node");
    cmd->add_flag("--fec,!--no-fec", o.fec,
                  "Tetrys forward erasure coding on streams (default on; adaptive)");
    cmd->add_option("--threads", a.threads,
                    "Threads to spread the nodes over (0: one per core; 1: all on one)")
        ->check(CLI::Range(0, node::kMaxTestnetThreads))
        ->capture_default_str();
    cmd->add_option("--exit-policy", o.exit_policy,
                    "Exit policy rule, repeatable, first match wins (e.g. 'reject *:25')");
    cmd->footer(
        "Example:\n  zmesh testnet --relays 5 --exits 2 --socks 127.0.0.1:9050\n"
        "  curl --socks5-hostname 127.0.0.1:9050 http://127.0.0.1:8000/");
    cmd->callback([&] { exit_code = run_testnet(a); });
}

}  // namespace zmesh::app
