#pragma once
// How far a node is from being useful after it starts: the steps of its bootstrap, each
// with a fixed percentage, what happened at each and what it is waiting for now. Pure:
// the node reports what happened (and failed attempts) with the time, and takes back the
// lines to log and when to look again for a warning that it is stuck. docs/daemon.md,
// "Bootstrap progress", lists the steps per role.
//
// Steps are reached in the plan's order: one reported early (a client that is also a
// relay may fetch the directory before its descriptor is published) is remembered, and
// progress moves past it once the steps before it are done. Progress never goes back.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "zmesh/core/clock.hpp"

namespace zmesh::node {

enum class BootstrapStep : std::uint8_t {
    starting,       // 0%: nothing done yet
    keys,           // 10%: identity and onion keys loaded or created
    links,          // 20%: every link listening
    contacted,      // 30%: a bootstrap node answered
    published,      // 40%: relay: a bootstrap node accepted this relay's descriptor
    directory,      // 50%: client: a directory that verifies (or relays from the DHT)
    enough_relays,  // 70%: client: enough relays for a path with an exit
    circuit,        // 90%: client with spare circuits: the first full circuit built
    ready,          // 100%
};

std::uint32_t percent(BootstrapStep s);
// Short name for status and scripts: "keys", "links", ..., "ready".
const char* to_string(BootstrapStep s);

// The first warning that a step takes long, then one per interval while it still does.
inline constexpr auto kBootstrapFirstWarning = std::chrono::seconds(10);
inline constexpr auto kBootstrapWarningInterval = std::chrono::seconds(30);

// One step the node goes through, and what it waits for until the step is reached
// ("a bootstrap node to answer").
struct PlannedStep {
    BootstrapStep step = BootstrapStep::keys;
    std::string waiting_for;
};

// What status shows.
struct BootstrapState {
    BootstrapStep step = BootstrapStep::starting;  // the last step reached
    std::uint32_t percent = 0;
    std::string last_event;  // what happened at that step ("links listening (udp)")
    // What the next step waits for, with the latest detail or failed attempts; empty
    // when ready.
    std::string waiting_for;
    double seconds_waiting = 0;  // since the last step was reached
};

class BootstrapProgress {
  public:
    using time_point = zmesh::Clock::time_point;

    // `plan`: the steps in order, without `starting` and `ready` (added here). Throws
    // std::invalid_argument for an empty plan or steps out of order or named twice (a
    // bug of the caller).
    BootstrapProgress(std::vector<PlannedStep> plan, time_point now);

    // `step` happened: `what` says how ("directory fetched (19 relays known)"). Returns
    // the lines to log, one per step newly reached, in order (none when `step` is not in
    // the plan, was reached already, or waits for an earlier step). The last is
    // "bootstrap: 100% ready" once every step is done.
    std::vector<std::string> reach(BootstrapStep step, std::string what, time_point now);
    // What the wait for `step` looks like now ("2 relays known, no exit"); shown after
    // its waiting text while it is the step waited for. Replaces the failed attempts.
    void set_detail(BootstrapStep step, std::string detail);
    // An attempt towards `step` failed (`why`: "no answer"): counted and shown.
    void attempt_failed(BootstrapStep step, std::string why);

    // A warning when the node has waited for the same step kBootstrapFirstWarning, then
    // every kBootstrapWarningInterval; nullopt when nothing is due or it is ready.
    std::optional<std::string> stuck_warning(time_point now);
    // When stuck_warning() has something next; time_point::max() once ready.
    time_point next_deadline() const;

    BootstrapState state(time_point now) const;
    bool ready() const { return reached_ == plan_.size() - 1; }
    std::uint32_t percent() const;

  private:
    struct Entry {
        PlannedStep planned;
        std::string what;  // set when reported
        bool done = false;
        std::string detail;
        std::uint32_t failures = 0;
    };
    std::string waiting_text() const;  // of the next step, with its detail
    Entry* find(BootstrapStep step);

    std::vector<Entry> plan_;  // starting first, ready last
    std::size_t reached_ = 0;  // index of the last step reached in order
    time_point since_;         // when it was reached
    time_point next_warning_;
};

}  // namespace zmesh::node
