#include "zmesh/api/runtime.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <optional>

#include "zmesh/control/metrics.hpp"
#include "zmesh/node/contact.hpp"

namespace zmesh::api {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

const char* code_name(Code c) {
    switch (c) {
        case Code::ok:
            return "ok";
        case Code::invalid:
            return "invalid argument";
        case Code::stopped:
            return "node stopped";
        case Code::timeout:
            return "timeout";
        case Code::closed:
            return "stream closed";
        case Code::too_big:
            return "too big";
        case Code::network:
            return "network";
        case Code::would_block:
            return "would block";
        case Code::internal:
            return "internal error";
    }
    return "unknown error";
}

zmesh_event_kind event_kind(node::Event::Kind k) {
    using K = node::Event::Kind;
    switch (k) {
        case K::circuit_built:
            return ZMESH_EVENT_CIRCUIT_BUILT;
        case K::circuit_failed:
            return ZMESH_EVENT_CIRCUIT_FAILED;
        case K::circuit_closed:
            return ZMESH_EVENT_CIRCUIT_CLOSED;
        case K::stream_opened:
            return ZMESH_EVENT_STREAM_OPENED;
        case K::stream_failed:
            return ZMESH_EVENT_STREAM_FAILED;
        default:
            return ZMESH_EVENT_OTHER;
    }
}

namespace {

Error fail(Code c, std::string message) {
    return {c, std::move(message)};
}

Error stopped_error() {
    return fail(Code::stopped, "the node is stopped");
}

Error blocking_on_node_thread(const char* what) {
    return fail(Code::would_block,
                std::string(what) + " would block the node's thread (called from a callback)");
}

Clock::time_point deadline_of(Timeout t) {
    if (t.count() < 0) return Clock::time_point::max();
    return Clock::now() + t;
}

// The library writes its log to stderr, warnings and errors only unless
// $ZMESH_LOG_LEVEL says otherwise (trace, debug, info, warn, error, off): an application's
// standard output is its own. An application that installed its own default spdlog logger
// keeps it.
void configure_logging() {
    static std::once_flag once;
    std::call_once(once, [] {
        bool ours = !spdlog::default_logger() || spdlog::default_logger()->name().empty();
        if (ours) spdlog::set_default_logger(spdlog::stderr_color_mt("zmesh"));
        const char* level = std::getenv("ZMESH_LOG_LEVEL");
        if (level) {
            spdlog::set_level(spdlog::level::from_str(level));
        } else if (ours) {
            spdlog::set_level(spdlog::level::warn);
        }
    });
}

}  // namespace

struct Runtime::Loop {
    asio::io_context io{1};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard{
        asio::make_work_guard(io)};
};

Runtime::Runtime() : loop_(std::make_unique<Loop>()) {
    configure_logging();
}

Runtime::~Runtime() {
    if (thread_.joinable()) {
        if (on_node_thread()) {
            // Destroyed from its own callback: it cannot join itself; the loop ends once
            // stop() below let go of the node.
            spdlog::error("zmesh api: node destroyed from its own thread");
            thread_.detach();
            return;
        }
        stop();
        thread_.join();
    }
}

Error Runtime::launch(std::function<Error()> build) {
    thread_ = std::thread([this] {
        for (;;) {
            try {
                loop_->io.run();
                return;
            } catch (const std::exception& e) {
                spdlog::error("zmesh api: a handler threw: {}", e.what());
            }
        }
    });
    thread_id_ = thread_.get_id();
    Error result;
    bool built = false;
    asio::post(loop_->io, [&] {
        try {
            result = build();
        } catch (const std::exception& e) {
            result = fail(Code::internal, e.what());
        }
        std::lock_guard lock(mutex_);
        built = true;
        state_ = result ? State::stopping : State::running;
        cv_.notify_all();
    });
    {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return built; });
    }
    if (result) {
        asio::post(loop_->io, [this] { shut_down_on_node_thread(); });
        thread_.join();
    }
    return result;
}

Error Runtime::start_client(const ClientSettings& settings, std::shared_ptr<Runtime>* out) {
    if (!out) return fail(Code::invalid, "no place for the node handle (out is null)");
    if (settings.bootstrap.empty()) return fail(Code::invalid, "no bootstrap line");
    if (settings.hops < 2 || settings.hops > 8) return fail(Code::invalid, "hops: 2 to 8");
    node::Options o;
    o.roles.client = true;
    bool loopback = true;
    for (const auto& line : settings.bootstrap) {
        auto b = node::parse_bootstrap(line);
        if (!b) return fail(Code::invalid, "not a bootstrap line: " + line);
        loopback = loopback && b->directory.ip.is_loopback();
        o.discovery.bootstrap.push_back(std::move(*b));
    }
    // A client dials out only: one UDP link on a free port, loopback when the network is.
    link::SocketAddress any;
    any.ip = loopback ? asio::ip::address(asio::ip::address_v4::loopback())
                      : asio::ip::address(asio::ip::address_v4::any());
    o.links.udp = any;
    o.links.order = {link::TransportKind::udp};
    o.circuit.hops = static_cast<std::size_t>(settings.hops);
    auto problems = node::problems(o);
    if (!problems.empty()) return fail(Code::invalid, problems.front());

    auto rt = std::shared_ptr<Runtime>(new Runtime());
    Error e = rt->launch([r = rt.get(), o = std::move(o)]() mutable -> Error {
        r->node_ = std::make_unique<node::Node>(r->loop_->io.get_executor(), std::move(o));
        std::string why;
        if (!r->node_->start(&why)) return fail(Code::network, "the node did not start: " + why);
        r->node_->subscribe([r](const node::Event& ev) {
            if (ev.kind == node::Event::Kind::circuit_built) {
                std::lock_guard lock(r->mutex_);
                if (r->ready_ == Ready::waiting) r->ready_ = Ready::yes;
                r->cv_.notify_all();
            }
            if (r->event_callback_) r->event_callback_(ev);
        });
        return ok();
    });
    if (e) return e;
    *out = std::move(rt);
    return ok();
}

Error Runtime::start_testnet(const node::TestnetOptions& options, std::shared_ptr<Runtime>* out) {
    if (!out) return fail(Code::invalid, "no place for the node handle (out is null)");
    auto problems = node::problems(options);
    if (!problems.empty()) return fail(Code::invalid, problems.front());
    if (options.relays > kMaxTestnetRelays) {
        return fail(Code::invalid, "relays: at most " + std::to_string(kMaxTestnetRelays));
    }
    auto rt = std::shared_ptr<Runtime>(new Runtime());
    Error e = rt->launch([r = rt.get(), options]() -> Error {
        r->testnet_ = std::make_unique<node::Testnet>(r->loop_->io.get_executor(), options);
        std::string why;
        if (!r->testnet_->start(&why)) {
            return fail(Code::network, "the testnet did not start: " + why);
        }
        r->testnet_->client().subscribe([r](const node::Event& ev) {
            if (r->event_callback_) r->event_callback_(ev);
        });
        r->testnet_->when_ready(
            [r](bool built) {
                std::lock_guard lock(r->mutex_);
                if (r->ready_ != Ready::waiting) return;
                r->ready_ = built ? Ready::yes : Ready::failed;
                if (!built) r->ready_error_ = "the testnet's client built no circuit";
                r->cv_.notify_all();
            },
            kReadyLimit);
        return ok();
    });
    if (e) return e;
    *out = std::move(rt);
    return ok();
}

node::Node* Runtime::client() {
    if (testnet_) return &testnet_->client();
    return node_.get();
}

bool Runtime::running() const {
    std::lock_guard lock(mutex_);
    return state_ == State::running;
}

Error Runtime::call(const std::function<void()>& f) {
    Error result;
    auto run = [&] {
        try {
            f();
        } catch (const std::exception& e) {
            result = fail(Code::internal, e.what());
        }
    };
    if (on_node_thread()) {
        {
            std::lock_guard lock(mutex_);
            if (shut_down_) return stopped_error();
        }
        run();
        return result;
    }
    // `done` lives on this stack: the handler runs before the waiter leaves, because
    // stop() queues its own handler after every call admitted while running.
    bool done = false;
    std::unique_lock lock(mutex_);
    if (state_ != State::running) return stopped_error();
    asio::post(loop_->io, [&] {
        run();
        std::lock_guard inner(mutex_);
        done = true;
        cv_.notify_all();
    });
    cv_.wait(lock, [&] { return done; });
    return result;
}

template <class Done>
bool Runtime::wait_until(Clock::time_point deadline, bool forever, Done done) {
    std::unique_lock lock(mutex_);
    auto over = [&] { return done() || shut_down_; };
    if (forever) {
        cv_.wait(lock, over);
    } else {
        cv_.wait_until(lock, deadline, over);
    }
    return done();
}

Error Runtime::wait_ready(Timeout timeout) {
    if (on_node_thread() && timeout.count() != 0) return blocking_on_node_thread("wait_ready");
    wait_until(deadline_of(timeout), timeout.count() < 0, [&] { return ready_ != Ready::waiting; });
    std::lock_guard lock(mutex_);
    if (state_ != State::running) return stopped_error();
    if (ready_ == Ready::yes) return ok();
    if (ready_ == Ready::failed) return fail(Code::network, ready_error_);
    return fail(Code::timeout, "no circuit built yet");
}

Error Runtime::stop() {
    if (on_node_thread()) return blocking_on_node_thread("stop");
    {
        std::lock_guard lock(mutex_);
        if (state_ == State::running) {
            state_ = State::stopping;
            cv_.notify_all();
            // `this` outlives the loop: the destructor stops and joins it.
            asio::post(loop_->io, [this] {
                auto end = [this] { shut_down_on_node_thread(); };
                if (testnet_) {
                    testnet_->stop(end);
                } else if (node_) {
                    node_->stop(end);
                } else {
                    end();
                }
            });
        }
    }
    bool clean = wait_until(Clock::now() + kStopGrace, false, [&] { return shut_down_; });
    if (!clean) {
        // The graceful end took too long: let go of the node anyway.
        spdlog::warn("zmesh api: the node did not stop within {} s", kStopGrace.count());
        asio::post(loop_->io, [this] { shut_down_on_node_thread(); });
        wait_until(Clock::time_point::max(), true, [&] { return shut_down_; });
    }
    std::vector<std::function<void()>> dropped;
    {
        std::lock_guard lock(mutex_);
        dropped.swap(dropped_);
    }
    return ok();
}

void Runtime::shut_down_on_node_thread() {
    {
        std::lock_guard lock(mutex_);
        if (shut_down_) return;
    }
    std::vector<std::shared_ptr<StreamState>> open;
    for (auto& w : streams_) {
        if (auto s = w.lock()) open.push_back(std::move(s));
    }
    streams_.clear();
    std::vector<std::function<void()>> dropped;
    for (auto& s : open) {
        if (s->handle) s->handle->close();
        s->handle.reset();
        dropped.push_back([f = std::move(s->callback)] {});
        s->callback = nullptr;
    }
    dropped.push_back([f = std::move(event_callback_)] {});
    event_callback_ = nullptr;
    testnet_.reset();
    node_.reset();
    {
        std::lock_guard lock(mutex_);
        dropped_ = std::move(dropped);
        for (auto& s : open) {
            if (!s->ended) s->reason = "the node stopped";
            s->ended = true;
            ++s->generation;
        }
        state_ = State::stopped;
        shut_down_ = true;
        cv_.notify_all();
    }
    loop_->guard.reset();
    loop_->io.stop();
}

Error Runtime::status(node::Status* out) {
    if (!out) return fail(Code::invalid, "no place for the status (out is null)");
    return call([&] { *out = client()->status(); });
}

Error Runtime::metrics(std::string* prometheus) {
    if (!prometheus) return fail(Code::invalid, "no place for the metrics (out is null)");
    return call([&] {
        *prometheus = control::to_prometheus(testnet_ ? testnet_->metrics() : node_->metrics());
    });
}

Error Runtime::set_event_callback(std::function<void(const node::Event&)> callback) {
    return call([&] { event_callback_ = std::move(callback); });
}

void Runtime::notify_stream(const std::weak_ptr<StreamState>& weak, StreamEvent e,
                            const std::string& reason) {
    auto s = weak.lock();
    if (!s) return;
    {
        std::lock_guard lock(mutex_);
        ++s->generation;
        if (e == StreamEvent::closed) {
            s->ended = true;
            if (s->reason.empty()) s->reason = reason;
        }
        cv_.notify_all();
    }
    if (s->callback) {
        auto callback = s->callback;  // it may clear itself
        try {
            callback(e);
        } catch (const std::exception& ex) {
            spdlog::error("zmesh api: a stream callback threw: {}", ex.what());
        }
    }
}

void Runtime::watch(const std::shared_ptr<StreamState>& s) {
    std::weak_ptr<StreamState> weak = s;
    s->handle->on_readable([this, weak] { notify_stream(weak, StreamEvent::readable, {}); });
    s->handle->on_writable([this, weak] { notify_stream(weak, StreamEvent::writable, {}); });
    s->handle->on_closed([this, weak](const std::string& reason) {
        notify_stream(weak, StreamEvent::closed, reason);
    });
    std::erase_if(streams_, [](const auto& w) { return w.expired(); });
    streams_.push_back(s);
}

Error Runtime::open_stream(const std::string& host, std::uint16_t port,
                           const std::string& isolation, Timeout timeout,
                           std::shared_ptr<StreamState>* out) {
    if (!out) return fail(Code::invalid, "no place for the stream handle (out is null)");
    if (host.empty() || host.size() > kMaxHost) return fail(Code::invalid, "host: 1 to 255 bytes");
    if (host.find('\0') != std::string::npos) return fail(Code::invalid, "host: contains NUL");
    if (port == 0) return fail(Code::invalid, "port: 1 to 65535");
    if (on_node_thread()) return blocking_on_node_thread("open_stream");

    // Shared with the open callback, which may come after this call gave up.
    struct Opening {
        bool done = false;
        bool abandoned = false;
        std::shared_ptr<StreamState> stream;
        std::string error;
    };
    auto opening = std::make_shared<Opening>();
    Runtime* self = this;  // the node, and so this callback, ends before the runtime
    Error posted = call([&] {
        client()->open_stream(
            host, port, isolation,
            [self, opening](std::shared_ptr<client::StreamHandle> h, std::string error) {
                bool abandoned;
                {
                    std::lock_guard lock(self->mutex_);
                    abandoned = opening->abandoned;
                }
                std::shared_ptr<StreamState> s;
                if (h && abandoned) h->close();
                if (h && !abandoned) {
                    s = std::make_shared<StreamState>();
                    s->handle = std::move(h);
                    self->watch(s);
                }
                std::lock_guard lock(self->mutex_);
                opening->done = true;
                opening->stream = std::move(s);
                opening->error = error.empty() && !opening->stream ? "no stream" : error;
                self->cv_.notify_all();
            });
    });
    if (posted) return posted;
    wait_until(deadline_of(timeout), timeout.count() < 0, [&] { return opening->done; });
    std::lock_guard lock(mutex_);
    if (!opening->done) {
        opening->abandoned = true;  // the callback closes a stream that comes later
        if (shut_down_) return stopped_error();
        return fail(Code::timeout, "the stream did not open in time");
    }
    if (!opening->stream) return fail(Code::network, "the stream did not open: " + opening->error);
    *out = std::move(opening->stream);
    return ok();
}

Error Runtime::read(const std::shared_ptr<StreamState>& s, void* buf, std::size_t size,
                    Timeout timeout, std::size_t* got) {
    if (!s) return fail(Code::invalid, "no stream (null handle)");
    if (!got) return fail(Code::invalid, "no place for the count (got is null)");
    *got = 0;
    if (!buf && size > 0) return fail(Code::invalid, "no buffer (buf is null)");
    if (size == 0) return fail(Code::invalid, "an empty buffer cannot tell data from the end");
    if (on_node_thread() && timeout.count() != 0) return blocking_on_node_thread("read");
    auto deadline = deadline_of(timeout);
    for (;;) {
        std::size_t n = 0;
        bool eof = false;
        bool gone = false;
        std::uint64_t seen = 0;
        Error e = call([&] {
            if (s->handle) {
                n = s->handle->read(MutByteView(static_cast<std::uint8_t*>(buf), size));
                eof = n == 0 && s->handle->at_eof();
            }
            std::lock_guard lock(mutex_);
            gone = !s->handle || s->closed_here;
            seen = s->generation;
        });
        if (e) return e;
        if (n > 0) {
            *got = n;
            return ok();
        }
        if (eof) return ok();
        {
            std::lock_guard lock(mutex_);
            if (s->closed_here) return fail(Code::closed, "the stream was closed by this side");
            // The stream changed after our look (it ended cleanly just then, say: the end
            // is then EOF, not an error): look again.
            if (s->generation != seen) continue;
            if (gone || s->ended) return fail(Code::closed, "the stream ended: " + s->reason);
        }
        if (timeout.count() == 0) return fail(Code::timeout, "no bytes to read yet");
        if (!wait_until(deadline, timeout.count() < 0, [&] { return s->generation != seen; })) {
            if (running()) return fail(Code::timeout, "no bytes came in time");
            return stopped_error();
        }
    }
}

Error Runtime::write(const std::shared_ptr<StreamState>& s, const void* data, std::size_t size,
                     Timeout timeout, std::size_t* written) {
    std::size_t ignored = 0;
    if (!written) written = &ignored;
    *written = 0;
    if (!s) return fail(Code::invalid, "no stream (null handle)");
    if (!data && size > 0) return fail(Code::invalid, "no data (data is null)");
    if (size > kMaxWrite) {
        return fail(Code::too_big, "a write takes at most " + std::to_string(kMaxWrite) + " bytes");
    }
    if (on_node_thread() && timeout.count() != 0) return blocking_on_node_thread("write");
    auto deadline = deadline_of(timeout);
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    for (;;) {
        bool open = false;
        std::uint64_t seen = 0;
        Error e = call([&] {
            if (s->handle && s->handle->is_open() && *written < size) {
                *written += s->handle->write(ByteView(bytes + *written, size - *written));
            }
            open = s->handle && s->handle->is_open();
            std::lock_guard lock(mutex_);
            open = open && !s->closed_here;
            seen = s->generation;
        });
        if (e) return e;
        if (*written == size) return ok();
        if (!open) {
            std::lock_guard lock(mutex_);
            return fail(Code::closed, s->closed_here ? "the stream was closed by this side"
                                                     : "the stream ended: " + s->reason);
        }
        if (timeout.count() == 0) return fail(Code::timeout, "the send buffer is full");
        if (!wait_until(deadline, timeout.count() < 0, [&] { return s->generation != seen; })) {
            if (running()) return fail(Code::timeout, "the send buffer stayed full");
            return stopped_error();
        }
    }
}

Error Runtime::finish(const std::shared_ptr<StreamState>& s) {
    if (!s) return fail(Code::invalid, "no stream (null handle)");
    bool open = false;
    Error e = call([&] {
        open = s->handle && s->handle->is_open();
        if (open) s->handle->finish();
    });
    if (e) return e;
    if (!open) return fail(Code::closed, "the stream is not open");
    return ok();
}

Error Runtime::close(const std::shared_ptr<StreamState>& s) {
    if (!s) return fail(Code::invalid, "no stream (null handle)");
    {
        std::lock_guard lock(mutex_);
        if (s->closed_here || shut_down_) return ok();  // idempotent
    }
    return call([&] {
        {
            std::lock_guard lock(mutex_);
            s->closed_here = true;
            ++s->generation;
            cv_.notify_all();
        }
        if (s->handle) s->handle->close();
    });
}

void Runtime::release(const std::shared_ptr<StreamState>& s) {
    if (!s) return;
    // The handle belongs to the node thread: it is let go of there, never by the
    // application's thread that drops the last reference.
    Error e = call([&] {
        s->callback = nullptr;
        if (s->handle) s->handle->close();
        s->handle.reset();
        std::lock_guard lock(mutex_);
        s->closed_here = true;
    });
    // Stopping: the node thread lets go of every handle when it shuts down.
    if (e) wait_until(Clock::time_point::max(), true, [&] { return shut_down_; });
}

bool Runtime::is_open(const std::shared_ptr<StreamState>& s) {
    if (!s) return false;
    bool open = false;
    if (call([&] { open = s->handle && s->handle->is_open(); })) return false;
    std::lock_guard lock(mutex_);
    return open && !s->closed_here;
}

Error Runtime::set_stream_callback(const std::shared_ptr<StreamState>& s,
                                   std::function<void(StreamEvent)> callback) {
    if (!s) return fail(Code::invalid, "no stream (null handle)");
    return call([&] { s->callback = std::move(callback); });
}

}  // namespace zmesh::api
