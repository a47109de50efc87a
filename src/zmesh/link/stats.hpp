#pragma once
// Counters of one link endpoint. Every dropped packet lands in exactly one drop counter.

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "zmesh/core/histogram.hpp"

namespace zmesh::link {

struct LinkStats {
    std::uint64_t packets_in = 0;
    std::uint64_t packets_out = 0;
    std::uint64_t cells_in = 0;
    std::uint64_t cells_out = 0;
    std::uint64_t keepalives_in = 0;
    std::uint64_t keepalives_out = 0;
    std::uint64_t handshakes_started = 0;
    std::uint64_t handshakes_completed = 0;
    std::uint64_t handshake_retransmits = 0;
    std::uint64_t rekeys = 0;
    std::uint64_t cookies_sent = 0;
    std::uint64_t cookies_received = 0;
    std::uint64_t sessions_dead = 0;
    std::uint64_t sessions_failed = 0;
    std::uint64_t connects = 0;          // sessions this side started
    std::uint64_t connect_failures = 0;  // of those, gone before they were ever established
    std::uint64_t drop_malformed = 0;
    std::uint64_t drop_unknown_index = 0;
    std::uint64_t drop_duplicate = 0;
    std::uint64_t drop_too_old = 0;
    std::uint64_t drop_auth_failed = 0;
    std::uint64_t drop_bad_mac1 = 0;
    std::uint64_t drop_under_load = 0;
    std::uint64_t drop_handshake_failed = 0;
    std::uint64_t drop_refused = 0;
    std::uint64_t drop_table_full = 0;
    std::uint64_t drop_expired_key = 0;
    std::uint64_t drop_queue_full = 0;
    std::uint64_t drop_classical_refused = 0;  // classical peer while post-quantum is required
    std::uint64_t drop_replayed_rekey = 0;     // a rekey initiation seen before
    std::uint64_t fragments_in = 0;
    std::uint64_t partials_evicted = 0;  // partial first messages displaced by newer ones
    // Handshakes this side started: first message sent to keys ready.
    Histogram handshake_seconds;

    std::uint64_t dropped() const {
        return drop_malformed + drop_unknown_index + drop_duplicate + drop_too_old +
               drop_auth_failed + drop_bad_mac1 + drop_under_load + drop_handshake_failed +
               drop_refused + drop_table_full + drop_expired_key + drop_classical_refused +
               drop_replayed_rekey;
    }

    // Name/value pairs for printing and metrics.
    std::vector<std::pair<std::string_view, std::uint64_t>> fields() const {
        return {{"packets_in", packets_in},
                {"packets_out", packets_out},
                {"cells_in", cells_in},
                {"cells_out", cells_out},
                {"keepalives_in", keepalives_in},
                {"keepalives_out", keepalives_out},
                {"handshakes_started", handshakes_started},
                {"handshakes_completed", handshakes_completed},
                {"handshake_retransmits", handshake_retransmits},
                {"rekeys", rekeys},
                {"cookies_sent", cookies_sent},
                {"cookies_received", cookies_received},
                {"sessions_dead", sessions_dead},
                {"sessions_failed", sessions_failed},
                {"connects", connects},
                {"connect_failures", connect_failures},
                {"drop_malformed", drop_malformed},
                {"drop_unknown_index", drop_unknown_index},
                {"drop_duplicate", drop_duplicate},
                {"drop_too_old", drop_too_old},
                {"drop_auth_failed", drop_auth_failed},
                {"drop_bad_mac1", drop_bad_mac1},
                {"drop_under_load", drop_under_load},
                {"drop_handshake_failed", drop_handshake_failed},
                {"drop_refused", drop_refused},
                {"drop_table_full", drop_table_full},
                {"drop_expired_key", drop_expired_key},
                {"drop_queue_full", drop_queue_full},
                {"drop_classical_refused", drop_classical_refused},
                {"drop_replayed_rekey", drop_replayed_rekey},
                {"fragments_in", fragments_in},
                {"partials_evicted", partials_evicted}};
    }
};

}  // namespace zmesh::link
