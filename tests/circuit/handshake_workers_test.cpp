// CREATE handshakes computed off the relay table's thread (RelayConfig::defer_handshakes,
// CircuitNode's handshake workers): answered through finish_create, and an answer that
// arrives after its circuit or link went away is dropped, never applied to another circuit.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "zmesh/circuit/relay_table.hpp"

namespace zmesh::circuit {
namespace {

using std::chrono::seconds;

struct Relay {
    crypto::Identity identity = crypto::Identity::generate();
    crypto::X25519KeyPair onion = crypto::X25519KeyPair::generate();
    std::size_t max_circuits;
    RelayTable table{config()};
    explicit Relay(std::size_t max = 65536) : max_circuits(max) {}
    RelayConfig config() const {
        RelayConfig cfg;
        cfg.id = identity.node_id();
        cfg.onion = onion;
        cfg.defer_handshakes = true;
        cfg.max_circuits = max_circuits;
        return cfg;
    }
    RelayKeys keys() const { return {identity.node_id(), onion.pub}; }
};

struct Create {
    explicit Create(const RelayKeys& keys) : client(keys) {}
    NtorClient client;
    // Every cell of the CREATE given to the relay; what came out.
    RelayOutput send(Relay& relay, PeerRef link, std::uint32_t id, TimePoint now) const {
        RelayOutput out;
        for (const auto& cell : encode_create_cells(id, client.type(), client.onionskin()))
            relay.table.on_cell(link, cell, now, out);
        return out;
    }
    bool accepts(const RelayOutput& out) const {
        if (out.cells.size() != 1 ||
            wire::cell_command(out.cells[0].cell) != wire::CellCommand::created)
            return false;
        auto created = decode_created(cell_body(out.cells[0].cell));
        return created && client.finish(created->handshake).has_value();
    }
};

// What a worker thread does with a job.
Result<NtorServerResult> compute_elsewhere(const HandshakeJob& job) {
    Result<NtorServerResult> reply = Errc::bad_state;
    std::thread([&] { reply = ntor_server(job.id, job.onion, job.onionskin, job.type); }).join();
    return reply;
}

bool is_destroy(const RelayOutput& out) {
    return out.cells.size() == 1 &&
           wire::cell_command(out.cells[0].cell) == wire::CellCommand::destroy;
}

TEST(HandshakeWorkers, a_deferred_create_is_answered_when_its_job_returns) {
    Relay relay;
    TimePoint now{seconds(10)};
    Create create(relay.keys());
    auto out = create.send(relay, 5, 9, now);
    EXPECT_TRUE(out.cells.empty());  // nothing until the worker answers
    ASSERT_EQ(out.handshakes.size(), 1u);
    EXPECT_EQ(relay.table.handshakes_in_progress(), 1u);
    EXPECT_EQ(relay.table.size(), 0u);

    // The same circuit id again while the first is computed: refused like any reuse.
    auto again = create.send(relay, 5, 9, now);
    EXPECT_TRUE(is_destroy(again));
    EXPECT_TRUE(again.handshakes.empty());

    const auto& job = out.handshakes[0];
    RelayOutput answer;
    relay.table.finish_create(job.circuit, job.ticket, compute_elsewhere(job), now, answer);
    EXPECT_TRUE(create.accepts(answer));
    EXPECT_EQ(relay.table.size(), 1u);
    EXPECT_EQ(relay.table.handshakes_in_progress(), 0u);
    EXPECT_EQ(relay.table.stats().handshakes_deferred, 1u);
    EXPECT_EQ(relay.table.stats().circuits_created, 1u);
}

// The client destroys its circuit while the relay computes, then reuses the id at once:
// the first answer must not create the second circuit (its keys belong to the first).
TEST(HandshakeWorkers, a_late_answer_never_lands_on_a_reused_circuit_id) {
    Relay relay;
    TimePoint now{seconds(10)};
    Create first(relay.keys()), second(relay.keys());
    auto out1 = first.send(relay, 5, 9, now);
    ASSERT_EQ(out1.handshakes.size(), 1u);
    RelayOutput ignored;
    relay.table.on_cell(5, make_destroy(LinkCircuit{5, 9}, DestroyReason::finished), now, ignored);
    EXPECT_TRUE(ignored.cells.empty());
    EXPECT_EQ(relay.table.stats().drop_unknown_circuit, 0u);
    auto out2 = second.send(relay, 5, 9, now);
    ASSERT_EQ(out2.handshakes.size(), 1u);

    RelayOutput late;
    const auto& job1 = out1.handshakes[0];
    relay.table.finish_create(job1.circuit, job1.ticket, compute_elsewhere(job1), now, late);
    EXPECT_TRUE(late.cells.empty());
    EXPECT_EQ(relay.table.size(), 0u);
    EXPECT_EQ(relay.table.stats().handshakes_abandoned, 1u);

    RelayOutput answer;
    const auto& job2 = out2.handshakes[0];
    relay.table.finish_create(job2.circuit, job2.ticket, compute_elsewhere(job2), now, answer);
    EXPECT_TRUE(second.accepts(answer));
    EXPECT_EQ(relay.table.size(), 1u);
}

TEST(HandshakeWorkers, answers_for_a_closed_link_are_dropped) {
    Relay relay;
    TimePoint now{seconds(10)};
    Create create(relay.keys());
    auto out = create.send(relay, 5, 9, now);
    ASSERT_EQ(out.handshakes.size(), 1u);
    RelayOutput closed;
    relay.table.on_link_closed(5, closed);
    const auto& job = out.handshakes[0];
    EXPECT_TRUE(job.cancelled->load());                   // a worker may skip it
    EXPECT_EQ(relay.table.handshakes_in_progress(), 1u);  // until it is answered
    RelayOutput answer;
    relay.table.finish_create(job.circuit, job.ticket, compute_elsewhere(job), now, answer);
    EXPECT_TRUE(answer.cells.empty());
    EXPECT_EQ(relay.table.size(), 0u);
    EXPECT_EQ(relay.table.handshakes_in_progress(), 0u);
    EXPECT_EQ(relay.table.stats().handshakes_abandoned, 1u);
}

// An onionskin that fails on the worker (its ephemeral key the all-zero point, which
// X25519 refuses): the answer is a DESTROY, as without workers.
TEST(HandshakeWorkers, a_handshake_that_fails_on_the_worker_is_refused) {
    Relay relay;
    TimePoint now{seconds(10)};
    Create create(relay.keys());
    auto out = create.send(relay, 5, 9, now);
    ASSERT_EQ(out.handshakes.size(), 1u);
    auto job = out.handshakes[0];
    std::fill(job.onionskin.begin() + 64, job.onionskin.begin() + 96, std::uint8_t{0});  // ID|B|X
    RelayOutput answer;
    relay.table.finish_create(job.circuit, job.ticket, compute_elsewhere(job), now, answer);
    EXPECT_TRUE(is_destroy(answer));
    EXPECT_EQ(relay.table.size(), 0u);
    EXPECT_EQ(relay.table.handshakes_in_progress(), 0u);
    EXPECT_EQ(relay.table.stats().refused_handshake, 1u);
}

// Handshakes being computed count against the table's size.
TEST(HandshakeWorkers, creates_in_progress_count_against_the_circuit_limit) {
    Relay relay(2);
    TimePoint now{seconds(10)};
    for (std::uint32_t id = 1; id <= 2; ++id) {
        Create c(relay.keys());
        EXPECT_EQ(c.send(relay, 5, id, now).handshakes.size(), 1u);
    }
    Create third(relay.keys());
    auto out = third.send(relay, 5, 3, now);
    EXPECT_TRUE(out.handshakes.empty());
    EXPECT_TRUE(is_destroy(out));
    EXPECT_EQ(relay.table.stats().refused_table_full, 1u);
}

// An attack on the bound: CREATE then DESTROY on the same id, over and over. Each pair
// frees the id at once, but a job it handed out still takes a worker's time and memory
// until answered; the jobs out are what is bounded. Past the bound the relay answers on
// its own thread, as without workers, and the jobs of destroyed circuits are marked so a
// worker skips them.
TEST(HandshakeWorkers, create_destroy_churn_cannot_queue_more_jobs_than_the_bound) {
    Relay relay;
    TimePoint now{seconds(10)};
    Create create(relay.keys());
    std::vector<HandshakeJob> jobs;
    std::size_t answered_inline = 0;
    for (std::size_t i = 0; i < kMaxHandshakesInProgress + 20; ++i) {
        auto out = create.send(relay, 5, 9, now);
        for (auto& j : out.handshakes) jobs.push_back(std::move(j));
        answered_inline += create.accepts(out);
        RelayOutput ignored;
        relay.table.on_cell(5, make_destroy(LinkCircuit{5, 9}, DestroyReason::finished), now,
                            ignored);
    }
    EXPECT_EQ(jobs.size(), kMaxHandshakesInProgress);
    EXPECT_EQ(relay.table.handshakes_in_progress(), kMaxHandshakesInProgress);
    EXPECT_EQ(answered_inline, 20u);
    EXPECT_TRUE(std::all_of(jobs.begin(), jobs.end(), [](const HandshakeJob& j) {
        return j.cancelled && j.cancelled->load();
    }));
    // The workers answer (skipping the work): the jobs out drain and deferring resumes.
    for (const auto& j : jobs) {
        RelayOutput out;
        relay.table.finish_create(j.circuit, j.ticket, Errc::bad_state, now, out);
        EXPECT_TRUE(out.cells.empty());
    }
    EXPECT_EQ(relay.table.handshakes_in_progress(), 0u);
    EXPECT_EQ(relay.table.stats().handshakes_abandoned, kMaxHandshakesInProgress);
    EXPECT_EQ(create.send(relay, 5, 9, now).handshakes.size(), 1u);
}

}  // namespace
}  // namespace zmesh::circuit
