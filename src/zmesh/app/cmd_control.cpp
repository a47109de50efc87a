// The CLI over the daemon's control API: zmesh status, circuits, streams, peers, newnym,
// close-circuit, events and metrics.
#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "zmesh/app/commands.hpp"
#include "zmesh/app/control_target.hpp"
#include "zmesh/control/node_config.hpp"
#include "zmesh/control/rpc_client.hpp"

namespace zmesh::app {

using control::load_or_explain;
using control::read_text_file;
namespace {

namespace v1 = control::v1;

using Target = ControlTarget;

// Where the daemon listens: --control, else the configuration's control socket (or
// control_addr and token file when the socket is off), else the default data directory.
std::unique_ptr<control::ControlClient> connect(const Target& t) {
    std::string where = t.control;
    std::string token_file = t.token_file;
    if (where.empty()) {
        // The file when given, and ZMESH_* variables in any case (as the daemon reads them).
        auto cfg = load_or_explain(t.config, {});
        if (!cfg) return nullptr;
        const auto& sock = cfg->string("monitoring.control_socket");
        std::string data_dir = cfg->string("core.data_dir");
        if (sock != "off") {
            where = sock.empty() ? data_dir + "/control.sock" : sock;
        } else {
            where = cfg->string("monitoring.control_addr");
            if (token_file.empty()) {
                const auto& tf = cfg->string("monitoring.control_token_file");
                token_file = tf.empty() ? data_dir + "/control.token" : tf;
            }
        }
        if (where.empty()) {
            std::cerr << "zmesh: " << t.config
                      << " serves no control API (monitoring.control_socket"
                      << " is off and control_addr is empty)\n";
            return nullptr;
        }
    }
    std::string token;
    if (!where.starts_with("/")) {
        if (token_file.empty()) {
            std::cerr << "zmesh: a TCP control address needs --token-file\n";
            return nullptr;
        }
        auto text = read_text_file(token_file);
        if (!text) {
            std::cerr << "zmesh: cannot read the control token " << token_file << "\n";
            return nullptr;
        }
        token = text->substr(0, text->find_first_of("\r\n"));
    }
    return std::make_unique<control::ControlClient>(where, token);
}

bool report(const control::CallResult& r) {
    if (!r.ok) std::cerr << "zmesh: " << r.error << "\n";
    return r.ok;
}

std::string to_json(const google::protobuf::Message& m) {
    std::string out;
    google::protobuf::util::JsonPrintOptions o;
    o.add_whitespace = true;
    o.always_print_primitive_fields = true;
    o.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(m, &out, o);
    return out;
}

std::string human_bytes(std::uint64_t b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(b);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    std::ostringstream s;
    s << std::fixed << std::setprecision(u == 0 ? 0 : 1) << v << " " << units[u];
    return s.str();
}

std::string short_id(const std::string& id) {
    return id.size() > 12 ? id.substr(0, 12) : id;
}

// Columns sized to their widest cell.
void print_table(const std::vector<std::string>& head,
                 const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> w(head.size());
    for (std::size_t i = 0; i < head.size(); ++i) w[i] = head[i].size();
    for (const auto& r : rows)
        for (std::size_t i = 0; i < r.size() && i < w.size(); ++i)
            w[i] = std::max(w[i], r[i].size());
    auto line = [&](const std::vector<std::string>& r) {
        for (std::size_t i = 0; i < r.size(); ++i) {
            if (i + 1 < r.size())
                std::cout << std::left << std::setw(static_cast<int>(w[i]) + 2) << r[i];
            else
                std::cout << r[i];
        }
        std::cout << "\n";
    };
    line(head);
    for (const auto& r : rows) line(r);
    if (rows.empty()) std::cout << "(none)\n";
}

// "100% ready", or "30% a bootstrap node answered; waiting 12 s for a directory ...".
std::string bootstrap_line(const v1::BootstrapProgress& b) {
    if (b.percent() >= 100) return "100% ready";
    std::string line = std::to_string(b.percent()) + "% " + b.last_event();
    if (!b.waiting_for().empty())
        line += "; waiting " + std::to_string(static_cast<std::uint64_t>(b.seconds_waiting())) +
                " s for " + b.waiting_for();
    return line;
}

void print_status(std::ostream& out, const v1::NodeStatus& s) {
    std::string roles;
    for (const auto& r : s.roles()) roles += (roles.empty() ? "" : ", ") + r;
    auto row = [&out](const char* k, const std::string& v) {
        out << std::left << std::setw(18) << k << v << "\n";
    };
    row("node", s.node_id());
    row("version", s.version() + " (pid " + std::to_string(s.pid()) + ")");
    row("roles", roles);
    row("uptime", std::to_string(s.uptime_seconds()) + " s");
    if (s.has_bootstrap_progress())  // absent from daemons older than the field
        row("bootstrapped", bootstrap_line(s.bootstrap_progress()));
    row("handshakes", s.handshake() + (s.require_post_quantum() ? ", post-quantum required" : ""));
    row("sandbox", s.seccomp() ? "seccomp on" : "seccomp off");
    for (const auto& l : s.listeners()) row(("listen " + l.kind()).c_str(), l.address());
    row("circuits", std::to_string(s.client_circuits()) + " open as client (" +
                        std::to_string(s.circuits_built()) + " built, " +
                        std::to_string(s.circuits_failed()) + " failed), " +
                        std::to_string(s.relay_circuits()) + " relayed");
    row("streams", std::to_string(s.streams()) + " open (" + std::to_string(s.streams_opened()) +
                       " opened, " + std::to_string(s.streams_failed()) + " failed)");
    row("peers", std::to_string(s.peers()) + " link sessions");
    row("relays known", std::to_string(s.relays_known()));
    row("traffic", human_bytes(s.link_bytes_in()) + " in, " + human_bytes(s.link_bytes_out()) +
                       " out; " + std::to_string(s.cells_relayed()) + " cells relayed");
    row("config", s.config_file() + " (" + std::to_string(s.reloads()) + " reloads)");
    if (!s.contact().empty()) row("contact", s.contact());
    if (!s.bootstrap().empty()) row("bootstrap", s.bootstrap());
}

void add_target_options(CLI::App* cmd, Target& t) {
    cmd->add_option("--control", t.control,
                    "Daemon's control socket path, or loopback HOST:PORT (default: from --config "
                    "and ZMESH_* variables, else /var/lib/zmesh/control.sock)");
    cmd->add_option("--token-file", t.token_file, "Token for a HOST:PORT control address");
    cmd->add_option("--config,-c", t.config, "Find the daemon from this node configuration");
}

// Ctrl-C and SIGTERM end `status --watch` cleanly: the handler only writes to a pipe,
// which the wait between updates polls (whichever thread the signal lands on).
class StopSignals {
  public:
    StopSignals() {
        if (::pipe2(fds(), O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2 failed");
        struct sigaction sa {};
        sa.sa_handler = [](int) {
            char c = 1;
            (void)!::write(fds()[1], &c, 1);
        };
        ::sigemptyset(&sa.sa_mask);
        ::sigaction(SIGINT, &sa, &old_int_);
        ::sigaction(SIGTERM, &sa, &old_term_);
    }
    ~StopSignals() {
        ::sigaction(SIGINT, &old_int_, nullptr);
        ::sigaction(SIGTERM, &old_term_, nullptr);
        ::close(fds()[0]);
        ::close(fds()[1]);
    }
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

    // True when a signal came, at once or within `d`.
    bool wait(std::chrono::duration<double> d) const {
        auto until = std::chrono::steady_clock::now() +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(d);
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            pollfd p{fds()[0], POLLIN, 0};
            int n = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
            if (n > 0) return true;
            if (n == 0 || errno != EINTR) return false;
        }
    }

  private:
    // The one place a signal handler can reach; only one watch runs per process.
    static int* fds() {
        static int fd[2] = {-1, -1};
        return fd;
    }
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

// One status, or with `watch` one every `interval` until Ctrl-C (exit 0). On a terminal
// each update is drawn over the last (cursor home, lines cleared to their end, the rest
// of the screen cleared); otherwise updates follow each other, a blank line between.
int run_status(control::ControlClient& client, const std::string& format, bool watch,
               double interval) {
    std::optional<StopSignals> stop;
    if (watch) stop.emplace();
    bool tty = watch && ::isatty(STDOUT_FILENO) != 0;
    if (tty) std::cout << "\033[?25l\033[H\033[2J";  // hide the cursor, clear once
    std::string error;
    for (bool first = true;; first = false) {
        v1::NodeStatus s;
        if (auto r = client.status(s); !r.ok) {
            error = r.error;
            break;
        }
        std::ostringstream block;
        if (format == "json")
            block << to_json(s);
        else
            print_status(block, s);
        std::string text = block.str();
        if (tty) {
            std::string drawn = "\033[H";
            for (char c : text) drawn += c == '\n' ? std::string("\033[K\n") : std::string(1, c);
            std::cout << drawn << "\033[J";
        } else {
            std::cout << (watch && !first ? "\n" : "") << text;
        }
        std::cout.flush();
        if (!watch || stop->wait(std::chrono::duration<double>(interval))) break;
    }
    if (tty) std::cout << "\033[?25h" << std::flush;  // the cursor back
    if (error.empty()) return 0;
    std::cerr << "zmesh: " << error << "\n";
    return 1;
}

std::string seconds(double s) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(1) << s << " s";
    return out.str();
}

// A command that lists what one control call returns, as a table or as JSON.
template <class Response, class Call, class Rows>
void add_list_command(CLI::App& app, const char* name, const char* help, const char* footer,
                      Target& t, std::string& format, int& exit_code, Call call,
                      std::vector<std::string> head, Rows rows) {
    auto* cmd = app.add_subcommand(name, help);
    add_target_options(cmd, t);
    cmd->add_option("--format", format, "table or json")->check(CLI::IsMember({"table", "json"}));
    cmd->footer(footer);
    cmd->callback([&t, &format, &exit_code, call, head, rows] {
        auto client = connect(t);
        Response r;
        if (!client || !report(((*client).*call)(r))) {
            exit_code = 1;
            return;
        }
        if (format == "json")
            std::cout << to_json(r);
        else
            print_table(head, rows(r));
    });
}

}  // namespace

void add_control_target_options(CLI::App* cmd, ControlTarget& t) {
    add_target_options(cmd, t);
}

std::unique_ptr<control::ControlClient> connect_control(const ControlTarget& t) {
    return connect(t);
}

void add_control_commands(CLI::App& app, int& exit_code) {
    static Target t;
    static std::string format = "table";
    static bool watch = false;
    static double interval = 2;
    static std::string metrics_format = "prometheus";
    static std::uint64_t circuit_id = 0;
    static int count = 0;

    auto* status = app.add_subcommand("status", "Show what a running node is doing");
    add_target_options(status, t);
    status->add_option("--format", format, "table or json")
        ->check(CLI::IsMember({"table", "json"}))
        ->capture_default_str();
    auto* watch_flag = status->add_flag(
        "--watch", watch, "Update until Ctrl-C (in place on a terminal); exits 0 then");
    status->add_option("--interval", interval, "Seconds between updates with --watch")
        ->check(CLI::Range(0.1, 3600.0))
        ->needs(watch_flag)
        ->capture_default_str();
    status->footer(
        "Examples:\n  zmesh status\n  zmesh status --format json --config /etc/zmesh/zmesh.toml\n"
        "  zmesh status --watch --interval 1");
    status->callback([&] {
        auto client = connect(t);
        exit_code = client ? run_status(*client, format, watch, interval) : 1;
    });

    add_list_command<v1::ListCircuitsResponse>(
        app, "circuits", "List the node's client circuits",
        "Example:\n  zmesh circuits --format json", t, format, exit_code,
        &control::ControlClient::circuits, {"ID", "STATE", "HOPS", "STREAMS", "AGE", "PATH"},
        [](const v1::ListCircuitsResponse& r) {
            std::vector<std::vector<std::string>> rows;
            for (const auto& c : r.circuits()) {
                std::string path;
                for (const auto& p : c.path()) path += (path.empty() ? "" : " > ") + short_id(p);
                rows.push_back({std::to_string(c.id()), c.state(), std::to_string(c.hops()),
                                std::to_string(c.streams()), seconds(c.age_seconds()), path});
            }
            return rows;
        });
    add_list_command<v1::ListStreamsResponse>(
        app, "streams", "List open streams and their destinations", "Example:\n  zmesh streams", t,
        format, exit_code, &control::ControlClient::streams,
        {"CIRCUIT", "STREAM", "STATE", "SENT", "RECEIVED", "TARGET"},
        [](const v1::ListStreamsResponse& r) {
            std::vector<std::vector<std::string>> rows;
            for (const auto& s : r.streams())
                rows.push_back({std::to_string(s.circuit()), std::to_string(s.id()), s.state(),
                                human_bytes(s.bytes_out()), human_bytes(s.bytes_in()), s.target()});
            return rows;
        });
    add_list_command<v1::ListPeersResponse>(
        app, "peers", "List link sessions to other nodes",
        "Clients connecting to a relay are shown as 'client', never by address.\n"
        "Example:\n  zmesh peers",
        t, format, exit_code, &control::ControlClient::peers,
        {"SESSION", "ADDRESS", "KEY", "DIRECTION", "STATE", "HANDSHAKE", "IDLE"},
        [](const v1::ListPeersResponse& r) {
            std::vector<std::vector<std::string>> rows;
            for (const auto& p : r.peers())
                rows.push_back({std::to_string(p.session()), p.address(), short_id(p.node_key()),
                                p.direction(), p.established() ? "up" : "handshaking",
                                p.post_quantum() ? "hybrid" : "classical",
                                seconds(p.idle_seconds())});
            return rows;
        });

    auto* newnym = app.add_subcommand("newnym", "Use fresh circuits for new streams");
    add_target_options(newnym, t);
    newnym->footer(
        "Existing streams keep their circuits until they end.\nExample:\n  zmesh newnym");
    newnym->callback([&] {
        auto client = connect(t);
        v1::NewIdentityResponse r;
        if (!client || !report(client->new_identity(r))) {
            exit_code = 1;
            return;
        }
        std::cout << "new identity: " << r.circuits_retired()
                  << " circuits retired; new streams get new circuits\n";
    });

    auto* close = app.add_subcommand("close-circuit", "Close one client circuit and its streams");
    add_target_options(close, t);
    close->add_option("ID", circuit_id, "Circuit id from 'zmesh circuits'")->required();
    close->footer("Example:\n  zmesh close-circuit 3");
    close->callback([&] {
        auto client = connect(t);
        v1::CloseCircuitResponse r;
        if (!client || !report(client->close_circuit(circuit_id, r))) {
            exit_code = 1;
            return;
        }
        std::cout << (r.closed() ? "closed circuit " : "no such circuit: ") << circuit_id << "\n";
        exit_code = r.closed() ? 0 : 1;
    });

    auto* events = app.add_subcommand("events", "Print circuit and stream events as they happen");
    add_target_options(events, t);
    events->add_option("--count", count, "Stop after this many events (0: until interrupted)");
    events->footer("One JSON object per line.\nExample:\n  zmesh events --count 10");
    events->callback([&] {
        auto client = connect(t);
        if (!client) {
            exit_code = 1;
            return;
        }
        int seen = 0;
        auto r = client->events([&](const v1::Event& e) {
            std::string line;
            google::protobuf::util::JsonPrintOptions o;
            o.preserve_proto_field_names = true;
            (void)google::protobuf::util::MessageToJsonString(e, &line, o);
            std::cout << line << std::endl;
            return count == 0 || ++seen < count;
        });
        if (!report(r)) exit_code = 1;
    });

    auto* metrics = app.add_subcommand("metrics", "Print the node's metrics");
    add_target_options(metrics, t);
    metrics->add_option("--format", metrics_format, "prometheus, json or influx")
        ->check(CLI::IsMember({"prometheus", "json", "influx"}))
        ->capture_default_str();
    metrics->footer("Example:\n  zmesh metrics --format json");
    metrics->callback([&] {
        auto client = connect(t);
        v1::GetMetricsResponse r;
        auto f = metrics_format == "json"     ? v1::GetMetricsRequest::JSON
                 : metrics_format == "influx" ? v1::GetMetricsRequest::INFLUX
                                              : v1::GetMetricsRequest::PROMETHEUS;
        if (!client || !report(client->metrics(f, r))) {
            exit_code = 1;
            return;
        }
        std::cout << r.body();
    });
}

}  // namespace zmesh::app
