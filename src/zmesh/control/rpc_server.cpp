#include "zmesh/control/rpc_server.hpp"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <stdexcept>

#include "zmesh/control/v1/control.grpc.pb.h"
#include "zmesh/core/bytes.hpp"
#include "zmesh/crypto/identity.hpp"
#include "zmesh/crypto/secure.hpp"

namespace zmesh::control {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr auto kCallTimeout = 10s;

// Whether something answers on a Unix socket path (another daemon), without sending.
bool unix_socket_answers(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

void prepare_unix_path(const std::string& path) {
    if (path.size() >= sizeof(sockaddr_un{}.sun_path))
        throw std::runtime_error("control socket path is too long (at most 107 bytes): " + path);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return;
    if (!S_ISSOCK(st.st_mode))
        throw std::runtime_error(path + " exists and is not a socket; not replacing it");
    if (unix_socket_answers(path))
        throw std::runtime_error("another zmesh daemon is already serving " + path);
    ::unlink(path.c_str());  // left behind by a daemon that did not stop cleanly
}

void check_loopback(const std::string& address) {
    auto colon = address.rfind(':');
    std::string host = colon == std::string::npos ? address : address.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(host, ec);
    if (ec || !ip.is_loopback())
        throw std::runtime_error("the control API is served on loopback only, not on " + address);
}

}  // namespace

std::string new_control_token() {
    Bytes t(32);
    crypto::random_bytes(t);
    return to_hex(t);
}

std::optional<std::string> load_or_create_token(const std::filesystem::path& path,
                                                std::string* why) {
    if (path.empty()) return std::string();  // no token file configured: no token
    auto token = crypto::read_private_file(path, 4096);
    if (!token && token.error() == Errc::permission_denied) {
        *why = path.string() + " is readable by other users; run 'chmod 600 " + path.string() + "'";
        return std::nullopt;
    }
    if (!token) {
        std::string t = new_control_token();
        if (!crypto::write_private_file(path, t + "\n", false)) {
            *why = "cannot write " + path.string();
            return std::nullopt;
        }
        token = t;
    }
    return token->substr(0, token->find_first_of("\r\n"));
}

class ControlServer::Service final : public v1::Control::Service {
  public:
    struct Shared {
        ControlBackend* backend;  // null once the server stops; touched on the executor only
    };

    Service(asio::any_io_executor ex, ControlBackend& backend, const ControlServerConfig& cfg)
        : ex_(std::move(ex)), shared_(std::make_shared<Shared>(Shared{&backend})), cfg_(cfg) {}

    grpc::Status GetStatus(grpc::ServerContext* ctx, const v1::GetStatusRequest*,
                           v1::NodeStatus* out) override {
        return call(ctx, out, [](ControlBackend& b) { return b.status(); });
    }
    grpc::Status ListCircuits(grpc::ServerContext* ctx, const v1::ListCircuitsRequest*,
                              v1::ListCircuitsResponse* out) override {
        return call(ctx, out, [](ControlBackend& b) { return b.circuits(); });
    }
    grpc::Status ListStreams(grpc::ServerContext* ctx, const v1::ListStreamsRequest*,
                             v1::ListStreamsResponse* out) override {
        return call(ctx, out, [](ControlBackend& b) { return b.streams(); });
    }
    grpc::Status ListPeers(grpc::ServerContext* ctx, const v1::ListPeersRequest*,
                           v1::ListPeersResponse* out) override {
        return call(ctx, out, [](ControlBackend& b) { return b.peers(); });
    }
    grpc::Status ListRelays(grpc::ServerContext* ctx, const v1::ListRelaysRequest*,
                            v1::ListRelaysResponse* out) override {
        return call(ctx, out, [](ControlBackend& b) { return b.relays(); });
    }
    grpc::Status NewIdentity(grpc::ServerContext* ctx, const v1::NewIdentityRequest*,
                             v1::NewIdentityResponse* out) override {
        return call(ctx, out, [](ControlBackend& b) { return b.new_identity(); });
    }
    grpc::Status CloseCircuit(grpc::ServerContext* ctx, const v1::CloseCircuitRequest* req,
                              v1::CloseCircuitResponse* out) override {
        auto id = req->id();
        return call(ctx, out, [id](ControlBackend& b) { return b.close_circuit(id); });
    }
    grpc::Status GetMetrics(grpc::ServerContext* ctx, const v1::GetMetricsRequest* req,
                            v1::GetMetricsResponse* out) override {
        auto format = req->format();
        return call(ctx, out, [format](ControlBackend& b) { return b.metrics(format); });
    }

    grpc::Status Events(grpc::ServerContext* ctx, const v1::EventsRequest*,
                        grpc::ServerWriter<v1::Event>* writer) override {
        if (auto st = authorize(*ctx); !st.ok()) return st;
        auto sub = std::make_shared<Subscriber>();
        {
            std::lock_guard lock(subscribers_mutex_);
            if (subscribers_.size() >= cfg_.max_subscribers)
                return {grpc::StatusCode::RESOURCE_EXHAUSTED, "too many event subscribers"};
            subscribers_.push_back(sub);
        }
        while (!stopping_ && !ctx->IsCancelled()) {
            std::deque<v1::Event> batch;
            std::uint64_t dropped = 0;
            {
                std::unique_lock lock(sub->mutex);
                sub->cv.wait_for(lock, 250ms, [&] { return !sub->queue.empty() || stopping_; });
                batch.swap(sub->queue);
                std::swap(dropped, sub->dropped);
            }
            bool ok = true;
            if (dropped > 0) {
                v1::Event e;
                e.set_kind("events_dropped");
                e.set_detail(std::to_string(dropped) + " events dropped: the reader was slow");
                ok = writer->Write(e);
            }
            for (const auto& e : batch)
                if (ok) ok = writer->Write(e);
            if (!ok) break;
        }
        std::lock_guard lock(subscribers_mutex_);
        std::erase(subscribers_, sub);
        return grpc::Status::OK;
    }

    void publish(const v1::Event& e) {
        std::lock_guard lock(subscribers_mutex_);
        for (auto& sub : subscribers_) {
            std::lock_guard l(sub->mutex);
            if (sub->queue.size() >= cfg_.event_queue) {
                sub->queue.pop_front();
                ++sub->dropped;
            }
            sub->queue.push_back(e);
            sub->cv.notify_one();
        }
    }

    // Called on the executor: no call started afterwards reaches the backend.
    void stop() {
        stopping_ = true;
        shared_->backend = nullptr;
        std::lock_guard lock(subscribers_mutex_);
        for (auto& sub : subscribers_) sub->cv.notify_all();
    }

  private:
    grpc::Status authorize(const grpc::ServerContext& ctx) const {
        if (ctx.peer().rfind("unix:", 0) == 0) return grpc::Status::OK;  // the file mode guards it
        const auto& md = ctx.client_metadata();
        auto it = md.find("authorization");
        std::string expected = "Bearer " + cfg_.token;
        if (cfg_.token.empty() || it == md.end() || it->second.size() != expected.size() ||
            !crypto::ct_equal(
                ByteView(reinterpret_cast<const std::uint8_t*>(it->second.data()),
                         it->second.size()),
                ByteView(reinterpret_cast<const std::uint8_t*>(expected.data()), expected.size())))
            return {grpc::StatusCode::UNAUTHENTICATED,
                    "missing or wrong control token (see monitoring.control_token_file)"};
        return grpc::Status::OK;
    }

    template <class Reply, class Fn>
    grpc::Status call(grpc::ServerContext* ctx, Reply* out, Fn fn) {
        if (auto st = authorize(*ctx); !st.ok()) return st;
        if (stopping_) return {grpc::StatusCode::ABORTED, "the daemon is shutting down"};
        auto promise = std::make_shared<std::promise<Reply>>();
        auto future = promise->get_future();
        asio::post(ex_, [promise, shared = shared_, fn]() {
            try {
                if (shared->backend == nullptr) throw std::runtime_error("shutting down");
                promise->set_value(fn(*shared->backend));
            } catch (...) {
                promise->set_exception(std::current_exception());
            }
        });
        auto deadline = std::chrono::steady_clock::now() + kCallTimeout;
        while (future.wait_for(100ms) != std::future_status::ready) {
            if (stopping_) return {grpc::StatusCode::ABORTED, "the daemon is shutting down"};
            if (ctx->IsCancelled()) return {grpc::StatusCode::CANCELLED, "cancelled"};
            if (std::chrono::steady_clock::now() > deadline)
                return {grpc::StatusCode::DEADLINE_EXCEEDED, "the node did not answer in time"};
        }
        try {
            *out = future.get();
        } catch (const std::exception& e) {
            return {grpc::StatusCode::ABORTED, e.what()};
        }
        return grpc::Status::OK;
    }

    asio::any_io_executor ex_;
    std::shared_ptr<Shared> shared_;
    ControlServerConfig cfg_;
    std::atomic<bool> stopping_{false};
    std::mutex subscribers_mutex_;
    std::vector<std::shared_ptr<Subscriber>> subscribers_;
};

ControlServer::ControlServer(asio::any_io_executor ex, ControlBackend& backend,
                             ControlServerConfig config)
    : cfg_(std::move(config)) {
    if (cfg_.unix_path.empty() && cfg_.tcp_address.empty())
        throw std::runtime_error("the control API needs a socket path or a TCP address");
    if (!cfg_.tcp_address.empty()) {
        check_loopback(cfg_.tcp_address);
        if (cfg_.token.empty()) throw std::runtime_error("a TCP control address needs a token");
    }
    if (!cfg_.unix_path.empty()) prepare_unix_path(cfg_.unix_path);
    service_ = std::make_unique<Service>(std::move(ex), backend, cfg_);
    grpc::ServerBuilder builder;
    if (!cfg_.unix_path.empty())
        builder.AddListeningPort("unix:" + cfg_.unix_path, grpc::InsecureServerCredentials());
    if (!cfg_.tcp_address.empty())
        builder.AddListeningPort(cfg_.tcp_address, grpc::InsecureServerCredentials(), &tcp_port_);
    grpc::ResourceQuota quota("zmesh-control");
    quota.SetMaxThreads(static_cast<int>(cfg_.max_subscribers) + 8);
    builder.SetResourceQuota(quota);
    builder.SetMaxReceiveMessageSize(64 * 1024);
    builder.RegisterService(service_.get());
    // The socket is created with mode 0600: no other user may even connect.
    mode_t old_mask = ::umask(0077);
    server_ = builder.BuildAndStart();
    ::umask(old_mask);
    if (!server_)
        throw std::runtime_error("cannot serve the control API on " +
                                 (cfg_.unix_path.empty() ? cfg_.tcp_address : cfg_.unix_path) +
                                 " (in use, or no permission)");
    if (!cfg_.unix_path.empty() && ::chmod(cfg_.unix_path.c_str(), 0600) != 0)
        spdlog::warn("control socket {}: chmod 0600 failed: {}", cfg_.unix_path,
                     std::strerror(errno));
}

ControlServer::~ControlServer() {
    shutdown();
}

void ControlServer::publish(v1::Event event) {
    if (!shut_down_) service_->publish(event);
}

void ControlServer::shutdown() {
    if (shut_down_) return;
    shut_down_ = true;
    service_->stop();
    server_->Shutdown(std::chrono::system_clock::now() + 1s);
    server_->Wait();
    if (!cfg_.unix_path.empty()) ::unlink(cfg_.unix_path.c_str());
}

}  // namespace zmesh::control
