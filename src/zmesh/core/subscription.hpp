#pragma once
// Subscriptions: a publisher hands each event to every subscriber, nobody replaces anyone.
// Subscribing returns a move-only Subscription token; dropping (or reset()ing) it
// unsubscribes. The list of subscribers is bounded: add() fails with Errc::exhausted past
// its limit, so a leak of tokens shows as an error rather than as growing memory.
//
// Safe against what handlers do while an event is being published: a handler may
// unsubscribe itself or another subscriber (that one is not called for the rest of the
// event), subscribe (the newcomer sees the next event), publish again (nested), or destroy
// the publisher's owner. A token may outlive its publisher. Single-threaded: publisher,
// handlers and tokens live on one executor.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <utility>

#include "zmesh/core/result.hpp"

namespace zmesh {

// Ends its subscription when destroyed or reset. Move-only.
class Subscription {
  public:
    Subscription() = default;
    explicit Subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
    Subscription(Subscription&& o) noexcept : cancel_(std::exchange(o.cancel_, nullptr)) {}
    Subscription& operator=(Subscription&& o) noexcept {
        if (this != &o) {
            reset();
            cancel_ = std::exchange(o.cancel_, nullptr);
        }
        return *this;
    }
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    ~Subscription() { reset(); }

    void reset() {
        if (auto c = std::exchange(cancel_, nullptr)) c();
    }
    // Whether it still holds a subscription (not reset, not moved from).
    explicit operator bool() const { return static_cast<bool>(cancel_); }

  private:
    std::function<void()> cancel_;
};

template <class... Args>
class Subscribers {
  public:
    using Handler = std::function<void(Args...)>;

    explicit Subscribers(std::size_t max) : state_(std::make_shared<State>()) { state_->max = max; }
    // A publish under way when the publisher goes (a handler destroyed its owner) calls
    // no further handler.
    ~Subscribers() { state_->closed = true; }
    Subscribers(const Subscribers&) = delete;
    Subscribers& operator=(const Subscribers&) = delete;

    // Errc::exhausted when `max` subscribers are subscribed already.
    [[nodiscard]] Result<Subscription> add(Handler h) {
        State& s = *state_;
        if (s.live >= s.max) return Errc::exhausted;
        auto id = ++s.next_id;
        s.entries.push_back({id, std::move(h), false});
        ++s.live;
        std::weak_ptr<State> weak = state_;
        return Subscription([weak, id] {
            if (auto st = weak.lock()) st->remove(id);
        });
    }

    // Calls every handler subscribed when the call starts and still subscribed when its
    // turn comes, in subscription order.
    void publish(Args... args) {
        auto keep = state_;  // a handler may destroy this publisher's owner
        State& s = *keep;
        Depth depth(s);
        std::size_t n = s.entries.size();
        auto it = s.entries.begin();
        for (std::size_t i = 0; i < n && !s.closed; ++i, ++it)
            if (!it->removed) it->handler(args...);
    }

    std::size_t size() const { return state_->live; }
    bool empty() const { return state_->live == 0; }
    std::size_t max() const { return state_->max; }

  private:
    struct Entry {
        std::uint64_t id;
        Handler handler;
        // Unsubscribed during a publish: erased once no publish runs (the handler may be
        // the one running, and iterators of running publishes must stay valid).
        bool removed = false;
    };
    struct State {
        std::list<Entry> entries;
        std::size_t live = 0;
        std::size_t max = 0;
        std::uint64_t next_id = 0;
        int depth = 0;  // publishes under way (nested ones included)
        bool closed = false;
        void remove(std::uint64_t id) {
            for (auto it = entries.begin(); it != entries.end(); ++it) {
                if (it->id != id || it->removed) continue;
                --live;
                if (depth > 0)
                    it->removed = true;
                else
                    entries.erase(it);
                return;
            }
        }
    };
    // Counts a publish under way; the last one to end erases what was unsubscribed, also
    // when a handler throws.
    struct Depth {
        State& s;
        explicit Depth(State& st) : s(st) { ++s.depth; }
        ~Depth() {
            if (--s.depth == 0) s.entries.remove_if([](const Entry& e) { return e.removed; });
        }
        Depth(const Depth&) = delete;
        Depth& operator=(const Depth&) = delete;
    };
    std::shared_ptr<State> state_;
};

}  // namespace zmesh
