#include "zmesh/stream/driver.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <span>
#include <tuple>
#include <vector>
#include "zmesh/core/clock.hpp"

namespace zmesh::stream {

using asio::ip::tcp;

namespace {
constexpr std::size_t kReadChunk = 64 * 1024;
}

// Moves bytes both ways between one TCP socket and one stream. A pump can be parked
// (its stream is between circuits): it then neither reads nor closes the socket, keeps
// what a read in progress brought, and starts again when rebound to a new driver.
class SocketPump : public std::enable_shared_from_this<SocketPump> {
  public:
    SocketPump(std::weak_ptr<MuxDriver> driver, std::uint16_t id, tcp::socket socket)
        : driver_(std::move(driver)),
          id_(id),
          socket_(std::move(socket)),
          wake_(socket_.get_executor()) {}

    void start() {
        auto self = shared_from_this();
        asio::co_spawn(socket_.get_executor(), read_loop(), [self](std::exception_ptr) {});
    }

    // Called after the mux made progress: more send space, or bytes to deliver.
    void poke() {
        wake_.cancel();
        if (!writing_ && (!parked_ || ended_)) {
            writing_ = true;
            auto self = shared_from_this();
            asio::co_spawn(socket_.get_executor(), write_loop(), [self](std::exception_ptr) {});
        }
    }

    // The stream ended. Normally the writer flushes what is left and closes with a FIN; an
    // abnormal end (circuit lost, aborted, timed out) resets the connection instead, so the
    // application sees an error rather than a clean, truncated end.
    // A stream that already ended cleanly stays clean when its circuit closes afterwards
    // (its last bytes may still be on their way into the socket).
    void finish(bool abortive) {
        abort_ = abort_ || (abortive && !ended_);
        ended_ = true;
        poke();
    }

    void park() {
        parked_ = true;
        driver_.reset();
        wake_.cancel();
    }

    // Continues as stream `id` of `driver`; the reader first passes on what arrived
    // while parked.
    void rebind(const std::shared_ptr<MuxDriver>& driver, std::uint16_t id) {
        driver_ = driver;
        id_ = id;
        parked_ = false;
        poke();
    }

  private:
    // Reads wait for the socket to be readable with no buffer of their own, then read into
    // one shared by the thread: an idle stream holds no read buffer (10,000 idle streams
    // held 640 MB of them).
    static std::span<std::uint8_t> scratch() {
        static thread_local std::vector<std::uint8_t> buf(kReadChunk);
        return buf;
    }

    asio::awaitable<void> read_loop() {
        boost::system::error_code nb;
        socket_.non_blocking(true, nb);
        while (!ended_) {
            if (parked_) {
                wake_.expires_after(std::chrono::hours(1));
                co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
                continue;
            }
            auto d = driver_.lock();
            if (!d) break;
            if (!held_.empty()) {
                std::size_t n = d->mux_.write(id_, held_);
                held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(n));
                d->service_soon();
            }
            std::size_t space = d->mux_.send_space(id_);
            if (space == 0 || !held_.empty()) {
                // Back-pressure: wait for the stream to drain before reading more (the
                // driver wakes us after a pass that made room; the timer is a fallback).
                d->space_waiters_.insert(id_);
                wake_.expires_after(std::chrono::milliseconds(50));
                d.reset();
                co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
                continue;
            }
            boost::system::error_code ec;
            std::size_t n = 0;
            if (held_error_) {
                ec = *held_error_;
            } else {
                // First without waiting (a busy socket has bytes: no trip through the
                // reactor), then, when it has none, until it is readable.
                auto buf = scratch();
                n = socket_.read_some(asio::buffer(buf.data(), std::min(space, buf.size())), ec);
                if (ec == asio::error::would_block || ec == asio::error::try_again) {
                    d.reset();
                    auto [wait_ec] = co_await socket_.async_wait(
                        tcp::socket::wait_read, asio::as_tuple(asio::use_awaitable));
                    if (ended_) break;
                    if (!wait_ec) continue;
                    ec = wait_ec;
                    n = 0;
                }
                if (parked_) {
                    held_.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
                    if (ec) held_error_ = ec;
                    continue;
                }
                d = driver_.lock();
                if (!d) break;
            }
            if (ec) {
                // EOF: no more bytes from this side. Anything else: the stream is aborted.
                if (ec == asio::error::eof) {
                    d->mux_.shutdown(id_);
                    d->service_soon();
                } else {
                    MuxOutput out;
                    d->mux_.abort(id_, EndReason::aborted, out);
                    d->handle(out);
                }
                break;
            }
            d->mux_.write(id_, {scratch().data(), n});
            d->service_soon();
            d.reset();
            // Let the cells and the other streams in before reading again: a busy socket
            // would otherwise be read until the stream's send buffer (4 MiB) is full.
            co_await asio::post(socket_.get_executor(), asio::use_awaitable);
        }
    }

    asio::awaitable<void> write_loop() {
        std::vector<std::uint8_t> buf;  // what one write holds, no more
        while (!abort_ && !parked_) {
            auto d = driver_.lock();
            if (!d) break;
            std::size_t n = d->mux_.read(id_, scratch());
            if (n == 0) break;
            buf.assign(scratch().begin(), scratch().begin() + static_cast<std::ptrdiff_t>(n));
            d->service_soon();  // the read reopened the receive window
            d.reset();
            auto [ec, written] = co_await asio::async_write(socket_, asio::buffer(buf.data(), n),
                                                            asio::as_tuple(asio::use_awaitable));
            if (ec) {
                auto dd = driver_.lock();
                if (dd && !parked_) {
                    MuxOutput out;
                    dd->mux_.abort(id_, EndReason::aborted, out);
                    dd->handle(out);
                } else {
                    held_error_ = ec;  // the stream is aborted once it lands somewhere
                }
                break;
            }
        }
        writing_ = false;
        if (parked_ && !ended_) co_return;  // the socket waits for the stream's next circuit
        auto d = driver_.lock();
        bool gone = !d || !d->mux_.contains(id_);
        if (ended_ || gone) {
            boost::system::error_code ec;
            if (abort_)
                socket_.set_option(tcp::socket::linger(true, 0), ec);  // RST
            else
                socket_.shutdown(tcp::socket::shutdown_both, ec);
            socket_.close(ec);
            if (d) d->pumps_.erase(id_);
        } else if (d && d->mux_.peer_finished(id_)) {
            boost::system::error_code ec;
            socket_.shutdown(tcp::socket::shutdown_send, ec);  // pass the FIN on
        }
    }

    std::weak_ptr<MuxDriver> driver_;
    std::uint16_t id_;
    tcp::socket socket_;
    zmesh::Timer wake_;
    bool writing_ = false;
    bool ended_ = false;
    bool abort_ = false;
    bool parked_ = false;
    Bytes held_;  // read while parked
    std::optional<boost::system::error_code> held_error_;
};

MovedStream::MovedStream(DetachedStream s, std::shared_ptr<SocketPump> p)
    : state(std::move(s)), pump(std::move(p)) {}
MovedStream::MovedStream(MovedStream&&) noexcept = default;
MovedStream& MovedStream::operator=(MovedStream&&) noexcept = default;
MovedStream::~MovedStream() = default;

void MovedStream::drop() {
    if (pump) pump->finish(true);
    pump.reset();
    state.stream.reset();
}

MuxDriver::MuxDriver(asio::any_io_executor ex, StreamMux::Side side, Sender send, StreamConfig cfg)
    : ex_(ex), mux_(side, cfg), send_(std::move(send)), timer_(ex) {}

MuxDriver::~MuxDriver() {
    timer_.cancel();
}

// The pass over the streams waits until the handler that delivered returns: the cells of
// one received batch are taken together, and what they release leaves in one burst (and
// reaches a socket in one write).
void MuxDriver::deliver(const circuit::RelayMessage& m) {
    MuxOutput out;
    mux_.on_message(m, Clock::now(), out);
    handle(out);
    service_soon();
}

void MuxDriver::service() {
    if (closed_) return;
    if (servicing_) {
        // Called from an event handler of this pass (an application that read and so
        // reopened the window): one more pass follows, so the update is not left waiting.
        again_ = true;
        return;
    }
    servicing_ = true;
    do {
        again_ = false;
        feed_sources();
        MuxOutput out;
        mux_.poll(Clock::now(), out);
        handle(out);
    } while (again_ && !closed_);
    servicing_ = false;
    for (auto it = space_waiters_.begin(); it != space_waiters_.end();) {
        auto p = pumps_.find(*it);
        if (p == pumps_.end()) {
            it = space_waiters_.erase(it);
        } else if (mux_.send_space(*it) > 0 || !mux_.contains(*it)) {
            auto pump = p->second;
            it = space_waiters_.erase(it);
            pump->poke();
        } else {
            ++it;
        }
    }
    if (serviced_) serviced_();
    arm_timer();
}

void MuxDriver::service_soon() {
    if (service_posted_ || closed_) return;
    service_posted_ = true;
    asio::post(timer_.get_executor(), [weak = weak_from_this()] {
        if (auto d = weak.lock()) {
            d->service_posted_ = false;
            d->service();
        }
    });
}

void MuxDriver::handle(MuxOutput& out) {
    for (const auto& m : out.messages) (void)send_(m);
    auto events = std::move(out.events);
    out.clear();
    for (const auto& e : events) {
        if (e.kind == MuxEvent::Kind::readable || e.kind == MuxEvent::Kind::ended) {
            auto it = pumps_.find(e.stream);
            if (it != pumps_.end()) {
                auto pump = it->second;
                if (e.kind == MuxEvent::Kind::ended)
                    pump->finish(e.reason != EndReason::done);
                else
                    pump->poke();
            }
        }
        if (handler_) handler_(e);
    }
}

// One timer for the mux's earliest deadline; left alone when that did not change (most
// passes only move bytes), cancelled when no stream waits for a time.
void MuxDriver::arm_timer() {
    auto next = mux_.next_deadline();
    if (next == armed_) return;
    armed_ = next;
    if (!next) {
        timer_.cancel();
        return;
    }
    timer_.expires_at(*next);
    std::weak_ptr<MuxDriver> weak = weak_from_this();
    timer_.async_wait([weak](boost::system::error_code ec) {
        if (ec) return;
        if (auto d = weak.lock()) {
            d->armed_.reset();
            d->service();
        }
    });
}

void MuxDriver::close_all(EndReason reason) {
    closed_ = true;
    armed_.reset();
    timer_.cancel();
    std::vector<std::uint16_t> ids;
    for (const auto& [id, pump] : pumps_) ids.push_back(id);
    for (auto& pump : snapshot()) pump->finish(reason != EndReason::done);
    // Tell the owner about every stream that ends with the circuit.
    if (handler_)
        for (auto id : ids) handler_({MuxEvent::Kind::ended, id, {}, reason});
}

// Pokes can start a writer at once, which may erase its pump: iterate over a copy.
std::vector<std::shared_ptr<SocketPump>> MuxDriver::snapshot() const {
    std::vector<std::shared_ptr<SocketPump>> out;
    out.reserve(pumps_.size());
    for (const auto& [id, pump] : pumps_) out.push_back(pump);
    return out;
}

std::optional<MovedStream> MuxDriver::detach(std::uint16_t id) {
    auto state = mux_.detach(id);
    if (!state) return std::nullopt;
    std::shared_ptr<SocketPump> pump;
    if (auto it = pumps_.find(id); it != pumps_.end()) {
        pump = it->second;
        pumps_.erase(it);
        pump->park();
    }
    return MovedStream(std::move(*state), std::move(pump));
}

Result<std::uint16_t> MuxDriver::reattach(MovedStream s) {
    MuxOutput out;
    auto id = mux_.reattach(std::move(s.state), out);
    if (!id) {
        s.drop();
        return id.error();
    }
    if (s.pump) {
        pumps_[*id] = s.pump;
        s.pump->rebind(shared_from_this(), *id);
    }
    handle(out);
    return *id;
}

Status MuxDriver::adopt(std::uint16_t id, MovedStream s, ByteView peer_state) {
    MuxOutput out;
    if (auto st = mux_.adopt(id, std::move(s.state), peer_state, Clock::now(), out); !st) {
        s.drop();
        return st;
    }
    if (s.pump) {
        pumps_[id] = s.pump;
        s.pump->rebind(shared_from_this(), id);
    }
    handle(out);
    service();
    return {};
}

void MuxDriver::serve(std::uint16_t id, Bytes data) {
    sources_[id] = Source{std::move(data), 0};
    service();
}

void MuxDriver::feed_sources() {
    std::vector<std::uint8_t> scratch(kReadChunk);
    for (auto it = sources_.begin(); it != sources_.end();) {
        auto& [id, src] = *it;
        if (!mux_.contains(id)) {
            it = sources_.erase(it);
            continue;
        }
        while (mux_.read(id, scratch) > 0) {
        }
        if (src.sent < src.data.size())
            src.sent += mux_.write(id, ByteView{src.data}.subspan(src.sent));
        if (src.sent == src.data.size()) {
            mux_.shutdown(id);
            src.data.clear();
            src.sent = 0;
        }
        ++it;
    }
}

void MuxDriver::attach(std::uint16_t id, tcp::socket socket) {
    auto pump = std::make_shared<SocketPump>(weak_from_this(), id, std::move(socket));
    pumps_[id] = pump;
    pump->start();
    pump->poke();
}

}  // namespace zmesh::stream
