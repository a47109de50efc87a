// The C++ API (include/zmesh/zmesh.hpp) over Runtime: shared handles, Error values thrown
// as zmesh::Error.
#include "zmesh/api/runtime.hpp"
#include "zmesh/zmesh.hpp"

namespace zmesh {

namespace {

void check(const api::Error& e) {
    if (e) throw Error(static_cast<int>(e.code), e.message);
}

[[noreturn]] void empty(const char* what) {
    throw Error(ZMESH_EINVAL, std::string("no ") + what + " (empty handle)");
}

}  // namespace

Error::Error(int code, const std::string& message) : std::runtime_error(message), code_(code) {}

const char* version() noexcept {
    return node::kVersion;
}

struct Stream::Impl {
    std::shared_ptr<api::Runtime> runtime;
    std::shared_ptr<api::StreamState> state;
    Impl(std::shared_ptr<api::Runtime> r, std::shared_ptr<api::StreamState> s)
        : runtime(std::move(r)), state(std::move(s)) {}
    Impl(const Impl&) = delete;  // a copy's end would close the stream under the original
    Impl& operator=(const Impl&) = delete;
    ~Impl() {
        // The last handle: the stream ends (errors here have nobody to go to).
        runtime->release(state);
    }
};

Stream::Stream() = default;
Stream::Stream(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Stream::~Stream() = default;
Stream::Stream(const Stream&) = default;
Stream& Stream::operator=(const Stream&) = default;
Stream::Stream(Stream&&) noexcept = default;
Stream& Stream::operator=(Stream&&) noexcept = default;
Stream::operator bool() const noexcept {
    return impl_ != nullptr;
}

std::size_t Stream::read(void* buf, std::size_t size, Timeout timeout) {
    if (!impl_) empty("stream");
    std::size_t got = 0;
    check(impl_->runtime->read(impl_->state, buf, size, timeout, &got));
    return got;
}

std::string Stream::read_all(Timeout timeout, std::size_t limit) {
    if (!impl_) empty("stream");
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string all;
    char buf[16384];
    for (;;) {
        Timeout left = timeout;
        if (timeout.count() > 0) {
            left = std::chrono::duration_cast<Timeout>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) throw Error(ZMESH_ETIMEOUT, "the stream did not end in time");
        }
        std::size_t n = read(buf, sizeof buf, left);
        if (n == 0) return all;
        if (all.size() + n > limit)
            throw Error(ZMESH_ETOOBIG, "the stream is longer than the limit");
        all.append(buf, n);
    }
}

void Stream::write(std::string_view data, Timeout timeout) {
    write(data.data(), data.size(), timeout);
}

void Stream::write(const void* data, std::size_t size, Timeout timeout) {
    if (!impl_) empty("stream");
    check(impl_->runtime->write(impl_->state, data, size, timeout, nullptr));
}

void Stream::finish() {
    if (!impl_) empty("stream");
    check(impl_->runtime->finish(impl_->state));
}

void Stream::close() {
    if (!impl_) empty("stream");
    check(impl_->runtime->close(impl_->state));
}

bool Stream::is_open() const {
    return impl_ && impl_->runtime->is_open(impl_->state);
}

void Stream::on_event(std::function<void(zmesh_stream_event)> handler) {
    if (!impl_) empty("stream");
    std::function<void(api::StreamEvent)> f;
    if (handler) {
        f = [h = std::move(handler)](api::StreamEvent e) { h(static_cast<zmesh_stream_event>(e)); };
    }
    check(impl_->runtime->set_stream_callback(impl_->state, std::move(f)));
}

struct Node::Impl {
    std::shared_ptr<api::Runtime> runtime;
    explicit Impl(std::shared_ptr<api::Runtime> r) : runtime(std::move(r)) {}
    Impl(const Impl&) = delete;  // a copy's end would stop the node under the original
    Impl& operator=(const Impl&) = delete;
    ~Impl() { runtime->stop(); }  // the last Node handle stops the node
};

Node::Node() = default;
Node::~Node() = default;
Node::Node(const Node&) = default;
Node& Node::operator=(const Node&) = default;
Node::Node(Node&&) noexcept = default;
Node& Node::operator=(Node&&) noexcept = default;
Node::operator bool() const noexcept {
    return impl_ != nullptr;
}

Node Node::start_testnet(const TestnetOptions& options) {
    node::TestnetOptions o;
    o.relays = options.relays;
    o.exits = options.exits;
    o.hops = options.hops;
    std::shared_ptr<api::Runtime> rt;
    check(api::Runtime::start_testnet(o, &rt));
    Node n;
    n.impl_ = std::make_shared<Impl>(std::move(rt));
    return n;
}

Node Node::start_client(const ClientOptions& options) {
    api::Runtime::ClientSettings settings;
    settings.bootstrap = options.bootstrap;
    settings.hops = options.hops;
    std::shared_ptr<api::Runtime> rt;
    check(api::Runtime::start_client(settings, &rt));
    Node n;
    n.impl_ = std::make_shared<Impl>(std::move(rt));
    return n;
}

void Node::wait_ready(Timeout timeout) {
    if (!impl_) empty("node");
    check(impl_->runtime->wait_ready(timeout));
}

Stream Node::open_stream(const std::string& host, std::uint16_t port, Timeout timeout,
                         const std::string& isolation) {
    if (!impl_) empty("node");
    std::shared_ptr<api::StreamState> state;
    check(impl_->runtime->open_stream(host, port, isolation, timeout, &state));
    return Stream(std::make_shared<Stream::Impl>(impl_->runtime, std::move(state)));
}

NodeStatus Node::status() const {
    if (!impl_) empty("node");
    node::Status s;
    check(impl_->runtime->status(&s));
    NodeStatus out;
    out.running = impl_->runtime->running();
    out.version = s.version;
    out.node_id = s.node_id;
    api::copy_counts(s, out);
    return out;
}

std::string Node::metrics() const {
    if (!impl_) empty("node");
    std::string text;
    check(impl_->runtime->metrics(&text));
    return text;
}

void Node::on_event(std::function<void(const Event&)> handler) {
    if (!impl_) empty("node");
    std::function<void(const node::Event&)> f;
    if (handler) {
        f = [h = std::move(handler)](const node::Event& ev) {
            h(Event{api::event_kind(ev.kind), ev.circuit, ev.detail});
        };
    }
    check(impl_->runtime->set_event_callback(std::move(f)));
}

void Node::stop() {
    if (!impl_) empty("node");
    check(impl_->runtime->stop());
}

bool Node::running() const {
    return impl_ && impl_->runtime->running();
}

}  // namespace zmesh
