#pragma once
// Every limit and timer of the link layer, in one place.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include "zmesh/core/clock.hpp"

namespace zmesh::link {

using Clock = zmesh::Clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

// Two timer wake-ups of a LinkService are at least this far apart: an endpoint whose
// deadline a tick failed to move (a bug) costs a thousand wake-ups a second, not a core.
inline constexpr std::chrono::milliseconds kMinTimerGap{1};
using std::chrono::milliseconds;
using std::chrono::seconds;

// Replay window width in packets (a multiple of 64).
inline constexpr std::uint64_t kReplayWindow = 4096;
// Cells queued per session while its handshake completes.
inline constexpr std::size_t kMaxQueuedCells = 1024;
// Half-open inbound handshakes (XK waiting for message 3) per endpoint.
inline constexpr std::size_t kMaxPendingResponders = 4096;
// Sessions per endpoint.
inline constexpr std::size_t kMaxSessions = 65536;
// Payload carried inside a Noise handshake message.
inline constexpr std::size_t kMaxHandshakePayload = 256;

// Fragmented first messages in reassembly (see docs/link.md, "Handshake floods"). A
// source is an IPv4 address, an IPv6 /64 or one stream connection; a source that
// exceeds its share loses its own oldest partial, a full table loses the oldest partial
// of the source holding the most. Spoofed sources never pass the cookie check, which
// the table demands once it is half full.
inline constexpr std::size_t kMaxPartials = 1024;
inline constexpr std::size_t kMaxPartialsPerSource = 16;
inline constexpr std::size_t kPartialsLoadMark = kMaxPartials / 2;
// Half-open responder sessions above which cookies are demanded, for the same reason.
inline constexpr std::size_t kHalfOpenLoadMark = kMaxPendingResponders / 2;

struct LinkTimers {
    Duration handshake_retry = milliseconds(500);    // first retransmission
    Duration handshake_retry_max = seconds(8);       // backoff ceiling
    Duration handshake_give_up = seconds(60);        // then the session fails
    Duration rekey_after = seconds(120);             // initiator rekeys this often
    Duration reject_after = seconds(180);            // keys older than this are never used
    Duration keepalive = seconds(10);                // send padding when idle this long
    Duration dead_after = seconds(35);               // nothing received: the peer is dead
    Duration cookie_lifetime = seconds(120);         // cookie secret rotation
    Duration half_open_lifetime = seconds(10);       // responder state waiting for msg 3
    std::uint64_t rekey_after_packets = 1ULL << 40;  // per direction
    std::uint64_t reject_after_packets = (1ULL << 60);
};

struct LinkLimits {
    LinkTimers timers;
    // Initiations (first fragments) per second above which the endpoint demands cookies.
    // Derived, not chosen: the most expensive first message for a responder (hybrid IK)
    // costs 352 us of CPU (responder_initiation in bench/link_bench.cpp), 2,840 a second
    // per core; handshakes may take a quarter of the I/O thread's core before cookies
    // start: 710, rounded down (docs/link.md, bench/RESULTS.md).
    std::uint32_t handshake_load_threshold = 700;
};

}  // namespace zmesh::link
