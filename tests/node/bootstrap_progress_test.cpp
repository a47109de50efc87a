#include "zmesh/node/bootstrap_progress.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace zmesh::node {
namespace {

using namespace std::chrono_literals;
using S = BootstrapStep;
const auto t0 = zmesh::Clock::time_point{} + 1000s;

std::vector<PlannedStep> client_plan() {
    return {{S::keys, "the keys"},
            {S::links, "the links to listen"},
            {S::contacted, "a bootstrap node to answer"},
            {S::directory, "a directory that verifies"},
            {S::enough_relays, "enough relays for a 3-hop path"},
            {S::circuit, "the first circuit"}};
}

TEST(BootstrapProgress, ClientStepsLogOnceEachWithWhatComesNextAndEndReady) {
    BootstrapProgress p(client_plan(), t0);
    EXPECT_EQ(p.percent(), 0u);
    EXPECT_EQ(p.state(t0).waiting_for, "the keys");

    auto l = p.reach(S::keys, "keys loaded", t0);
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0], "bootstrap: 10% keys loaded; waiting for the links to listen");
    EXPECT_TRUE(p.reach(S::keys, "keys loaded", t0).empty());  // once

    l = p.reach(S::links, "links listening (udp)", t0);
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0], "bootstrap: 20% links listening (udp); waiting for a bootstrap node to answer");
    EXPECT_TRUE(p.reach(S::contacted, "a bootstrap node answered", t0 + 1s).size() == 1);
    l = p.reach(S::directory, "directory fetched (19 relays known)", t0 + 2s);
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0],
              "bootstrap: 50% directory fetched (19 relays known); waiting for enough relays for "
              "a 3-hop path");
    EXPECT_EQ(p.percent(), 50u);
    EXPECT_EQ(p.state(t0 + 2s).step, S::directory);
    EXPECT_EQ(p.state(t0 + 2s).last_event, "directory fetched (19 relays known)");
    p.reach(S::enough_relays, "enough relays for a 3-hop path", t0 + 2s);
    EXPECT_FALSE(p.ready());
    EXPECT_EQ(p.state(t0 + 2s).waiting_for, "the first circuit");

    l = p.reach(S::circuit, "first circuit built", t0 + 3s);
    ASSERT_EQ(l.size(), 2u);
    EXPECT_EQ(l[0], "bootstrap: 90% first circuit built");
    EXPECT_EQ(l[1], "bootstrap: 100% ready");
    EXPECT_TRUE(p.ready());
    EXPECT_EQ(p.percent(), 100u);
    auto s = p.state(t0 + 5s);
    EXPECT_EQ(s.step, S::ready);
    EXPECT_EQ(s.last_event, "ready");
    EXPECT_TRUE(s.waiting_for.empty());
    EXPECT_DOUBLE_EQ(s.seconds_waiting, 2.0);
    EXPECT_TRUE(p.reach(S::circuit, "again", t0 + 6s).empty());
}

TEST(BootstrapProgress, StepOutsideThePlanIsIgnored) {
    // A relay without bootstrap nodes: ready once its links listen.
    BootstrapProgress p({{S::keys, "the keys"}, {S::links, "the links"}}, t0);
    EXPECT_TRUE(p.reach(S::directory, "directory fetched", t0).empty());
    p.reach(S::keys, "keys loaded", t0);
    auto l = p.reach(S::links, "links listening (udp)", t0);
    ASSERT_EQ(l.size(), 2u);
    EXPECT_EQ(l[0], "bootstrap: 20% links listening (udp)");
    EXPECT_EQ(l[1], "bootstrap: 100% ready");
    EXPECT_EQ(p.next_deadline(), zmesh::Clock::time_point::max());
}

TEST(BootstrapProgress, EarlyStepWaitsForTheOnesBeforeItThenProgressCatchesUp) {
    // A relay that is also a client: the directory may come before the descriptor is
    // accepted; progress stays until then.
    BootstrapProgress p({{S::keys, "the keys"},
                         {S::links, "the links"},
                         {S::contacted, "a bootstrap node to answer"},
                         {S::published, "a bootstrap node to accept the descriptor"},
                         {S::directory, "a directory"},
                         {S::enough_relays, "enough relays"}},
                        t0);
    p.reach(S::keys, "keys loaded", t0);
    p.reach(S::links, "links listening", t0);
    p.reach(S::contacted, "a bootstrap node answered", t0);
    EXPECT_TRUE(p.reach(S::directory, "directory fetched (4 relays known)", t0 + 1s).empty());
    EXPECT_TRUE(p.reach(S::enough_relays, "enough relays", t0 + 1s).empty());
    EXPECT_EQ(p.percent(), 30u);
    EXPECT_EQ(p.state(t0 + 1s).waiting_for, "a bootstrap node to accept the descriptor");
    auto l = p.reach(S::published, "descriptor published", t0 + 2s);
    ASSERT_EQ(l.size(), 4u);
    EXPECT_EQ(l[0], "bootstrap: 40% descriptor published");
    EXPECT_EQ(l[1], "bootstrap: 50% directory fetched (4 relays known)");
    EXPECT_EQ(l[2], "bootstrap: 70% enough relays");
    EXPECT_EQ(l[3], "bootstrap: 100% ready");
}

TEST(BootstrapProgress, FailedAttemptsAndDetailsShowInWhatItWaitsFor) {
    BootstrapProgress p(client_plan(), t0);
    p.reach(S::keys, "keys loaded", t0);
    p.reach(S::links, "links listening", t0);
    p.attempt_failed(S::contacted, "no answer");
    EXPECT_EQ(p.state(t0).waiting_for, "a bootstrap node to answer (1 failed attempt: no answer)");
    p.attempt_failed(S::contacted, "HTTP 503");
    EXPECT_EQ(p.state(t0).waiting_for,
              "a bootstrap node to answer (2 failed attempts, last: HTTP 503)");
    // A later step's failures are kept for when it is waited for; a done step's are not.
    p.attempt_failed(S::directory, "the bundle does not verify");
    p.reach(S::contacted, "a bootstrap node answered", t0);
    p.attempt_failed(S::contacted, "no answer");
    EXPECT_EQ(p.state(t0).waiting_for,
              "a directory that verifies (1 failed attempt: the bundle does not verify)");
    p.reach(S::directory, "directory fetched (2 relays known)", t0);
    p.set_detail(S::enough_relays, "2 relays known, no exit");
    EXPECT_EQ(p.state(t0).waiting_for, "enough relays for a 3-hop path (2 relays known, no exit)");
    EXPECT_EQ(p.percent(), 50u);  // failures never move progress
}

TEST(BootstrapProgress, WarnsAfterTenSecondsOnOneStepThenEveryThirty) {
    BootstrapProgress p(client_plan(), t0);
    p.reach(S::keys, "keys loaded", t0);
    p.reach(S::links, "links listening", t0);
    p.attempt_failed(S::contacted, "no answer");
    EXPECT_EQ(p.next_deadline(), t0 + kBootstrapFirstWarning);
    EXPECT_FALSE(p.stuck_warning(t0 + 9s));
    auto w = p.stuck_warning(t0 + 10s);
    ASSERT_TRUE(w);
    EXPECT_EQ(*w,
              "bootstrap: still at 20% after 10 s; waiting for a bootstrap node to answer "
              "(1 failed attempt: no answer)");
    EXPECT_FALSE(p.stuck_warning(t0 + 10s));  // once per interval
    EXPECT_EQ(p.next_deadline(), t0 + 40s);
    EXPECT_FALSE(p.stuck_warning(t0 + 39s));
    w = p.stuck_warning(t0 + 40s);
    ASSERT_TRUE(w);
    EXPECT_NE(w->find("still at 20% after 40 s"), std::string::npos) << *w;
    // Progress starts the count again.
    p.reach(S::contacted, "a bootstrap node answered", t0 + 41s);
    EXPECT_FALSE(p.stuck_warning(t0 + 50s));
    w = p.stuck_warning(t0 + 51s);
    ASSERT_TRUE(w);
    EXPECT_NE(w->find("still at 30% after 10 s; waiting for a directory"), std::string::npos) << *w;
}

TEST(BootstrapProgress, ReadyNodeNeverWarns) {
    BootstrapProgress p({{S::keys, "the keys"}}, t0);
    p.reach(S::keys, "keys loaded", t0);
    EXPECT_TRUE(p.ready());
    EXPECT_FALSE(p.stuck_warning(t0 + 3600s));
}

TEST(BootstrapProgress, RefusesAPlanOutOfOrderOrEmpty) {
    EXPECT_THROW(BootstrapProgress({}, t0), std::invalid_argument);
    EXPECT_THROW(BootstrapProgress({{S::links, ""}, {S::keys, ""}}, t0), std::invalid_argument);
    EXPECT_THROW(BootstrapProgress({{S::keys, ""}, {S::keys, ""}}, t0), std::invalid_argument);
    EXPECT_THROW(BootstrapProgress({{S::starting, ""}}, t0), std::invalid_argument);
    EXPECT_THROW(BootstrapProgress({{S::keys, ""}, {S::ready, ""}}, t0), std::invalid_argument);
}

TEST(BootstrapProgress, PercentagesRiseWithTheSteps) {
    std::uint32_t last = 0;
    for (auto s : {S::keys, S::links, S::contacted, S::published, S::directory, S::enough_relays,
                   S::circuit, S::ready}) {
        EXPECT_GT(percent(s), last) << to_string(s);
        last = percent(s);
    }
    EXPECT_EQ(percent(S::ready), 100u);
}

}  // namespace
}  // namespace zmesh::node
