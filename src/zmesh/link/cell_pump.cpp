#include "zmesh/link/cell_pump.hpp"

#include <boost/asio/io_context.hpp>
#include "zmesh/core/clock.hpp"

namespace zmesh::link {
namespace {

constexpr std::uint32_t kTestCircuit = 1;
constexpr std::uint32_t kCountCircuit = 2;
constexpr std::uint64_t kReportEvery = 32;
constexpr int kSinkGiveUpTicks = 8;
constexpr std::size_t kBatch = 64;
constexpr std::size_t kSeqWindowForUnbounded = 1 << 20;

std::uint64_t splitmix(std::uint64_t& s) {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

}  // namespace

wire::Cell make_test_cell(std::uint64_t seq) {
    wire::Cell c{};
    wire::set_cell_header(c, kTestCircuit, wire::CellCommand::data);
    store_u64_be(c.data() + wire::kCellHeaderSize, seq);
    std::uint64_t state = seq;
    for (std::size_t i = wire::kCellHeaderSize + 8; i < c.size(); i += 8) {
        std::uint64_t r = splitmix(state);
        for (std::size_t j = 0; j < 8 && i + j < c.size(); ++j)
            c[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
    }
    return c;
}

std::optional<std::uint64_t> check_test_cell(const wire::Cell& cell) {
    std::uint64_t seq = 0;
    for (int i = 0; i < 8; ++i) seq = (seq << 8) | cell[wire::kCellHeaderSize + i];
    if (make_test_cell(seq) != cell) return std::nullopt;
    return seq;
}

wire::Cell make_count_request() {
    wire::Cell c{};
    wire::set_cell_header(c, kCountCircuit, wire::CellCommand::data);
    return c;
}

wire::Cell make_count_report(std::uint64_t received) {
    wire::Cell c{};
    wire::set_cell_header(c, kCountCircuit, wire::CellCommand::data);
    c[wire::kCellHeaderSize] = 1;
    store_u64_be(c.data() + wire::kCellHeaderSize + 1, received);
    return c;
}

bool is_count_request(const wire::Cell& cell) {
    return cell == make_count_request();
}

std::optional<std::uint64_t> parse_count_report(const wire::Cell& cell) {
    if (wire::cell_circuit_id(cell) != kCountCircuit || cell[wire::kCellHeaderSize] != 1)
        return std::nullopt;
    std::uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n = (n << 8) | cell[wire::kCellHeaderSize + 1 + i];
    return make_count_report(n) == cell ? std::optional(n) : std::nullopt;
}

void CellSink::on_cell(SessionId s, const wire::Cell& cell) {
    std::uint64_t& n = received_[s];
    if (is_count_request(cell)) {
        (void)link_.send_cell(s, make_count_report(n));
    } else if (check_test_cell(cell)) {
        if (++n % kReportEvery == 0) (void)link_.send_cell(s, make_count_report(n));
    } else {
        ++corrupt_;
    }
}

CellPump::CellPump(LinkService& link, SessionId session, std::uint64_t count, std::size_t window,
                   PumpMode mode)
    : link_(link),
      session_(session),
      count_(count),
      window_(std::max<std::size_t>(window, 1)),
      mode_(mode),
      seen_(count == 0 ? kSeqWindowForUnbounded : count, false),
      timer_(link.executor()) {}

void CellPump::start() {
    running_ = true;
    started_ = zmesh::Clock::now();
    pump();
    watchdog();
}

void CellPump::stop() {
    if (!running_) return;
    running_ = false;
    timer_.cancel();
    result_.seconds = std::chrono::duration<double>(zmesh::Clock::now() - started_).count();
    result_.complete = count_ != 0 && result_.echoed == count_;
    if (on_done) on_done();
}

void CellPump::pump() {
    std::vector<wire::Cell> batch;
    batch.reserve(kBatch);
    while (running_ && (count_ == 0 || next_ < count_) && next_ - low_ - written_off_ < window_) {
        seen_[next_ % seen_.size()] = false;
        batch.push_back(make_test_cell(next_++));
        if (batch.size() == kBatch) {
            link_.send_cells(session_, batch);
            batch.clear();
        }
    }
    if (!batch.empty()) link_.send_cells(session_, batch);
}

void CellPump::on_cell(const wire::Cell& cell) {
    if (!running_) return;
    if (mode_ == PumpMode::sink) {
        auto n = parse_count_report(cell);
        if (!n) {
            ++result_.corrupt;
            return;
        }
        low_ = std::max(low_, *n);
        result_.echoed = low_;
        if (low_ >= count_ && count_ != 0) {
            stop();
            return;
        }
        pump();
        return;
    }
    auto seq = check_test_cell(cell);
    if (!seq || *seq >= next_ || next_ - *seq > seen_.size()) {
        ++result_.corrupt;
        return;
    }
    std::size_t slot = *seq % seen_.size();
    if (*seq < low_ || seen_[slot]) {
        ++result_.duplicates;
        return;
    }
    seen_[slot] = true;
    ++result_.echoed;
    while (low_ < next_ && seen_[low_ % seen_.size()]) ++low_;
    if (count_ != 0 && result_.echoed == count_) {
        stop();
        return;
    }
    pump();
}

// Loss is possible on UDP (full socket buffers): after a stall, send the missing cells
// again. The link layer itself never retransmits; reliability is end to end.
void CellPump::watchdog() {
    timer_.expires_after(std::chrono::milliseconds(250));
    timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || !running_) return;
        bool stalled = result_.echoed == progress_mark_;
        idle_ticks_ = stalled ? idle_ticks_ + 1 : 0;
        if (mode_ == PumpMode::sink && stalled) {
            // The sink reports every 32 cells; ask for the tail. Cells it never got are
            // lost for good in this mode, which measures the link, not reliability.
            if (idle_ticks_ > kSinkGiveUpTicks) {
                if (next_ == count_) {
                    stop();
                    return;
                }
                written_off_ = next_ - low_;  // reopen the window past the lost cells
                idle_ticks_ = 0;
                pump();
            }
            (void)link_.send_cell(session_, make_count_request());
        } else if (stalled && link_.established(session_)) {
            std::vector<wire::Cell> again;
            for (std::uint64_t s = low_; s < next_; ++s)
                if (!seen_[s % seen_.size()]) again.push_back(make_test_cell(s));
            result_.resent += link_.send_cells(session_, again);
        }
        progress_mark_ = result_.echoed;
        watchdog();
    });
}

}  // namespace zmesh::link
