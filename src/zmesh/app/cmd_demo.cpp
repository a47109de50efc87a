// zmesh demo: two nodes in one process, linked over loopback UDP, with cells flowing.
// Circuits and the SOCKS5 entry build on this; until they land the demo shows the link.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <iostream>

#include "zmesh/app/commands.hpp"
#include "zmesh/crypto/identity.hpp"
#include "zmesh/link/cell_pump.hpp"
#include "zmesh/link/udp_link.hpp"
#include "zmesh/node/net_options.hpp"

namespace zmesh::app {

using link::CellPump;
using link::CellSink;
using link::PumpMode;
using node::default_suite;
using node::format_socket_address;
namespace {

namespace asio = boost::asio;

int run_demo(double seconds, std::size_t window) {
    asio::io_context io;
    auto relay_id = crypto::Identity::generate();
    auto client_id = crypto::Identity::generate();
    link::SocketAddress loopback{asio::ip::address_v4::loopback(), 0};
    auto suite = default_suite();
    link::UdpLink relay(io.get_executor(), {relay_id.link, suite, {}}, loopback);
    link::UdpLink client(io.get_executor(), {client_id.link, suite, {}}, loopback);
    relay.on_cell([&](link::SessionId s, const wire::Cell& c) { (void)relay.send_cell(s, c); });
    relay.start();
    client.start();

    std::cout << "zmesh demo: two nodes on loopback UDP\n"
              << "  relay  " << crypto::node_id_string(relay_id.node_id()) << " at "
              << format_socket_address(relay.local_address()) << "\n"
              << "  client " << crypto::node_id_string(client_id.node_id()) << " at "
              << format_socket_address(client.local_address()) << "\n"
              << "  link   Noise "
              << link::noise::protocol_name(link::noise::Pattern::IK, suite, true)
              << ", 1232-byte datagrams, 1200-byte cells\n"
              << "The client sends numbered cells; the relay echoes them; each echo is checked "
                 "byte for byte.\n"
              << std::flush;

    auto session =
        client.connect(relay.local_address(), relay_id.link.pub, link::noise::Pattern::IK);
    if (!session) {
        std::cerr << "zmesh demo: " << session.error().message() << "\n";
        return 1;
    }
    CellPump pump(client, *session, 0, window);
    client.on_cell([&](link::SessionId, const wire::Cell& c) { pump.on_cell(c); });
    auto t0 = std::chrono::steady_clock::now();
    client.on_event([&](const link::LinkEvent& ev) {
        if (ev.kind == link::LinkEvent::Kind::established) {
            auto ms =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                    .count();
            std::printf("handshake complete in %.2f ms; sending cells for %.0f s\n", ms, seconds);
            std::fflush(stdout);
            pump.start();
        }
    });

    asio::steady_timer ticker(io);
    int elapsed = 0;
    std::uint64_t last = 0;
    std::function<void()> tick = [&] {
        ticker.expires_after(std::chrono::seconds(1));
        ticker.async_wait([&](boost::system::error_code ec) {
            if (ec) return;
            ++elapsed;
            auto now = pump.result().echoed;
            std::printf(
                "  t=%2ds  %8llu cells/s echoed intact (%6.1f MB/s each way), corrupt %llu\n",
                elapsed, static_cast<unsigned long long>(now - last),
                static_cast<double>(now - last) * wire::kCellSize / 1e6,
                static_cast<unsigned long long>(pump.result().corrupt));
            std::fflush(stdout);
            last = now;
            if (elapsed >= seconds) {
                pump.stop();
                client.stop();
                relay.stop();
                io.stop();
                return;
            }
            tick();
        });
    };
    tick();
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (ec) return;
        pump.stop();
        client.stop();
        relay.stop();
        io.stop();
    });
    io.run();
    const auto& r = pump.result();
    std::printf(
        "done: %llu cells echoed intact, %llu corrupt, %llu link packets dropped\n",
        static_cast<unsigned long long>(r.echoed), static_cast<unsigned long long>(r.corrupt),
        static_cast<unsigned long long>(client.stats().dropped() + relay.stats().dropped()));
    std::printf("next: circuits, SOCKS5 and 'zmesh testnet' build on this link layer.\n");
    return r.corrupt == 0 && r.echoed > 0 ? 0 : 1;
}

}  // namespace

void add_demo_command(CLI::App& app, int& exit_code) {
    auto* demo = app.add_subcommand("demo", "Two linked nodes on loopback with cells flowing");
    static double seconds = 5;
    static std::size_t window = 512;
    demo->add_option("--seconds", seconds, "How long to run")->capture_default_str();
    demo->add_option("--window", window, "Cells in flight")->capture_default_str();
    demo->footer("Example:\n  zmesh demo --seconds 10");
    demo->callback([&] { exit_code = run_demo(seconds, window); });
}

}  // namespace zmesh::app
