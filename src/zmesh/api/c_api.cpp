// The C API (include/zmesh/zmesh.h) over Runtime: boxes of shared pointers as handles, a
// thread-local message for the last error, nothing thrown across the boundary.
#include <cstdlib>
#include <cstring>
#include <new>

#include "zmesh/api/runtime.hpp"
#include "zmesh/zmesh.h"

struct zmesh_node {
    std::shared_ptr<zmesh::api::Runtime> runtime;
};

struct zmesh_stream {
    std::shared_ptr<zmesh::api::Runtime> runtime;  // keeps the loop alive for the stream
    std::shared_ptr<zmesh::api::StreamState> state;
};

namespace {

using zmesh::api::Code;
using zmesh::api::Error;
using zmesh::api::Timeout;

thread_local std::string last_error;

zmesh_result report(const Error& e) {
    last_error = e ? e.message : std::string();
    return static_cast<zmesh_result>(e.code);
}

zmesh_result invalid(const char* what) {
    return report({Code::invalid, what});
}

// Every entry point: exceptions (allocation failures, bugs) become codes.
template <class F>
zmesh_result guarded(F&& f) {
    try {
        return f();
    } catch (const std::bad_alloc&) {
        return report({Code::internal, "out of memory"});
    } catch (const std::exception& e) {
        return report({Code::internal, e.what()});
    }
}

void copy_text(char* out, std::size_t size, const std::string& text) {
    std::size_t n = std::min(size - 1, text.size());
    std::memcpy(out, text.data(), n);
    out[n] = '\0';
}

}  // namespace

extern "C" {

const char* zmesh_version(void) {
    return zmesh::node::kVersion;
}

const char* zmesh_last_error(void) {
    return last_error.c_str();
}

const char* zmesh_strerror(int code) {
    return zmesh::api::code_name(static_cast<Code>(code));
}

void zmesh_testnet_options_init(zmesh_testnet_options* options) {
    if (!options) return;
    zmesh::node::TestnetOptions defaults;
    options->relays = defaults.relays;
    options->exits = defaults.exits;
    options->hops = defaults.hops;
}

zmesh_result zmesh_testnet_start(const zmesh_testnet_options* options, zmesh_node** out) {
    return guarded([&] {
        if (!out) return invalid("no place for the node handle (out is null)");
        *out = nullptr;
        zmesh::node::TestnetOptions settings;
        if (options) {
            settings.relays = options->relays;
            settings.exits = options->exits;
            settings.hops = options->hops;
        }
        std::shared_ptr<zmesh::api::Runtime> rt;
        if (Error e = zmesh::api::Runtime::start_testnet(settings, &rt)) {
            return report(e);
        }
        *out = new zmesh_node{std::move(rt)};
        return report({});
    });
}

zmesh_result zmesh_client_start(const char* const* bootstrap_lines, size_t count, int hops,
                                zmesh_node** out) {
    return guarded([&] {
        if (!out) return invalid("no place for the node handle (out is null)");
        *out = nullptr;
        if (!bootstrap_lines && count > 0) return invalid("no bootstrap lines (null)");
        zmesh::api::Runtime::ClientSettings settings;
        if (hops != 0) settings.hops = hops;
        for (size_t i = 0; i < count; ++i) {
            if (!bootstrap_lines[i]) return invalid("a bootstrap line is null");
            settings.bootstrap.emplace_back(bootstrap_lines[i]);
        }
        std::shared_ptr<zmesh::api::Runtime> rt;
        if (Error e = zmesh::api::Runtime::start_client(settings, &rt)) return report(e);
        *out = new zmesh_node{std::move(rt)};
        return report({});
    });
}

zmesh_result zmesh_node_wait_ready(zmesh_node* node, int timeout_ms) {
    return guarded([&] {
        if (!node) return invalid("no node (null handle)");
        return report(node->runtime->wait_ready(Timeout(timeout_ms)));
    });
}

zmesh_result zmesh_node_stop(zmesh_node* node) {
    return guarded([&] {
        if (!node) return invalid("no node (null handle)");
        return report(node->runtime->stop());
    });
}

void zmesh_node_free(zmesh_node* node) {
    if (!node) return;
    if (node->runtime->on_node_thread()) {
        // It cannot stop itself from its own thread: leave it running, say why.
        report({Code::would_block, "zmesh_node_free called from a callback: node left running"});
        return;
    }
    guarded([&] {
        node->runtime->stop();
        return report({});
    });
    delete node;
}

zmesh_result zmesh_node_status(zmesh_node* node, zmesh_status* out) {
    return guarded([&] {
        if (!node) return invalid("no node (null handle)");
        if (!out) return invalid("no place for the status (out is null)");
        std::memset(out, 0, sizeof *out);
        zmesh::node::Status s;
        if (Error e = node->runtime->status(&s)) return report(e);
        out->running = node->runtime->running() ? 1 : 0;
        copy_text(out->version, sizeof out->version, s.version);
        copy_text(out->node_id, sizeof out->node_id, s.node_id);
        zmesh::api::copy_counts(s, *out);
        return report({});
    });
}

zmesh_result zmesh_node_metrics(zmesh_node* node, char** out) {
    return guarded([&] {
        if (!node) return invalid("no node (null handle)");
        if (!out) return invalid("no place for the metrics (out is null)");
        *out = nullptr;
        std::string text;
        if (Error e = node->runtime->metrics(&text)) return report(e);
        char* copy = static_cast<char*>(std::malloc(text.size() + 1));
        if (!copy) return report({Code::internal, "out of memory"});
        std::memcpy(copy, text.c_str(), text.size() + 1);
        *out = copy;
        return report({});
    });
}

void zmesh_free(void* p) {
    std::free(p);
}

zmesh_result zmesh_node_set_event_callback(zmesh_node* node, zmesh_event_callback callback,
                                           void* user) {
    return guarded([&] {
        if (!node) return invalid("no node (null handle)");
        std::function<void(const zmesh::node::Event&)> f;
        if (callback) {
            f = [callback, user](const zmesh::node::Event& ev) {
                callback(user, zmesh::api::event_kind(ev.kind), ev.circuit, ev.detail.c_str());
            };
        }
        return report(node->runtime->set_event_callback(std::move(f)));
    });
}

zmesh_result zmesh_stream_open(zmesh_node* node, const char* host, uint16_t port,
                               const char* isolation, int timeout_ms, zmesh_stream** out) {
    return guarded([&] {
        if (!out) return invalid("no place for the stream handle (out is null)");
        *out = nullptr;
        if (!node) return invalid("no node (null handle)");
        if (!host) return invalid("no host (null)");
        if (std::strlen(host) > zmesh::api::kMaxHost) return invalid("host: 1 to 255 bytes");
        std::shared_ptr<zmesh::api::StreamState> state;
        if (Error e = node->runtime->open_stream(host, port, isolation ? isolation : "",
                                                 Timeout(timeout_ms), &state)) {
            return report(e);
        }
        *out = new zmesh_stream{node->runtime, std::move(state)};
        return report({});
    });
}

zmesh_result zmesh_stream_read(zmesh_stream* stream, void* buf, size_t size, int timeout_ms,
                               size_t* got) {
    return guarded([&] {
        if (got) *got = 0;
        if (!stream) return invalid("no stream (null handle)");
        return report(stream->runtime->read(stream->state, buf, size, Timeout(timeout_ms), got));
    });
}

zmesh_result zmesh_stream_write(zmesh_stream* stream, const void* data, size_t size, int timeout_ms,
                                size_t* written) {
    return guarded([&] {
        if (written) *written = 0;
        if (!stream) return invalid("no stream (null handle)");
        return report(
            stream->runtime->write(stream->state, data, size, Timeout(timeout_ms), written));
    });
}

zmesh_result zmesh_stream_finish(zmesh_stream* stream) {
    return guarded([&] {
        if (!stream) return invalid("no stream (null handle)");
        return report(stream->runtime->finish(stream->state));
    });
}

zmesh_result zmesh_stream_close(zmesh_stream* stream) {
    return guarded([&] {
        if (!stream) return invalid("no stream (null handle)");
        return report(stream->runtime->close(stream->state));
    });
}

int zmesh_stream_is_open(zmesh_stream* stream) {
    if (!stream) return 0;
    try {
        return stream->runtime->is_open(stream->state) ? 1 : 0;
    } catch (const std::exception&) {
        return 0;
    }
}

zmesh_result zmesh_stream_set_callback(zmesh_stream* stream, zmesh_stream_callback callback,
                                       void* user) {
    return guarded([&] {
        if (!stream) return invalid("no stream (null handle)");
        std::function<void(zmesh::api::StreamEvent)> f;
        if (callback) {
            f = [callback, user, stream](zmesh::api::StreamEvent e) {
                callback(user, stream, static_cast<zmesh_stream_event>(e));
            };
        }
        return report(stream->runtime->set_stream_callback(stream->state, std::move(f)));
    });
}

void zmesh_stream_free(zmesh_stream* stream) {
    if (!stream) return;
    guarded([&] {
        // The callback names this handle: it must not run once the handle is gone.
        stream->runtime->release(stream->state);
        return report({});
    });
    delete stream;
}

}  // extern "C"
