// zmesh node --config FILE: the daemon. A thin shell around node::Node: the configuration
// becomes node::Options, the SOCKS5 and HTTP CONNECT front ends, Prometheus metrics and
// the gRPC control API (which only translates the node's structs) are served, SIGHUP
// reloads, SIGTERM/SIGINT stop the node gracefully, privileges are dropped and an optional
// seccomp allowlist installed.
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "zmesh/app/commands.hpp"
#include "zmesh/app/proxy.hpp"
#include "zmesh/app/sandbox.hpp"
#include "zmesh/control/dashboard.hpp"
#include "zmesh/control/http_server.hpp"
#include "zmesh/control/node_config.hpp"
#include "zmesh/control/rpc_server.hpp"
#include "zmesh/control/rpc_translate.hpp"
#include "zmesh/crypto/identity.hpp"
#include "zmesh/node/net_options.hpp"
#include "zmesh/node/node.hpp"

namespace zmesh::app {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace v1 = control::v1;
using asio::ip::tcp;
using node::format_socket_address;
using node::parse_socket_address;

struct NodeArgs {
    std::string config;
    std::vector<std::string> sets;
    bool dry_run = false;
};

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s.empty() ? std::string("none") : s;
}

class Daemon final : public control::ControlBackend {
  public:
    Daemon(control::Config cfg, NodeArgs args) : cfg_(std::move(cfg)), args_(std::move(args)) {}

    int run();

    // ControlBackend: called on io_ only; each translates the node's structs.
    v1::NodeStatus status() override;
    v1::ListCircuitsResponse circuits() override;
    v1::ListStreamsResponse streams() override;
    v1::ListPeersResponse peers() override;
    v1::ListRelaysResponse relays() override;
    v1::NewIdentityResponse new_identity() override;
    v1::CloseCircuitResponse close_circuit(std::uint64_t id) override;
    v1::GetMetricsResponse metrics(v1::GetMetricsRequest::Format f) override;

  private:
    bool start();
    bool start_front_ends();
    bool start_control(fs::path& socket_path, fs::path& token_path);
    bool harden(const fs::path& socket_path, const fs::path& token_path);
    void shutdown();
    void reload();
    void listening(std::string kind, const tcp::endpoint& ep) {
        listeners_.push_back({std::move(kind), format_socket_address({ep.address(), ep.port()})});
    }
    fs::path data_path(const std::string& key, const char* fallback) const {
        const auto& v = cfg_.string(key);
        return v.empty() ? fs::path(cfg_.string("core.data_dir")) / fallback : fs::path(v);
    }

    control::Config cfg_;
    NodeArgs args_;
    asio::io_context io_;
    std::unique_ptr<node::Node> node_;
    std::unique_ptr<ProxyFrontEnd> proxy_;
    std::unique_ptr<control::MetricsServer> metrics_;
    std::unique_ptr<control::Dashboard> dashboard_;
    std::unique_ptr<control::ControlServer> control_;
    std::vector<node::Listener> listeners_;  // the front ends'; the node lists its own
    std::uint64_t reloads_ = 0;
    bool seccomp_ = false;
    bool stopping_ = false;
};

bool Daemon::start() {
    if (!startup_selftest("zmesh node")) return false;
    std::string error;
    try {
        node_ = std::make_unique<node::Node>(io_.get_executor(), control::node_options(cfg_));
    } catch (const std::exception& e) {
        std::cerr << "zmesh node: cannot open a link address: " << e.what() << "\n";
        return false;
    }
    // Every step at info, a step that takes long as a warning (docs/daemon.md).
    node_->on_bootstrap([](const node::BootstrapReport& r) {
        if (r.stuck)
            spdlog::warn("{}", r.line);
        else
            spdlog::info("{}", r.line);
    });
    if (!node_->start(&error)) {
        std::cerr << "zmesh node: " << error << "\n";
        return false;
    }
    node_->add_metrics_source([this](node::Snapshot& s, const node::Labels& l) {
        if (proxy_) proxy_->collect(s, l);
        s.add("zmesh_config_reloads_total", "SIGHUP reloads.", node::MetricType::counter, l,
              static_cast<double>(reloads_));
    });
    if (!start_front_ends()) return false;
    fs::path socket_path, token_path;
    if (!start_control(socket_path, token_path)) return false;
    node_->subscribe([this](const node::Event& e) {
        if (!control_) return;
        v1::Event out;
        out.set_unix_ms(e.unix_ms);
        out.set_kind(node::to_string(e.kind));
        out.set_circuit(e.circuit);
        out.set_detail(e.detail);
        control_->publish(std::move(out));
    });
    return harden(socket_path, token_path);
}

bool Daemon::start_front_ends() {
    try {
        if (auto* pool = node_->client_pool()) {
            proxy_ = std::make_unique<ProxyFrontEnd>(*pool);
            if (auto at = parse_socket_address(cfg_.string("transport.socks_listen")))
                listening("socks5", proxy_->listen_socks({at->ip, at->port}));
            if (auto at = parse_socket_address(cfg_.string("transport.http_connect_listen")))
                listening("http-connect", proxy_->listen_http({at->ip, at->port}));
        }
        if (auto at = parse_socket_address(cfg_.string("monitoring.prometheus_addr"))) {
            metrics_ = std::make_unique<control::MetricsServer>(
                io_.get_executor(), tcp::endpoint(at->ip, at->port),
                [this] { return node_->metrics(); });
            listening("metrics", metrics_->local_endpoint());
        }
        if (auto at = parse_socket_address(cfg_.string("monitoring.dashboard_addr"))) {
            std::string why;
            auto token =
                control::load_or_create_token(cfg_.string("monitoring.dashboard_token_file"), &why);
            if (!token) {
                std::cerr << "zmesh node: " << why << "\n";
                return false;
            }
            dashboard_ = std::make_unique<control::Dashboard>(
                *node_, tcp::endpoint(at->ip, at->port), std::move(*token));
            listening("dashboard", dashboard_->local_endpoint());
        }
    } catch (const std::exception& e) {
        std::cerr << "zmesh node: cannot listen: " << e.what() << "\n";
        return false;
    }
    return true;
}

bool Daemon::start_control(fs::path& socket_path, fs::path& token_path) {
    control::ControlServerConfig cc;
    if (cfg_.string("monitoring.control_socket") != "off") {
        socket_path = data_path("monitoring.control_socket", "control.sock");
        cc.unix_path = socket_path.string();
    }
    if (const auto& at = cfg_.string("monitoring.control_addr"); !at.empty()) {
        cc.tcp_address = at;
        token_path = data_path("monitoring.control_token_file", "control.token");
        std::string why;
        auto token = control::load_or_create_token(token_path, &why);
        if (!token) {
            std::cerr << "zmesh node: " << why << "\n";
            return false;
        }
        cc.token = *token;
    }
    if (cc.unix_path.empty() && cc.tcp_address.empty()) return true;
    try {
        control_ = std::make_unique<control::ControlServer>(io_.get_executor(), *this, cc);
    } catch (const std::exception& e) {
        std::cerr << "zmesh node: control API: " << e.what() << "\n";
        return false;
    }
    if (!cc.unix_path.empty()) listeners_.push_back({"control", cc.unix_path});
    if (!cc.tcp_address.empty()) {
        auto a = *parse_socket_address(cc.tcp_address);
        listeners_.push_back(
            {"control",
             format_socket_address({a.ip, static_cast<std::uint16_t>(control_->tcp_port())})});
    }
    return true;
}

// Everything privileged is done: sockets are bound, key files read.
bool Daemon::harden(const fs::path& socket_path, const fs::path& token_path) {
    fs::path data_dir = cfg_.string("core.data_dir");
    if (auto err = drop_privileges(
            cfg_.string("security.user"),
            {data_dir, data_dir / "identity.key", data_dir / "onion.key", socket_path, token_path});
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

void Daemon::reload() {
    ++reloads_;
    auto fresh = control::load_or_explain(args_.config, args_.sets);
    std::vector<std::string> problems;
    if (fresh) problems = control::node_config_problems(*fresh);
    if (!fresh || !problems.empty()) {
        for (const auto& p : problems) spdlog::error("reload: {}: {}", args_.config, p);
        if (!fresh) spdlog::error("reload: {} does not load (see above)", args_.config);
        spdlog::error("reload refused: the file has errors; the running configuration stays");
        node_->emit(node::Event::Kind::reload, 0, "refused: configuration errors");
        return;
    }
    auto [applied, restart] = control::apply_reloadable(cfg_, *fresh);
    spdlog::set_level(spdlog::level::from_str(cfg_.string("core.log_level")));
    try {
        node_->reconfigure(control::node_options(cfg_));
    } catch (const std::exception& e) {
        spdlog::error("reload: {}", e.what());
    }
    spdlog::info("reload: applied {}", join(applied));
    if (!restart.empty()) spdlog::warn("reload: not applied, need a restart: {}", join(restart));
    node_->emit(node::Event::Kind::reload, 0, "applied " + join(applied));
}

void Daemon::shutdown() {
    if (stopping_) return;
    stopping_ = true;
    // The node publishes its shutdown event first, then the control API ends its streams.
    node_->stop([this] { io_.stop(); });
    if (control_) control_->shutdown();
    if (proxy_) proxy_->stop();
    if (metrics_) metrics_->stop();
    if (dashboard_) dashboard_->stop();
}

int Daemon::run() {
    if (!start()) return 1;
    auto st = node_->status();
    std::printf("zmesh node %s: roles", node::kVersion);
    for (const auto& r : st.roles) std::printf(" %s", r.c_str());
    std::printf("\nnode id: %s\n", st.node_id.c_str());
    for (const auto& l : st.listeners)
        std::printf("listening: %s %s\n", l.kind.c_str(), l.address.c_str());
    for (const auto& l : listeners_)
        std::printf("listening: %s %s\n", l.kind.c_str(), l.address.c_str());
    if (!st.contact.empty()) std::printf("contact: %s\n", st.contact.c_str());
    if (!st.bootstrap.empty()) std::printf("bootstrap: %s\n", st.bootstrap.c_str());
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

v1::NodeStatus Daemon::status() {
    return control::to_proto(node_->status(),
                             {static_cast<std::uint32_t>(::getpid()), std::to_string(::geteuid()),
                              args_.config, reloads_, seccomp_, listeners_});
}
v1::ListCircuitsResponse Daemon::circuits() {
    return control::to_proto(node_->circuits());
}
v1::ListStreamsResponse Daemon::streams() {
    return control::to_proto(node_->streams());
}
v1::ListPeersResponse Daemon::peers() {
    return control::to_proto(node_->peers());
}
v1::ListRelaysResponse Daemon::relays() {
    return control::to_proto(node_->relays());
}
v1::NewIdentityResponse Daemon::new_identity() {
    v1::NewIdentityResponse r;
    r.set_circuits_retired(static_cast<std::uint32_t>(node_->new_identity()));
    return r;
}
v1::CloseCircuitResponse Daemon::close_circuit(std::uint64_t id) {
    v1::CloseCircuitResponse r;
    r.set_closed(node_->close_circuit(id));
    return r;
}
v1::GetMetricsResponse Daemon::metrics(v1::GetMetricsRequest::Format f) {
    return control::render(node_->metrics(), f);
}

int run_node(const NodeArgs& args) {
    auto cfg = control::load_or_explain(args.config, args.sets);
    if (!cfg) return 1;
    auto problems = control::node_config_problems(*cfg);
    for (const auto& p : problems) std::cerr << args.config << ": " << p << "\n";
    if (!problems.empty()) return 1;
    for (const auto& w : control::node_config_warnings(*cfg))
        spdlog::warn("{}: {}", args.config, w);
    if (args.dry_run) {
        std::cout << args.config << ": valid; roles";
        for (const auto& r : std::get<std::vector<std::string>>(cfg->get("core.roles")))
            std::cout << " " << r;
        std::cout << "; not starting (--dry-run)\n";
        return 0;
    }
    spdlog::set_level(spdlog::level::from_str(cfg->string("core.log_level")));
    raise_file_limit();
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
