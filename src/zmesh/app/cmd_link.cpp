// zmesh link serve / zmesh link send: two processes holding a link and moving cells.
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <iostream>

#include "zmesh/app/commands.hpp"
#include "zmesh/app/identity_errors.hpp"
#include "zmesh/link/cell_pump.hpp"
#include "zmesh/link/tcp_link.hpp"
#include "zmesh/link/udp_link.hpp"
#include "zmesh/node/net_options.hpp"

namespace zmesh::app {

using link::CellPump;
using link::CellSink;
using link::PumpMode;
using node::default_suite;
using node::format_socket_address;
using node::parse_pattern_name;
using node::parse_socket_address;
namespace {

namespace asio = boost::asio;

void print_stats(const std::string& name, const link::LinkService& l) {
    std::cout << "stats " << name;
    for (const auto& [k, v] : l.stats().fields()) std::cout << " " << k << "=" << v;
    std::cout << " transmit_drops=" << l.transmit_drops()
              << " transport_rejects=" << l.transport_rejects()
              << " internal_errors=" << l.internal_errors() << std::endl;
}

struct ServeOptions {
    std::string key;
    std::string udp = "127.0.0.1:0";
    std::string tcp = "127.0.0.1:0";
    bool echo = false;
    bool sink = false;
    bool require_pq = false;
};

int run_serve(const ServeOptions& o) {
    if (!startup_selftest("zmesh link serve")) return 1;
    auto id = load_identity_or_explain(o.key, "zmesh link serve");
    if (!id) return 1;
    auto udp_addr = parse_socket_address(o.udp);
    auto tcp_addr = parse_socket_address(o.tcp);
    if (!udp_addr || !tcp_addr) {
        std::cerr << "zmesh link serve: addresses must look like 127.0.0.1:9000 or [::1]:9000\n";
        return 1;
    }
    asio::io_context io;
    link::EndpointConfig cfg{id->link, default_suite(), {}, true, o.require_pq};
    std::unique_ptr<link::UdpLink> udp;
    std::unique_ptr<link::TcpLink> tcp;
    try {
        udp = std::make_unique<link::UdpLink>(io.get_executor(), cfg, *udp_addr);
        tcp = std::make_unique<link::TcpLink>(io.get_executor(), cfg, *tcp_addr);
    } catch (const std::exception& e) {
        std::cerr << "zmesh link serve: cannot listen: " << e.what() << "\n";
        return 1;
    }
    CellSink udp_sink(*udp);
    CellSink tcp_sink(*tcp);
    for (link::LinkService* l :
         {static_cast<link::LinkService*>(udp.get()), static_cast<link::LinkService*>(tcp.get())}) {
        CellSink* sink = l == udp.get() ? &udp_sink : &tcp_sink;
        l->on_event([](const link::LinkEvent& ev) {
            const char* what = ev.kind == link::LinkEvent::Kind::established ? "established"
                               : ev.kind == link::LinkEvent::Kind::rekeyed   ? "rekeyed"
                                                                             : "closed";
            spdlog::info("link session {} {}", ev.session, what);
        });
        if (o.echo) {
            l->on_cell([l](link::SessionId s, const wire::Cell& c) { (void)l->send_cell(s, c); });
        } else if (o.sink) {
            l->on_cell([sink](link::SessionId s, const wire::Cell& c) { sink->on_cell(s, c); });
        }
        l->start();
    }
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int sig) {
        spdlog::info("signal {}: shutting down", sig);
        udp->stop();
        tcp->stop();
        io.stop();
    });
    std::cout << "ready udp=" << format_socket_address(udp->local_address())
              << " tcp=" << format_socket_address(tcp->local_address())
              << " key=" << to_hex(id->link.pub.view()) << std::endl;
    io.run();
    print_stats("udp", *udp);
    print_stats("tcp", *tcp);
    if (o.sink)
        std::cout << "sink corrupt_cells=" << udp_sink.corrupt() + tcp_sink.corrupt() << std::endl;
    return 0;
}

struct SendOptions {
    std::string transport = "udp";
    std::string peer;
    std::string peer_key;
    std::string key;
    std::string pattern = "ik";
    std::string mode = "echo";
    bool classical = false;
    std::uint64_t count = 10000;
    std::size_t window = 256;
    double timeout = 60;
};

int run_send(const SendOptions& o) {
    auto peer = parse_socket_address(o.peer);
    auto raw_key = from_hex(o.peer_key);
    auto peer_key = raw_key ? crypto::X25519Public::from(*raw_key) : std::nullopt;
    auto pattern = parse_pattern_name(o.pattern);
    if (!peer || !peer_key || !pattern) {
        std::cerr << "zmesh link send: need --peer HOST:PORT, --peer-key (64 hex digits) and "
                     "--pattern nk|ik|xk\n";
        return 1;
    }
    crypto::Identity id = crypto::Identity::generate();
    if (!o.key.empty()) {
        auto loaded = load_identity_or_explain(o.key, "zmesh link send");
        if (!loaded) return 1;
        id = std::move(*loaded);
    }
    asio::io_context io;
    link::EndpointConfig cfg{id.link, default_suite(), {}, !o.classical, false};
    link::SocketAddress any{peer->ip.is_v4() ? asio::ip::address(asio::ip::address_v4::loopback())
                                             : asio::ip::address(asio::ip::address_v6::loopback()),
                            0};
    std::unique_ptr<link::LinkService> l;
    if (o.transport == "udp") {
        l = std::make_unique<link::UdpLink>(io.get_executor(), cfg, any);
    } else if (o.transport == "tcp") {
        l = std::make_unique<link::TcpLink>(io.get_executor(), cfg, any);
    } else {
        std::cerr << "zmesh link send: --transport must be udp or tcp\n";
        return 1;
    }
    l->start();
    auto session = l->connect(*peer, *peer_key, *pattern);
    if (!session) {
        std::cerr << "zmesh link send: " << session.error().message() << "\n";
        return 1;
    }
    CellPump pump(*l, *session, o.count, o.window,
                  o.mode == "sink" ? PumpMode::sink : PumpMode::echo);
    pump.on_done = [&] {
        l->stop();
        io.stop();
    };
    bool failed = false;
    l->on_event([&](const link::LinkEvent& ev) {
        if (ev.kind == link::LinkEvent::Kind::established) {
            pump.start();
        } else if (ev.kind == link::LinkEvent::Kind::closed) {
            std::cerr << "zmesh link send: link closed (handshake failed or peer dead)\n";
            failed = true;
            pump.stop();
        }
    });
    l->on_cell([&](link::SessionId, const wire::Cell& c) { pump.on_cell(c); });
    asio::steady_timer deadline(io, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::duration<double>(o.timeout)));
    deadline.async_wait([&](boost::system::error_code ec) {
        if (ec) return;
        std::cerr << "zmesh link send: timed out after " << o.timeout << "s\n";
        failed = true;
        pump.stop();
        l->stop();
        io.stop();
    });
    io.run();
    const auto& r = pump.result();
    double rate = r.seconds > 0 ? static_cast<double>(r.echoed) / r.seconds : 0;
    std::cout << (r.complete && !failed && r.corrupt == 0 ? "ok" : "FAILED")
              << " transport=" << o.transport << " cells=" << r.echoed << "/" << o.count
              << " corrupt=" << r.corrupt << " duplicates=" << r.duplicates
              << " resent=" << r.resent << " seconds=" << r.seconds << " mode=" << o.mode
              << " cells_per_second=" << static_cast<std::uint64_t>(rate) << std::endl;
    print_stats(o.transport, *l);
    return r.complete && !failed && r.corrupt == 0 ? 0 : 1;
}

}  // namespace

void add_link_commands(CLI::App& app, int& exit_code) {
    auto* link_cmd = app.add_subcommand("link", "Run and test encrypted links between nodes");
    link_cmd->require_subcommand(1);

    static ServeOptions so;
    auto* serve = link_cmd->add_subcommand("serve", "Listen for links on UDP and TCP");
    serve->add_option("--key", so.key, "Identity key file")->required();
    serve->add_option("--udp", so.udp, "UDP listen address")->capture_default_str();
    serve->add_option("--tcp", so.tcp, "TCP listen address")->capture_default_str();
    serve->add_flag("--echo", so.echo, "Send every received cell back");
    serve->add_flag("--require-pq", so.require_pq,
                    "Refuse peers whose link handshake is classical only");
    serve
        ->add_flag("--sink", so.sink,
                   "Check received test cells and report counts (for --mode sink)")
        ->excludes("--echo");
    serve->footer(
        "Prints 'ready udp=ADDR tcp=ADDR key=HEX' once listening.\nExample:\n"
        "  zmesh link serve --key node.key --udp 127.0.0.1:7000 --echo");
    serve->callback([&] { exit_code = run_serve(so); });

    static SendOptions sd;
    auto* send = link_cmd->add_subcommand("send", "Connect to a node and check echoed cells");
    send->add_option("--transport", sd.transport, "udp or tcp")->capture_default_str();
    send->add_option("--peer", sd.peer, "Peer address HOST:PORT")->required();
    send->add_option("--peer-key", sd.peer_key, "Peer's x25519 public key (hex)")->required();
    send->add_option("--key", sd.key, "Own identity key (default: a fresh one)");
    send->add_option("--pattern", sd.pattern, "Noise pattern nk, ik or xk")->capture_default_str();
    send->add_option("--count", sd.count, "Cells to send")->capture_default_str();
    send->add_flag("--classical", sd.classical,
                   "Classical Noise handshake (default: hybrid with ML-KEM-768)");
    send->add_option("--mode", sd.mode, "echo (peer runs --echo) or sink (peer runs --sink)")
        ->check(CLI::IsMember({"echo", "sink"}))
        ->capture_default_str();
    send->add_option("--window", sd.window, "Cells in flight")->capture_default_str();
    send->add_option("--timeout", sd.timeout, "Seconds before giving up")->capture_default_str();
    send->footer("Example:\n  zmesh link send --peer 127.0.0.1:7000 --peer-key HEX --count 100000");
    send->callback([&] { exit_code = run_send(sd); });
}

}  // namespace zmesh::app
