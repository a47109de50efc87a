#include "zmesh/app/cell_pump.hpp"

#include <boost/asio/io_context.hpp>

namespace zmesh::app {
namespace {

constexpr std::uint32_t kTestCircuit = 1;
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

CellPump::CellPump(link::LinkService& link, link::SessionId session, std::uint64_t count,
                   std::size_t window)
    : link_(link),
      session_(session),
      count_(count),
      window_(std::max<std::size_t>(window, 1)),
      seen_(count == 0 ? kSeqWindowForUnbounded : count, false),
      timer_(link.executor()) {}

void CellPump::start() {
    running_ = true;
    started_ = std::chrono::steady_clock::now();
    pump();
    watchdog();
}

void CellPump::stop() {
    if (!running_) return;
    running_ = false;
    timer_.cancel();
    result_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    result_.complete = count_ != 0 && result_.echoed == count_;
    if (on_done) on_done();
}

void CellPump::pump() {
    std::vector<wire::Cell> batch;
    batch.reserve(kBatch);
    while (running_ && (count_ == 0 || next_ < count_) && next_ - low_ < window_) {
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
        if (result_.echoed == progress_mark_ && link_.established(session_)) {
            std::vector<wire::Cell> again;
            for (std::uint64_t s = low_; s < next_; ++s)
                if (!seen_[s % seen_.size()]) again.push_back(make_test_cell(s));
            result_.resent += link_.send_cells(session_, again);
        }
        progress_mark_ = result_.echoed;
        watchdog();
    });
}

}  // namespace zmesh::app
