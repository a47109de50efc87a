#include <gtest/gtest.h>

#include <random>
#include <set>

#include "zmesh/link/replay_window.hpp"

namespace zmesh::link {
namespace {

using V = ReplayWindow::Verdict;

TEST(ReplayWindow, accepts_each_counter_once) {
    ReplayWindow w;
    EXPECT_EQ(w.accept(0), V::fresh);
    EXPECT_EQ(w.accept(0), V::duplicate);
    EXPECT_EQ(w.accept(5), V::fresh);
    EXPECT_EQ(w.accept(3), V::fresh);
    EXPECT_EQ(w.accept(3), V::duplicate);
    EXPECT_EQ(w.check(4), V::fresh);
    EXPECT_EQ(w.check(4), V::fresh);  // check alone records nothing
}

TEST(ReplayWindow, rejects_counters_older_than_the_window) {
    ReplayWindow w;
    EXPECT_EQ(w.accept(100000), V::fresh);
    EXPECT_EQ(w.accept(100000 - kReplayWindow), V::too_old);
    EXPECT_EQ(w.accept(100000 - (kReplayWindow - 128)), V::fresh);
    EXPECT_EQ(w.accept(1), V::too_old);
}

TEST(ReplayWindow, big_jump_forgets_old_bits) {
    ReplayWindow w;
    for (std::uint64_t i = 0; i < 200; ++i) EXPECT_EQ(w.accept(i), V::fresh);
    std::uint64_t far = 10 * kReplayWindow + 17;
    EXPECT_EQ(w.accept(far), V::fresh);
    // Counters just below the new top that were never seen are fresh, not ghosts of old bits.
    for (std::uint64_t i = far - 100; i < far; ++i) EXPECT_EQ(w.accept(i), V::fresh) << i;
}

TEST(ReplayWindow, matches_a_reference_model_on_random_traffic) {
    std::mt19937_64 rng(42);
    ReplayWindow w;
    std::set<std::uint64_t> seen;
    std::uint64_t top = 0;
    for (int i = 0; i < 200000; ++i) {
        std::uint64_t c = top + (rng() % 64);
        if (rng() % 4 == 0) c = top > 3000 ? top - rng() % 3000 : rng() % (top + 1);
        V v = w.accept(c);
        bool in_range = c + (kReplayWindow - 64) > w.highest() || c > w.highest();
        if (seen.contains(c)) {
            EXPECT_NE(v, V::fresh) << c;
        } else if (v == V::fresh) {
            seen.insert(c);
            top = std::max(top, c);
        } else {
            // A never-seen counter is only refused for being too old.
            EXPECT_EQ(v, V::too_old) << c;
            EXPECT_FALSE(in_range && v == V::duplicate);
        }
    }
}

}  // namespace
}  // namespace zmesh::link
