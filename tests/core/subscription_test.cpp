#include "zmesh/core/subscription.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <vector>

namespace zmesh {
namespace {

Subscription must(Result<Subscription> r) {
    EXPECT_TRUE(r);
    return r ? std::move(*r) : Subscription{};
}

TEST(Subscribers, every_subscriber_gets_each_event_until_unsubscribed) {
    Subscribers<int> subs(8);
    std::vector<int> a, b;
    auto sa = must(subs.add([&](int v) { a.push_back(v); }));
    auto sb = must(subs.add([&](int v) { b.push_back(v); }));
    subs.publish(1);
    sb.reset();
    subs.publish(2);
    EXPECT_EQ(a, (std::vector<int>{1, 2}));
    EXPECT_EQ(b, (std::vector<int>{1}));
    EXPECT_EQ(subs.size(), 1u);
    {
        auto moved = std::move(sa);
        EXPECT_FALSE(sa);  // NOLINT(bugprone-use-after-move): the token moved
        subs.publish(3);
    }  // `moved` ends it
    subs.publish(4);
    EXPECT_EQ(a, (std::vector<int>{1, 2, 3}));
    EXPECT_TRUE(subs.empty());
}

TEST(Subscribers, a_handler_may_unsubscribe_itself_and_others_while_called) {
    Subscribers<int> subs(8);
    std::vector<int> seen;
    Subscription self, other, late;
    self = must(subs.add([&](int v) {
        seen.push_back(10 + v);
        self.reset();   // unsubscribes itself while running
        other.reset();  // and the next one, which must not be called for this event
        late = must(subs.add([&](int w) { seen.push_back(30 + w); }));
    }));
    other = must(subs.add([&](int v) { seen.push_back(20 + v); }));
    subs.publish(1);  // `late` joined during this event: it sees the next one only
    subs.publish(2);
    EXPECT_EQ(seen, (std::vector<int>{11, 32}));
    EXPECT_EQ(subs.size(), 1u);
}

TEST(Subscribers, nested_publishes_keep_every_handler_valid) {
    Subscribers<int> subs(8);
    std::vector<int> seen;
    Subscription first, second;
    first = must(subs.add([&](int v) {
        seen.push_back(v);
        if (v == 1) {
            subs.publish(2);  // nested: `first` unsubscribes inside it
        }
    }));
    second = must(subs.add([&](int v) {
        seen.push_back(100 + v);
        if (v == 2) first.reset();
    }));
    subs.publish(1);
    subs.publish(3);
    EXPECT_EQ(seen, (std::vector<int>{1, 2, 102, 101, 103}));
}

TEST(Subscribers, the_number_of_subscribers_is_bounded) {
    Subscribers<int> subs(2);
    auto a = must(subs.add([](int) {}));
    auto b = must(subs.add([](int) {}));
    auto c = subs.add([](int) {});
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), make_error_code(Errc::exhausted));
    a.reset();  // room again
    auto d = subs.add([](int) {});
    EXPECT_TRUE(d);
    EXPECT_EQ(subs.size(), 2u);
}

TEST(Subscribers, a_token_may_outlive_its_publisher) {
    Subscription token;
    {
        Subscribers<int> subs(1);
        token = must(subs.add([](int) {}));
    }
    token.reset();  // no publisher left: nothing happens
    EXPECT_FALSE(token);
}

TEST(Subscribers, a_handler_may_destroy_the_publisher) {
    auto subs = std::make_unique<Subscribers<int>>(4);
    int later = 0;
    Subscription killer = must(subs->add([&](int) { subs.reset(); }));
    Subscription after = must(subs->add([&](int) { ++later; }));
    subs->publish(1);
    EXPECT_EQ(subs, nullptr);
    EXPECT_EQ(later, 0);  // the publisher went away: the event stops there
    killer.reset();
    after.reset();
}

}  // namespace
}  // namespace zmesh
