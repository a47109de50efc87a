// zmesh bench: throughput, latency and stress through a running daemon's own circuits,
// from its SOCKS5 entry to a sink (bench_net.hpp) that this command runs on loopback or
// that `zmesh bench sink` runs elsewhere. Destinations are never logged.
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "zmesh/app/bench_net.hpp"
#include "zmesh/app/bench_report.hpp"
#include "zmesh/app/commands.hpp"
#include "zmesh/app/control_target.hpp"
#include "zmesh/node/net_options.hpp"

namespace zmesh::app {

namespace {

using namespace bench;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

const auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kEchoBytes = 64;  // one request (and response) of latency and stress
constexpr auto kRoundTimeout = std::chrono::seconds(10);

double ms_since(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

struct Options {
    Target daemon;
    std::string socks;   // HOST:PORT: the entry itself, without asking the daemon
    std::string target;  // HOST:PORT of a `zmesh bench sink`; empty: one here on loopback
    std::string sink_listen = "127.0.0.1:0";
    std::string format = "table";
    double open_timeout = 30;  // seconds for a circuit and stream to open
    double timeout = 600;      // seconds for a whole throughput transfer
    std::string hops;          // throughput, stress: N; latency: N,N,...
    std::string bytes = "64M";
    std::size_t rounds = 20;
    double duration = 10;
    std::size_t connections = 10;
};

// What is happening now, for the progress line.
struct Live {
    std::uint64_t bytes = 0, want = 0;
    std::size_t hops = 0;
    std::size_t round = 0, rounds = 0;
    std::uint64_t completed = 0, failed = 0;
    Clock::time_point started = Clock::now();
};

struct Env {
    tcp::endpoint socks;
    std::string target;
    std::chrono::milliseconds open_timeout{30000};
    Live live;

    SocksRequest request(std::size_t hops, std::string password) const {
        return {socks, hops == 0 ? "bench" : "hops-" + std::to_string(hops), std::move(password),
                target};
    }
};

// Redrawn in place on a terminal (every 0.25 s); a line every 2 s otherwise. Ends when
// cancelled (by the measurement it runs beside finishing).
asio::awaitable<void> show_progress(std::function<std::string()> line) {
    bool tty = ::isatty(STDERR_FILENO) != 0;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    struct Clear {
        bool tty;
        ~Clear() {
            if (tty) std::cerr << "\r\033[K" << std::flush;
        }
    } clear{tty};
    while (true) {
        timer.expires_after(tty ? std::chrono::milliseconds(250) : std::chrono::seconds(2));
        if (auto [ec] = co_await timer.async_wait(kAwait); ec) co_return;
        if (tty)
            std::cerr << "\r\033[K" << line() << std::flush;
        else
            std::cerr << line() << "\n";
    }
}

template <class T>
asio::awaitable<Outcome<T>> within(asio::awaitable<Outcome<T>> op, std::chrono::milliseconds d,
                                   std::string what) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    auto r = co_await (std::move(op) || timer.async_wait(kAwait));
    if (r.index() == 1)
        co_return what + ": no answer within " + std::to_string(d.count() / 1000) + " s";
    co_return std::move(std::get<0>(r));
}

asio::awaitable<Outcome<void>> send_byte(tcp::socket& s, std::uint8_t b) {
    if (auto [ec, n] = co_await asio::async_write(s, asio::buffer(&b, 1), kAwait); ec)
        co_return "the stream closed: " + ec.message();
    co_return Outcome<void>();
}

// One request/response of kEchoBytes; milliseconds, or why not.
asio::awaitable<Outcome<double>> round_trip(tcp::socket& s, std::uint64_t seq) {
    std::array<std::uint8_t, kEchoBytes> out, in;
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(seq + i);
    auto t = Clock::now();
    if (auto [ec, n] = co_await asio::async_write(s, asio::buffer(out), kAwait); ec)
        co_return "the stream closed: " + ec.message();
    if (auto [ec, n] = co_await asio::async_read(s, asio::buffer(in), kAwait); ec)
        co_return "the stream closed: " + ec.message();
    if (in != out) co_return std::string("the echo came back different");
    co_return ms_since(t);
}

asio::awaitable<Outcome<ThroughputResult>> throughput(Env& env, std::size_t hops,
                                                      std::uint64_t bytes) {
    ThroughputResult r{hops, 0, 0, 0};
    env.live.want = bytes;
    auto t0 = Clock::now();
    auto s = co_await socks_connect(env.request(hops, fresh_password()), env.open_timeout);
    if (!s) co_return s.error();
    r.open_ms = ms_since(t0);
    std::array<std::uint8_t, 9> ask{kDownload};
    for (int i = 0; i < 8; ++i) ask[1 + i] = static_cast<std::uint8_t>(bytes >> (56 - 8 * i));
    auto start = Clock::now();
    if (auto [ec, n] = co_await asio::async_write(*s, asio::buffer(ask), kAwait); ec)
        co_return "the stream closed: " + ec.message();
    std::vector<std::uint8_t> buf(256 * 1024);
    while (true) {
        auto [ec, n] = co_await s->async_read_some(asio::buffer(buf), kAwait);
        r.bytes += n;
        env.live.bytes = r.bytes;
        if (ec == asio::error::eof) break;
        if (ec) co_return "the stream broke after " + std::to_string(r.bytes) + " bytes";
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (r.bytes != bytes)
        co_return "the stream ended after " + std::to_string(r.bytes) + " of " +
            std::to_string(bytes) + " bytes";
    co_return r;
}

asio::awaitable<Outcome<LatencyRow>> latency(Env& env, std::size_t hops, std::size_t rounds) {
    LatencyRow row{hops, 0, {}};
    env.live.hops = hops;
    env.live.round = 0;
    auto t0 = Clock::now();
    auto s = co_await socks_connect(env.request(hops, fresh_password()), env.open_timeout);
    if (!s) co_return s.error();
    row.open_ms = ms_since(t0);
    if (auto sent = co_await send_byte(*s, kEcho); !sent) co_return sent.error();
    std::vector<double> rtts;
    for (std::size_t i = 0; i < rounds; ++i) {
        env.live.round = i + 1;
        auto rt = co_await within(round_trip(*s, i), kRoundTimeout, "a round trip");
        if (!rt) co_return rt.error();
        rtts.push_back(*rt);
    }
    row.rtt_ms = summarize(std::move(rtts));
    co_return row;
}

struct StressState {
    std::vector<double> rtts;
    std::string first_error;
};

// One connection: request/response until `end`, opening a new stream after a failure.
asio::awaitable<void> stress_worker(Env& env, StressState& st, std::size_t hops,
                                    std::string password, Clock::time_point end) {
    auto fail = [&](const std::string& why) {
        ++env.live.failed;
        if (st.first_error.empty()) st.first_error = why;
    };
    while (Clock::now() < end) {
        auto s = co_await socks_connect(env.request(hops, password), env.open_timeout);
        if (s) {
            auto sent = co_await send_byte(*s, kEcho);
            if (!sent) fail(sent.error());
            for (std::uint64_t seq = 0; sent && Clock::now() < end; ++seq) {
                auto rt = co_await within(round_trip(*s, seq), kRoundTimeout, "a round trip");
                if (!rt) {
                    fail(rt.error());
                    break;
                }
                st.rtts.push_back(*rt);
                ++env.live.completed;
            }
            continue;
        }
        fail(s.error());
        asio::steady_timer pause(co_await asio::this_coro::executor,
                                 std::chrono::milliseconds(100));
        co_await pause.async_wait(kAwait);
    }
}

asio::awaitable<Outcome<StressResult>> stress(Env& env, std::size_t hops, std::size_t connections,
                                              double duration) {
    auto ex = co_await asio::this_coro::executor;
    StressState st;
    auto start = Clock::now();
    auto end = start +
               std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration));
    // All on one isolation key, as one application's connections would be.
    auto password = fresh_password();
    std::size_t running = connections;
    asio::steady_timer all_done(ex, Clock::time_point::max());
    for (std::size_t i = 0; i < connections; ++i)
        asio::co_spawn(ex, stress_worker(env, st, hops, password, end),
                       [&running, &all_done](std::exception_ptr) {
                           if (--running == 0) all_done.cancel();
                       });
    co_await all_done.async_wait(kAwait);
    StressResult r{hops,
                   connections,
                   std::chrono::duration<double>(Clock::now() - start).count(),
                   env.live.completed,
                   env.live.failed,
                   summarize(std::move(st.rtts))};
    if (r.completed == 0) co_return "no request came back: " + st.first_error;
    if (r.failed > 0)
        std::cerr << "zmesh: " << r.failed << " failures; the first: " << st.first_error << "\n";
    co_return r;
}

std::optional<tcp::endpoint> endpoint_of(const std::string& text) {
    auto a = node::parse_socket_address(text);
    if (!a) return std::nullopt;
    return tcp::endpoint(a->ip, a->port);
}

// The daemon's SOCKS5 entry: --socks, else what its control API lists.
Outcome<tcp::endpoint> find_socks(const Options& o) {
    if (!o.socks.empty()) {
        if (auto ep = endpoint_of(o.socks)) return *ep;
        return "--socks: '" + o.socks + "' is not an address (HOST:PORT, numeric)";
    }
    auto client = connect(o.daemon);
    if (!client) return std::string();  // it said why
    control::v1::NodeStatus s;
    if (auto r = client->status(s); !r.ok) return "cannot reach the daemon: " + r.error;
    for (const auto& l : s.listeners())
        if (l.kind() == "socks5") {
            if (auto ep = endpoint_of(l.address())) return *ep;
        }
    return std::string("the daemon has no SOCKS5 entry (transport.socks_listen is empty)");
}

std::string mib(std::uint64_t b) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(1) << static_cast<double>(b) / kMiB;
    return s.str();
}

// Runs one measurement beside its progress line; prints the result or the error line.
template <class T>
int measure(const Options& o, std::function<std::string()> progress,
            asio::awaitable<Outcome<T>> work) {
    asio::io_context io;
    std::optional<Outcome<T>> result;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto r = co_await (std::move(work) || show_progress(progress));
            result = std::move(std::get<0>(r));
        },
        [&](std::exception_ptr e) {
            if (e && !result) result = std::string("internal error");
        });
    io.run();
    if (!*result) {
        std::cerr << "zmesh: bench: " << result->error() << "\n";
        return 1;
    }
    std::cout << (o.format == "json" ? json(**result) : table(**result)) << std::flush;
    return 0;
}

// Parses a single --hops N (empty: the daemon's length).
std::optional<std::size_t> single_hops(const std::string& text) {
    if (text.empty()) return 0;
    auto list = parse_hops_list(text);
    if (!list || list->size() != 1) return std::nullopt;
    return list->front();
}

int run(const std::string& test, const Options& o) {
    auto bad = [](const std::string& why) {
        std::cerr << "zmesh: bench: " << why << "\n";
        return 2;
    };
    std::optional<std::uint64_t> bytes = parse_size(o.bytes);
    if (!bytes) return bad("--bytes: '" + o.bytes + "' is not a size (such as 8M, 64MiB, 1G)");
    std::vector<std::size_t> hop_list{0};
    if (test == "latency" && !o.hops.empty()) {
        auto l = parse_hops_list(o.hops);
        if (!l) return bad("--hops: '" + o.hops + "' is not a list of hop counts from 2 to 8");
        hop_list = *l;
    } else if (auto h = single_hops(o.hops)) {
        hop_list = {*h};
    } else {
        return bad("--hops: '" + o.hops + "' is not a hop count from 2 to 8");
    }
    if (!o.target.empty() && !target_port(o.target))
        return bad("--target: '" + o.target + "' is not HOST:PORT");

    auto socks = find_socks(o);
    if (!socks) {
        if (!socks.error().empty()) std::cerr << "zmesh: bench: " << socks.error() << "\n";
        return 1;
    }
    Env env;
    env.socks = *socks;
    env.open_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(o.open_timeout * 1000));
    std::optional<Sink> sink;
    if (o.target.empty()) {
        auto at = endpoint_of(o.sink_listen);
        if (!at) return bad("--sink-listen: '" + o.sink_listen + "' is not HOST:PORT");
        sink.emplace(*at);
        sink->start();
        std::ostringstream t;
        t << sink->endpoint();
        env.target = t.str();
    } else {
        env.target = o.target;
    }
    auto& live = env.live;
    live.rounds = o.rounds;
    if (test == "throughput") {
        auto work = within(throughput(env, hop_list[0], *bytes),
                           std::chrono::milliseconds(static_cast<std::int64_t>(o.timeout * 1000)),
                           "the transfer");
        return measure<ThroughputResult>(
            o,
            [&live] {
                double s = std::chrono::duration<double>(Clock::now() - live.started).count();
                return "throughput: " + mib(live.bytes) + " of " + mib(live.want) + " MiB, " +
                       mib(static_cast<std::uint64_t>(live.bytes / std::max(s, 1e-3))) + " MiB/s";
            },
            std::move(work));
    }
    if (test == "latency") {
        std::size_t rounds = o.rounds;
        auto work = [&env, hop_list,
                     rounds]() -> asio::awaitable<Outcome<std::vector<LatencyRow>>> {
            std::vector<LatencyRow> rows;
            for (auto h : hop_list) {
                auto row = co_await latency(env, h, rounds);
                if (!row) co_return (h ? std::to_string(h) + " hops: " : "") + row.error();
                rows.push_back(*row);
            }
            co_return rows;
        };
        return measure<std::vector<LatencyRow>>(
            o,
            [&live] {
                return "latency: hops " + hops_text(live.hops) + ", round " +
                       std::to_string(live.round) + " of " + std::to_string(live.rounds);
            },
            work());
    }
    return measure<StressResult>(
        o,
        [&live, &o] {
            double s = std::chrono::duration<double>(Clock::now() - live.started).count();
            std::ostringstream line;
            line << std::fixed << std::setprecision(1) << "stress: " << s << " of " << o.duration
                 << " s, " << live.completed << " completed, " << live.failed << " failed";
            return line.str();
        },
        stress(env, hop_list[0], o.connections, o.duration));
}

void add_common(CLI::App* cmd, Options& o) {
    add_target_options(cmd, o.daemon);
    cmd->add_option("--socks", o.socks,
                    "The daemon's SOCKS5 entry HOST:PORT (default: asked from the daemon)");
    cmd->add_option("--target", o.target,
                    "HOST:PORT of a 'zmesh bench sink' (default: one started here on loopback; "
                    "the exit must allow private addresses then)");
    cmd->add_option("--sink-listen", o.sink_listen, "Where the local sink listens")
        ->capture_default_str();
    cmd->add_option("--format", o.format, "table or json")
        ->check(CLI::IsMember({"table", "json"}))
        ->capture_default_str();
    cmd->add_option("--open-timeout", o.open_timeout, "Seconds for a circuit and stream to open")
        ->check(CLI::Range(1.0, 600.0))
        ->capture_default_str();
}

}  // namespace

void add_bench_commands(CLI::App& app, int& exit_code) {
    static Options o;
    static std::string sink_at = "127.0.0.1:0";
    auto* bench = app.add_subcommand("bench", "Measure the network through a running daemon");
    bench->require_subcommand(1);
    bench->footer(
        "Streams go through the daemon's SOCKS5 entry and its own circuits to a sink: one\n"
        "this command runs on loopback, or 'zmesh bench sink' elsewhere (--target).\n"
        "Examples:\n"
        "  zmesh bench throughput --bytes 64M --config /etc/zmesh/zmesh.toml\n"
        "  zmesh bench latency --hops 3,5,7 --format json\n"
        "  zmesh bench stress --duration 10 --connections 50");

    auto* tp = bench->add_subcommand("throughput", "Download through a fresh circuit");
    add_common(tp, o);
    tp->add_option("--hops", o.hops, "Circuit length, 2 to 8 (default: the daemon's)");
    tp->add_option("--bytes", o.bytes, "How much to download (K, M, G: binary)")
        ->capture_default_str();
    tp->add_option("--timeout", o.timeout, "Seconds the whole transfer may take")
        ->check(CLI::Range(1.0, 86400.0))
        ->capture_default_str();
    tp->callback([&] { exit_code = run("throughput", o); });

    auto* lat = bench->add_subcommand("latency", "Round trips per circuit length");
    add_common(lat, o);
    lat->add_option("--hops", o.hops, "Circuit lengths, such as 3,5,7 (default: the daemon's)");
    lat->add_option("--rounds", o.rounds, "Round trips per length")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    lat->callback([&] { exit_code = run("latency", o); });

    auto* st = bench->add_subcommand("stress", "Many connections doing request/response");
    add_common(st, o);
    st->add_option("--hops", o.hops, "Circuit length, 2 to 8 (default: the daemon's)");
    st->add_option("--duration", o.duration, "Seconds")
        ->check(CLI::Range(0.1, 86400.0))
        ->capture_default_str();
    st->add_option("--connections", o.connections, "Concurrent connections")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    st->callback([&] { exit_code = run("stress", o); });

    auto* sink = bench->add_subcommand("sink", "Serve as the far end of 'zmesh bench --target'");
    sink->add_option("--listen", sink_at, "HOST:PORT")->capture_default_str();
    sink->callback([&] {
        auto at = endpoint_of(sink_at);
        if (!at) {
            std::cerr << "zmesh: bench sink: --listen: '" << sink_at << "' is not HOST:PORT\n";
            exit_code = 2;
            return;
        }
        Sink s(*at);
        std::cout << "listening: bench sink " << s.endpoint() << std::endl;
        s.run();
    });
}

}  // namespace zmesh::app
