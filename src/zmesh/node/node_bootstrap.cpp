// The node's side of its bootstrap progress (bootstrap_progress.hpp): which steps its roles
// and options make it go through, the lines of each step (to the handler the daemon sets,
// which logs them), and the timer that warns when a step takes long. The discovery loops
// and the circuit results report the steps.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "zmesh/node/node_impl.hpp"

namespace zmesh::node {

namespace {

std::string plural(std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

// Relays are ready when their links listen, or once a bootstrap node took their descriptor
// when they have bootstrap nodes to publish to. Clients are ready once they know enough
// relays for a path, and, when they keep spare circuits, once the first one is built
// (without spares, circuits are built when a stream asks, so none is waited for).
std::vector<PlannedStep> Node::Impl::bootstrap_plan() const {
    const auto& d = opts_.discovery;
    const auto hops = std::to_string(opts_.circuit.hops);
    bool publishes = opts_.roles.accepts_circuits() && !d.bootstrap.empty();
    // Relays named in circuit.relays make the directory an extra, not a step.
    bool discovers = opts_.roles.client && opts_.circuit.relays.empty();
    bool asks_bootstrap = discovers && !d.bootstrap.empty();
    std::vector<PlannedStep> plan{{BootstrapStep::keys, "the identity and onion keys"},
                                  {BootstrapStep::links, "the links to listen"}};
    auto n = d.bootstrap.size();
    std::string answer = n == 1 ? std::string("the bootstrap node to answer")
                                : "one of the " + std::to_string(n) + " bootstrap nodes to answer";
    // With a DHT the directory may come without any bootstrap node answering.
    if (publishes || (asks_bootstrap && !d.dht_listen))
        plan.push_back({BootstrapStep::contacted, answer});
    if (publishes)
        plan.push_back(
            {BootstrapStep::published, "a bootstrap node to accept this relay's descriptor"});
    if (discovers && (asks_bootstrap || d.dht_listen))
        plan.push_back({BootstrapStep::directory,
                        asks_bootstrap && d.dht_listen
                            ? "a directory from a bootstrap node or relays from the DHT"
                        : asks_bootstrap ? "a verified directory from a bootstrap node"
                                         : "relay descriptors from the DHT"});
    if (opts_.roles.client) {
        plan.push_back({BootstrapStep::enough_relays,
                        "enough relays for a " + hops + "-hop path with an exit"});
        if (opts_.circuit.preemptive > 0)
            plan.push_back({BootstrapStep::circuit, "the first " + hops + "-hop circuit"});
    }
    return plan;
}

void Node::Impl::progress(BootstrapStep step, std::string what) {
    if (!progress_ || stopping_) return;
    for (auto& line : progress_->reach(step, std::move(what), zmesh::Clock::now()))
        report(std::move(line), false);
}

void Node::Impl::report(std::string line, bool stuck) {
    if (bootstrap_handler_)
        bootstrap_handler_({std::move(line), stuck});
    else
        spdlog::debug("{}", line);
}

void Node::Impl::progress_failed(BootstrapStep step, std::string why) {
    if (progress_) progress_->attempt_failed(step, std::move(why));
}

void Node::Impl::check_enough_relays() {
    if (!pool_ || !progress_) return;
    auto known = relays_.known();
    auto exits = std::count_if(known.begin(), known.end(),
                               [](const discovery::KnownRelay& k) { return k.exit(); });
    auto counts = plural(known.size(), "relay", "relays") + " known, " +
                  (exits == 0 ? std::string("no exit")
                              : plural(static_cast<std::size_t>(exits), "exit", "exits"));
    if (relays_.enough_for(opts_.circuit.hops))
        progress(BootstrapStep::enough_relays, "enough relays for a " +
                                                   std::to_string(opts_.circuit.hops) +
                                                   "-hop path (" + counts + ")");
    else
        progress_->set_detail(BootstrapStep::enough_relays, counts);
}

// Keys and links are done within start(); the rest comes from the loops and circuits.
void Node::Impl::start_progress() {
    progress_.emplace(bootstrap_plan(), zmesh::Clock::now());
}

void Node::Impl::started_progress() {
    std::string links;
    for (const auto& l : links_->links())
        links += (links.empty() ? "" : ", ") + std::string(l->transport_name());
    progress(BootstrapStep::links,
             "links listening (" + links + ")" + (directory_server_ ? "; directory served" : ""));
    check_enough_relays();
    if (!progress_->ready()) {
        bootstrap_timer_ = std::make_unique<zmesh::Timer>(ex_);
        asio::co_spawn(ex_, bootstrap_watch(), link::log_exit("bootstrap progress"));
    }
}

// Wakes when a warning may be due: progress only moves that time later, so a wake-up
// may find nothing to say, never one too late.
asio::awaitable<void> Node::Impl::bootstrap_watch() {
    auto alive = alive_;
    while (!stopping_ && !progress_->ready()) {
        bootstrap_timer_->expires_at(progress_->next_deadline());
        auto [ec] = co_await bootstrap_timer_->async_wait(asio::as_tuple(asio::use_awaitable));
        (void)ec;
        if (!*alive || stopping_) co_return;
        if (auto warning = progress_->stuck_warning(zmesh::Clock::now()))
            report(std::move(*warning), true);
    }
}

}  // namespace zmesh::node
