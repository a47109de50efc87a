#pragma once
// Drives numbered test cells through a link. In echo mode the peer sends every cell back
// and each echo is checked byte for byte; in sink mode the peer checks the cells and
// reports how many arrived intact, so cells cross the link one way only.
// Used by `zmesh link send`, `zmesh demo` and the benchmarks.

#include <chrono>
#include <functional>
#include <unordered_map>
#include <vector>

#include "zmesh/core/clock.hpp"
#include "zmesh/link/service.hpp"

namespace zmesh::link {

// Cell number `seq`: circuit 1, DATA, the number, then bytes from a PRNG seeded by it.
wire::Cell make_test_cell(std::uint64_t seq);
// The number a test cell carries, or nullopt when the cell is not exactly make_test_cell(n).
std::optional<std::uint64_t> check_test_cell(const wire::Cell& cell);
// Sink mode control cells: the sender asks for a count; the sink reports cells received.
wire::Cell make_count_request();
wire::Cell make_count_report(std::uint64_t received);
bool is_count_request(const wire::Cell& cell);
std::optional<std::uint64_t> parse_count_report(const wire::Cell& cell);

// The receiving side of sink mode: counts intact test cells per session and reports.
class CellSink {
  public:
    explicit CellSink(LinkService& link) : link_(link) {}
    void on_cell(SessionId s, const wire::Cell& cell);
    std::uint64_t corrupt() const { return corrupt_; }

  private:
    LinkService& link_;
    std::unordered_map<SessionId, std::uint64_t> received_;
    std::uint64_t corrupt_ = 0;
};

enum class PumpMode { echo, sink };

struct PumpResult {
    std::uint64_t echoed = 0;      // distinct cells that arrived intact (echoed or counted)
    std::uint64_t corrupt = 0;     // cells that came back altered
    std::uint64_t duplicates = 0;  // cells that came back twice
    std::uint64_t resent = 0;      // cells sent again after a stall
    double seconds = 0;
    bool complete = false;
};

class CellPump {
  public:
    // count == 0 means run until stop().
    CellPump(LinkService& link, SessionId session, std::uint64_t count, std::size_t window,
             PumpMode mode = PumpMode::echo);
    void start();
    void stop();
    void on_cell(const wire::Cell& cell);
    const PumpResult& result() const { return result_; }
    std::function<void()> on_done;

  private:
    void pump();
    void watchdog();

    LinkService& link_;
    SessionId session_;
    std::uint64_t count_;
    std::size_t window_;
    std::uint64_t next_ = 0;
    std::uint64_t low_ = 0;  // echo: lowest sequence not yet echoed; sink: count reported
    PumpMode mode_;
    int idle_ticks_ = 0;
    std::uint64_t written_off_ = 0;  // sink mode: cells given up as lost
    std::vector<bool> seen_;
    std::uint64_t progress_mark_ = 0;
    zmesh::Clock::time_point started_;
    zmesh::Timer timer_;
    PumpResult result_;
    bool running_ = false;
};

}  // namespace zmesh::link
