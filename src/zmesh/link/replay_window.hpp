#pragma once
// Sliding anti-replay window over 64-bit packet counters (the bitmap scheme of RFC 6479):
// accepts each counter at most once and rejects counters older than the window.

#include <array>
#include <cstdint>

#include "zmesh/link/limits.hpp"

namespace zmesh::link {

class ReplayWindow {
  public:
    enum class Verdict { fresh, duplicate, too_old };

    // Checks without recording: call before the AEAD check so forgeries cannot move it.
    Verdict check(std::uint64_t counter) const;
    // Records a counter whose packet authenticated. Returns check()'s verdict.
    Verdict accept(std::uint64_t counter);
    std::uint64_t highest() const { return highest_; }

  private:
    static constexpr std::size_t kWords = kReplayWindow / 64;
    static_assert(kReplayWindow % 64 == 0 && kWords >= 2);
    std::array<std::uint64_t, kWords> bits_{};
    std::uint64_t highest_ = 0;
    bool any_ = false;
};

}  // namespace zmesh::link
