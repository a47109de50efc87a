#pragma once
// Drives numbered test cells through a link and checks the echoes byte for byte.
// Used by `zmesh link send`, `zmesh demo` and the benchmarks.

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <vector>

#include "zmesh/link/service.hpp"

namespace zmesh::app {

// Cell number `seq`: circuit 1, DATA, the number, then bytes from a PRNG seeded by it.
wire::Cell make_test_cell(std::uint64_t seq);
// The number a test cell carries, or nullopt when the cell is not exactly make_test_cell(n).
std::optional<std::uint64_t> check_test_cell(const wire::Cell& cell);

struct PumpResult {
    std::uint64_t echoed = 0;      // distinct cells that came back intact
    std::uint64_t corrupt = 0;     // cells that came back altered
    std::uint64_t duplicates = 0;  // cells that came back twice
    std::uint64_t resent = 0;      // cells sent again after a stall
    double seconds = 0;
    bool complete = false;
};

class CellPump {
  public:
    // count == 0 means run until stop().
    CellPump(link::LinkService& link, link::SessionId session, std::uint64_t count,
             std::size_t window);
    void start();
    void stop();
    void on_cell(const wire::Cell& cell);
    const PumpResult& result() const { return result_; }
    std::function<void()> on_done;

  private:
    void pump();
    void watchdog();

    link::LinkService& link_;
    link::SessionId session_;
    std::uint64_t count_;
    std::size_t window_;
    std::uint64_t next_ = 0;
    std::uint64_t low_ = 0;  // lowest sequence not yet echoed
    std::vector<bool> seen_;
    std::uint64_t progress_mark_ = 0;
    std::chrono::steady_clock::time_point started_;
    boost::asio::steady_timer timer_;
    PumpResult result_;
    bool running_ = false;
};

}  // namespace zmesh::app
