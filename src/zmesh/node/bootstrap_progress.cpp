#include "zmesh/node/bootstrap_progress.hpp"

#include <stdexcept>

namespace zmesh::node {

std::uint32_t percent(BootstrapStep s) {
    switch (s) {
        case BootstrapStep::starting:
            return 0;
        case BootstrapStep::keys:
            return 10;
        case BootstrapStep::links:
            return 20;
        case BootstrapStep::contacted:
            return 30;
        case BootstrapStep::published:
            return 40;
        case BootstrapStep::directory:
            return 50;
        case BootstrapStep::enough_relays:
            return 70;
        case BootstrapStep::circuit:
            return 90;
        case BootstrapStep::ready:
            break;
    }
    return 100;
}

const char* to_string(BootstrapStep s) {
    switch (s) {
        case BootstrapStep::starting:
            return "starting";
        case BootstrapStep::keys:
            return "keys";
        case BootstrapStep::links:
            return "links";
        case BootstrapStep::contacted:
            return "contacted";
        case BootstrapStep::published:
            return "published";
        case BootstrapStep::directory:
            return "directory";
        case BootstrapStep::enough_relays:
            return "enough_relays";
        case BootstrapStep::circuit:
            return "circuit";
        case BootstrapStep::ready:
            break;
    }
    return "ready";
}

BootstrapProgress::BootstrapProgress(std::vector<PlannedStep> plan, time_point now)
    : since_(now), next_warning_(now + kBootstrapFirstWarning) {
    if (plan.empty()) throw std::invalid_argument("bootstrap progress: an empty plan");
    plan_.push_back({{BootstrapStep::starting, {}}, "starting", true, {}, 0});
    for (auto& p : plan) {
        if (p.step <= plan_.back().planned.step || p.step == BootstrapStep::ready)
            throw std::invalid_argument(std::string("bootstrap progress: step ") +
                                        to_string(p.step) + " out of order");
        plan_.push_back({std::move(p), {}, false, {}, 0});
    }
    plan_.push_back({{BootstrapStep::ready, {}}, "ready", false, {}, 0});
}

BootstrapProgress::Entry* BootstrapProgress::find(BootstrapStep step) {
    for (auto& e : plan_)
        if (e.planned.step == step) return &e;
    return nullptr;
}

std::vector<std::string> BootstrapProgress::reach(BootstrapStep step, std::string what,
                                                  time_point now) {
    std::vector<std::string> lines;
    auto* e = find(step);
    if (!e || e->done || step == BootstrapStep::ready) return lines;
    e->done = true;
    e->what = std::move(what);
    std::size_t before = reached_;
    // Everything done in order from here on, except `ready`, which follows the last step.
    while (reached_ + 2 < plan_.size() && plan_[reached_ + 1].done) ++reached_;
    if (reached_ == before) return lines;
    for (std::size_t i = before + 1; i <= reached_; ++i) {
        const auto& r = plan_[i];
        lines.push_back("bootstrap: " + std::to_string(node::percent(r.planned.step)) + "% " +
                        r.what);
    }
    if (reached_ + 2 == plan_.size()) {
        reached_ = plan_.size() - 1;
        plan_.back().done = true;
        lines.push_back("bootstrap: 100% ready");
    } else {
        lines.back() += "; waiting for " + waiting_text();
    }
    since_ = now;
    next_warning_ = now + kBootstrapFirstWarning;
    return lines;
}

void BootstrapProgress::set_detail(BootstrapStep step, std::string detail) {
    auto* e = find(step);
    if (!e || e->done) return;
    e->detail = std::move(detail);
    e->failures = 0;
}

void BootstrapProgress::attempt_failed(BootstrapStep step, std::string why) {
    auto* e = find(step);
    if (!e || e->done) return;
    ++e->failures;
    e->detail = std::move(why);
}

std::string BootstrapProgress::waiting_text() const {
    const auto& next = plan_[reached_ + 1];
    std::string s = next.planned.waiting_for;
    if (next.failures == 1)
        s += " (1 failed attempt: " + next.detail + ")";
    else if (next.failures > 1)
        s += " (" + std::to_string(next.failures) + " failed attempts, last: " + next.detail + ")";
    else if (!next.detail.empty())
        s += " (" + next.detail + ")";
    return s;
}

std::optional<std::string> BootstrapProgress::stuck_warning(time_point now) {
    if (ready() || now < next_warning_) return std::nullopt;
    next_warning_ = now + kBootstrapWarningInterval;
    auto waited = std::chrono::duration_cast<std::chrono::seconds>(now - since_).count();
    const auto& at = plan_[reached_];
    return "bootstrap: still at " + std::to_string(node::percent(at.planned.step)) + "% after " +
           std::to_string(waited) + " s; waiting for " + waiting_text();
}

BootstrapProgress::time_point BootstrapProgress::next_deadline() const {
    return ready() ? time_point::max() : next_warning_;
}

std::uint32_t BootstrapProgress::percent() const {
    return node::percent(plan_[reached_].planned.step);
}

BootstrapState BootstrapProgress::state(time_point now) const {
    BootstrapState s;
    const auto& at = plan_[reached_];
    s.step = at.planned.step;
    s.percent = node::percent(at.planned.step);
    s.last_event = at.what;
    if (!ready()) s.waiting_for = waiting_text();
    s.seconds_waiting = std::chrono::duration<double>(now - since_).count();
    return s;
}

}  // namespace zmesh::node
