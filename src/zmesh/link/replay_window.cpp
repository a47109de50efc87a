#include "zmesh/link/replay_window.hpp"

namespace zmesh::link {

ReplayWindow::Verdict ReplayWindow::check(std::uint64_t counter) const {
    if (!any_ || counter > highest_) return Verdict::fresh;
    // One word of the ring is always being recycled, so the usable depth is one word less.
    if (highest_ - counter >= kReplayWindow - 64) return Verdict::too_old;
    std::uint64_t word = (counter / 64) % kWords;
    std::uint64_t bit = std::uint64_t{1} << (counter % 64);
    return (bits_[word] & bit) != 0 ? Verdict::duplicate : Verdict::fresh;
}

ReplayWindow::Verdict ReplayWindow::accept(std::uint64_t counter) {
    Verdict v = check(counter);
    if (v != Verdict::fresh) return v;
    if (!any_ || counter > highest_) {
        std::uint64_t old_word = any_ ? highest_ / 64 : 0;
        std::uint64_t new_word = counter / 64;
        if (!any_) {
            bits_.fill(0);
        } else {
            std::uint64_t steps = new_word - old_word;
            if (steps >= kWords) steps = kWords;
            for (std::uint64_t i = 1; i <= steps; ++i) bits_[(old_word + i) % kWords] = 0;
        }
        highest_ = counter;
        any_ = true;
    }
    bits_[(counter / 64) % kWords] |= std::uint64_t{1} << (counter % 64);
    return Verdict::fresh;
}

}  // namespace zmesh::link
