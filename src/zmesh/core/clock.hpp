#pragma once
// The clock that every state machine, timer and driver of a node reads: the monotonic
// clock plus an offset that only moves forward, and only when a simulation moves it.
// A simulated network (link/memory_link.hpp) runs many nodes in one process without
// sockets; when none of them has anything to do, it skips the clock ahead (in steps of a
// few milliseconds) instead of sleeping, so minutes of protocol time (keepalives,
// timeouts, latency) pass in a fraction of a second. Outside simulations the offset stays 0 and
// Clock is steady_clock.

#include <atomic>
#include <boost/asio/basic_waitable_timer.hpp>
#include <chrono>

namespace zmesh {

struct Clock {
    using duration = std::chrono::steady_clock::duration;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<Clock, duration>;
    static constexpr bool is_steady = true;

    static time_point now() noexcept {
        return time_point(std::chrono::steady_clock::now().time_since_epoch() +
                          duration(skipped_.load(std::memory_order_relaxed)));
    }
    // Simulations only: every later now() is `d` further on (negative `d` is ignored:
    // the clock never goes back). Timers already waiting see the new time the next time
    // their event loop checks them (MemoryNetwork::run makes it check).
    static void skip(duration d) noexcept {
        if (d > duration::zero()) skipped_.fetch_add(d.count(), std::memory_order_relaxed);
    }
    static duration skipped() noexcept {
        return duration(skipped_.load(std::memory_order_relaxed));
    }

  private:
    static inline std::atomic<rep> skipped_{0};
};

// An Asio timer on Clock: what every timer of a node is.
using Timer = boost::asio::basic_waitable_timer<Clock>;

}  // namespace zmesh
